#!/usr/bin/env python3
"""Shows that the shipped ShapesCLIP is a transformers CLIP: loads Sources/Scenarios/Resources/shapes-clip
with CLIPModel / CLIPTokenizer / CLIPImageProcessorPil `from_pretrained` and records what they compute.

    .venv-reference/bin/python scripts/make_shapes_clip_fixtures.py

Writes Tests/Fixtures/shapes_clip/expected.safetensors: for a few captions their `input_ids` (padded to
the longest, I64) and `attention_mask`, `text_embeds`; for the committed PNGs below their `pixel_values`
and `image_embeds`; and `logits_per_text`. The Swift test (ShapesCLIPTests) loads the same folder and must
give the same ids, pixels and embeddings.
"""
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import CLIPModel, CLIPTokenizer
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "Sources" / "Scenarios" / "Resources" / "shapes-clip"
OUT = ROOT / "Tests" / "Fixtures" / "shapes_clip"
IMAGES = ["Tests/Fixtures/image_processor/shapes_32.png", "Tests/Fixtures/image_processor/clip/up_32.png",
          "Tests/Fixtures/image_processor/wide_100x60.png"]
CAPTIONS = ["a red circle", "two blue squares and a green triangle", "three yellow triangles",
            "a photo of an orange square", "an image of exactly four circles"]

if __name__ == "__main__":
    torch.set_num_threads(1)
    model = CLIPModel.from_pretrained(MODEL, dtype=torch.float32).eval()
    tokenizer = CLIPTokenizer.from_pretrained(MODEL)
    processor = CLIPImageProcessorPil.from_pretrained(MODEL)
    text = tokenizer(CAPTIONS, padding="longest", return_tensors="pt")
    images = [Image.open(ROOT / p).convert("RGB") for p in IMAGES]
    pixels = processor(images=images, return_tensors="pt")["pixel_values"].float()
    with torch.no_grad():
        out = model(input_ids=text["input_ids"], attention_mask=text["attention_mask"], pixel_values=pixels)
    OUT.mkdir(parents=True, exist_ok=True)
    save_file({"input_ids": text["input_ids"].contiguous(), "attention_mask": text["attention_mask"].contiguous(),
               "pixel_values": pixels.contiguous(), "text_embeds": out.text_embeds.contiguous(),
               "image_embeds": out.image_embeds.contiguous(), "logits_per_text": out.logits_per_text.contiguous()},
              OUT / "expected.safetensors")
    (OUT / "inputs.json").write_text(json.dumps({"captions": CAPTIONS, "images": IMAGES}, indent=1) + "\n")
    print("logits_per_text\n", np.array2string(out.logits_per_text.numpy(), precision=2))
