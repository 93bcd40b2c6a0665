#!/usr/bin/env python3
"""Writes the SANA parity fixtures (docs/ARCHITECTURE.md, "Parity fixtures") from diffusers.

    .venv-reference/bin/python scripts/make_sana_fixtures.py [--out DIR] [--only NAME ...] [--check-only]

For each case it writes Tests/Fixtures/parity/<name>/:

    case.json                            {"kind": ..., "rtol": 1e-4, "atol": 1e-5, "grad_rtol": 1e-3}
    config.json                          as `save_pretrained` writes it
    diffusion_pytorch_model.safetensors  as `save_pretrained` writes it
    inputs.safetensors                   sana_transformer: hidden_states, encoder_hidden_states,
                                         timestep (t*1000, F32), optional encoder_attention_mask (I64);
                                         autoencoder_dc_encode: sample; autoencoder_dc_decode: latent
    outputs.safetensors                  the output (`sample` or `latent`) and grad.<name> for every
                                         parameter that received a gradient of L = sum(out^2) / numel(out)

The models are tiny random configurations of diffusers' `SanaTransformer2DModel` and
`AutoencoderDC` (patch size 1 and 2, different self- and cross-attention head counts, with and
without the encoder attention mask, sinusoidal positions, q/k RMSNorm; ResBlock and EfficientViT
stages with multi-scale linear attention, conv / pixel-(un)shuffle / interpolate resampling).
Every parameter is re-randomised (weights 1.5/sqrt(fan_in)*N, norm weights 1 + 0.1*N, biases and
modulation tables 0.1*N) so that each part of the model moves the output.

It also writes Tests/Fixtures/parity/sana_preset_shapes/ (no case.json, so the parity runner skips
it): the name -> shape map of diffusers' Sana_1600M (1024 px; 512 px has the same parameters) and
DC-AE f32c32 configurations, built on the meta device, for the Swift preset shape tests.

Besides writing, the script prints for every case:
  * float32 vs float64: the same model and inputs in float64 (the processors' float32 up-casts are
    replaced by float64-faithful copies for that run), docs/ARCHITECTURE.md normalisation
    (output: max|a-b| / max|b|; gradients: max|a-b| / max(max|b|, 1e-3 S));
  * sensitivity: how far the output moves when a piece is broken on purpose (mask dropped,
    timestep changed, positions dropped, multi-scale branch zeroed, shortcut removed, ...).

Everything runs on the CPU with one thread so that reruns write the same numbers.
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

from diffusers import AutoencoderDC, SanaTransformer2DModel
from diffusers.models.attention_processor import SanaLinearAttnProcessor2_0, SanaMultiscaleAttnProcessor2_0
from diffusers.models.normalization import RMSNorm

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "Tests" / "Fixtures" / "parity"
TOLERANCES = {"rtol": 1e-4, "atol": 1e-5, "grad_rtol": 1e-3}


# ----------------------------------------------------------------------------------------------
# Re-randomisation
# ----------------------------------------------------------------------------------------------


def _fan_in(module: nn.Module) -> int:
    if isinstance(module, nn.Linear):
        return module.in_features
    if isinstance(module, nn.Conv2d):
        return module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
    raise TypeError(f"no fan-in for {type(module).__name__}")


def rerandomize_(model: nn.Module, seed: int) -> nn.Module:
    """Weights 1.5/sqrt(fan_in)*N; norm weights 1 + 0.1*N; biases and other tables 0.1*N.

    Drawn in `named_parameters()` order from one generator in float64, then cast.
    """
    gen = torch.Generator().manual_seed(seed)
    owners = {}
    for mname, mod in model.named_modules():
        for pname, _ in mod.named_parameters(recurse=False):
            owners[f"{mname}.{pname}" if mname else pname] = mod
    with torch.no_grad():
        for name, p in model.named_parameters():
            mod = owners[name]
            z = torch.randn(p.shape, generator=gen, dtype=torch.float64)
            if isinstance(mod, (RMSNorm, nn.LayerNorm, nn.GroupNorm)):
                val = (1.0 + 0.1 * z) if name.endswith("weight") else 0.1 * z
            elif isinstance(mod, (nn.Linear, nn.Conv2d)) and name.endswith("weight"):
                val = 1.5 / math.sqrt(_fan_in(mod)) * z
            else:  # biases, scale_shift_table
                val = 0.1 * z
            p.copy_(val.to(p.dtype))
    return model


# ----------------------------------------------------------------------------------------------
# float64-faithful processors (diffusers up-casts to float32 inside the linear attentions, which
# would make a float64 run carry float32 rounding)
# ----------------------------------------------------------------------------------------------


class Float64SanaLinearAttn(SanaLinearAttnProcessor2_0):
    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None):
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        query, key, value = attn.to_q(hidden_states), attn.to_k(encoder_hidden_states), attn.to_v(encoder_hidden_states)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        query = F.relu(query.transpose(1, 2).unflatten(1, (attn.heads, -1)))
        key = F.relu(key.transpose(1, 2).unflatten(1, (attn.heads, -1)).transpose(2, 3))
        value = value.transpose(1, 2).unflatten(1, (attn.heads, -1))
        value = F.pad(value, (0, 0, 0, 1), mode="constant", value=1.0)
        out = torch.matmul(torch.matmul(value, key), query)
        out = out[:, :, :-1] / (out[:, :, -1:] + 1e-15)
        out = out.flatten(1, 2).transpose(1, 2)
        return attn.to_out[1](attn.to_out[0](out))


class Float64MultiscaleAttn(SanaMultiscaleAttnProcessor2_0):
    def __call__(self, attn, hidden_states):
        batch, _, height, width = hidden_states.shape
        residual = hidden_states
        x = hidden_states.movedim(1, -1)
        x = torch.cat([attn.to_q(x), attn.to_k(x), attn.to_v(x)], dim=3).movedim(-1, 1)
        x = torch.cat([x] + [block(x) for block in attn.to_qkv_multiscale], dim=1)
        x = x.reshape(batch, -1, 3 * attn.attention_head_dim, height * width)
        q, k, v = x.chunk(3, dim=2)
        q, k = attn.nonlinearity(q), attn.nonlinearity(k)
        if height * width > attn.attention_head_dim:
            v = F.pad(v, (0, 0, 0, 1), mode="constant", value=1)
            out = torch.matmul(torch.matmul(v, k.transpose(-1, -2)), q)
            out = out[:, :, :-1] / (out[:, :, -1:] + attn.eps)
        else:
            scores = torch.matmul(k.transpose(-1, -2), q)
            scores = scores / (torch.sum(scores, dim=2, keepdim=True) + attn.eps)
            out = torch.matmul(v, scores)
        out = attn.to_out(torch.reshape(out, (batch, -1, height, width)).movedim(1, -1)).movedim(-1, 1)
        out = attn.norm_out(out.movedim(1, -1)).movedim(-1, 1)
        return out + residual if attn.residual_connection else out


def float64_copy(model: nn.Module) -> nn.Module:
    m = copy.deepcopy(model).double()
    for mod in m.modules():
        if hasattr(mod, "processor"):
            if isinstance(mod.processor, SanaLinearAttnProcessor2_0):
                mod.processor = Float64SanaLinearAttn()
            elif isinstance(mod.processor, SanaMultiscaleAttnProcessor2_0):
                mod.processor = Float64MultiscaleAttn()
    return m


# ----------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------


def _randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float64).float()


def sana_case(config: dict, *, seed: int, batch: int, height: int, width: int, text_length: int,
              timestep: list, mask: list | None, extra_breaks: dict | None = None):
    model = rerandomize_(SanaTransformer2DModel(**config), seed=seed).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    inputs = {
        "hidden_states": _randn(gen, batch, config["in_channels"], height, width),
        "encoder_hidden_states": _randn(gen, batch, text_length, config["caption_channels"]),
        "timestep": torch.tensor(timestep, dtype=torch.float32),
    }
    if mask is not None:
        inputs["encoder_attention_mask"] = torch.tensor(mask, dtype=torch.int64)

    def call(m, inp):
        return m(
            hidden_states=inp["hidden_states"],
            encoder_hidden_states=inp["encoder_hidden_states"],
            timestep=inp["timestep"],
            encoder_attention_mask=inp.get("encoder_attention_mask"),
        ).sample

    breaks = {"timestep + 25": lambda m, inp: call(m, {**inp, "timestep": inp["timestep"] + 25})}
    if mask is not None:
        breaks["drop encoder_attention_mask"] = lambda m, inp: call(m, {k: v for k, v in inp.items() if k != "encoder_attention_mask"})
    breaks.update(extra_breaks or {})
    return dict(kind="sana_transformer", model=model, inputs=inputs, call=call, output="sample", breaks=breaks)


def _without_pos_embed(call):
    def broken(m, inp):
        m = copy.deepcopy(m)
        m.patch_embed.pos_embed = None
        return call(m, inp)
    return broken


def case_sana_p1_mask():
    cfg = dict(in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=2,
               num_cross_attention_heads=2, cross_attention_head_dim=8, cross_attention_dim=16,
               caption_channels=12, mlp_ratio=2.5, sample_size=4, patch_size=1)
    return sana_case(cfg, seed=5101, batch=2, height=4, width=4, text_length=5,
                     timestep=[537.5, 81.25], mask=[[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]])


def case_sana_p2_cross_heads():
    # patch 2, 4 self-attention heads of 4 but 2 cross-attention heads of 12 (cross inner 24 != 16),
    # a non-square latent, out_channels != in_channels, no mask
    cfg = dict(in_channels=3, out_channels=5, num_attention_heads=4, attention_head_dim=4, num_layers=2,
               num_cross_attention_heads=2, cross_attention_head_dim=12, cross_attention_dim=16,
               caption_channels=10, mlp_ratio=2.5, sample_size=8, patch_size=2, attention_bias=True)
    return sana_case(cfg, seed=5201, batch=2, height=6, width=8, text_length=4,
                     timestep=[999.0, 250.0], mask=None)


def case_sana_p1_sincos():
    # sinusoidal 2-D positions (interpolation_scale set) on a latent larger than sample_size and not
    # square, LayerNorm affine on norm2, biased self-attention, 3 self heads vs 1 cross head
    cfg = dict(in_channels=4, out_channels=4, num_attention_heads=3, attention_head_dim=4, num_layers=2,
               num_cross_attention_heads=1, cross_attention_head_dim=8, cross_attention_dim=12,
               caption_channels=8, mlp_ratio=2.0, sample_size=4, patch_size=1, interpolation_scale=1.0,
               norm_elementwise_affine=True, attention_bias=True)
    base = sana_case(cfg, seed=5301, batch=2, height=5, width=6, text_length=6,
                     timestep=[10.0, 700.0], mask=[[1, 1, 1, 1, 1, 1], [1, 1, 0, 1, 0, 0]])
    base["breaks"]["no positional embedding"] = _without_pos_embed(base["call"])
    return base


def case_sana_p2_qk_norm():
    # patch 2 with q/k RMSNorm across heads, 2 self heads vs 3 cross heads, a single visible caption
    # token in the second sample. (A fully masked caption is left out: diffusers' -10000 bias then
    # rounds the scores to float32's 1e-3 grid near 10000, which its own float64 run misses by 3e-4.)
    cfg = dict(in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=6, num_layers=2,
               num_cross_attention_heads=3, cross_attention_head_dim=4, cross_attention_dim=12,
               caption_channels=8, mlp_ratio=2.5, sample_size=4, patch_size=2, qk_norm="rms_norm_across_heads")
    base = sana_case(cfg, seed=5401, batch=2, height=4, width=8, text_length=4,
                     timestep=[400.0, 333.0], mask=[[1, 1, 0, 1], [0, 1, 0, 0]])

    def no_qk_norm(m, inp):
        m = copy.deepcopy(m)
        for blk in m.transformer_blocks:
            for attn in (blk.attn1, blk.attn2):
                attn.norm_q, attn.norm_k = None, None
        return base["call"](m, inp)

    base["breaks"]["no q/k norm"] = no_qk_norm
    return base


def dcae_case(config: dict, *, seed: int, direction: str, batch: int, size: int, extra_breaks=None):
    model = rerandomize_(AutoencoderDC(**config), seed=seed).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    depth = len(config["encoder_block_out_channels"]) - 1
    if direction == "encode":
        inputs = {"sample": _randn(gen, batch, config.get("in_channels", 3), size, size)}
        call = lambda m, inp: m.encode(inp["sample"]).latent  # noqa: E731
        output, kind = "latent", "autoencoder_dc_encode"
    else:
        latent = size // (2 ** depth)
        inputs = {"latent": _randn(gen, batch, config["latent_channels"], latent, latent)}
        call = lambda m, inp: m.decode(inp["latent"]).sample  # noqa: E731
        output, kind = "sample", "autoencoder_dc_decode"

    def zero_multiscale(m, inp):
        m = copy.deepcopy(m)
        with torch.no_grad():
            for mod in m.modules():
                if hasattr(mod, "to_qkv_multiscale"):
                    for proj in mod.to_qkv_multiscale:
                        proj.proj_in.weight.zero_()
        return call(m, inp)

    breaks = {"zero the multi-scale q/k/v branch": zero_multiscale}
    breaks.update(extra_breaks or {})
    return dict(kind=kind, model=model, inputs=inputs, call=call, output=output, breaks=breaks)


def _dcae_toggle(attr_path: str, value):
    def broken_factory(call):
        def broken(m, inp):
            m = copy.deepcopy(m)
            owner, _, attr = attr_path.rpartition(".")
            setattr(m.get_submodule(owner), attr, value)
            return call(m, inp)
        return broken
    return broken_factory


def case_dcae_encode_conv():
    # stride-2 conv downsampling, ResBlock + EfficientViT stages, scales (5,) and (3, 5); the last
    # stage is 2x2 = 4 pixels <= head dim 8, so diffusers takes its "quadratic" attention path there
    cfg = dict(in_channels=3, latent_channels=4, attention_head_dim=8,
               encoder_block_types=["ResBlock", "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
               decoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
               encoder_block_out_channels=[8, 16, 16, 16], decoder_block_out_channels=[8, 16, 16, 16],
               encoder_layers_per_block=[1, 1, 2, 1], decoder_layers_per_block=[1, 1, 1, 1],
               encoder_qkv_multiscales=[[], [5], [3, 5], [5]], decoder_qkv_multiscales=[[], [], [5], [5]],
               downsample_block_type="Conv", upsample_block_type="interpolate", scaling_factor=0.41407)
    base = dcae_case(cfg, seed=6101, direction="encode", batch=2, size=16)
    base["breaks"]["no encoder out shortcut"] = _dcae_toggle("encoder.out_shortcut", False)(base["call"])
    return base


def case_dcae_encode_unshuffle():
    # pixel-unshuffle downsampling with a DCDownBlock2d as conv_in (no layers in stage 0)
    cfg = dict(in_channels=3, latent_channels=8, attention_head_dim=4,
               encoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
               decoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
               encoder_block_out_channels=[4, 8, 16], decoder_block_out_channels=[4, 8, 16],
               encoder_layers_per_block=[0, 2, 2], decoder_layers_per_block=[0, 1, 1],
               encoder_qkv_multiscales=[[], [], [5]], decoder_qkv_multiscales=[[], [], [5]],
               downsample_block_type="pixel_unshuffle", upsample_block_type="pixel_shuffle")
    base = dcae_case(cfg, seed=6201, direction="encode", batch=2, size=16)
    base["breaks"]["no encoder out shortcut"] = _dcae_toggle("encoder.out_shortcut", False)(base["call"])
    return base


def case_dcae_decode_interpolate():
    cfg = dict(in_channels=3, latent_channels=4, attention_head_dim=8,
               encoder_block_types=["ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
               decoder_block_types=["ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
               encoder_block_out_channels=[8, 16, 16], decoder_block_out_channels=[8, 16, 32],
               encoder_layers_per_block=[1, 1, 1], decoder_layers_per_block=[1, 2, 1],
               encoder_qkv_multiscales=[[], [5], [5]], decoder_qkv_multiscales=[[], [3, 5], [5]],
               downsample_block_type="Conv", upsample_block_type="interpolate",
               decoder_norm_types="rms_norm", decoder_act_fns="silu", scaling_factor=0.41407)
    base = dcae_case(cfg, seed=6301, direction="decode", batch=2, size=16)
    base["breaks"]["no decoder in shortcut"] = _dcae_toggle("decoder.in_shortcut", False)(base["call"])
    return base


def case_dcae_decode_shuffle():
    # pixel-shuffle upsampling, a DCUpBlock2d as conv_out (no layers in stage 0), per-stage
    # activations, SiLU before conv_out, no input shortcut
    cfg = dict(in_channels=3, latent_channels=8, attention_head_dim=4,
               encoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
               decoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
               encoder_block_out_channels=[4, 8, 16], decoder_block_out_channels=[4, 8, 16],
               encoder_layers_per_block=[0, 1, 1], decoder_layers_per_block=[0, 2, 2],
               encoder_qkv_multiscales=[[], [], [5]], decoder_qkv_multiscales=[[], [], [3]],
               downsample_block_type="pixel_unshuffle", upsample_block_type="pixel_shuffle",
               decoder_norm_types="rms_norm", decoder_act_fns=["relu", "relu", "silu"],
               decoder_in_shortcut=False, decoder_conv_act_fn="silu")
    return dcae_case(cfg, seed=6401, direction="decode", batch=2, size=16)


# The hub configurations (transformer/config.json of Efficient-Large-Model/Sana_1600M_1024px_diffusers,
# config.json of mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers); the 512 px model differs only in sample_size.
SANA_1600M_1024 = dict(in_channels=32, out_channels=32, num_attention_heads=70, attention_head_dim=32, num_layers=20,
                       num_cross_attention_heads=20, cross_attention_head_dim=112, cross_attention_dim=2240,
                       caption_channels=2304, mlp_ratio=2.5, attention_bias=False, sample_size=32, patch_size=1,
                       norm_elementwise_affine=False, norm_eps=1e-6, interpolation_scale=None)
DC_AE_F32C32 = dict(in_channels=3, latent_channels=32, attention_head_dim=32,
                    encoder_block_types=["ResBlock"] * 3 + ["EfficientViTBlock"] * 3,
                    decoder_block_types=["ResBlock"] * 3 + ["EfficientViTBlock"] * 3,
                    encoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
                    decoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
                    encoder_layers_per_block=[2, 2, 2, 3, 3, 3], decoder_layers_per_block=[3, 3, 3, 3, 3, 3],
                    encoder_qkv_multiscales=[[], [], [], [5], [5], [5]], decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
                    upsample_block_type="interpolate", downsample_block_type="Conv", decoder_norm_types="rms_norm",
                    decoder_act_fns="silu", scaling_factor=0.41407)


def write_preset_shapes(out_dir: Path):
    folder = out_dir / "sana_preset_shapes"
    folder.mkdir(parents=True, exist_ok=True)
    with torch.device("meta"):
        models = {"sana_1600m_1024.json": SanaTransformer2DModel(**SANA_1600M_1024),
                  "dc_ae_f32c32.json": AutoencoderDC(**DC_AE_F32C32)}
    for filename, model in models.items():
        shapes = {name: list(p.shape) for name, p in model.named_parameters()}
        (folder / filename).write_text(json.dumps(shapes, sort_keys=True, separators=(",", ":")) + "\n")
        print(f"== {filename}: {len(shapes)} tensors, {sum(p.numel() for p in model.parameters())} parameters")


CASES = {
    "sana_p1_mask": case_sana_p1_mask,
    "sana_p2_cross_heads": case_sana_p2_cross_heads,
    "sana_p1_sincos": case_sana_p1_sincos,
    "sana_p2_qk_norm": case_sana_p2_qk_norm,
    "dcae_encode_conv": case_dcae_encode_conv,
    "dcae_encode_unshuffle": case_dcae_encode_unshuffle,
    "dcae_decode_interpolate": case_dcae_decode_interpolate,
    "dcae_decode_shuffle": case_dcae_decode_shuffle,
}


# ----------------------------------------------------------------------------------------------
# Running and writing
# ----------------------------------------------------------------------------------------------


def run_with_grads(model, call, inputs):
    model.zero_grad(set_to_none=True)
    out = call(model, inputs)
    loss = out.pow(2).sum() / out.numel()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return out.detach(), grads


def rel_out(a, b):
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max()).item()


def worst_grad(ga, gb):
    s = max(g.double().abs().max().item() for g in gb.values())
    worst = 0.0
    for n, b in gb.items():
        scale = max(b.double().abs().max().item(), 1e-3 * s)
        worst = max(worst, (ga[n].double() - b.double()).abs().max().item() / scale)
    return worst


def to_dtype(inputs, dtype):
    return {k: (v.to(dtype) if v.is_floating_point() and k != "timestep" else v) for k, v in inputs.items()}


def make_case(name: str, out_dir: Path, write: bool) -> dict:
    spec = CASES[name]()
    model, inputs, call = spec["model"], spec["inputs"], spec["call"]
    out, grads = run_with_grads(model, call, inputs)
    print(f"== {name} ({spec['kind']}): output {tuple(out.shape)}, {len(grads)} parameter gradients, "
          f"{sum(p.numel() for p in model.parameters())} parameters")

    model64 = float64_copy(model)
    out64, grads64 = run_with_grads(model64, call, to_dtype(inputs, torch.float64))
    r_out, r_grad = rel_out(out, out64), worst_grad(grads, grads64)
    print(f"   float32 vs float64: output {r_out:.3e} (rtol {TOLERANCES['rtol']:g}); "
          f"gradients {r_grad:.3e} (grad_rtol {TOLERANCES['grad_rtol']:g})")

    sensitivity = {}
    with torch.no_grad():
        for label, fn in spec["breaks"].items():
            broken = fn(model64, to_dtype(inputs, torch.float64))
            sensitivity[label] = rel_out(broken, out64)
            print(f"   break '{label}': output moves {sensitivity[label]:.3e}")

    if write:
        case_dir = out_dir / name
        if case_dir.exists():
            shutil.rmtree(case_dir)
        model.save_pretrained(case_dir, safe_serialization=True)
        (case_dir / "case.json").write_text(json.dumps({"kind": spec["kind"], **TOLERANCES}, indent=2) + "\n")
        save_file({k: v.contiguous() for k, v in inputs.items()}, str(case_dir / "inputs.safetensors"))
        outputs = {spec["output"]: out.contiguous()}
        outputs.update({f"grad.{n}": g.contiguous() for n, g in grads.items()})
        save_file(outputs, str(case_dir / "outputs.safetensors"))
        # read back: the files hold what was computed
        back = load_file(str(case_dir / "outputs.safetensors"))
        assert torch.equal(back[spec["output"]], out)
        weights = load_file(str(case_dir / "diffusion_pytorch_model.safetensors"))
        params = dict(model.named_parameters())
        assert set(weights) == set(params), set(weights) ^ set(params)
        size = sum(f.stat().st_size for f in case_dir.iterdir())
        print(f"   wrote {case_dir.relative_to(ROOT) if case_dir.is_relative_to(ROOT) else case_dir} ({size / 1024:.0f} KiB)")
    return {"float64_output": r_out, "float64_gradients": r_grad, "sensitivity": sensitivity}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to write (default: all)")
    parser.add_argument("--check-only", action="store_true", help="print the checks, write nothing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    names = args.only or list(CASES)
    if not args.check_only and not args.only:
        write_preset_shapes(args.out)
    results = {name: make_case(name, args.out, write=not args.check_only) for name in names}
    worst64 = max(r["float64_output"] for r in results.values())
    worst64g = max(r["float64_gradients"] for r in results.values())
    weakest = min(min(r["sensitivity"].values()) for r in results.values())
    print(f"summary: float64 output <= {worst64:.2e}, gradients <= {worst64g:.2e}; "
          f"weakest break moves the output by {weakest:.2e}")
    if worst64 > 0.1 * TOLERANCES["rtol"] or worst64g > 0.1 * TOLERANCES["grad_rtol"]:
        sys.exit("float32 rounding is not far inside the tolerance")
    if weakest < 100 * TOLERANCES["rtol"]:
        sys.exit("a broken piece moves the output by less than 100x the tolerance")


if __name__ == "__main__":
    main()
