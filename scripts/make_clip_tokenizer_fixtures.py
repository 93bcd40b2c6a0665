#!/usr/bin/env python3
"""Writes the CLIP tokenizer fixtures: the real CLIP merges and transformers' CLIPTokenizer ids on
1,200 varied strings.

    .venv-reference/bin/pip download open-clip-torch --no-deps -d /tmp/openclip
    .venv-reference/bin/python scripts/make_clip_tokenizer_fixtures.py /tmp/openclip/open_clip_torch-*.whl

The open-clip-torch wheel ships CLIP's `bpe_simple_vocab_16e6.txt.gz`; as open_clip's
SimpleTokenizer does (open_clip/tokenizer.py), the first 49152 - 256 - 2 merges are used and the
vocabulary is the 256 byte characters, the same with `</w>`, one token per merge, then
`<|startoftext|>` and `<|endoftext|>` (49408 in all). The script writes `merges.txt` in
transformers' layout (the vocabulary follows from it), loads transformers' CLIPTokenizer from the
vocab.json + merges.txt pair and records `input_ids` with truncation to 77, plus one padded batch.
"""
import gzip
import json
import random
import sys
import tempfile
import zipfile
from pathlib import Path

from transformers import CLIPTokenizer

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "tokenizer" / "clip"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def load_merges(wheel):
    with zipfile.ZipFile(wheel) as z:
        data = gzip.decompress(z.read("open_clip/bpe_simple_vocab_16e6.txt.gz")).decode("utf-8")
    lines = data.split("\n")[1:49152 - 256 - 2 + 1]
    return [tuple(line.split()) for line in lines]


def strings(rng):
    colours = ["red", "green", "blue", "yellow", "purple", "orange", "Grass", "SKY"]
    shapes = ["circle", "square", "triangle", "circles", "squares", "triangles"]
    words = ["photo", "of", "a", "the", "an", "image", "dog", "cat", "New York", "don't", "it's", "we'll", "they're",
             "I'm", "you've", "he'd", "naïve", "café", "Zürich", "straße", "ΣΊΣΥΦΟΣ", "Ελλάδα", "日本語", "東京タワー",
             "한국어", "привет", "مرحبا", "שלום", "हिन्दी", "🙂", "🐶🐱", "👍🏽", "e\u0301", "A\u030A", "ﬁne", "Ⅻ", "²", "½",
             "١٢٣", "x86_64", "C++", "#hashtag", "@user", "http://example.com/a?b=c", "3.14159", "1,000,000",
             "--", "...", "!!!", "?!", "(nested [brackets] {too})", "$100", "50%", "a&b", "tab\there", "new\nline",
             "nbsp\u00a0space", "em\u2003space", "ideo\u3000space", "zero\u200bwidth", "<|startoftext|>", "<|endoftext|>",
             "<|endoftext", "''quoted''", "'s", "'S", "O'Neil", "rock'n'roll", "ABC", "CamelCase", "snake_case",
             "İstanbul", "ǅ", "ß", "Ω", "µ", "ﬀ", "\u0000", "\u007f", "\u00ad", "​", "­", "~~~", "``", "^_^", ":-)"]
    out = []
    for i in range(400):
        n = rng.randint(1, 4)
        parts = [f"{rng.choice(['a', 'one', 'two', 'three', str(rng.randint(1, 9))])} {rng.choice(colours)} {rng.choice(shapes)}"
                 for _ in range(n)]
        out.append(rng.choice(["a photo of ", "", "An image of ", "  "]) + rng.choice([" and ", ", ", " next to "]).join(parts))
    for i in range(600):
        k = rng.randint(1, 12)
        sep = lambda: rng.choice([" ", " ", " ", "", "  ", "\t", "\n", ", ", ". "])
        out.append("".join(rng.choice(words) + sep() for _ in range(k)))
    for i in range(120):
        k = rng.randint(1, 30)
        out.append("".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0xA0, 0x2FF), rng.randint(0x370, 0x4FF),
                                             rng.randint(0x3040, 0x30FF), rng.randint(0x4E00, 0x4FFF), rng.randint(0x1F300, 0x1F64F)]))
                           for _ in range(k)))
    for i in range(60):  # long strings: truncation to 77
        out.append(" ".join(rng.choice(words + colours + shapes) for _ in range(rng.randint(40, 120))))
    out += ["", " ", "\n\t ", "a", "A", "<|startoftext|>a<|endoftext|>", "hello<|endoftext|>world", "<|startoftext|>"]
    return out


def main():
    merges = load_merges(sys.argv[1])
    b2u = bytes_to_unicode()
    vocab = list(b2u.values())
    vocab += [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408
    OUT.mkdir(parents=True, exist_ok=True)
    merges_text = "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    (OUT / "merges.txt").write_text(merges_text, encoding="utf-8")
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
        (Path(d) / "merges.txt").write_text(merges_text, encoding="utf-8")
        tok = CLIPTokenizer.from_pretrained(d)
    rng = random.Random(15)
    texts = strings(rng)
    cases = [{"text": t, "ids": tok(t, truncation=True, max_length=77)["input_ids"]} for t in texts]
    batch = texts[400:404] + [texts[-9]]
    padded = tok(batch, padding="max_length", truncation=True, max_length=77)
    (OUT / "cases.json").write_text(json.dumps({
        "vocab_size": len(vocab), "cases": cases,
        "padded": {"texts": batch, "input_ids": padded["input_ids"], "attention_mask": padded["attention_mask"]},
    }, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(cases)} strings, {sum(len(c['ids']) for c in cases)} ids; "
          f"{sum(1 for c in cases if len(c['ids']) == 77)} truncated to 77")


if __name__ == "__main__":
    main()
