#!/usr/bin/env python3
"""tiktoken half of `unirl bench tokenizer`: encodes the committed corpus (repeated --copies times) with
Qwen's ranks, dashscope's pattern and specials; median ms of --repeats runs per case. Prints
{"torch": "-", "transformers": "tiktoken <version>", "results": [{"name", "pass", "ms"}, ...]}.

    .venv-reference/bin/python scripts/bench_tiktoken.py [--copies 64] [--repeats 5] [--threads 2] [--expect-tokens N]

Cases: encode (allowed_special="all") and encode_ordinary, one string at a time on one thread, and
encode_batch / encode_ordinary_batch with num_threads=--threads; documents_*: the same on --copies
documents, each the whole corpus joined with blank lines (per-call overhead amortised). --expect-tokens makes it fail unless
encode produced exactly that many tokens (the Swift side's count).
"""
import argparse
import base64
import json
import statistics
import sys
import time
from pathlib import Path

import tiktoken

F = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "tokenizer"
try:
    from dashscope.tokenizers.qwen_tokenizer import PAT_STR as PAT, SPECIAL_TOKENS
    SPECIALS = {t: i for i, t in SPECIAL_TOKENS}
except ImportError:
    PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
    SPECIALS = {t: 151643 + i for i, t in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)])}

ap = argparse.ArgumentParser()
ap.add_argument("--copies", type=int, default=64)
ap.add_argument("--repeats", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--expect-tokens", type=int, default=None)
a = ap.parse_args()

ranks = {base64.b64decode(t): int(r) for t, r in (l.split() for l in (F / "qwen.tiktoken").read_text().splitlines() if l)}
enc = tiktoken.Encoding("qwen", pat_str=PAT, mergeable_ranks=ranks, special_tokens=SPECIALS)
corpus = [json.loads(l)["text"] for l in (F / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if l]
texts = corpus * a.copies
documents = ["\n\n".join(corpus)] * a.copies

tokens = sum(len(enc.encode(t, allowed_special="all")) for t in texts)
if a.expect_tokens is not None and tokens != a.expect_tokens:
    sys.exit(f"tiktoken produced {tokens} tokens, the Swift side {a.expect_tokens}")

cases = {
    "encode": lambda: [enc.encode(t, allowed_special="all") for t in texts],
    "encode_ordinary": lambda: [enc.encode_ordinary(t) for t in texts],
    "encode_batch": lambda: enc.encode_batch(texts, num_threads=a.threads, allowed_special="all"),
    "encode_ordinary_batch": lambda: enc.encode_ordinary_batch(texts, num_threads=a.threads),
    "documents_encode_ordinary": lambda: [enc.encode_ordinary(d) for d in documents],
    "documents_encode_ordinary_batch": lambda: enc.encode_ordinary_batch(documents, num_threads=a.threads),
}
results = []
for name, run in cases.items():
    run()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    results.append({"name": name, "pass": f"{a.threads if 'batch' in name else 1} threads", "ms": statistics.median(times)})
print(json.dumps({"torch": "-", "transformers": "tiktoken " + tiktoken.__version__, "results": results}))
