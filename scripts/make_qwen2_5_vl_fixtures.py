#!/usr/bin/env python3
"""Writes `qwen2_5_vl` parity cases (docs/ARCHITECTURE.md, "Parity fixtures") from transformers'
Qwen2_5_VLForConditionalGeneration.

    .venv-reference/bin/python scripts/make_qwen2_5_vl_fixtures.py

Cases: text only (one row left padded: without images transformers uses positions 0..T-1; hub-style flat config.json); one image (weights renamed to
transformers' module layout `model.language_model.*` / `model.visual.*`); two images of different
sizes in one row (sharded checkpoint); a left-padded batch with an image per row and a tied head.
Each folder holds case.json, config.json + weights, inputs.safetensors (input_ids, attention_mask,
pixel_values in the processor's patch layout, image_grid_thw) and outputs.safetensors (logits and
grad.<weight-file name> of L = sum((logits * m)^2) / numel(logits), m the attention mask).
Parameters are re-randomised (weights ~ 1.5/sqrt(fan_in), norm weights 1 + 0.1 N, biases 0.1 N).
The script prints float32-vs-float64 differences and how far logits move when a piece is broken
(mask dropped, 1-D positions instead of 3-D, full attention instead of windows).
"""
import json
import math
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

ROOT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "parity"
IMAGE, VIDEO, START, END = 100, 103, 101, 102
VOCAB = 128
MERGE = 2


def config(tie):
    return Qwen2_5_VLConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
                         num_hidden_layers=2, vocab_size=VOCAB, rms_norm_eps=1e-6,
                         rope_parameters=dict(rope_type="default", mrope_section=[2, 1, 1], rope_theta=10000.0)),
        vision_config=dict(depth=3, hidden_size=32, intermediate_size=48, num_heads=2, out_hidden_size=32,
                           patch_size=14, temporal_patch_size=2, spatial_merge_size=MERGE, window_size=56,
                           fullatt_block_indexes=[1]),
        image_token_id=IMAGE, video_token_id=VIDEO, vision_start_token_id=START, vision_end_token_id=END,
        tie_word_embeddings=tie, attn_implementation="sdpa")


def rerandomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "ln_q" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            else:
                fan_in = p[0].numel()
                p.copy_(1.5 / math.sqrt(fan_in) * torch.randn(p.shape, generator=g, dtype=torch.float64))


def hub_name(name):
    """transformers 5 module names -> the weight file's (hub) names."""
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model."):]
    if name.startswith("model.visual."):
        return name[len("model."):]
    return name


def run(model, inputs, with_grads=True, mm=True):
    model.zero_grad(set_to_none=True)
    kwargs = dict(inputs)
    if mm and "pixel_values" in kwargs:
        kwargs["mm_token_type_ids"] = (kwargs["input_ids"] == IMAGE).int()
    model.model.rope_deltas = None
    logits = model(**kwargs).logits
    m = inputs["attention_mask"][:, :, None].to(logits.dtype)
    loss = ((logits * m) ** 2).sum() / logits.numel()
    if with_grads:
        loss.backward()
    return logits


def masked_max(a, b, mask):
    m = mask[:, :, None].bool().expand_as(a)
    return (a - b).abs()[m].max().item(), b.abs()[m].max().item()


