#!/usr/bin/env python3
"""The PyTorch half of `unirl bench unified`: the same computations as Sources/CLI/Bench/UnifiedBench.swift.

    .venv-reference/bin/python scripts/bench_unified.py [--threads 2] [--warmup 3] [--repeats 10] [--cases a,b]

Cases (float32, CPU; the tiny ones forward only, no grad):
  unified_forward      tiny Qwen2.5-VL LM (width 64, 2 layers) over 8 prompts of 24 tokens + 16 t2i queries
                       (positions cumsum(mask) - 1), the connector (2 blocks, written from the official
                       VisionTransformerProjector), one SANA step (width 64, 4 layers, 4x8x8 latents, reference path)
  sde_rollout_10       the same condition, then 10 Flow-GRPO SDE steps with log-probs, guidance 3.5 (null = zeros)
  qwen3b_layer         one Qwen2.5-VL-3B decoder layer (transformers) at sequence 1024, causal
  qwen3b_vision_block  Qwen2.5-VL-3B's vision tower with one full-attention block on a 32x32 patch grid (1,024
                       patches; patch embedding and merger included)
  connector_2048       the 2048-wide connector with one block at 256 queries (-> 2304)
  sana_1600m_block     Sana_1600M with one block (diffusers + reference path) on 32x32 latents, caption 300
Real-scale passes (--passes): forward (no grad) and forward_backward (L = sum(out^2) / numel, gradients for every
parameter and the input). Each row's peak RSS is this process's VmHWM, reset (/proc/self/clear_refs) before the row;
"gflop" counts the row's matrix-product FLOPs once (torch.utils.flop_counter), outside the timing.
Prints JSON on stdout: {"torch", "transformers", "diffusers", "results": [{"name", "pass", "ms", "peak_rss_mib", "gflop"}]}.
"""
from __future__ import annotations

import argparse
import gc
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
from peak_rss import peak_rss_mib, reset_peak_rss  # noqa: E402
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration  # noqa: E402
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import (  # noqa: E402
    Qwen2_5_VisionTransformerPretrainedModel, Qwen2_5_VLDecoderLayer, Qwen2_5_VLRotaryEmbedding)


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


def qwen3b_layer(g):
    cfg = Qwen2_5_VLConfig.from_dict(dict(text_config=dict(
        hidden_size=2048, intermediate_size=11008, num_attention_heads=16, num_key_value_heads=2, num_hidden_layers=1,
        vocab_size=151936, rms_norm_eps=1e-6,
        rope_parameters=dict(rope_type="default", mrope_section=[16, 24, 24], rope_theta=1000000.0))))
    cfg.text_config._attn_implementation = "sdpa"
    layer = Qwen2_5_VLDecoderLayer(cfg.text_config, 0).float()
    rotary = Qwen2_5_VLRotaryEmbedding(cfg.text_config)
    pos = torch.arange(QWEN_SEQUENCE)[None, None].expand(3, 1, -1)

    def forward(h):
        # attention_mask None: transformers' SDPA path then runs causal (is_causal), as the model does
        out = layer(h, attention_mask=None, position_ids=pos, position_embeddings=rotary(h, pos))
        return out[0] if isinstance(out, tuple) else out

    return layer, torch.randn(1, QWEN_SEQUENCE, 2048, generator=g), forward


def qwen3b_vision_block(g):
    cfg = Qwen2_5_VLConfig.from_dict(dict(vision_config=dict(
        depth=1, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=2048, patch_size=14,
        spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[0])))
    cfg.vision_config._attn_implementation = "sdpa"
    tower = Qwen2_5_VisionTransformerPretrainedModel._from_config(cfg.vision_config).float()
    grid = torch.tensor([[1, VISION_GRID, VISION_GRID]])
    pixels = torch.randn(VISION_GRID * VISION_GRID, 3 * 2 * 14 * 14, generator=g)
    return tower, pixels, lambda x: tower(x, grid_thw=grid).pooler_output


def connector_2048(g):
    connector = Connector(2048, 1, 8, 2304, num_queries=256)
    return connector, torch.randn(1, 256, 2048, generator=g), connector


