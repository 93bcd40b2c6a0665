#!/usr/bin/env python3
"""Greedy-generation fixtures: transformers' `generate(do_sample=False)` on tiny re-randomised
models, to check that our KV-cache generator emits the same tokens.

    .venv-reference/bin/python scripts/make_generation_fixtures.py

Tests/Fixtures/generation/<case>/: config.json + model.safetensors (save_pretrained),
inputs.safetensors (input_ids, attention_mask [, pixel_values, image_grid_thw]) and
outputs.safetensors (`new_tokens`, [B, 16], I64). Prompts are left padded; no EOS (all rows run
the full 16 tokens).
"""
import math
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2_5_VLForConditionalGeneration

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_qwen2_5_vl_fixtures import IMAGE, config as vl_config, image_tokens, rerandomize  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "generation"
NEW = 16


def save(name, model, inputs, new_tokens):
    out = OUT / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    (out / "generation_config.json").unlink(missing_ok=True)
    save_file({k: v.contiguous() for k, v in inputs.items()}, out / "inputs.safetensors")
    save_file({"new_tokens": new_tokens.contiguous()}, out / "outputs.safetensors")
    print(name, new_tokens.tolist())


def greedy(model, inputs):
    with torch.no_grad():
        seq = model.generate(**inputs, do_sample=False, max_new_tokens=NEW, min_new_tokens=NEW,
                             pad_token_id=0, eos_token_id=None)
    return seq[:, inputs["input_ids"].shape[1]:]


def qwen2_case():
    cfg = Qwen2Config(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
                      num_hidden_layers=2, vocab_size=97, tie_word_embeddings=False, attn_implementation="sdpa",
                      bos_token_id=None, eos_token_id=None)
    torch.manual_seed(31)
    model = Qwen2ForCausalLM(cfg).float().eval()
    rerandomize(model, 31)
    ids = torch.tensor([[0, 0, 0, 5, 17, 33, 2], [9, 41, 8, 63, 12, 70, 4], [0, 0, 0, 0, 0, 88, 3]])
    mask = (torch.arange(7)[None, :] >= torch.tensor([[3], [0], [5]])).long()
    inputs = {"input_ids": ids, "attention_mask": mask}
    save("qwen2_greedy", model, inputs, greedy(model, inputs))


def vl_case():
    cfg = vl_config(tie=False)
    cfg.text_config.bos_token_id = None
    cfg.text_config.eos_token_id = None
    torch.manual_seed(32)
    model = Qwen2_5_VLForConditionalGeneration(cfg).float().eval()
    rerandomize(model, 32)
    g = torch.Generator().manual_seed(33)
    grids = [(1, 4, 4), (1, 6, 4)]
    rows = [[7, 3] + image_tokens(grids[0]) + [11], [5] + image_tokens(grids[1]) + [12, 13, 14]]
    t = max(map(len, rows))
    ids = torch.tensor([[0] * (t - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (t - len(r)) + [1] * len(r) for r in rows])
    inputs = {"input_ids": ids, "attention_mask": mask,
              "pixel_values": torch.randn(sum(a * b * c for a, b, c in grids), 1176, generator=g),
              "image_grid_thw": torch.tensor(grids)}
    tokens = greedy(model, {**inputs, "mm_token_type_ids": (ids == IMAGE).int()})
    save("qwen2_5_vl_greedy", model, inputs, tokens)


if __name__ == "__main__":
    torch.set_num_threads(1)
    qwen2_case()
    vl_case()
