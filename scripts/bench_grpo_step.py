#!/usr/bin/env python3
"""The PyTorch half of `unirl bench grpo`: one GRPO step of the `text` or `t2i` scenario with transformers / diffusers.

    .venv-reference/bin/python scripts/bench_grpo_step.py --scenario text|t2i --prompts PROMPTS.json \
        [--threads 2] [--warmup 1] [--repeats 3] [--root .]

`unirl bench grpo` writes PROMPTS.json (text: the questions and answers its own steps draw, in order; t2i: the
captions) and launches this script, one process per scenario so that the peak RSS (VmHWM) is that scenario's.
Both steps follow the Swift trainer at the packs' defaults, in float32 on the CPU. The text step:

  rollout        transformers `generate` (sampling, temperature 1, ≤ 48 new tokens, stop at <|im_end|> or
                 <|endoftext|>) of 8 completions for each of 4 chat-templated prompts, with the sampling log-probs
  reward         accuracy (the <answer>…</answer> text equals the answer) + 0.2 × format
  advantages     (r − mean_group) / (std_group + 1e-4), clipped to ±5
  old+reference  log π_old (the policy, no grad) and log π_ref (a frozen copy, no grad) of the completion tokens
  replay         the policy's forward over prompt + completion with grad, log-softmax at the completion tokens
  loss           PPO clip (ε 0.2 / 0.2) + 0.04 · k3 KL, per-sequence token mean, mean over sequences (`grpo`)
  backward       loss.backward()
  optimizer      clip the global grad norm to 1, AdamW (lr 3e-4, β 0.9 / 0.999, ε 1e-8)

The t2i step (the bundled tiny unified model: Qwen2.5-VL LM 128 x 3 layers, connector 128 x 2 with 8 t2i queries,
SanaTransformer2DModel 64 x 4 layers on 4x8x8 latents, AutoencoderDC to 32x32; the LM and the DC-AE frozen):

  rollout        the LM over [chat prompt ; t2i queries] once per distinct prompt (right-padded, positions
                 cumsum(mask) - 1), the connector, then 10 Flow-GRPO SDE steps (shift 3, noise level 0.7) with
                 guidance 3 (null condition zeros, one batch of 2 x 64) for 8 samples of each of 8 prompts, SDE
                 noise and log-probs on a window of 3 steps drawn among the first 6 (Euler steps elsewhere), then
                 the DC-AE decode of the 64 latents
  reward         a stand-in image statistic (ShapesEval, the Swift side's reward, has no PyTorch version; this
                 phase takes ~0.03 s on either side and only gives the advantages a spread)
  advantages     as above, clipped to +-5
  old+reference  log pi_old is the sampler's (trainer.recompute_old_log_probs=false); the reference (a frozen copy
                 of the connector, queries and DiT) replays the 3 window steps of each trajectory without grad,
                 per micro-batch of 16 trajectories
  replay         per micro-batch: conditions on the tape (through the frozen LM to the queries), the guided DiT
                 on the 48 window steps (batch 96), the SDE mean and Gaussian log-probs
  loss           PPO clip (eps 1e-4) + 0.004 x the exact Gaussian KL of the means, `grpo` weights
  backward       loss.backward() per micro-batch (4 micro-batches accumulate)
  optimizer      clip the global grad norm to 1, AdamW (lr 3e-4) over connector, queries and DiT

Prints JSON on stdout: {"versions", "seconds": {phase: median s}, "peak_rss_mib", "mean_completion_tokens"}.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak_rss import peak_rss_mib  # noqa: E402

PHASES = ["rollout", "reward", "advantages", "old+reference", "replay", "loss", "backward", "optimizer", "step"]
ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
FORMAT = re.compile(r"^\s*<think>.*?</think>\s*<answer>.*?</answer>\s*$", re.S)


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


# ------------------------------------------------------------------------------------------------
# t2i: the tiny unified model (Sources/Experts/Unified) with the Flow-GRPO SDE sampler (SanaPolicy).
# ------------------------------------------------------------------------------------------------

T2I_STEPS, T2I_SHIFT, T2I_NOISE, T2I_GUIDANCE = 10, 3.0, 0.7, 3.0
T2I_WINDOW, T2I_WINDOW_END, T2I_MICRO, T2I_BETA, T2I_CLIP = 3, 6, 4, 0.004, 1e-4


def flow_timesteps(steps, shift):
    """SANA's shifted schedule t_k = a s / (1 + (a - 1) s), s = 1 - k / N (FlowMatchingSchedule.swift)."""
    return [float(torch.tensor(shift * s / (1 + (shift - 1) * s), dtype=torch.float64).float())
            for s in (1 - k / steps for k in range(steps + 1))]