def image_tokens(grid):
    t, h, w = grid
    return [START] + [IMAGE] * (t * h * w // MERGE ** 2) + [END]


def make_case(name, rows, grids, tie, seed, layout="hub", flat_config=False, shard=False):
    """rows: list of (left_pad, tokens, right_pad); tokens may contain ("img", grid) markers."""
    cfg = config(tie)
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(cfg).float()
    rerandomize(model, seed)
    g = torch.Generator().manual_seed(seed + 1)
    seqs, masks = [], []
    for left, parts, right in rows:
        seq = []
        for p in parts:
            seq += image_tokens(p) if isinstance(p, tuple) else torch.randint(0, 96, (p,), generator=g).tolist()
        seqs.append([0] * left + seq + [0] * right)
        masks.append([0] * left + [1] * len(seq) + [0] * right)
    ids = torch.tensor(seqs, dtype=torch.int64)
    mask = torch.tensor(masks, dtype=torch.int64)
    inputs = {"input_ids": ids, "attention_mask": mask}
    if grids:
        patches = sum(t * h * w for t, h, w in grids)
        inputs["pixel_values"] = torch.randn(patches, 3 * 2 * 14 * 14, generator=g)
        inputs["image_grid_thw"] = torch.tensor(grids, dtype=torch.int64)
    logits = run(model, inputs)
    grads = {f"grad.{hub_name(n)}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}

    m64 = Qwen2_5_VLForConditionalGeneration(cfg).double()
    m64.load_state_dict(model.state_dict())
    inputs64 = {k: (v.double() if v.is_floating_point() else v) for k, v in inputs.items()}
    logits64 = run(m64, inputs64)
    diff, scale = masked_max(logits.double(), logits64, mask)
    gdiff = max(((p.grad.double() - dict(m64.named_parameters())[n].grad).abs().max() / max(p.grad.abs().max(), 1e-12)).item()
                for n, p in model.named_parameters() if p.grad is not None)
    print(f"{name}: float32 vs float64 logits {diff / scale:.2e}, gradients {gdiff:.2e}")
    with torch.no_grad():
        no_mask = run(model, {**inputs, "attention_mask": torch.ones_like(mask)}, with_grads=False)
        print(f"{name}: dropping the mask moves logits by {masked_max(no_mask, logits, mask)[0] / scale:.3f}")
        if grids:
            flat = run(model, inputs, with_grads=False, mm=False)
            print(f"{name}: 1-D positions move logits by {masked_max(flat, logits, mask)[0] / scale:.3f}")
            saved = model.model.visual.fullatt_block_indexes
            model.model.visual.fullatt_block_indexes = list(range(cfg.vision_config.depth))
            full = run(model, inputs, with_grads=False)
            model.model.visual.fullatt_block_indexes = saved
            print(f"{name}: full attention instead of windows moves logits by {masked_max(full, logits, mask)[0] / scale:.3f}")

    out = ROOT / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True, max_shard_size="40KB" if shard else "5GB")
    for extra in ("generation_config.json",):
        (out / extra).unlink(missing_ok=True)
    if layout == "module":
        # transformers 4.5x wrote the module names; rewrite the file that way.
        weights = load_file(out / "model.safetensors")
        renamed = {}
        for k, v in weights.items():
            if k.startswith("model."):
                k = "model.language_model." + k[len("model."):]
            elif k.startswith("visual."):
                k = "model." + k
            renamed[k] = v
        save_file(renamed, out / "model.safetensors", metadata={"format": "pt"})
        grads = {("grad." + [n for n, _ in model.named_parameters() if hub_name(n) == k[5:]][0]): v for k, v in grads.items()}
    if flat_config:
        c = json.loads((out / "config.json").read_text())
        text = c.pop("text_config")
        rp = text.pop("rope_parameters")
        for k in ("model_type", "layer_types", "dtype"):
            text.pop(k, None)
        c.update(text)
        c["rope_theta"] = rp["rope_theta"]
        c["rope_scaling"] = {"type": "mrope", "mrope_section": rp["mrope_section"]}
        vc = c["vision_config"]
        vc.pop("rope_parameters")
        vc["in_chans"] = vc.pop("in_channels")
        c["torch_dtype"] = "float32"
        (out / "config.json").write_text(json.dumps(c, indent=2) + "\n")
    (out / "case.json").write_text(json.dumps({"kind": "qwen2_5_vl", "rtol": 1e-4, "atol": 1e-5, "grad_rtol": 1e-3}) + "\n")
    save_file({k: v.contiguous() for k, v in inputs.items()}, out / "inputs.safetensors")
    save_file({"logits": logits.detach().contiguous(), **{k: v.contiguous() for k, v in grads.items()}},
              out / "outputs.safetensors")


if __name__ == "__main__":
    torch.set_num_threads(1)
    make_case("qwen2_5_vl_text_only", rows=[(0, [12], 0), (4, [8], 0)], grids=[], tie=False, seed=21, flat_config=True)
    make_case("qwen2_5_vl_one_image", rows=[(0, [5, (1, 8, 12), 6], 0)], grids=[(1, 8, 12)], tie=False, seed=22,
              layout="module")
    make_case("qwen2_5_vl_two_images", rows=[(0, [3, (1, 8, 12), 4, (1, 6, 4), 5], 0)], grids=[(1, 8, 12), (1, 6, 4)],
              tie=False, seed=23, shard=True)
    make_case("qwen2_5_vl_left_padded", rows=[(5, [4, (1, 4, 4), 3], 0), (0, [2, (1, 6, 6), 5], 0)],
              grids=[(1, 4, 4), (1, 6, 6)], tie=True, seed=24)
