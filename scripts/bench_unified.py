#!/usr/bin/env python3
"""The PyTorch half of `unirl bench unified`: the same computations as Sources/CLI/Bench/UnifiedBench.swift.

    .venv-reference/bin/python scripts/bench_unified.py [--threads 2] [--warmup 3] [--repeats 10] [--cases a,b]

Cases (float32, CPU, no grad):
  unified_forward   tiny Qwen2.5-VL LM (width 64, 2 layers) over 8 prompts of 24 tokens + 16 t2i queries
                    (positions cumsum(mask) - 1), the connector (2 blocks, written from the official
                    VisionTransformerProjector), one SANA step (width 64, 4 layers, 4x8x8 latents, reference path)
  sde_rollout_10    the same condition, then 10 Flow-GRPO SDE steps with log-probs, guidance 3.5 (null = zeros)
  qwen3b_layer      one Qwen2.5-VL-3B decoder layer (transformers) at sequence 512
  connector_2048    the 2048-wide connector with one block at 256 queries (-> 2304)
  sana_1600m_block  Sana_1600M with one block (diffusers + reference path) on 32x32 latents, caption 256
Prints JSON on stdout: {"torch", "transformers", "diffusers", "results": [{"name", "ms", ...}]}.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers import SanaTransformer2DModel  # noqa: E402
from make_sana_fixtures import SANA_1600M_1024  # noqa: E402
from make_unified_fixtures import Connector, add_reference_path, sana_call  # noqa: E402
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration  # noqa: E402
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLDecoderLayer, Qwen2_5_VLRotaryEmbedding  # noqa: E402


def time_fn(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def tiny_models():
    lm = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(
        text_config=dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
                         num_hidden_layers=2, vocab_size=600, rms_norm_eps=1e-6,
                         rope_parameters=dict(rope_type="default", mrope_section=[4, 2, 2], rope_theta=10000.0)),
        vision_config=dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=64),
        tie_word_embeddings=True, attn_implementation="sdpa")).float().eval()
    connector = Connector(64, 2, 4, 64, num_queries=16).eval()
    dm = add_reference_path(SanaTransformer2DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=32, num_layers=4,
        num_cross_attention_heads=2, cross_attention_head_dim=32, cross_attention_dim=64, caption_channels=64,
        mlp_ratio=2.5, sample_size=8, patch_size=1, interpolation_scale=1.0)).float().eval()
    return lm, connector, dm


def condition(lm, connector, ids):
    text = lm.model.language_model
    b, n = ids.shape[0], connector.t2i_queries.shape[1]
    x = torch.cat([text.embed_tokens(ids), connector.t2i_queries.expand(b, -1, -1)], dim=1)
    mask = torch.ones(b, x.shape[1], dtype=torch.int64)
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    h = text(inputs_embeds=x, attention_mask=mask, position_ids=pos[None].expand(3, -1, -1)).last_hidden_state
    return connector(h[:, -n:])


def sde_rollout(dm, cond, steps=10, noise_level=0.7, guidance=3.5, generator=None):
    sigmas = torch.linspace(1, 0, steps + 1)
    x = torch.randn(cond.shape[0], 4, 8, 8, generator=generator)
    both = torch.cat([torch.zeros_like(cond), cond])
    log_probs = []
    for k in range(steps):
        t, t_next = sigmas[k], sigmas[k + 1]
        dt = t_next - t
        out = sana_call(dm, torch.cat([x, x]), both, (t * 1000).expand(2 * x.shape[0]))
        u, c = out.chunk(2)
        v = u + guidance * (c - u)
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
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--cases", default="unified_forward,sde_rollout_10,qwen3b_layer,connector_2048,sana_1600m_block")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    cases = args.cases.split(",")
    real = max(3, args.repeats // 3)
    results = []

    def record(name, med, mn):
        results.append({"name": name, "ms": round(med, 4), "min_ms": round(mn, 4)})
        print(f"[bench_unified] {name:18s} median {med:10.3f} ms  min {mn:10.3f} ms", file=sys.stderr)

    with torch.no_grad():
        if "unified_forward" in cases or "sde_rollout_10" in cases:
            lm, connector, dm = tiny_models()
            ids = torch.randint(0, 500, (8, 24), generator=g)
            if "unified_forward" in cases:
                x, t = torch.randn(8, 4, 8, 8, generator=g), torch.full((8,), 500.0)
                record("unified_forward", *time_fn(lambda: sana_call(dm, x, condition(lm, connector, ids), t),
                                                   args.warmup, args.repeats))
            if "sde_rollout_10" in cases:
                record("sde_rollout_10", *time_fn(lambda: sde_rollout(dm, condition(lm, connector, ids), generator=g),
                                                  1, max(3, args.repeats // 2)))
        if "qwen3b_layer" in cases:
            cfg = Qwen2_5_VLConfig.from_dict(dict(text_config=dict(
                hidden_size=2048, intermediate_size=11008, num_attention_heads=16, num_key_value_heads=2, num_hidden_layers=1,
                vocab_size=151936, rms_norm_eps=1e-6,
                rope_parameters=dict(rope_type="default", mrope_section=[16, 24, 24], rope_theta=1000000.0))))
            cfg.text_config._attn_implementation = "sdpa"
            layer = Qwen2_5_VLDecoderLayer(cfg.text_config, 0).float().eval()
            rotary = Qwen2_5_VLRotaryEmbedding(cfg.text_config)
            h = torch.randn(1, 512, 2048, generator=g)
            pos = torch.arange(512)[None, None].expand(3, 1, -1)

            def qwen_layer():
                cos_sin = rotary(h, pos)
                return layer(h, attention_mask=None, position_ids=pos, position_embeddings=cos_sin)

            record("qwen3b_layer", *time_fn(qwen_layer, 1, real))
        if "connector_2048" in cases:
            connector = Connector(2048, 1, 8, 2304, num_queries=256).eval()
            h = torch.randn(1, 256, 2048, generator=g)
            record("connector_2048", *time_fn(lambda: connector(h), 1, real))
        if "sana_1600m_block" in cases:
            dit = add_reference_path(SanaTransformer2DModel(**{**SANA_1600M_1024, "num_layers": 1})).float().eval()
            x, caption = torch.randn(1, 32, 32, 32, generator=g), torch.randn(1, 256, 2304, generator=g)
            record("sana_1600m_block", *time_fn(lambda: sana_call(dit, x, caption, torch.tensor([500.0])), 1, real))

    print(json.dumps({"threads": args.threads, "torch": torch.__version__, "transformers": transformers.__version__,
                      "diffusers": diffusers.__version__, "results": results}, indent=1))


if __name__ == "__main__":
    main()
