#!/usr/bin/env python3
"""Writes the tensor-level parity fixtures the Swift tests compare against.

    bash scripts/setup-reference-env.sh            # once
    .venv-reference/bin/python scripts/make_tensor_fixtures.py [--out DIR] [--only NAME ...]

For each case it writes <root>/<name>/, the root being Tests/TensorTests/Fixtures for the engine's
conv block and Tests/Fixtures/blocks for the experts' blocks (transformer_block, linear_attention):

    config.json          the block's config (snake_case keys)
    model.safetensors    the parameters, F32, named as in scripts/reference_blocks.py
    inputs.safetensors   hidden_states (F32), attention_mask (I64) where the block takes one
    outputs.safetensors  output, grad.<param> for every parameter, grad.hidden_states
    case.json            {"rtol": 1e-4, "atol": 1e-5, "grad_rtol": 1e-3}

Loss for the gradients: L = sum((output * m)^2) / numel(output), m = attention_mask broadcast over
the channel dim for the transformer block, 1 otherwise (numel counts masked positions too).

Besides writing, the script checks (and prints):
  * float32 vs float64: the same block and inputs in float64, reported with the docs/ARCHITECTURE.md pass
    rule normalisation (output: max|a-b| / max|b|; gradients: max|a-b| / max(max|b|, 1e-3 S));
  * sensitivity: how much the output moves when a piece is broken on purpose (mask dropped, RoPE
    removed, wrong pixel_shuffle order, no ReLU, ...), same normalisation;
  * cross-check against the libraries: TransformerBlock vs transformers' Qwen2DecoderLayer and
    LinearAttentionBlock vs diffusers' Attention + SanaLinearAttnProcessor2_0 (same weights);
  * the written files load back and equal what was computed.

Everything runs on the CPU with one thread so that reruns write the same numbers.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

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

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "Tests" / "TensorTests" / "Fixtures"
# The experts' blocks live with the experts' tests (ExpertsTests reads Tests/Fixtures/blocks).
EXPERT_BLOCKS_OUT = ROOT / "Tests" / "Fixtures" / "blocks"
EXPERT_BLOCKS = {"transformer_block", "linear_attention"}
CASE_JSON = {"rtol": 1e-4, "atol": 1e-5, "grad_rtol": 1e-3}


# ----------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------


def case_transformer_block():
    cfg = TransformerBlockConfig(hidden_size=32, num_heads=4, intermediate_size=64, rope_theta=10000.0, eps=1e-6)
    model = rerandomize_(TransformerBlock(cfg), seed=1001)
    g = torch.Generator().manual_seed(2001)
    b, t = 2, 7
    x = torch.randn(b, t, cfg.hidden_size, generator=g, dtype=torch.float64).float()
    mask = torch.ones(b, t, dtype=torch.int64)
    mask[1, 2] = 0  # sample 1: a gap in the middle, so valid queries see the mask
    mask[1, -1] = 0  # and right padding
    return dict(
        cfg=cfg,
        model=model,
        inputs={"hidden_states": x, "attention_mask": mask},
        call=lambda m, inp, **kw: m(inp["hidden_states"], inp["attention_mask"], **kw),
        loss_mask=lambda inp: inp["attention_mask"][:, :, None],
        breaks={
            "drop attention_mask": lambda m, inp: m(inp["hidden_states"], None),
            "no RoPE": lambda m, inp: m(inp["hidden_states"], inp["attention_mask"], use_rope=False),
        },
    )


def case_conv_block():
    cfg = ConvBlockConfig(in_channels=8, mid_channels=16, groups=4, eps=1e-6)
    model = rerandomize_(ConvBlock(cfg), seed=1002)
    g = torch.Generator().manual_seed(2002)
    x = torch.randn(2, cfg.in_channels, 8, 8, generator=g, dtype=torch.float64).float()

    def wrong_groups(m, inp):
        m2 = copy.deepcopy(m)
        for norm in (m2.norm1, m2.norm2):
            norm.num_groups = 1
        return m2(inp["hidden_states"])

    return dict(
        cfg=cfg,
        model=model,
        inputs={"hidden_states": x},
        call=lambda m, inp, **kw: m(inp["hidden_states"], **kw),
        loss_mask=None,
        breaks={
            "GroupNorm with 1 group": wrong_groups,
            "pixel_shuffle channel order swapped": lambda m, inp: m(inp["hidden_states"], break_="shuffle_order"),
            "bilinear instead of nearest upsample": lambda m, inp: m(inp["hidden_states"], break_="bilinear"),
        },
    )


def case_linear_attention():
    cfg = LinearAttentionConfig(hidden_size=32, num_heads=4, eps=1e-15)
    model = rerandomize_(LinearAttentionBlock(cfg), seed=1003)
    g = torch.Generator().manual_seed(2003)
    x = torch.randn(2, 10, cfg.hidden_size, generator=g, dtype=torch.float64).float()
    return dict(
        cfg=cfg,
        model=model,
        inputs={"hidden_states": x},
        call=lambda m, inp, **kw: m(inp["hidden_states"], **kw),
        loss_mask=None,
        breaks={
            "no ReLU on q,k": lambda m, inp: m(inp["hidden_states"], break_="no_relu"),
            "heads split as (D,H) instead of (H,D)": lambda m, inp: m(inp["hidden_states"], break_="head_split"),
        },
    )


CASES = {
    "transformer_block": case_transformer_block,
    "conv_block": case_conv_block,
    "linear_attention": case_linear_attention,
}


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def run_with_grads(model, call, inputs, loss_mask):
    """Forward + backward of L = sum((out*m)^2)/numel(out); returns (output, {grad name: tensor})."""
    model.zero_grad(set_to_none=True)
    inp = {k: (v.detach().clone().requires_grad_(True) if v.is_floating_point() else v) for k, v in inputs.items()}
    out = call(model, inp)
    m = 1.0 if loss_mask is None else loss_mask(inp).to(out.dtype)
    loss = ((out * m) ** 2).sum() / out.numel()
    loss.backward()
    grads = {}
    for name, p in model.named_parameters():
        assert p.grad is not None, f"parameter {name} received no gradient"
        grads[f"grad.{name}"] = p.grad.detach().clone()
    grads["grad.hidden_states"] = inp["hidden_states"].grad.detach().clone()
    return out.detach().clone(), grads, loss.item()


def rel_out(a, b):
    """docs/ARCHITECTURE.md output normalisation: max|a-b| / max|b| (in float64)."""
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max()).item()


def worst_grad(ga, gb):
    """docs/ARCHITECTURE.md gradient normalisation: max over grads of max|a-b| / max(max|b|, 1e-3 S)."""
    s = max(g.double().abs().max().item() for g in gb.values())
    worst, worst_name = 0.0, None
    for k in gb:
        a, b = ga[k].double(), gb[k].double()
        r = (a - b).abs().max().item() / max(b.abs().max().item(), 1e-3 * s)
        if r > worst:
            worst, worst_name = r, k
    return worst, worst_name


def to_dtype(inputs, dtype):
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in inputs.items()}


# ----------------------------------------------------------------------------------------------
# Cross-checks against the libraries (optional: skipped with a note if they do not import)
# ----------------------------------------------------------------------------------------------


def cross_check_transformers(model: TransformerBlock, inputs) -> float:
    from transformers import Qwen2Config
    from transformers.models.qwen2.modeling_qwen2 import Qwen2DecoderLayer, Qwen2RotaryEmbedding

    cfg = model.cfg
    hf_cfg = Qwen2Config(
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        rms_norm_eps=cfg.eps,
        rope_theta=cfg.rope_theta,
        hidden_act="silu",
        attention_dropout=0.0,
        use_sliding_window=False,
    )
    hf_cfg._attn_implementation = "eager"
    layer = Qwen2DecoderLayer(hf_cfg, layer_idx=0).eval()
    missing, unexpected = layer.load_state_dict(model.state_dict(), strict=True), None
    x = inputs["hidden_states"]
    mask = inputs["attention_mask"]
    b, t, _ = x.shape
    pos = torch.arange(t)[None].expand(b, t)
    cos, sin = Qwen2RotaryEmbedding(hf_cfg)(x, pos)
    allowed = torch.ones(t, t, dtype=torch.bool).tril()[None] & mask.bool()[:, None, :]
    add_mask = torch.zeros(b, 1, t, t, dtype=x.dtype).masked_fill(~allowed[:, None], torch.finfo(x.dtype).min)
    with torch.no_grad():
        ref = layer(x, attention_mask=add_mask, position_ids=pos, position_embeddings=(cos, sin))
        if isinstance(ref, tuple):
            ref = ref[0]
        ours = model(x, mask)
    return rel_out(ours, ref)


def cross_check_diffusers(model: LinearAttentionBlock, inputs) -> float:
    from diffusers.models.attention_processor import Attention, SanaLinearAttnProcessor2_0

    cfg = model.cfg
    attn = Attention(
        query_dim=cfg.hidden_size,
        heads=cfg.num_heads,
        dim_head=cfg.head_dim,
        bias=False,
        out_bias=True,
        cross_attention_dim=None,
        processor=SanaLinearAttnProcessor2_0(),
    ).eval()
    sd = {k.replace("to_out.", "to_out.0."): v for k, v in model.state_dict().items()}
    attn.load_state_dict(sd, strict=True)
    x = inputs["hidden_states"]
    with torch.no_grad():
        ref = attn(x)
        ours = model(x)
    return rel_out(ours, ref)


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def save(tensors: dict, path: Path):
    save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})
    os.chmod(path, 0o644)  # safetensors creates 0600 files


def make_case(name: str, out_dir: Path, write: bool) -> dict:
    spec = CASES[name]()
    model, inputs, call, loss_mask = spec["model"], spec["inputs"], spec["call"], spec["loss_mask"]
    model = model.float().eval()
    print(f"== {name}")
    print(f"   config: {json.dumps(spec['cfg'].to_json())}")
    print(f"   inputs: " + ", ".join(f"{k} {list(v.shape)} {v.dtype}" for k, v in inputs.items()))

    out32, g32, loss32 = run_with_grads(model, call, inputs, loss_mask)
    print(f"   loss (float32) = {loss32:.6g}; max|output| = {out32.abs().max().item():.4g}; "
          f"max|grad| = {max(g.abs().max().item() for g in g32.values()):.4g}")

    # float64 run of the same parameters and inputs
    model64 = copy.deepcopy(model).double()
    out64, g64, loss64 = run_with_grads(model64, call, to_dtype(inputs, torch.float64), loss_mask)
    r_out = rel_out(out32, out64)
    r_grad, r_grad_name = worst_grad(g32, g64)
    print(f"   float32 vs float64: output {r_out:.3e} (rtol {CASE_JSON['rtol']:g}); "
          f"worst gradient {r_grad:.3e} at {r_grad_name} (grad_rtol {CASE_JSON['grad_rtol']:g})")

    # sensitivity: break a piece on purpose, measured in float64 against the float64 result
    lm = None if loss_mask is None else loss_mask(inputs).to(torch.float64)
    sens = {}
    with torch.no_grad():
        for label, fn in spec["breaks"].items():
            broken = fn(model64, to_dtype(inputs, torch.float64))
            r_all = rel_out(broken, out64)
            line = f"   break '{label}': output moves {r_all:.3e} (all positions)"
            if lm is not None:
                r_kept = rel_out(broken * lm, out64 * lm)
                line += f", {r_kept:.3e} (unmasked positions only)"
                sens[label] = {"all": r_all, "unmasked": r_kept}
            else:
                sens[label] = {"all": r_all}
            print(line)

    # cross-check against the reference libraries
    xc = None
    try:
        if name == "transformer_block":
            xc = ("transformers Qwen2DecoderLayer", cross_check_transformers(model, inputs))
        elif name == "linear_attention":
            xc = ("diffusers SanaLinearAttnProcessor2_0", cross_check_diffusers(model, inputs))
    except Exception as exc:  # report, do not hide
        print(f"   cross-check skipped: {exc!r}")
    if xc is not None:
        print(f"   cross-check vs {xc[0]}: output {xc[1]:.3e}")

    result = {"f32_vs_f64_output": r_out, "f32_vs_f64_grad": r_grad, "sensitivity": sens,
              "cross_check": None if xc is None else xc[1]}
    if not write:
        return result

    d = out_dir / name
    d.mkdir(parents=True, exist_ok=True)
    params = {k: v.detach().float() for k, v in model.named_parameters()}
    outputs = {"output": out32, **g32}
    (d / "config.json").write_text(json.dumps(spec["cfg"].to_json(), indent=2) + "\n")
    (d / "case.json").write_text(json.dumps(CASE_JSON) + "\n")
    save(params, d / "model.safetensors")
    save(inputs, d / "inputs.safetensors")
    save(outputs, d / "outputs.safetensors")

    # load back and compare
    for fname, ref in (("model.safetensors", params), ("inputs.safetensors", inputs), ("outputs.safetensors", outputs)):
        back = load_file(str(d / fname))
        assert set(back) == set(ref), f"{fname}: keys differ"
        for k, v in ref.items():
            assert back[k].dtype == v.dtype and torch.equal(back[k], v), f"{fname}:{k} differs after reload"
    expected_grads = {f"grad.{n}" for n, _ in model.named_parameters()} | {"grad.hidden_states"}
    assert set(outputs) == expected_grads | {"output"}
    print(f"   wrote {d.relative_to(ROOT) if d.is_relative_to(ROOT) else d}: "
          + ", ".join(sorted(p.name for p in d.iterdir())) + " (reloaded OK)")
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None,
                    help=f"fixture root for every case (default {DEFAULT_OUT}, the experts' blocks {EXPERT_BLOCKS_OUT})")
    ap.add_argument("--only", action="append", choices=sorted(CASES), help="case name (repeatable)")
    ap.add_argument("--check-only", action="store_true", help="print the checks, write nothing")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__}, 1 thread, CPU")
    names = args.only or list(CASES)
    def root(name):
        return args.out or (EXPERT_BLOCKS_OUT if name in EXPERT_BLOCKS else DEFAULT_OUT)
    summary = {n: make_case(n, root(n), write=not args.check_only) for n in names}
    print("summary: " + json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
