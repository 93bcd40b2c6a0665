#!/usr/bin/env python3
"""PyTorch half of the UniRL benchmarks (CPU, float32).

    .venv-reference/bin/python scripts/bench_torch.py [--threads 2] [--only NAME ...]
                                                      [--warmup 3] [--repeats 10]

Prints one JSON object to stdout (progress goes to stderr):

    {"threads": 2, "torch": "<version>", "results": [
        {"name": "transformer_block", "pass": "forward", "ms": ..., ...}, ...]}

`ms` is the median wall time of `--repeats` timed runs after `--warmup` untimed ones.

Cases (blocks from scripts/reference_blocks.py, parameters re-randomised as for the fixtures):
    transformer_block   TransformerBlock(C=128, H=4, I=512), x [8,128,128], full attention mask
    conv_block          ConvBlock(Cin=32, Cm=64, G=8), x [8,32,32,32]
    linear_attention    LinearAttentionBlock(C=128, H=4), x [8,256,128]
    matmul_256 ... matmul_2048   torch.matmul of two square float32 matrices (forward only)

Passes:
    forward            the block's forward under torch.no_grad() (inference, no graph recorded)
    forward_backward   forward with autograd + backward of L = sum(out^2)/numel(out), gradients
                       for every parameter and for the input (parameter grads reset to None between
                       runs, not timed separately)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_blocks import (  # noqa: E402
    ConvBlock,
    ConvBlockConfig,
    LinearAttentionBlock,
    LinearAttentionConfig,
    TransformerBlock,
    TransformerBlockConfig,
    rerandomize_,
)


def block_cases():
    g = torch.Generator().manual_seed(0)

    def transformer():
        m = rerandomize_(TransformerBlock(TransformerBlockConfig(hidden_size=128, num_heads=4, intermediate_size=512)), 1)
        x = torch.randn(8, 128, 128, generator=g)
        mask = torch.ones(8, 128, dtype=torch.int64)
        return m, (lambda mod, xx: mod(xx, mask)), x, "x[8,128,128] C=128 H=4 I=512 full mask"

    def conv():
        m = rerandomize_(ConvBlock(ConvBlockConfig(in_channels=32, mid_channels=64, groups=8)), 2)
        x = torch.randn(8, 32, 32, 32, generator=g)
        return m, (lambda mod, xx: mod(xx)), x, "x[8,32,32,32] Cin=32 Cm=64 G=8"

    def linear_attention():
        m = rerandomize_(LinearAttentionBlock(LinearAttentionConfig(hidden_size=128, num_heads=4)), 3)
        x = torch.randn(8, 256, 128, generator=g)
        return m, (lambda mod, xx: mod(xx)), x, "x[8,256,128] C=128 H=4"

    return {"transformer_block": transformer, "conv_block": conv, "linear_attention": linear_attention}


MATMUL_SIZES = (256, 512, 1024, 2048)


def time_fn(fn, warmup: int, repeats: int):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", action="append", default=None,
                    help="case name (repeatable): transformer_block, conv_block, linear_attention, "
                         "matmul (all sizes) or matmul_<n>")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    blocks = block_cases()
    all_names = list(blocks) + [f"matmul_{n}" for n in MATMUL_SIZES]
    if args.only:
        wanted = []
        for name in args.only:
            if name == "matmul":
                wanted += [f"matmul_{n}" for n in MATMUL_SIZES]
            elif name in all_names:
                wanted.append(name)
            else:
                ap.error(f"unknown case {name!r}; known: {', '.join(all_names + ['matmul'])}")
        names = [n for n in all_names if n in wanted]
    else:
        names = all_names

    results = []

    def record(name, pass_, med, mn, times, **extra):
        r = {"name": name, "pass": pass_, "ms": round(med, 4), "min_ms": round(mn, 4), "runs": len(times), **extra}
        results.append(r)
        print(f"[bench_torch] {name:18s} {pass_:16s} median {med:9.3f} ms  min {mn:9.3f} ms", file=sys.stderr)

    for name in names:
        if name in blocks:
            model, call, x, shape = blocks[name]()
            model = model.float().eval()

            def fwd():
                with torch.no_grad():
                    call(model, x)

            med, mn, ts = time_fn(fwd, args.warmup, args.repeats)
            record(name, "forward", med, mn, ts, shape=shape)

            xg = x.clone().requires_grad_(True)

            def fwd_bwd():
                model.zero_grad(set_to_none=True)
                xg.grad = None
                out = call(model, xg)
                loss = out.square().sum() / out.numel()
                loss.backward()

            med, mn, ts = time_fn(fwd_bwd, args.warmup, args.repeats)
            record(name, "forward_backward", med, mn, ts, shape=shape)
        else:
            n = int(name.split("_")[1])
            a = torch.randn(n, n)
            b = torch.randn(n, n)

            def mm():
                torch.matmul(a, b)

            med, mn, ts = time_fn(mm, args.warmup, args.repeats)
            record(name, "forward", med, mn, ts, shape=f"[{n},{n}]x[{n},{n}]",
                   gflops=round(2 * n ** 3 / (med * 1e-3) / 1e9, 2))

    print(json.dumps({"threads": args.threads, "torch": torch.__version__,
                      "forward_mode": "torch.no_grad()", "dtype": "float32", "device": "cpu",
                      "warmup": args.warmup, "repeats": args.repeats, "results": results}, indent=1))


if __name__ == "__main__":
    main()
