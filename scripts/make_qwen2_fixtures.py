#!/usr/bin/env python3
"""Writes `qwen2` parity cases (docs/ARCHITECTURE.md, "Parity fixtures") from transformers' Qwen2ForCausalLM.

    .venv-reference/bin/python scripts/make_qwen2_fixtures.py

Each case folder under Tests/Fixtures/parity/ holds case.json, config.json + model.safetensors as
save_pretrained writes them, inputs.safetensors (input_ids, attention_mask as I64) and
outputs.safetensors (logits and grad.<name> of L = sum((logits * m)^2) / numel(logits), m the
attention mask broadcast over the vocabulary). Parameters are re-randomised (weights ~ 1.5/sqrt(fan_in),
norm weights 1 + 0.1 N, biases 0.1 N) so attention scores are O(1) and every part matters; the script
prints float32-vs-float64 differences and how far outputs move when a piece is broken on purpose.
"""
import json
import math
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import Qwen2Config, Qwen2ForCausalLM

ROOT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "parity"


def rerandomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            else:
                fan_in = p.shape[-1]
                p.copy_(1.5 / math.sqrt(fan_in) * torch.randn(p.shape, generator=g, dtype=torch.float64))


def run(model, ids, mask, with_grads=True):
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=ids, attention_mask=mask).logits
    m = mask[:, :, None].to(logits.dtype)
    loss = ((logits * m) ** 2).sum() / logits.numel()
    if with_grads:
        loss.backward()
    return logits


def masked_max(a, b, mask):
    m = mask[:, :, None].bool().expand_as(a)
    return (a - b).abs()[m].max().item(), b.abs()[m].max().item()


def make_case(name, tie, mask_rows, seed):
    cfg = Qwen2Config(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
                      num_hidden_layers=2, vocab_size=97, tie_word_embeddings=tie, rope_theta=10000.0,
                      rms_norm_eps=1e-6, attn_implementation="sdpa")
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(cfg).float()
    rerandomize(model, seed)
    g = torch.Generator().manual_seed(seed + 1)
    b, t = len(mask_rows), len(mask_rows[0])
    ids = torch.randint(0, cfg.vocab_size, (b, t), generator=g)
    mask = torch.tensor(mask_rows, dtype=torch.int64)
    logits = run(model, ids, mask)
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}

    # float64 reference of the same weights: rounding must stay far inside rtol 1e-4.
    m64 = Qwen2ForCausalLM(cfg).double()
    m64.load_state_dict(model.state_dict())
    logits64 = run(m64, ids, mask)
    diff, scale = masked_max(logits.double(), logits64, mask)
    print(f"{name}: float32 vs float64 logits {diff / scale:.2e}")
    # Breaking pieces on purpose must move the compared logits by far more than the tolerance.
    with torch.no_grad():
        no_mask = model(input_ids=ids, attention_mask=torch.ones_like(mask)).logits
        print(f"{name}: dropping the mask moves logits by {masked_max(no_mask, logits, mask)[0] / scale:.3f}")
        saved = model.model.rotary_emb.inv_freq.clone()
        model.model.rotary_emb.inv_freq.zero_()
        no_rope = model(input_ids=ids, attention_mask=mask).logits
        model.model.rotary_emb.inv_freq.copy_(saved)
        print(f"{name}: removing rotary positions moves logits by {masked_max(no_rope, logits, mask)[0] / scale:.3f}")

    out = ROOT / name
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    (out / "case.json").write_text(json.dumps({"kind": "qwen2", "rtol": 1e-4, "atol": 1e-5, "grad_rtol": 1e-3}) + "\n")
    save_file({"input_ids": ids.contiguous(), "attention_mask": mask.contiguous()}, out / "inputs.safetensors")
    save_file({"logits": logits.detach().contiguous(), **{k: v.contiguous() for k, v in grads.items()}},
              out / "outputs.safetensors")
    for extra in ("generation_config.json",):
        (out / extra).unlink(missing_ok=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    # Right padding with a gap (the mask matters for valid queries), untied head.
    make_case("qwen2_right_padded", tie=False, mask_rows=[[1] * 9, [1, 1, 1, 0, 1, 1, 1, 0, 0]], seed=11)
    # Left padding (padded queries see no valid key), tied embeddings.
    make_case("qwen2_left_padded_tied", tie=True, mask_rows=[[0, 0, 0, 1, 1, 1, 1, 1], [1] * 8], seed=12)