class SDESchedule:
    """flow_grpo's `sde_step_with_logprob` coefficients per step (SDEStep.swift); noise level 0 is Euler."""

    def __init__(self, steps, shift, noise_level):
        self.t = flow_timesteps(steps, shift)
        below_one = next((t for t in self.t if t < 1), 0.0)
        self.scale, self.std, self.x_coef, self.v_coef, self.dt = [], [], [], [], []
        for k in range(steps):
            t, dt = self.t[k], self.t[k + 1] - self.t[k]
            s = math.sqrt(t / (1 - (below_one if t == 1 else t))) * noise_level
            c = s * s / (2 * t)
            self.scale.append(s)
            self.std.append(s * math.sqrt(-dt))
            self.x_coef.append(1 + c * dt)
            self.v_coef.append((1 + c * (1 - t)) * dt)
            self.dt.append(dt)

    def mean(self, x, v, ks, stochastic=True):
        shape = (-1,) + (1,) * (x.dim() - 1)
        xc = torch.tensor([self.x_coef[k] if stochastic else 1.0 for k in ks]).view(shape)
        vc = torch.tensor([self.v_coef[k] if stochastic else self.dt[k] for k in ks]).view(shape)
        return x * xc + v * vc

    def log_prob(self, nxt, mean, ks):
        std = torch.tensor([self.std[k] for k in ks])
        squared = (nxt.detach() - mean).square().flatten(1).mean(dim=1)
        return squared * (-1 / (2 * std * std)) - torch.log(std) - math.log(math.sqrt(2 * math.pi))


def load_unified(root):
    """The bundled tiny unified model: lm/ (transformers), connector/ (the official projector, as in
    scripts/make_unified_fixtures.py), dm/ and vae/ (diffusers), all float32."""
    from diffusers import AutoencoderDC, SanaTransformer2DModel
    from safetensors.torch import load_file
    from make_unified_fixtures import Connector

    base = Path(root) / "Sources/Scenarios/Resources/tiny-unified"
    tokenizer = AutoTokenizer.from_pretrained(base / "lm")
    lm = Qwen2_5_VLForConditionalGeneration.from_pretrained(base / "lm", dtype=torch.float32).eval().requires_grad_(False)
    config = json.loads((base / "connector/config.json").read_text())
    connector = Connector(config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"],
                          config["output_size"], config.get("rms_norm_eps", 1e-6), num_queries=config["num_queries"],
                          query_sets=("t2i",))
    connector.load_state_dict({k: v.float() for k, v in load_file(str(base / "connector/model.safetensors")).items()})
    dm = SanaTransformer2DModel.from_pretrained(base / "dm", torch_dtype=torch.float32)
    vae = AutoencoderDC.from_pretrained(base / "vae", torch_dtype=torch.float32).eval().requires_grad_(False)
    return tokenizer, lm, connector.float(), dm.float(), vae


def unified_condition(lm, connector, ids, mask):
    """connector(final-norm LM states at the queries) for right-padded prompts (UnifiedModel.condition)."""
    text = lm.model.language_model
    b, n = ids.shape[0], connector.t2i_queries.shape[1]
    x = torch.cat([text.embed_tokens(ids), connector.t2i_queries.expand(b, -1, -1)], dim=1)
    full = torch.cat([mask, torch.ones(b, n, dtype=mask.dtype)], dim=1)
    pos = (full.cumsum(-1) - 1).masked_fill(full == 0, 1)
    h = text(inputs_embeds=x, attention_mask=full, position_ids=pos[None].expand(3, -1, -1)).last_hidden_state
    return connector(h[:, -n:])


