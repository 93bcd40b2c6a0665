#!/usr/bin/env python3
"""Writes the unified-model parity fixtures (docs/ARCHITECTURE.md, "Parity fixtures").

    .venv-reference/bin/python scripts/make_unified_fixtures.py [--out DIR] [--check-only]

Kinds and cases (each a folder under Tests/Fixtures/parity/):

  meta_query_connector   UniRL-Zero's connector (`VisionTransformerProjector`, written here in PyTorch
                         from its definition in G-U-N/UniRL unimodel/blip3o/model/multimodal_projector/
                         transformer_projector.py): config.json + model.safetensors (with the queries when
                         num_queries is set), inputs `hidden_states` [B, N, d], output `output`.
  sana_transformer       diffusers' SanaTransformer2DModel plus UniRL-Zero's reference path
                         (`ref_patch_embed`, a PatchEmbed like `patch_embed`, and `ref_linear`, as in
                         unimodel/blip3o/model/multimodal_encoder/sana_transformer.py), with and without
                         `ref_hidden_states` (zeros when absent).
  unified_t2i            lm/ (Qwen2.5-VL, save_pretrained), connector/ (with t2i_queries), dm/ (SANA):
                         embeddings of input_ids then the queries, mask = attention_mask then 1s, positions
                         cumsum(mask) - 1 (1 where the mask is 0) in all three rotary streams, the LM's
                         final-norm states at the last N positions -> connector -> SANA(hidden_states,
                         timestep). Gradients grad.lm.<hub name>, grad.connector.<name>, grad.dm.<name>.

Outputs hold the output and grad.<name> of L = sum(out^2) / numel(out). Every parameter is
re-randomised (weights 1.5/sqrt(fan_in) N, norm weights 1 + 0.1 N, biases 0.1 N, queries N(0, 1)).
For every case the script prints float32-vs-float64 differences and how far the output moves when
a piece is broken on purpose (mask dropped, sequential positions, pre-norm states, no reference).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_sana_fixtures import float64_copy, rel_out, rerandomize_, worst_grad  # noqa: E402

from diffusers import SanaTransformer2DModel  # noqa: E402
from diffusers.models.embeddings import PatchEmbed  # noqa: E402
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "Tests" / "Fixtures" / "parity"
TOLERANCES = {"rtol": 1e-4, "atol": 1e-5, "grad_rtol": 1e-3}


# ----------------------------------------------------------------------------------------------
# The connector, from the official module definition (pre-norm blocks, per-head q/k RMSNorm,
# bidirectional attention without positions, biased SwiGLU of width 2d, final RMSNorm + linear).
# ----------------------------------------------------------------------------------------------


class ConnectorRMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # the official norm runs in float32 for half inputs; float32/float64 stay as they are
        work = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        return (work * torch.rsqrt(work.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


class ConnectorAttention(nn.Module):
    def __init__(self, d, heads, eps):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))
        self.q_norm, self.k_norm = ConnectorRMSNorm(self.head_dim, eps), ConnectorRMSNorm(self.head_dim, eps)

    def forward(self, x):
        b, n, _ = x.shape
        split = lambda t: t.view(b, n, self.heads, self.head_dim)  # noqa: E731
        q = self.q_norm(split(self.q_proj(x))).transpose(1, 2)
        k = self.k_norm(split(self.k_proj(x))).transpose(1, 2)
        v = split(self.v_proj(x)).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=False)
        return self.out_proj(o.transpose(1, 2).reshape(b, n, -1))


class ConnectorFFN(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w1, self.w2, self.w3 = nn.Linear(d, 2 * d), nn.Linear(d, 2 * d), nn.Linear(2 * d, d)

    def forward(self, x):
        return self.w3(F.silu(self.w1(x)) * self.w2(x))


class ConnectorBlock(nn.Module):
    def __init__(self, d, heads, eps):
        super().__init__()
        self.norm1, self.attn = ConnectorRMSNorm(d, eps), ConnectorAttention(d, heads, eps)
        self.norm2, self.ffn = ConnectorRMSNorm(d, eps), ConnectorFFN(d)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class Connector(nn.Module):
    def __init__(self, hidden_size, num_hidden_layers, num_attention_heads, output_size, rms_norm_eps=1e-6,
                 num_queries=None, query_sets=("t2i", "i2i")):
        super().__init__()
        self.config = dict(hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                           num_attention_heads=num_attention_heads, output_size=output_size, rms_norm_eps=rms_norm_eps)
        if num_queries is not None:
            self.config["num_queries"] = num_queries
        self.layers = nn.ModuleList(ConnectorBlock(hidden_size, num_attention_heads, rms_norm_eps)
                                    for _ in range(num_hidden_layers))
        self.norm_final = ConnectorRMSNorm(hidden_size, rms_norm_eps)
        self.output_linear = nn.Linear(hidden_size, output_size)
        if num_queries is not None:
            for s in query_sets:
                setattr(self, f"{s}_queries", nn.Parameter(torch.randn(1, num_queries, hidden_size)))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.output_linear(self.norm_final(x))

    def save(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True) + "\n")
        save_file({k: v.detach().contiguous() for k, v in self.state_dict().items()}, str(folder / "model.safetensors"))


def rerandomize_connector_(m: Connector, seed: int):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in m.named_parameters():
            z = torch.randn(p.shape, generator=gen, dtype=torch.float64)
            if name.endswith("_queries"):
                val = z
            elif "norm" in name:
                val = 1 + 0.1 * z
            elif name.endswith("bias"):
                val = 0.1 * z
            else:
                val = 1.5 / math.sqrt(p.shape[1]) * z
            p.copy_(val.to(p.dtype))
    return m


# ----------------------------------------------------------------------------------------------
# SANA with the reference path
# ----------------------------------------------------------------------------------------------


def add_reference_path(model: SanaTransformer2DModel):
    c = model.config
    inner = c.num_attention_heads * c.attention_head_dim
    model.ref_patch_embed = PatchEmbed(height=c.sample_size, width=c.sample_size, patch_size=c.patch_size,
                                       in_channels=c.in_channels, embed_dim=inner, interpolation_scale=c.interpolation_scale,
                                       pos_embed_type="sincos" if c.interpolation_scale is not None else None)
    model.ref_linear = nn.Linear(inner, inner)
    return model


def sana_call(m, hidden_states, encoder_hidden_states, timestep, ref_hidden_states=None, encoder_attention_mask=None):
    """The official forward: patch_embed(x) + ref_linear(ref_patch_embed(ref or zeros)), then diffusers'."""
    hook = None
    if hasattr(m, "ref_linear"):
        ref = ref_hidden_states if ref_hidden_states is not None else torch.zeros_like(hidden_states)
        extra = m.ref_linear(m.ref_patch_embed(ref))
        hook = m.patch_embed.register_forward_hook(lambda mod, args, out: out + extra)
    try:
        return m(hidden_states=hidden_states, encoder_hidden_states=encoder_hidden_states, timestep=timestep,
                 encoder_attention_mask=encoder_attention_mask).sample
    finally:
        if hook is not None:
            hook.remove()


