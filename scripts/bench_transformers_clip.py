#!/usr/bin/env python3
"""transformers half of `unirl bench clip` (CPU, float32, inference).

    .venv-reference/bin/python scripts/bench_transformers_clip.py [--threads 2] [--warmup 2] [--repeats 5] [--batch 8]

Prints one JSON object to stdout: {"threads", "torch", "transformers", "results": [{"name", "pass", "ms"}]}
(`ms`: median of --repeats timed runs after --warmup untimed ones).

Model: CLIPModel(CLIPConfig()) — openai/clip-vit-base-patch32's shapes (text 512 wide, 12 layers, 8 heads,
77 positions, vocab 49408; vision ViT-B/32 768 wide, 12 layers, 12 heads, 224 px, patch 32; projection 512)
at its default random initialisation, sdpa attention, under torch.inference_mode().
Cases:
    clip_text   forward  get_text_features of ids [batch, 77] with an attention mask (rows of 7 to 77 tokens)
    clip_image  forward  get_image_features of pixel_values [batch, 3, 224, 224]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak_rss import peak_rss_mib, reset_peak_rss  # noqa: E402
from transformers import CLIPConfig, CLIPModel  # noqa: E402


def time_fn(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def inputs(batch):
    """The same inputs as the Swift side: row r has 7 + 10·r real tokens (capped at 77), eos 49407 last."""
    ids = torch.full((batch, 77), 49407, dtype=torch.int64)
    mask = torch.zeros((batch, 77), dtype=torch.int64)
    g = torch.Generator().manual_seed(0)
    for r in range(batch):
        n = min(7 + 10 * r, 77)
        ids[r, 0] = 49406
        ids[r, 1:n - 1] = torch.randint(0, 49406, (n - 2,), generator=g)
        mask[r, :n] = 1
    pixels = torch.randn(batch, 3, 224, 224, generator=g)
    return ids, mask, pixels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(attn_implementation="sdpa")).float().eval()
    ids, mask, pixels = inputs(a.batch)

    def text():
        with torch.inference_mode():
            model.get_text_features(input_ids=ids, attention_mask=mask)

    def image():
        with torch.inference_mode():
            model.get_image_features(pixel_values=pixels)

    print("timing transformers clip ...", file=sys.stderr)
    results = []
    reset_peak_rss()
    ms = time_fn(text, a.warmup, a.repeats)
    results.append({"name": "clip_text", "pass": "forward", "ms": ms, "peak_rss_mib": peak_rss_mib()})
    reset_peak_rss()
    ms = time_fn(image, a.warmup, a.repeats)
    results.append({"name": "clip_image", "pass": "forward", "ms": ms, "peak_rss_mib": peak_rss_mib()})
    print(json.dumps({"threads": a.threads, "torch": torch.__version__, "transformers": transformers.__version__,
                      "results": results}))


if __name__ == "__main__":
    main()
