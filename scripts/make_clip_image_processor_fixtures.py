#!/usr/bin/env python3
"""Writes CLIP image-processor fixtures: PNG images and what transformers' CLIPImageProcessorPil
(models/clip/image_processing_pil_clip.py: shortest side resized with Pillow bicubic, centre crop,
x/255, CLIP mean/std) makes of them.

    .venv-reference/bin/python scripts/make_clip_image_processor_fixtures.py

Tests/Fixtures/image_processor/clip/<name>.png + <name>.safetensors (pixel_values [1, 3, H, W],
shortest_edge and crop [h, w] as I64). Small targets keep the files small; the arithmetic is the same
at 224. Cases: upscaling, downscaling (antialiased), unequal sides, odd crops, a crop larger than the
resized image (zero padding).
"""
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "image_processor" / "clip"


def image(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100 * np.sin(x / 7.0 + c) * np.cos(y / 5.0 - c) for c in range(3)], axis=-1)
    noisy = base + rng.normal(0, 40, (h, w, 3))
    blocks = (((x // 9) + (y // 11)) % 2)[..., None] * 60
    return np.clip(noisy + blocks, 0, 255).astype(np.uint8)


CASES = [  # name, width, height, shortest_edge, crop (h, w)
    ("up_32", 32, 32, 56, (56, 56)),
    ("wide_100x60", 100, 60, 40, (40, 40)),
    ("down_300x200", 300, 200, 48, (48, 48)),
    ("tall_45x190", 45, 190, 30, (33, 27)),
    ("pad_50x70", 50, 70, 20, (24, 22)),
]

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for i, (name, w, h, edge, crop) in enumerate(CASES):
        pixels = image(w, h, 100 + i)
        Image.fromarray(pixels).save(OUT / f"{name}.png")
        loaded = np.array(Image.open(OUT / f"{name}.png").convert("RGB"))
        proc = CLIPImageProcessorPil(size={"shortest_edge": edge}, crop_size={"height": crop[0], "width": crop[1]})
        out = proc(images=Image.fromarray(loaded), return_tensors="pt")["pixel_values"].float()
        save_file({"pixel_values": out.contiguous(), "shortest_edge": torch.tensor([edge], dtype=torch.int64),
                   "crop": torch.tensor(list(crop), dtype=torch.int64)}, OUT / f"{name}.safetensors")
        print(name, tuple(out.shape))
