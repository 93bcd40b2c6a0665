#!/usr/bin/env python3
"""Writes `clip` parity cases (docs/ARCHITECTURE.md, "Parity fixtures") from transformers' CLIPModel.

    .venv-reference/bin/python scripts/make_clip_fixtures.py

Each case folder under Tests/Fixtures/parity/ holds case.json, config.json + model.safetensors as
save_pretrained writes them, inputs.safetensors (input_ids, attention_mask as I64, pixel_values F32)
and outputs.safetensors (text_embeds, image_embeds, logits_per_text and grad.<name> of
L = sum(logits_per_text^2) / numel(logits_per_text)). Parameters are re-randomised (weights ~
1.5/sqrt(fan_in), norm weights 1 + 0.1 N, biases 0.1 N, logit_scale log 10) so attention scores are
O(1); the script prints float32-vs-float64 differences and how far outputs move when a piece is
broken on purpose (mask dropped, other pooling rule, no pre-LayerNorm, other activation).
"""
import json
import math
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel

ROOT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "parity"


def rerandomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(math.log(10.0))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.shape[-1]
                p.copy_(1.5 / math.sqrt(fan_in) * torch.randn(p.shape, generator=g, dtype=torch.float64))


def run(model, inputs, with_grads=True):
    model.zero_grad(set_to_none=True)
    out = model(**inputs)
    loss = (out.logits_per_text ** 2).sum() / out.logits_per_text.numel()
    if with_grads:
        loss.backward()
    return out


def rel(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max()).item()


def worst(out, ref):
    return max(rel(getattr(out, k), getattr(ref, k)) for k in ("text_embeds", "image_embeds", "logits_per_text"))


def make_case(name, act, eos, rows, masks, images, seed, image_size=20, patch=5):
    vocab = 61
    cfg = CLIPConfig(
        text_config=dict(vocab_size=vocab, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=16, hidden_act=act, eos_token_id=eos,
                         bos_token_id=vocab - 2, pad_token_id=0),
        vision_config=dict(hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=3,
                           image_size=image_size, patch_size=patch, hidden_act=act),
        projection_dim=16, attn_implementation="sdpa")
    torch.manual_seed(seed)
    model = CLIPModel(cfg).float()
    rerandomize(model, seed)
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.tensor(rows, dtype=torch.int64)
    mask = torch.tensor(masks, dtype=torch.int64)
    pixels = torch.randn(images, 3, image_size, image_size, generator=g)
    inputs = dict(input_ids=ids, attention_mask=mask, pixel_values=pixels)
    out = run(model, inputs)
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}

    m64 = CLIPModel(cfg).double()
    m64.load_state_dict(model.state_dict())
    out64 = run(m64, dict(input_ids=ids, attention_mask=mask, pixel_values=pixels.double()), with_grads=False)
    print(f"{name}: float32 vs float64 outputs {worst(out, out64):.2e}")
    with torch.no_grad():
        moved = worst(model(input_ids=ids, attention_mask=torch.ones_like(mask), pixel_values=pixels), out)
        print(f"{name}: dropping the attention mask moves outputs by {moved:.3f}")
        # The other pooling rule (first largest id vs first eos_token_id), computed by hand.
        h = model.text_model(input_ids=ids, attention_mask=mask).last_hidden_state
        eos = model.text_model.eos_token_id
        other = (ids == 2).int().argmax(-1) if eos == 2 else ids.argmax(-1)
        t = model.text_projection(h[torch.arange(len(rows)), other])
        t = t / t.norm(dim=-1, keepdim=True)
        print(f"{name}: the other pooling rule moves text_embeds by {rel(t, out.text_embeds):.3f}")
        pre = model.vision_model.pre_layrnorm
        model.vision_model.pre_layrnorm = torch.nn.Identity()
        print(f"{name}: skipping pre_layrnorm moves outputs by {worst(model(**inputs), out):.3f}")
        model.vision_model.pre_layrnorm = pre
        from transformers.activations import ACT2FN
        layers = list(model.text_model.encoder.layers) + list(model.vision_model.encoder.layers)
        for layer in layers:
            layer.mlp.activation_fn = ACT2FN["gelu" if act == "quick_gelu" else "quick_gelu"]
        print(f"{name}: the other activation moves outputs by {worst(model(**inputs), out):.3f}")
        for layer in layers:
            layer.mlp.activation_fn = ACT2FN[act]

    out_dir = ROOT / name
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    (out_dir / "case.json").write_text(json.dumps({"kind": "clip", "rtol": 1e-4, "atol": 1e-5, "grad_rtol": 1e-3}) + "\n")
    save_file({"input_ids": ids.contiguous(), "attention_mask": mask.contiguous(), "pixel_values": pixels.contiguous()},
              out_dir / "inputs.safetensors")
    save_file({"text_embeds": out.text_embeds.detach().contiguous(), "image_embeds": out.image_embeds.detach().contiguous(),
               "logits_per_text": out.logits_per_text.detach().contiguous(),
               **{k: v.contiguous() for k, v in grads.items()}}, out_dir / "outputs.safetensors")
    (out_dir / "generation_config.json").unlink(missing_ok=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    BOS, EOS = 59, 40
    # quick_gelu, eos_token_id 40: pooled at the first 40 (ids above 40 come earlier, so the legacy argmax
    # differs); pads are 40 too (as CLIP's tokenizer pads with <|endoftext|>), right padding plus one row
    # padded on the left with 0s so the key mask matters. (A row pooled at a padded position would see no
    # key at all: transformers' default sdpa gives such rows zeros, as we do, where eager averages.)
    make_case("clip_quick_gelu_first_eos", act="quick_gelu", eos=EOS, images=2, seed=21,
              rows=[[BOS, 5, 17, 53, 8, 41, EOS, EOS, EOS],
                    [BOS, 12, 3, EOS, EOS, EOS, EOS, EOS, EOS],
                    [0, 0, BOS, 44, 2, 9, 30, 7, EOS]],
              masks=[[1, 1, 1, 1, 1, 1, 1, 0, 0],
                     [1, 1, 1, 1, 0, 0, 0, 0, 0],
                     [0, 0, 1, 1, 1, 1, 1, 1, 1]])
    EOS = 60
    # gelu, legacy eos_token_id 2: pooled at the row's largest id (60), though 2 appears earlier;
    # left padding with 0s so the key mask matters, three images against two texts.
    # (image 26 with patch 6: the strided patch conv ignores the last 2 pixel rows and columns.)
    make_case("clip_gelu_legacy_eos", act="gelu", eos=2, images=3, seed=22, image_size=26, patch=6,
              rows=[[0, 0, 0, BOS, 2, 19, 27, 2, EOS, 11],
                    [BOS, 50, 2, 31, 6, 14, 22, 35, EOS, 0]],
              masks=[[0, 0, 0, 1, 1, 1, 1, 1, 1, 1],
                     [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]])
