#!/usr/bin/env python3
"""transformers half of `unirl bench qwen` (CPU, float32).

    .venv-reference/bin/python scripts/bench_transformers_qwen.py [--threads 2] [--warmup 5] [--repeats 10]

Prints one JSON object to stdout: {"threads", "torch", "transformers", "results": [{"name", "pass", "ms"}]}
(`ms`: median of --repeats timed runs after --warmup untimed ones).

Model: Qwen2ForCausalLM(hidden 128, 4 layers, 4 heads, 2 KV heads, intermediate 384, vocab 1024,
untied head, sdpa) at its default initialisation.
Cases:
    qwen_decoder  forward_backward  ids [8, 128]; L = cross-entropy of logits[:, :-1] vs ids[:, 1:]
                                    (grads reset to None between runs)
    qwen_sample   sample_64         prompts [8, 64], generate(do_sample=True, temperature 1, top_k 0,
                                    top_p 1, exactly 64 new tokens, KV cache) under no_grad
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
from transformers import Qwen2Config, Qwen2ForCausalLM  # noqa: E402

CONFIG = dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
              intermediate_size=384, vocab_size=1024, tie_word_embeddings=False, attn_implementation="sdpa",
              bos_token_id=None, eos_token_id=None)


def time_fn(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(**CONFIG)).float()
    ids = torch.randint(0, 1024, (8, 128))

    def fwd_bwd():
        model.zero_grad(set_to_none=True)
        logits = model(input_ids=ids).logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 1024), ids[:, 1:].reshape(-1))
        loss.backward()

    prompts = torch.randint(0, 1024, (8, 64))
    mask = torch.ones_like(prompts)

    def sample():
        with torch.no_grad():
            model.generate(input_ids=prompts, attention_mask=mask, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                           max_new_tokens=64, min_new_tokens=64, pad_token_id=0, eos_token_id=None)

    print("timing transformers qwen ...", file=sys.stderr)
    results = []
    reset_peak_rss()
    ms = time_fn(fwd_bwd, a.warmup, a.repeats)
    results.append({"name": "qwen_decoder", "pass": "forward_backward", "ms": ms, "peak_rss_mib": peak_rss_mib()})
    reset_peak_rss()
    ms = time_fn(sample, max(1, a.warmup // 2), a.repeats)
    results.append({"name": "qwen_sample", "pass": "sample_64", "ms": ms, "peak_rss_mib": peak_rss_mib()})
    print(json.dumps({"threads": a.threads, "torch": torch.__version__, "transformers": transformers.__version__,
                      "results": results}))


if __name__ == "__main__":
    main()