def _randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float64).float()


# ----------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------


def case_connector(name, seed, batch, n, **cfg):
    model = rerandomize_connector_(Connector(**cfg), seed)
    gen = torch.Generator().manual_seed(seed + 1)
    inputs = {"hidden_states": _randn(gen, batch, n, cfg["hidden_size"])}

    def call(m, inp):
        return m(inp["hidden_states"])

    def no_qk_norm(m, inp):
        m = copy.deepcopy(m)
        for layer in m.layers:
            layer.attn.q_norm.forward = lambda x: x
            layer.attn.k_norm.forward = lambda x: x
        return call(m, inp)

    def causal(m, inp):
        m = copy.deepcopy(m)
        for layer in m.layers:
            attn = layer.attn

            def fwd(x, attn=attn):
                b, n_, _ = x.shape
                split = lambda t: t.view(b, n_, attn.heads, attn.head_dim)  # noqa: E731
                q = attn.q_norm(split(attn.q_proj(x))).transpose(1, 2)
                k = attn.k_norm(split(attn.k_proj(x))).transpose(1, 2)
                v = split(attn.v_proj(x)).transpose(1, 2)
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                return attn.out_proj(o.transpose(1, 2).reshape(b, n_, -1))
            attn.forward = fwd
        return call(m, inp)

    breaks = {"no q/k norm": no_qk_norm, "causal attention": causal}
    return dict(kind="meta_query_connector", model=model, inputs=inputs, call=call, output="output", breaks=breaks,
                save=lambda m, d: m.save(d), double=lambda m: copy.deepcopy(m).double())


