#!/usr/bin/env python3
"""The PyTorch half of `unirl bench grpo`: one GRPO step of the `text` scenario with transformers.

    .venv-reference/bin/python scripts/bench_grpo_step.py --scenario text --prompts PROMPTS.json \
        [--threads 2] [--warmup 1] [--repeats 3] [--root .]

`unirl bench grpo` writes PROMPTS.json (the questions and answers its own steps draw, in order) and
launches this script, one process per scenario so that the peak RSS (VmHWM) is that scenario's.
The step follows the Swift trainer at the pack's defaults, in float32 on the CPU:

  rollout        transformers `generate` (sampling, temperature 1, ≤ 48 new tokens, stop at <|im_end|> or
                 <|endoftext|>) of 8 completions for each of 4 chat-templated prompts, with the sampling log-probs
  reward         accuracy (the <answer>…</answer> text equals the answer) + 0.2 × format
  advantages     (r − mean_group) / (std_group + 1e-4), clipped to ±5
  old+reference  log π_old (the policy, no grad) and log π_ref (a frozen copy, no grad) of the completion tokens
  replay         the policy's forward over prompt + completion with grad, log-softmax at the completion tokens
  loss           PPO clip (ε 0.2 / 0.2) + 0.04 · k3 KL, per-sequence token mean, mean over sequences (`grpo`)
  backward       loss.backward()
  optimizer      clip the global grad norm to 1, AdamW (lr 3e-4, β 0.9 / 0.999, ε 1e-8)

Prints JSON on stdout: {"versions", "seconds": {phase: median s}, "peak_rss_mib", "mean_completion_tokens"}.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import statistics
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

PHASES = ["rollout", "reward", "advantages", "old+reference", "replay", "loss", "backward", "optimizer", "step"]
ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
FORMAT = re.compile(r"^\s*<think>.*?</think>\s*<answer>.*?</answer>\s*$", re.S)


def peak_rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def completion_log_probs(model, ids, mask, prompt_len):
    """log softmax(logits) at each completion token, [B, C] (temperature 1)."""
    logits = model(input_ids=ids, attention_mask=mask).logits[:, prompt_len - 1:-1]
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, ids[:, prompt_len:, None]).squeeze(-1)


def text_step(model, reference, optimizer, tokenizer, tasks, group, stops, timer):
    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": [{"type": "text", "text": t["question"]}]}],
                                             tokenize=False, add_generation_prompt=True) for t in tasks]
    batch = tokenizer([p for p in prompts for _ in range(group)], return_tensors="pt", padding=True)
    prompt_len = batch.input_ids.shape[1]

    with torch.no_grad():
        out = model.generate(**batch, do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=48,
                             eos_token_id=stops, pad_token_id=tokenizer.pad_token_id, output_scores=True,
                             return_dict_in_generate=True)
        completion = out.sequences[:, prompt_len:]
        scores = torch.stack(out.scores, dim=1)
        _sampling = torch.log_softmax(scores, dim=-1).gather(-1, completion[..., None]).squeeze(-1)
    # Completion tokens up to and including the first stop token.
    is_stop = torch.zeros_like(completion, dtype=torch.bool)
    for s in stops:
        is_stop |= completion == s
    after = (is_stop.cumsum(dim=1) - is_stop.long()) > 0
    action_mask = (~after).float()
    timer("rollout")

    texts = tokenizer.batch_decode(completion, skip_special_tokens=True)
    rewards = []
    for i, text in enumerate(texts):
        answer = tasks[i // group]["answer"]
        found = ANSWER.search(text)
        accuracy = 1.0 if found and found.group(1).strip() == answer.strip() else 0.0
        rewards.append(accuracy + 0.2 * (1.0 if FORMAT.match(text) else 0.0))
    rewards = torch.tensor(rewards).view(-1, group)
    timer("reward")

    advantages = ((rewards - rewards.mean(dim=1, keepdim=True)) / (rewards.std(dim=1, keepdim=True) + 1e-4))
    advantages = advantages.clamp(-5, 5).view(-1, 1)
    timer("advantages")

    ids = out.sequences
    mask = torch.cat([batch.attention_mask, action_mask.long()], dim=1)
    with torch.no_grad():
        old = completion_log_probs(model, ids, mask, prompt_len)
        ref = completion_log_probs(reference, ids, mask, prompt_len)
    timer("old+reference")

    lp = completion_log_probs(model, ids, mask, prompt_len)
    timer("replay")

    ratio = torch.exp(lp - old)
    surrogate = -torch.min(ratio * advantages, ratio.clamp(0.8, 1.2) * advantages)
    q = ref - lp
    kl = torch.exp(q) - q - 1
    per_token = surrogate + 0.04 * kl
    lengths = action_mask.sum(dim=1).clamp(min=1)
    loss = ((per_token * action_mask).sum(dim=1) / lengths).mean()
    loss.item()
    timer("loss")

    loss.backward()
    timer("backward")

    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    timer("optimizer")
    return float(action_mask.sum(dim=1).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="text")
    ap.add_argument("--prompts", required=True, help="JSON list of {question, answer}, prompts_per_step per step")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--prompts-per-step", type=int, default=4)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    args = ap.parse_args()
    if args.scenario != "text":
        print(f"bench_grpo_step.py: no PyTorch step for scenario '{args.scenario}' yet", file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    directory = Path(args.root) / "Sources/Scenarios/Resources/tiny-unified/lm"
    tokenizer = AutoTokenizer.from_pretrained(directory)
    tokenizer.padding_side = "left"
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(directory, dtype=torch.float32)
    model.train()
    reference = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    stops = [tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")]
    tasks = json.loads(Path(args.prompts).read_text())
    n = args.prompts_per_step

    samples = {p: [] for p in PHASES}
    lengths = []
    for step in range(args.warmup + args.repeats):
        times = {}
        clock = [time.perf_counter()]
        start = clock[0]

        def timer(phase):
            now = time.perf_counter()
            times[phase] = now - clock[0]
            clock[0] = now

        chunk = [tasks[(step * n + k) % len(tasks)] for k in range(n)]
        length = text_step(model, reference, optimizer, tokenizer, chunk, args.group, stops, timer)
        times["step"] = time.perf_counter() - start
        if step >= args.warmup:
            lengths.append(length)
            for p in PHASES:
                samples[p].append(times[p])
        print(f"[bench_grpo_step] step {step}: {times['step']:.3f} s, mean completion {length:.1f} tokens", file=sys.stderr)

    print(json.dumps({
        "versions": f"torch {torch.__version__}, transformers {transformers.__version__}",
        "seconds": {p: statistics.median(v) for p, v in samples.items()},
        "peak_rss_mib": peak_rss_mib(),
        "mean_completion_tokens": statistics.mean(lengths),
    }, indent=1))


if __name__ == "__main__":
    main()
