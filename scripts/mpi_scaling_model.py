"""Multi-node model of data-parallel GRPO from measured all-reduce times (BENCHMARKS.md, MPI section).

Reads the JSON lines of scripts/bench-mpi.sh. From the largest measured all-reduce (bandwidth-bound) it takes
this machine's bus bandwidth, busbw = 2(N-1)/N * bytes / t (the ring all-reduce's traffic per rank), and
from the smallest the per-call latency. Gradients larger than the measured buffer are all-reduced in buckets,
so their time here is extrapolated linearly from the largest buffer. For several machines it uses the ring
model t = 2(N-1)/N * bytes / B + 2(N-1) * alpha at stated link bandwidths B and a stated alpha, one rank per
machine, fp32 gradients. Standard library only: python3 scripts/mpi_scaling_model.py runs/bench-mpi.jsonl
"""
import json
import sys

# Gradient sizes (fp32, 4 bytes a parameter). Full models: README ("Real scale, shape-only").
FULL = {"Sana_1600M DiT (1,609,556,512)": 1_609_556_512, "Qwen2.5-VL-3B LM (3,754,622,976)": 3_754_622_976}


def lora(rank, layers, matrices):
    """LoRA parameters: rank * (in + out) summed over the adapted matrices of every layer."""
    return rank * layers * sum(i + o for i, o in matrices)


# Qwen2.5-VL-3B text model: 36 layers, width 2048, 2 KV heads of 128, MLP 11008; q k v o gate up down adapted.
QWEN = [(2048, 2048), (2048, 256), (2048, 256), (2048, 2048), (2048, 11008), (2048, 11008), (11008, 2048)]
# Sana_1600M: 20 layers, width 2240, captions 2304 wide, GLU MLP 2240 -> 2*5600 -> 5600 -> 2240;
# self-attention q k v o, cross-attention q k v o, the MLP's two 1x1 convolutions adapted.
SANA = [(2240, 2240)] * 4 + [(2240, 2240), (2304, 2240), (2304, 2240), (2240, 2240)] + [(2240, 11200), (5600, 2240)]
LORA = {
    "LM LoRA r=16": lora(16, 36, QWEN),
    "LM LoRA r=64": lora(64, 36, QWEN),
    "DiT LoRA r=32": lora(32, 20, SANA),
}
LINKS_GBIT = [10, 25, 100, 400]  # Ethernet 10/25 GbE, InfiniBand EDR 100, NDR 400 (Gbit/s, stated, not measured)
ALPHA = 10e-6  # seconds per ring step between machines (stated assumption)
NODES = [2, 4, 8, 16]


def main(path):
    rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    reduces = [r for r in rows if "elements" in r]
    toys = [r for r in rows if "steps_per_s" in r]
    if toys:
        print("## Toy scenarios, 8 prompts x 16 samples a step (median of the runs)\n")
        print("| scenario | ranks | steps/s (runs) | median | update s | of which all-reduce s |")
        print("|---|---|---|---|---|---|")
        for scenario in dict.fromkeys(r["scenario"] for r in toys):
            for n in sorted({r["ranks"] for r in toys if r["scenario"] == scenario}):
                runs = [r for r in toys if r["scenario"] == scenario and r["ranks"] == n]
                sps = sorted(r["steps_per_s"] for r in runs)
                mid = lambda xs: sorted(xs)[len(xs) // 2]
                print(f"| {scenario} | {n} | {', '.join(f'{x:.2f}' for x in sps)} | {mid(sps):.2f} | "
                      f"{mid([r.get('update_s', 0) for r in runs]):.4f} | {mid([r.get('allreduce_s', 0) for r in runs]):.4f} |")
        print()
    print("## Measured on this machine (oversubscribed ranks share 2 cores)\n")
    print("| ranks | floats | MiB | median s | bus GB/s |")
    print("|---|---|---|---|---|")
    fits = {}
    for r in reduces:
        n, b = r["ranks"], r["elements"] * 4
        bus = 2 * (n - 1) / n * b / r["median_s"] / 1e9
        print(f"| {n} | {r['elements']:,} | {b / 2**20:.0f} | {r['median_s']:.6f} | {bus:.2f} |")
        big = max((x for x in reduces if x["ranks"] == n), key=lambda x: x["elements"])
        fits[n] = (big["median_s"] / big["elements"], min(x["median_s"] for x in reduces if x["ranks"] == n))
    sizes = {**FULL, **LORA}
    print("\n## Gradient all-reduce on this machine, extrapolated linearly from the largest buffer\n")
    print("| gradient | parameters | GiB fp32 | " + " | ".join(f"{n} ranks s" for n in sorted(fits)) + " |")
    print("|---|---|---|" + "---|" * len(fits))
    for name, p in sizes.items():
        cells = " | ".join(f"{p * fits[n][0]:.2f}" for n in sorted(fits))
        print(f"| {name} | {p:,} | {p * 4 / 2**30:.2f} | {cells} |")
    print(f"\n## Model for N machines, one rank each: t = 2(N-1)/N * bytes / B + 2(N-1) * {ALPHA * 1e6:.0f} us\n")
    print("| gradient | link | " + " | ".join(f"N={n} s" for n in NODES) + " |")
    print("|---|---|" + "---|" * len(NODES))
    for name, p in sizes.items():
        for gbit in LINKS_GBIT:
            bw = gbit * 1e9 / 8
            cells = " | ".join(f"{2 * (n - 1) / n * p * 4 / bw + 2 * (n - 1) * ALPHA:.3f}" for n in NODES)
            print(f"| {name} | {gbit} Gbit/s | {cells} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/bench-mpi.jsonl")