def case_connector_queries():
    return case_connector("connector_queries", 7101, batch=2, n=6, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=4, output_size=24, num_queries=6)


def case_connector_plain():
    return case_connector("connector_plain", 7201, batch=3, n=5, hidden_size=24, num_hidden_layers=3,
                          num_attention_heads=2, output_size=20, rms_norm_eps=1e-5)


def case_sana_ref(seed, cfg, *, batch, height, width, text_length, timestep, with_ref, mask=None):
    model = add_reference_path(SanaTransformer2DModel(**cfg))
    rerandomize_(model, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    inputs = {"hidden_states": _randn(gen, batch, cfg["in_channels"], height, width),
              "encoder_hidden_states": _randn(gen, batch, text_length, cfg["caption_channels"]),
              "timestep": torch.tensor(timestep, dtype=torch.float32)}
    if with_ref:
        inputs["ref_hidden_states"] = _randn(gen, batch, cfg["in_channels"], height, width)
    if mask is not None:
        inputs["encoder_attention_mask"] = torch.tensor(mask, dtype=torch.int64)

    def call(m, inp):
        return sana_call(m, inp["hidden_states"], inp["encoder_hidden_states"], inp["timestep"],
                         inp.get("ref_hidden_states"), inp.get("encoder_attention_mask"))

    def no_ref(m, inp):
        m = copy.deepcopy(m)
        del m.ref_linear
        return call(m, inp)

    breaks = {"no reference path": no_ref}
    if with_ref:
        breaks["reference = zeros"] = lambda m, inp: call(m, {k: v for k, v in inp.items() if k != "ref_hidden_states"})
    return dict(kind="sana_transformer", model=model, inputs=inputs, call=call, output="sample", breaks=breaks,
                save=lambda m, d: m.save_pretrained(d, safe_serialization=True), double=float64_copy)


def case_sana_ref_sincos():
    cfg = dict(in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=2,
               num_cross_attention_heads=2, cross_attention_head_dim=8, cross_attention_dim=16, caption_channels=12,
               mlp_ratio=2.5, sample_size=4, patch_size=1, interpolation_scale=1.0)
    return case_sana_ref(7301, cfg, batch=2, height=4, width=5, text_length=5, timestep=[640.0, 90.0], with_ref=True,
                         mask=[[1, 1, 1, 1, 0], [1, 1, 0, 1, 1]])


def case_sana_ref_zeros():
    cfg = dict(in_channels=3, out_channels=3, num_attention_heads=2, attention_head_dim=6, num_layers=2,
               num_cross_attention_heads=3, cross_attention_head_dim=4, cross_attention_dim=12, caption_channels=10,
               mlp_ratio=2.0, sample_size=4, patch_size=2, attention_bias=True)
    return case_sana_ref(7401, cfg, batch=2, height=4, width=6, text_length=4, timestep=[999.0, 420.0], with_ref=False)


IMAGE, VIDEO, START, END = 100, 103, 101, 102


def tiny_lm(seed, tie):
    cfg = Qwen2_5_VLConfig(
        text_config=dict(hidden_size=32, intermediate_size=48, num_attention_heads=4, num_key_value_heads=2,
                         num_hidden_layers=2, vocab_size=128, rms_norm_eps=1e-6,
                         rope_parameters=dict(rope_type="default", mrope_section=[2, 1, 1], rope_theta=10000.0)),
        vision_config=dict(depth=1, hidden_size=16, intermediate_size=24, num_heads=2, out_hidden_size=32, patch_size=2,
                           temporal_patch_size=2, spatial_merge_size=2, window_size=8, fullatt_block_indexes=[0]),
        image_token_id=IMAGE, video_token_id=VIDEO, vision_start_token_id=START, vision_end_token_id=END,
        tie_word_embeddings=tie, attn_implementation="sdpa")
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(cfg).float()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            z = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if "norm" in name or "ln_q" in name:
                p.copy_(1 + 0.1 * z)
            elif name.endswith("bias"):
                p.copy_(0.1 * z)
            else:
                p.copy_(1.5 / math.sqrt(p[0].numel()) * z)
    return model


def hub_name(name):
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model."):]
    if name.startswith("model.visual."):
        return name[len("model."):]
    return name


class Unified(nn.Module):
    def __init__(self, lm, connector, dm):
        super().__init__()
        self.lm, self.connector, self.dm = lm, connector, dm


def unified_call(m, inp, positions="mask", final_norm=True, prompt_mask=True):
    ids, mask = inp["input_ids"], inp["attention_mask"]
    text = m.lm.model.language_model
    q = m.connector.t2i_queries
    b, n = ids.shape[0], q.shape[1]
    x = torch.cat([text.embed_tokens(ids), q.expand(b, -1, -1).to(text.embed_tokens.weight.dtype)], dim=1)
    if not prompt_mask:
        mask = torch.ones_like(mask)
    full = torch.cat([mask, torch.ones(b, n, dtype=mask.dtype)], dim=1)
    if positions == "mask":
        pos = full.cumsum(-1) - 1
        pos = pos.masked_fill(full == 0, 1)
    else:
        pos = torch.arange(full.shape[1]).expand(b, -1)
    out = text(inputs_embeds=x, attention_mask=full, position_ids=pos[None].expand(3, -1, -1), output_hidden_states=True)
    h = out.last_hidden_state if final_norm else out.hidden_states[-2]
    cond = m.connector(h[:, -n:])
    return sana_call(m.dm, inp["hidden_states"], cond, inp["timestep"])


def case_unified(seed, *, tie, with_ref_path, query_sets, rows, n=4):
    lm = tiny_lm(seed, tie)
    connector = rerandomize_connector_(Connector(32, 2, 4, 24, num_queries=n, query_sets=query_sets), seed + 2)
    cfg = dict(in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=2,
               num_cross_attention_heads=2, cross_attention_head_dim=8, cross_attention_dim=16, caption_channels=24,
               mlp_ratio=2.5, sample_size=4, patch_size=1)
    dm = SanaTransformer2DModel(**cfg)
    if with_ref_path:
        add_reference_path(dm)
    rerandomize_(dm, seed=seed + 3)
    model = Unified(lm, connector, dm)
    gen = torch.Generator().manual_seed(seed + 1)
    t = max(rows)
    ids = torch.randint(0, 96, (len(rows), t), generator=gen)
    mask = torch.tensor([[1] * r + [0] * (t - r) for r in rows], dtype=torch.int64)
    ids = ids * mask  # pads hold id 0
    inputs = {"input_ids": ids, "attention_mask": mask,
              "hidden_states": _randn(gen, len(rows), 4, 4, 4),
              "timestep": torch.tensor([700.0, 150.0][: len(rows)], dtype=torch.float32)}

    def call(m, inp):
        return unified_call(m, inp)

    breaks = {"sequential positions": lambda m, inp: unified_call(m, inp, positions="sequential"),
              "pre-norm LM states": lambda m, inp: unified_call(m, inp, final_norm=False),
              "prompt mask dropped": lambda m, inp: unified_call(m, inp, prompt_mask=False)}

    def double(m):
        d = copy.deepcopy(m)
        d.lm = d.lm.double()
        d.connector = d.connector.double()
        d.dm = float64_copy(m.dm)
        return d

    def save(m, folder):
        m.lm.save_pretrained(folder / "lm", safe_serialization=True)
        (folder / "lm" / "generation_config.json").unlink(missing_ok=True)
        m.connector.save(folder / "connector")
        m.dm.save_pretrained(folder / "dm", safe_serialization=True)

    return dict(kind="unified_t2i", model=model, inputs=inputs, call=call, output="sample", breaks=breaks, save=save,
                double=double, grad_name=lambda n: "lm." + hub_name(n[3:]) if n.startswith("lm.") else n)


CASES = {
    "connector_queries": case_connector_queries,
    "connector_plain": case_connector_plain,
    "sana_ref_sincos": case_sana_ref_sincos,
    "sana_ref_zeros": case_sana_ref_zeros,
    "unified_t2i_ref_path": lambda: case_unified(7501, tie=False, with_ref_path=True, query_sets=("t2i", "i2i"), rows=[7, 4]),
    "unified_t2i_plain_dm": lambda: case_unified(7601, tie=True, with_ref_path=False, query_sets=("t2i",), rows=[3, 6]),
}


def run_with_grads(model, call, inputs):
    model.zero_grad(set_to_none=True)
    out = call(model, inputs)
    (out.pow(2).sum() / out.numel()).backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return out.detach(), grads


def to_dtype(inputs, dtype):
    return {k: (v.to(dtype) if v.is_floating_point() and k != "timestep" else v) for k, v in inputs.items()}


def make_case(name, out_dir: Path, write: bool):
    spec = CASES[name]()
    model, inputs, call = spec["model"], spec["inputs"], spec["call"]
    out, grads = run_with_grads(model, call, inputs)
    print(f"== {name} ({spec['kind']}): output {tuple(out.shape)}, {len(grads)} parameter gradients, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    model64 = spec["double"](model)
    out64, grads64 = run_with_grads(model64, call, to_dtype(inputs, torch.float64))
    r_out, r_grad = rel_out(out, out64), worst_grad(grads, grads64)
    print(f"   float32 vs float64: output {r_out:.3e}; gradients {r_grad:.3e}")
    sensitivity = {}
    with torch.no_grad():
        for label, fn in spec["breaks"].items():
            sensitivity[label] = rel_out(fn(model64, to_dtype(inputs, torch.float64)), out64)
            print(f"   break '{label}': output moves {sensitivity[label]:.3e}")
    if write:
        case_dir = out_dir / name
        if case_dir.exists():
            shutil.rmtree(case_dir)
        case_dir.mkdir(parents=True)
        spec["save"](model, case_dir)
        (case_dir / "case.json").write_text(json.dumps({"kind": spec["kind"], **TOLERANCES}, indent=2) + "\n")
        save_file({k: v.contiguous() for k, v in inputs.items()}, str(case_dir / "inputs.safetensors"))
        rename = spec.get("grad_name", lambda n: n)
        outputs = {spec["output"]: out.contiguous()}
        outputs.update({f"grad.{rename(n)}": g.contiguous() for n, g in grads.items()})
        save_file(outputs, str(case_dir / "outputs.safetensors"))
        size = sum(f.stat().st_size for f in case_dir.rglob("*") if f.is_file())
        print(f"   wrote {case_dir} ({size / 1024:.0f} KiB)")
    return {"float64_output": r_out, "float64_gradients": r_grad, "sensitivity": sensitivity}


def write_preset_shapes(out_dir: Path):
    """Names and shapes of UniRL-Zero's real-scale connector (Qwen2.5-VL-3B width 2048, 12 layers, 8 heads,
    2304 out, 256 queries per set) and of Sana_1600M's reference path, built on the meta device."""
    from make_sana_fixtures import SANA_1600M_1024
    folder = out_dir / "unified_preset_shapes"
    folder.mkdir(parents=True, exist_ok=True)
    with torch.device("meta"):
        connector = Connector(2048, 12, 8, 2304, num_queries=256)
        dit = add_reference_path(SanaTransformer2DModel(**SANA_1600M_1024))
    shapes = {"connector_unirl_zero.json": {n: list(p.shape) for n, p in connector.named_parameters()},
              "sana_1600m_1024_reference_path.json": {n: list(p.shape) for n, p in dit.named_parameters() if n.startswith("ref_")}}
    for filename, table in shapes.items():
        (folder / filename).write_text(json.dumps(table, sort_keys=True, separators=(",", ":")) + "\n")
        print(f"== {filename}: {len(table)} tensors, {sum(math.prod(v) for v in table.values())} parameters")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", choices=sorted(CASES))
    parser.add_argument("--check-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not args.check_only and not args.only:
        write_preset_shapes(args.out)
    results = {n: make_case(n, args.out, not args.check_only) for n in (args.only or list(CASES))}
    worst64 = max(r["float64_output"] for r in results.values())
    worst64g = max(r["float64_gradients"] for r in results.values())
    weakest = min(min(r["sensitivity"].values()) for r in results.values())
    print(f"summary: float64 output <= {worst64:.2e}, gradients <= {worst64g:.2e}; weakest break moves {weakest:.2e}")
    if worst64 > 0.1 * TOLERANCES["rtol"] or worst64g > 0.1 * TOLERANCES["grad_rtol"]:
        sys.exit("float32 rounding is not far inside the tolerance")
    if weakest < 100 * TOLERANCES["rtol"]:
        sys.exit("a broken piece moves the output by less than 100x the tolerance")


if __name__ == "__main__":
    main()
