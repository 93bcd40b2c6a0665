#!/usr/bin/env python3
"""Checks that transformers loads the bundled tiny LM + tokenizer and computes what we compute.

    swift build -c release --product unirl
    .venv-reference/bin/python scripts/check_bundled_lm.py [--model Sources/Scenarios/Resources/tiny-unified/lm]

Runs `unirl pretrain lm --from <model> --probe probe.json`, which writes, for 2 held-out prompts per
task kind, our chat text, prompt ids, logits over the prompt and greedy completion ids; then with
transformers (AutoTokenizer, Qwen2VLImageProcessorPil, Qwen2_5_VLForConditionalGeneration in F32):
the chat template's text, the tokenizer's ids (image pads repeated per merged patch), the logits
(max |ours - theirs| / max |theirs|) and `generate(do_sample=False)`'s ids. Exits 1 on a mismatch.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

ROOT = Path(__file__).resolve().parent.parent
LOGIT_RTOL = 1e-4


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "Sources/Scenarios/Resources/tiny-unified/lm"))
    parser.add_argument("--unirl", default=str(ROOT / ".build/release/unirl"))
    args = parser.parse_args()
    model_dir = Path(args.model)

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.json"
        subprocess.run([args.unirl, "pretrain", "lm", "--from", str(model_dir), "--evaluation-count", "4",
                        "--probe", str(probe), "--output", tmp], check=True, stdout=subprocess.DEVNULL)
        rows = json.loads(probe.read_text())

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    processor_config = json.loads((model_dir / "preprocessor_config.json").read_text())
    images = Qwen2VLImageProcessorPil(size=processor_config["size"], patch_size=processor_config["patch_size"],
                                      merge_size=processor_config["merge_size"],
                                      temporal_patch_size=processor_config["temporal_patch_size"])
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
    config = model.config
    merge = config.vision_config.spatial_merge_size
    stops = [tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")]
    print(f"transformers loaded {model_dir.name}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"vocabulary {len(tokenizer)} tokens, image token id {config.image_token_id}")

    failures = 0
    for row in rows:
        content = ([{"type": "image"}] if "image" in row else []) + [{"type": "text", "text": row["prompt"]}]
        text = tokenizer.apply_chat_template([{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True)
        template_ok = text == row["chat_text"]
        kwargs = {}
        if "image" in row:
            h, w = row["image_size"]
            picture = Image.fromarray(np.array(row["image"], dtype=np.uint8).reshape(h, w, 3))
            processed = images(images=[picture], return_tensors="pt")
            kwargs["pixel_values"], kwargs["image_grid_thw"] = processed["pixel_values"], processed["image_grid_thw"]
            pads = int(processed["image_grid_thw"][0].prod()) // merge ** 2
            text = text.replace("<|image_pad|>", "<|image_pad|>" * pads)
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        ids_ok = ids[0].tolist() == row["input_ids"]
        kwargs["input_ids"] = ids
        kwargs["attention_mask"] = torch.ones_like(ids)
        if "image" in row:
            kwargs["mm_token_type_ids"] = (ids == config.image_token_id).int()
        with torch.no_grad():
            model.model.rope_deltas = None
            theirs = model(**kwargs).logits[0].numpy()
            model.model.rope_deltas = None
            generated = model.generate(**kwargs, do_sample=False, max_new_tokens=48, eos_token_id=stops, pad_token_id=stops[1])
        ours = np.array(row["logits"], dtype=np.float32).reshape(theirs.shape)
        logit_error = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
        greedy = generated[0, ids.shape[1]:].tolist()
        greedy_ok = greedy == row["greedy_ids"]
        ok = template_ok and ids_ok and logit_error <= LOGIT_RTOL and greedy_ok
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {row['kind']:8} {row['prompt'][:48]!r:52} template {template_ok} ids {ids_ok} "
              f"({ids.shape[1]} tokens) logits rel err {logit_error:.2e} greedy {greedy_ok} ({len(greedy)} tokens): "
              f"{tokenizer.decode(greedy)!r}")
    print(f"{len(rows) - failures}/{len(rows)} prompts agree")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