def sana_1600m_block(g):
    dit = add_reference_path(SanaTransformer2DModel(**{**SANA_1600M_1024, "num_layers": 1})).float()
    caption = torch.randn(1, CAPTION_TOKENS, 2304, generator=g)
    return dit, torch.randn(1, 32, 32, 32, generator=g), lambda x: sana_call(dit, x, caption, torch.tensor([500.0]))


# The real-scale layers (batch 1, random weights), each built just before its rows and dropped after them, so
# that each row's peak RSS holds its own layer only.
REAL_SCALE = {"qwen3b_layer": qwen3b_layer, "qwen3b_vision_block": qwen3b_vision_block,
              "connector_2048": connector_2048, "sana_1600m_block": sana_1600m_block}

QWEN_SEQUENCE, VISION_GRID, CAPTION_TOKENS = 1024, 32, 300


def counted_gflop(fn):
    """The matrix-product FLOPs (mm, bmm, addmm, convolution, attention) of one untimed call, as
    torch.utils.flop_counter counts them: the same products our side computes."""
    from torch.utils.flop_counter import FlopCounterMode, conv_flop_count

    def conv_backward(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                      _output_padding, _groups, output_mask, out_shape=None, **kwargs):
        # Each gradient of a (grouped) convolution costs what its forward costs; torch's own formula
        # ignores groups in the weight gradient (2.3 TFLOP for SANA's depthwise conv instead of 0.2 GFLOP).
        forward = conv_flop_count(x_shape, w_shape, grad_out_shape, transposed=transposed)
        return forward * (int(output_mask[0]) + int(output_mask[1]))

    with FlopCounterMode(display=False, custom_mapping={torch.ops.aten.convolution_backward: conv_backward}) as counter:
        fn()
    return round(counter.get_total_flops() / 1e9, 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--cases", default="unified_forward,sde_rollout_10,qwen3b_layer,qwen3b_vision_block,connector_2048,"
                                       "sana_1600m_block")
    ap.add_argument("--passes", default="forward,forward_backward", help="passes of the real-scale rows")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    cases = args.cases.split(",")
    passes = args.passes.split(",")
    real = max(3, args.repeats // 3)
    results = []

    def record(name, pass_, med, mn, gflop=None):
        results.append({"name": name, "pass": pass_, "ms": round(med, 4), "min_ms": round(mn, 4),
                        "peak_rss_mib": peak_rss_mib(), "gflop": gflop})
        print(f"[bench_unified] {name:20s} {pass_:16s} median {med:10.3f} ms  min {mn:10.3f} ms  "
              f"peak RSS {results[-1]['peak_rss_mib']:.0f} MiB", file=sys.stderr)

    with torch.no_grad():
        if "unified_forward" in cases or "sde_rollout_10" in cases:
            lm, connector, dm = tiny_models()
            ids = torch.randint(0, 500, (8, 24), generator=g)
            if "unified_forward" in cases:
                x, t = torch.randn(8, 4, 8, 8, generator=g), torch.full((8,), 500.0)
                reset_peak_rss()
                record("unified_forward", "forward", *time_fn(
                    lambda: sana_call(dm, x, condition(lm, connector, ids), t), args.warmup, args.repeats))
            if "sde_rollout_10" in cases:
                reset_peak_rss()
                record("sde_rollout_10", "forward", *time_fn(
                    lambda: sde_rollout(dm, condition(lm, connector, ids), generator=g), 1, max(3, args.repeats // 2)))
    for name, build in REAL_SCALE.items():
        if name not in cases:
            continue
        module, x, forward = build(g)
        if "forward" in passes:
            module.eval()
            reset_peak_rss()
            with torch.no_grad():
                record(name, "forward", *time_fn(lambda: forward(x), 1, real), gflop=counted_gflop(lambda: forward(x)))
        if "forward_backward" in passes:
            module.train()
            xg = x.clone().requires_grad_(True)

            def forward_backward():
                module.zero_grad(set_to_none=True)
                xg.grad = None
                out = forward(xg)
                (out.square().sum() / out.numel()).backward()

            reset_peak_rss()
            record(name, "forward_backward", *time_fn(forward_backward, 1, real), gflop=counted_gflop(forward_backward))
            del xg, forward_backward
        del module, x, forward
        gc.collect()

    print(json.dumps({"threads": args.threads, "torch": torch.__version__, "transformers": transformers.__version__,
                      "diffusers": diffusers.__version__, "results": results}, indent=1))


if __name__ == "__main__":
    main()
