#!/usr/bin/env python3
"""Writes image-processor fixtures: PNG images and what transformers' Qwen2VLImageProcessorPil
(models/qwen2_vl/image_processing_pil_qwen2_vl.py, Pillow bicubic) makes of them.

    .venv-reference/bin/python scripts/make_image_processor_fixtures.py

Tests/Fixtures/image_processor/<name>.png + <name>.safetensors (pixel_values, image_grid_thw,
min_pixels, max_pixels as I64). Cases cover upscaling to min_pixels, rounding halves to even,
downscaling to max_pixels (antialiased), and unequal sides.
"""
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "image_processor"


def image(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100 * np.sin(x / 7.0 + c) * np.cos(y / 5.0 - c) for c in range(3)], axis=-1)
    noisy = base + rng.normal(0, 40, (h, w, 3))
    blocks = (((x // 9) + (y // 11)) % 2)[..., None] * 60
    return np.clip(noisy + blocks, 0, 255).astype(np.uint8)


CASES = [  # name, width, height, min_pixels, max_pixels
    ("shapes_32", 32, 32, 56 * 56, 28 * 28 * 1280),
    ("wide_100x60", 100, 60, 56 * 56, 28 * 28 * 1280),
    ("half_rounding_70x42", 70, 42, 56 * 56, 28 * 28 * 1280),
    ("odd_133x87", 133, 87, 56 * 56, 28 * 28 * 1280),
    ("downscale_400x300", 400, 300, 56 * 56, 28 * 28 * 16),
    ("tall_45x190", 45, 190, 28 * 28 * 8, 28 * 28 * 1280),
]

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for i, (name, w, h, lo, hi) in enumerate(CASES):
        pixels = image(w, h, i)
        Image.fromarray(pixels).save(OUT / f"{name}.png")
        proc = Qwen2VLImageProcessorPil(size={"shortest_edge": lo, "longest_edge": hi})
        out = proc(images=Image.open(OUT / f"{name}.png"), return_tensors="pt")
        save_file({"pixel_values": out["pixel_values"].float().contiguous(),
                   "image_grid_thw": out["image_grid_thw"].long().contiguous(),
                   "min_pixels": torch.tensor([lo]), "max_pixels": torch.tensor([hi])}, OUT / f"{name}.safetensors")
        print(name, tuple(out["pixel_values"].shape), out["image_grid_thw"].tolist())
