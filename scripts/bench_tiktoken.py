#!/usr/bin/env python3
"""tiktoken half of `unirl bench tokenizer`: encode the committed corpus (repeated --copies times)
with Qwen's ranks, one thread, median of --repeats; prints {"torch": "-", "results": [...]}.

    .venv-reference/bin/python scripts/bench_tiktoken.py [--copies 20] [--repeats 5]
"""
import argparse, base64, json, statistics, time
from pathlib import Path
import tiktoken

F = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "tokenizer"
PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)]

ap = argparse.ArgumentParser(); ap.add_argument("--copies", type=int, default=20); ap.add_argument("--repeats", type=int, default=5)
a = ap.parse_args()
ranks = {base64.b64decode(t): int(r) for t, r in (l.split() for l in (F / "qwen.tiktoken").read_text().splitlines() if l)}
enc = tiktoken.Encoding("qwen", pat_str=PAT, mergeable_ranks=ranks, special_tokens={t: len(ranks) + i for i, t in enumerate(SPECIALS)})
texts = [json.loads(l)["text"] for l in (F / "corpus.jsonl").read_text(encoding="utf-8").splitlines()] * a.copies
def run():
    for t in texts:
        enc.encode(t, allowed_special="all")
enc.encode("warm up")
times = []
for _ in range(a.repeats):
    t0 = time.perf_counter(); run(); times.append((time.perf_counter() - t0) * 1e3)
print(json.dumps({"torch": "-", "transformers": "tiktoken " + tiktoken.__version__,
                  "results": [{"name": "qwen_tokenizer", "pass": "encode", "ms": statistics.median(times)}]}))