def guided_velocity(dm, x, cond, levels):
    """Classifier-free guidance with the zero null condition, one batch of 2B (GuidedVelocity)."""
    t = torch.tensor(levels) * 1000
    out = dm(hidden_states=torch.cat([x, x]), encoder_hidden_states=torch.cat([torch.zeros_like(cond), cond]),
             timestep=torch.cat([t, t])).sample
    u, c = out.chunk(2)
    return u + T2I_GUIDANCE * (c - u)


def t2i_step(models, optimizer, captions, group, generator, timer):
    tokenizer, lm, connector, dm, vae, reference = models
    schedule = SDESchedule(T2I_STEPS, T2I_SHIFT, T2I_NOISE)
    texts = [tokenizer.apply_chat_template(
        [{"role": "user", "content": [{"type": "text", "text": f"Please generate image based on the following caption: {c}"}]}],
        tokenize=False, add_generation_prompt=True) for c in captions]
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    rows = torch.arange(len(captions)).repeat_interleave(group)
    n = rows.numel()
    shape = (dm.config.in_channels, dm.config.sample_size, dm.config.sample_size)

    # rollout: conditions once per prompt, the windowed SDE sampler, the DC-AE decode (no grad)
    with torch.no_grad():
        cond = unified_condition(lm, connector, batch.input_ids, batch.attention_mask)[rows]
        x = torch.randn((n,) + shape, generator=generator)
        first = int(torch.randint(0, T2I_WINDOW_END - T2I_WINDOW + 1, (1,), generator=generator))
        window = list(range(first, first + T2I_WINDOW))
        latents, sampling = [x], []
        for k in range(T2I_STEPS):
            ks = [k] * n
            v = guided_velocity(dm, x, cond, [schedule.t[k]] * n)
            mean = schedule.mean(x, v, ks, stochastic=k in window)
            if k in window:
                x = mean + torch.randn(mean.shape, generator=generator) * schedule.std[k]
                sampling.append(schedule.log_prob(x, mean, ks))
            else:
                x = mean
            latents.append(x)
        path = torch.stack(latents, dim=1)  # [n, N + 1, C, H, W]
        old = torch.stack(sampling, dim=1)  # [n, window]
        pixels = vae.decode(x / vae.config.scaling_factor).sample.clamp(-1, 1)
    timer("rollout")

    # A stand-in for ShapesEval (ours alone): how much redder than blue the image is.
    images = (pixels + 1) / 2
    rewards = (images[:, 0] - images[:, 2]).flatten(1).mean(dim=1).view(-1, group)
    timer("reward")

    advantages = ((rewards - rewards.mean(dim=1, keepdim=True)) / (rewards.std(dim=1, keepdim=True) + 1e-4))
    advantages = advantages.clamp(-5, 5).view(-1)
    timer("advantages")

    micro = [list(range(m * n // T2I_MICRO, (m + 1) * n // T2I_MICRO)) for m in range(T2I_MICRO)]
    ks = window  # every trajectory trains on the window's steps

    def replay(conn, net, idx):
        prompts = sorted(set(rows[idx].tolist()))
        local = torch.tensor([prompts.index(r) for r in rows[idx].tolist()]).repeat_interleave(len(ks))
        c = unified_condition(lm, conn, batch.input_ids[prompts], batch.attention_mask[prompts])[local]
        current = path[idx][:, ks].flatten(0, 1)
        target = path[idx][:, [k + 1 for k in ks]].flatten(0, 1)
        steps = ks * len(idx)
        mean = schedule.mean(current, guided_velocity(net, current, c, [schedule.t[k] for k in steps]), steps)
        return schedule.log_prob(target, mean, steps).view(len(idx), len(ks)), mean.flatten(1).view(len(idx), len(ks), -1)

    with torch.no_grad():
        reference_means = [replay(reference[0], reference[1], idx)[1] for idx in micro]
    timer("old+reference")

    divisors = torch.tensor([2 * schedule.scale[k] ** 2 * -schedule.dt[k] for k in ks])
    weight = 1 / (len(ks) * n)
    for idx, ref_means in zip(micro, reference_means):
        lp, means = replay(connector, dm, idx)
        timer("replay", add=True)
        ratio = torch.exp(lp - old[idx])
        a = advantages[idx].view(-1, 1)
        surrogate = -torch.min(ratio * a, ratio.clamp(1 - T2I_CLIP, 1 + T2I_CLIP) * a)
        kl = (means - ref_means).square().mean(dim=2) / divisors
        loss = (surrogate * weight).sum() + T2I_BETA * (kl * weight).sum()
        loss.item()
        timer("loss", add=True)
        loss.backward()
        timer("backward", add=True)

    torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    timer("optimizer")
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="text", choices=["text", "t2i"])
    ap.add_argument("--prompts", required=True,
                    help="JSON list: text: {question, answer}; t2i: {caption}; prompts_per_step per step")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--prompts-per-step", type=int, default=None, help="default: 4 (text), 8 (t2i)")
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tasks = json.loads(Path(args.prompts).read_text())
    n = args.prompts_per_step or (4 if args.scenario == "text" else 8)

    if args.scenario == "text":
        directory = Path(args.root) / "Sources/Scenarios/Resources/tiny-unified/lm"
        tokenizer = AutoTokenizer.from_pretrained(directory)
        tokenizer.padding_side = "left"
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(directory, dtype=torch.float32)
        model.train()
        reference = copy.deepcopy(model).eval().requires_grad_(False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
        stops = [tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")]
        versions = f"torch {torch.__version__}, transformers {transformers.__version__}"

        def run_step(chunk, timer):
            return text_step(model, reference, optimizer, tokenizer, chunk, args.group, stops, timer)
    else:
        import diffusers
        tokenizer, lm, connector, dm, vae = load_unified(args.root)
        tokenizer.padding_side = "right"
        connector.train()
        dm.train()
        reference = (copy.deepcopy(connector).eval().requires_grad_(False), copy.deepcopy(dm).eval().requires_grad_(False))
        optimizer = torch.optim.AdamW(list(connector.parameters()) + list(dm.parameters()), lr=3e-4, betas=(0.9, 0.999),
                                      eps=1e-8, weight_decay=0)
        generator = torch.Generator().manual_seed(0)
        models = (tokenizer, lm, connector, dm, vae, reference)
        versions = f"torch {torch.__version__}, transformers {transformers.__version__}, diffusers {diffusers.__version__}"

        def run_step(chunk, timer):
            return t2i_step(models, optimizer, [t["caption"] for t in chunk], args.group, generator, timer)

    samples = {p: [] for p in PHASES}
    lengths = []
    for step in range(args.warmup + args.repeats):
        times = {}
        clock = [time.perf_counter()]
        start = clock[0]

        def timer(phase, add=False):
            now = time.perf_counter()
            times[phase] = (times.get(phase, 0.0) if add else 0.0) + now - clock[0]
            clock[0] = now

        chunk = [tasks[(step * n + k) % len(tasks)] for k in range(n)]
        length = run_step(chunk, timer)
        times["step"] = time.perf_counter() - start
        if step >= args.warmup:
            if length is not None:
                lengths.append(length)
            for p in PHASES:
                samples[p].append(times.get(p, 0.0))
        extra = f", mean completion {length:.1f} tokens" if length is not None else ""
        print(f"[bench_grpo_step] {args.scenario} step {step}: {times['step']:.3f} s{extra}", file=sys.stderr)

    print(json.dumps({
        "versions": versions,
        "seconds": {p: statistics.median(v) for p, v in samples.items()},
        "peak_rss_mib": peak_rss_mib(),
        "mean_completion_tokens": statistics.mean(lengths) if lengths else None,
    }, indent=1))


if __name__ == "__main__":
    main()
