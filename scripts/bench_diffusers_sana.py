#!/usr/bin/env python3
"""diffusers half of `unirl bench sana` (CPU, float32).

    .venv-reference/bin/python scripts/bench_diffusers_sana.py [--threads 2] [--warmup 10] [--repeats 20]

Prints one JSON object to stdout (progress goes to stderr):

    {"threads": 2, "torch": "<version>", "diffusers": "<version>", "results": [
        {"name": "sana_dit", "pass": "forward", "ms": ...}, ...]}

`ms` is the median wall time of `--repeats` timed runs after `--warmup` untimed ones.

Model: diffusers' SanaTransformer2DModel(in_channels=8, out_channels=8, num_attention_heads=4,
attention_head_dim=32, num_layers=4, num_cross_attention_heads=4, cross_attention_head_dim=32,
cross_attention_dim=128, caption_channels=128, mlp_ratio=2.5, sample_size=16, patch_size=1) at its
default initialisation; inputs x [8, 8, 16, 16], caption [8, 16, 128], timestep 500.

Cases:
    sana_dit        forward          under torch.no_grad()
    sana_dit        forward_backward forward with autograd + backward of L = sum(out^2)/numel(out)
                                     (parameter grads reset to None between runs)
    sde_rollout_10  sample+logprob   10 steps of Flow-GRPO's SDE sampler (noise level 0.7, schedule
                                     1 -> 0 in 10 even steps, sigma at t = 1 from t_1) from fresh noise,
                                     with each step's Gaussian log-prob averaged over dimensions, under
                                     torch.no_grad(); the same computation as UniRL's SanaPolicy.sample
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import torch

import diffusers
from diffusers import SanaTransformer2DModel

CONFIG = dict(in_channels=8, out_channels=8, num_attention_heads=4, attention_head_dim=32, num_layers=4,
              num_cross_attention_heads=4, cross_attention_head_dim=32, cross_attention_dim=128,
              caption_channels=128, mlp_ratio=2.5, sample_size=16, patch_size=1)


def time_fn(fn, warmup: int, repeats: int):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), times


def sde_rollout(model, caption, steps=10, noise_level=0.7, generator=None):
    """Flow-GRPO's SDE sampler (docs/ARCHITECTURE.md, "SDE sampler with log-probs"), written from its equations."""
    sigmas = torch.linspace(1, 0, steps + 1)
    x = torch.randn(caption.shape[0], CONFIG["in_channels"], 16, 16, generator=generator)
    log_probs = []
    for k in range(steps):
        t, t_next = sigmas[k], sigmas[k + 1]
        dt = t_next - t
        v = model(x, encoder_hidden_states=caption, timestep=(t * 1000).expand(x.shape[0])).sample
        denominator = 1 - (sigmas[1] if t == 1 else t)
        std_t = torch.sqrt(t / denominator) * noise_level
        mean = x * (1 + std_t ** 2 / (2 * t) * dt) + v * (1 + std_t ** 2 * (1 - t) / (2 * t)) * dt
        std = std_t * torch.sqrt(-dt)
        x = mean + std * torch.randn(x.shape, generator=generator)
        lp = -((x - mean) ** 2) / (2 * std ** 2) - torch.log(std) - math.log(math.sqrt(2 * math.pi))
        log_probs.append(lp.mean(dim=(1, 2, 3)))
    return x, torch.stack(log_probs, dim=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = SanaTransformer2DModel(**CONFIG).float().eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 8, 16, 16, generator=g)
    caption = torch.randn(8, 16, 128, generator=g)
    timestep = torch.full((8,), 500.0)
    shape = "x[8,8,16,16] caption[8,16,128] L=4 H=4x32"
    results = []

    def record(name, pass_, med, mn, times):
        results.append({"name": name, "pass": pass_, "ms": round(med, 4), "min_ms": round(mn, 4), "runs": len(times),
                        "shape": shape})
        print(f"[bench_diffusers_sana] {name:15s} {pass_:16s} median {med:9.3f} ms  min {mn:9.3f} ms", file=sys.stderr)

    def forward():
        with torch.no_grad():
            model(x, encoder_hidden_states=caption, timestep=timestep)

    record("sana_dit", "forward", *time_fn(forward, args.warmup, args.repeats))

    def forward_backward():
        model.zero_grad(set_to_none=True)
        out = model(x, encoder_hidden_states=caption, timestep=timestep).sample
        (out.square().sum() / out.numel()).backward()

    record("sana_dit", "forward_backward", *time_fn(forward_backward, args.warmup, args.repeats))

    def rollout():
        with torch.no_grad():
            sde_rollout(model, caption, generator=g)

    record("sde_rollout_10", "sample+logprob", *time_fn(rollout, 1, max(3, args.repeats // 2)))

    print(json.dumps({"threads": args.threads, "torch": torch.__version__, "diffusers": diffusers.__version__,
                      "dtype": "float32", "device": "cpu", "warmup": args.warmup, "repeats": args.repeats,
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
