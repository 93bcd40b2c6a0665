#!/usr/bin/env python3
"""Tokenizer fixtures: Qwen's real vocabulary and tiktoken's ids on a diverse corpus.

    .venv-reference/bin/python scripts/make_tokenizer_fixtures.py

Tests/Fixtures/tokenizer/:
  qwen.tiktoken    Qwen's byte-level BPE ranks, from the PyPI package dashscope 2.0.2 (Apache-2.0),
                   dashscope/resources/qwen.tiktoken (fetched with `pip download` when absent).
  corpus.jsonl     {"text", "ids"}: ≥ 1,000 strings (hand-written edge cases + seeded random mixes of
                   code, numbers, CJK, emoji, combining marks, whitespace runs, special tokens) and
                   tiktoken's `encode(text, allowed_special="all")` with Qwen's pattern and specials.
  small_tokenizer_strings.json / small_tokenizer_arrays.json
                   a tokenizer.json (HF `tokenizers`) for the first 8,000 ranks, merges derived from
                   the ranks, Qwen2's pre-tokenizer and NFC; merges as "a b" strings / as [a, b].
  small_corpus.jsonl  {"text", "ids"} of `tokenizers` with that file on the first 300 corpus strings.
"""
import base64
import json
import random
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import tiktoken
from tokenizers import Tokenizer

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "tokenizer"
PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)]


def ranks_file():
    path = OUT / "qwen.tiktoken"
    if not path.exists():
        with tempfile.TemporaryDirectory() as d:
            subprocess.check_call([sys.executable, "-m", "pip", "download", "dashscope==2.0.2", "--no-deps", "-q", "-d", d])
            wheel = next(Path(d).glob("dashscope-*.whl"))
            with zipfile.ZipFile(wheel) as z:
                path.write_bytes(z.read("dashscope/resources/qwen.tiktoken"))
    return path


def load_ranks(path):
    ranks = {}
    for line in path.read_text().splitlines():
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    return ranks


EDGE = [
    "", " ", "  ", "\n", "\r\n", "\t", " \n ", "a", "Hello, world!", "hello world", "  leading", "trailing  ",
    "DON'T WE'LL I'M YOU'RE THEY'VE HE'D IT'S", "don't we'll i'm you're they've he'd it's", "'s 'S 'ſ", "O'Neil's",
    "12345678901234567890", "3.14159 -2.5e10 1,000,000", "x=1+2*3/4-5", "def f(x):\n    return x ** 2\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }", "SELECT * FROM t WHERE id = 42;", "<div class=\"a\">b</div>",
    "你好，世界！", "日本語のテキストです。", "한국어 문장입니다.", "مرحبا بالعالم", "नमस्ते दुनिया", "Привет, мир!",
    "😀😃😄", "👨‍👩‍👧‍👦 family", "🇯🇵🇺🇸 flags", "e\u0301 cafe\u0301 n\u0303", "Zalgo: Z\u0351\u0352a\u0353l\u0354g\u0355o",
    "tabs\tand\tspaces  \t  mixed", "many     spaces", "line1\nline2\n\n\nline5", "trailing newline\n", "\u00a0nbsp\u00a0",
    "\u2003em\u2003space", "\u3000ideographic space", "<|endoftext|>", "a<|im_start|>b<|im_end|>c",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "<|extra_0|><|extra_204|>", "<|notspecial|>",
    "supercalifragilisticexpialidocious" * 3, "a" * 200, "🙂" * 30, "!!!???...", "#$%&@^~`", "\\n literal",
    "Ⅻ roman ½ fractions ²³", "０１２ fullwidth ＡＢＣ", "mixed中文English混合123", "ﬁ ligature",
]

POOLS = {
    "words": "the of and to in is you that it he was for on are as with his they at be this have from or one had by".split(),
    "code": ["def", "return", "if", "else", "{", "}", "(", ")", ";", "==", "!=", "->", "=>", "self.", "import", "//", "/*", "*/",
             "\t", "    ", "\n", "[0]", "x_1", "fooBar", "CONST_VALUE"],
    "cjk": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明"),
    "emoji": ["😀", "🎉", "👍🏽", "❤️", "🔥", "🚀", "👩‍💻", "🇫🇷", "✨", "🤖"],
    "marks": ["e\u0301", "a\u0308", "o\u0302", "n\u0303", "\u0915\u093f", "\u0627\u064e"],
    "space": [" ", "  ", "\t", "\n", "\r\n", "\n\n", "   \n", "\u00a0", "\u2009", " \t "],
    "num": ["0", "7", "42", "2024", "3.5", "-1", "1e9", "0x1F", "100%", "1/2"],
    "special": SPECIALS[:5] + ["<|extra_17|>"],
    "punct": list(".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`"),
}


def random_string(rng):
    parts = []
    for _ in range(rng.randint(1, 14)):
        pool = rng.choice(list(POOLS))
        parts.append(rng.choice(POOLS[pool]))
        if rng.random() < 0.5:
            parts.append(rng.choice([" ", "", "", "\n", "  "]))
    return "".join(parts)


def bpe(ranks, token, max_rank):
    parts = [bytes([b]) for b in token]
    while True:
        best = None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < max_rank and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return parts
        i = best[1]
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]


def byte_table():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def small_tokenizer_json(ranks, limit, array_merges):
    table = byte_table()
    def s(b): return "".join(table[x] for x in b)
    kept = {tok: r for tok, r in ranks.items() if r < limit}
    vocab = {s(tok): r for tok, r in kept.items()}
    merges = []
    for tok, r in sorted(kept.items(), key=lambda kv: kv[1]):
        if len(tok) < 2:
            continue
        a, b = bpe(kept, tok, r)
        merges.append([s(a), s(b)] if array_merges else f"{s(a)} {s(b)}")
    specials = [{"id": limit + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": True} for i, t in enumerate(SPECIALS[:3])]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": specials,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PAT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    ranks = load_ranks(ranks_file())
    enc = tiktoken.Encoding("qwen", pat_str=PAT, mergeable_ranks=ranks,
                            special_tokens={t: len(ranks) + i for i, t in enumerate(SPECIALS)})
    rng = random.Random(2510)
    corpus = EDGE + [random_string(rng) for _ in range(1200 - len(EDGE))]
    with (OUT / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for text in corpus:
            ids = enc.encode(text, allowed_special="all")
            assert enc.decode(ids) == text
            f.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=False) + "\n")
    limit = 8000
    for name, arrays in (("small_tokenizer_strings.json", False), ("small_tokenizer_arrays.json", True)):
        (OUT / name).write_text(json.dumps(small_tokenizer_json(ranks, limit, arrays), ensure_ascii=False))
    tok = Tokenizer.from_file(str(OUT / "small_tokenizer_strings.json"))
    with (OUT / "small_corpus.jsonl").open("w", encoding="utf-8") as f:
        for text in corpus[:300]:
            f.write(json.dumps({"text": text, "ids": tok.encode(text, add_special_tokens=False).ids}, ensure_ascii=False) + "\n")
    print(f"{len(corpus)} corpus strings; vocabulary {len(ranks)} + {len(SPECIALS)} specials")
