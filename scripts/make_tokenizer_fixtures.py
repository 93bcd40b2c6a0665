#!/usr/bin/env python3
"""Tokenizer fixtures: Qwen's real vocabulary, and tiktoken's and HF tokenizers' ids on a diverse corpus.

    .venv-reference/bin/pip install dashscope      # (scripts/setup-reference-env.sh does it)
    .venv-reference/bin/python scripts/make_tokenizer_fixtures.py

Writes Tests/Fixtures/tokenizer/:
  qwen.tiktoken   Qwen's byte-level BPE ranks: dashscope/resources/qwen.tiktoken from the PyPI package
                  dashscope (Apache-2.0), copied from the installed package (or `pip download`ed).
  corpus.jsonl    one {"text", "ids", "ids_cl100k"[, "ordinary"]} per line: hand-written edge cases and
                  seeded random strings (code, numbers, 20+ scripts, emoji, combining marks, whitespace
                  runs, special tokens). ids = tiktoken `encode(text, allowed_special="all")` with
                  dashscope's pattern and specials; ids_cl100k the same with GPT-4's split pattern;
                  ordinary = `encode_ordinary(text)` where the text has a "<|".
  tokenizer_strings.json / tokenizer_arrays.json
                  HF tokenizer.json files of the first 32,000 ranks (merges derived from the ranks as
                  transformers' tiktoken converter does), Qwen2's pre-tokenizer and NFC normaliser, three
                  added tokens; merges as "a b" strings / as ["a", "b"] arrays.
  tokenizer_corpus.jsonl  {"text", "ids"} of `tokenizers` with tokenizer_strings.json on every corpus string.
  ignore_merges.json / ignore_merges_corpus.jsonl
                  a tiny vocabulary whose token "abc" has no merge path, with `tokenizers`' ids when
                  ignore_merges is true and false.
"""
import base64
import json
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import tiktoken
from tokenizers import Tokenizer

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "tokenizer"
CL100K = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
TRUNCATED = 32000

try:  # dashscope's own definitions (dashscope/tokenizers/qwen_tokenizer.py)
    from dashscope.tokenizers import qwen_tokenizer as qwen
    PAT, SPECIALS = qwen.PAT_STR, {t: i for i, t in qwen.SPECIAL_TOKENS}
    PACKAGED = Path(qwen.__file__).resolve().parent.parent / "resources" / "qwen.tiktoken"
except ImportError:  # the same values, spelled out
    PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
    SPECIALS = {t: 151643 + i for i, t in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)])}
    PACKAGED = None


def ranks_file():
    path = OUT / "qwen.tiktoken"
    if PACKAGED is not None and PACKAGED.exists():
        shutil.copyfile(PACKAGED, path)
    elif not path.exists():
        with tempfile.TemporaryDirectory() as d:
            subprocess.check_call([sys.executable, "-m", "pip", "download", "dashscope", "--no-deps", "-q", "-d", d])
            with zipfile.ZipFile(next(Path(d).glob("dashscope-*.whl"))) as z:
                path.write_bytes(z.read("dashscope/resources/qwen.tiktoken"))
    return path


def load_ranks(path):
    return {base64.b64decode(tok): int(rank) for tok, rank in (l.split() for l in path.read_text().splitlines() if l)}


CODE = [
    'def fib(n: int) -> int:\n    """Fibonacci."""\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n',
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)\nprint(f\"{x.shape=}\")\n",
    "func encode(_ text: String) -> [Int] {\n\tguard !text.isEmpty else { return [] }\n\treturn text.utf8.map(Int.init)\n}\n",
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
    "const f = async (a, b) => { await fetch(`/api/${a}?b=${b}`); return a ?? b; };",
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\r\n\treturn 0;\r\n}\r\n",
    "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"héllo, 世界\") }\n",
    "SELECT u.id, COUNT(*) AS n FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total >= 100.50 GROUP BY u.id;",
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Test &amp; more</title></head></html>',
    '{"name": "UniRL", "version": [1, 2, 3], "nested": {"ok": true, "value": null, "π": 3.14159}}',
    "server:\n  port: 8080\n  hosts:\n    - a.example.com\n    - b.example.com\n",
    "for f in *.txt; do echo \"$f\" | sed -e 's/foo/bar/g' >> out.log; done && exit 0",
    r"\begin{equation} E = mc^2 \quad \int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2} \end{equation}",
    r"^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@example\.com$",
    "x+=1;y-=2;z*=3;w/=4;v%=5;u<<=1;t>>=2;s&=3;r|=4;q^=5;",
    "if (a != b && c <= d || !e) { return -1; } else if (f >= g) { return +1; }",
    "    indented with four spaces\n\tindented with a tab\n        eight spaces\n",
    "// comment\n/* block\n   comment */\n# hash comment\n-- sql comment\n",
    "obj.method_name().another_call()?.field[0]['key']",
    "CamelCaseIdentifier snake_case_identifier SCREAMING_SNAKE kebab-case-id",
]
TEXT = [
    "", " ", "  ", "\n", "\r\n", "\r", "\t", " \n ", "a", "A", "é", "中", "1", "!", "'", "''", "'''",
    "Hello, world!", "hello world", "  leading spaces", "trailing spaces  ", "trailing space ", " ", "x ",
    "DON'T WE'LL I'M YOU'RE THEY'VE HE'D IT'S", "don't we'll i'm you're they've he'd it's",
    "Don'T We'Ll I'm You'Re They'Ve He'D It'S", "'s 'S 'ſ 'ſs 'Ss 't 'T 're 'RE 'rE 've 'VE 'm 'M 'll 'LL 'd 'D",
    "O'Neil's rock'n'roll y'all ma'am 'tis '90s", "it’s don’t (typographic apostrophes)", "''s ' s 'x 'l 'r 'v",
    "12345678901234567890", "3.14159 -2.5e10 1,000,000 1_000_000 0xDEADBEEF 0b1010 1e-9",
    "3" * 120, "0" * 33 + "1", "Phone: +1 (555) 010-9999, ext. 42", "2024-11-25T05:24:12+00:00",
    "١٢٣٤٥٦٧٨٩٠ Arabic-Indic digits", "०१२३४ Devanagari digits", "١٢٣abc", "x²+y³=z⁴ ½ ¼ ¾ ① ② ⑩",
    "Ⅻ roman Ⅷ numerals ⅷ", "０１２３ fullwidth ＡＢＣ ａｂｃ", "𝟘𝟙𝟚 math digits 𝐀𝐁𝐂 math letters",
    "你好，世界！这是一个测试。", "日本語のテキストです。カタカナ、ひらがな、漢字ー。", "한국어 문장입니다. 안녕하세요!",
    "ᄒᆞᆫ 옛한글 jamo ᄀᄁᄂ ᅡᅢᅣ", "مرحبا بالعالم، كيف حالك؟", "مُحَمَّد بِسْمِ اللَّهِ", "שָׁלוֹם עוֹלָם", "नमस्ते दुनिया, क्षत्रिय",
    "Привет, мир! Ёлка.", "Γειά σου Κόσμε ΑΒΓ αβγ ς", "Բարեւ Աշխարհ", "გამარჯობა მსოფლიო", "ሰላም ለዓለም",
    "வணக்கம் உலகம்", "ওহে বিশ্ব", "สวัสดีชาวโลกภาษาไทยไม่มีช่องว่าง", "Xin chào thế giới, Tiếng Việt có dấu",
    "Сайн уу ᠮᠣᠩᠭᠣᠯ", "ᚠᚢᚦᚨᚱᚲ runes", "ꦲꦤꦕꦫꦏ Javanese", "😀😃😄😁", "👨‍👩‍👧‍👦 family 👩🏽‍💻 coder",
    "🇯🇵🇺🇸🇫🇷 flags 🏴󠁧󠁢󠁥󠁮󠁧󠁿 england", "1️⃣ #️⃣ keycaps ❤️ ❤ ☺️", "👍🏻👍🏼👍🏽👍🏾👍🏿", "🏳️‍🌈 🏳️‍⚧️ ZWJ flags",
    "e\u0301 cafe\u0301 n\u0303 a\u0308", "\u0301 starts with a mark", "1\u0301 2\u20e3", " \u0301", "a\u200db \u200c zwj/zwnj",
    "Z\u0351\u0352a\u0353\u0354l\u0355\u0356g\u0357\u0358o\u0359", "ﬁ ligature ﬀ ﬂ", "Å Å Å angstrom", "Ω Ω ohm", "K K kelvin",
    "tabs\tand\tspaces  \t  mixed", "many     spaces", "line1\nline2\n\n\nline5", "trailing newline\n", "a\r\n\r\nb",
    "\n\n\n", "   \n   ", "\t\n\t\n", "  \r\n  x", "x  \n", "x \n y", "\u00a0nbsp\u00a0", "a\u00a0\u00a0b", "\u2003em\u2003space",
    "\u3000ideographic\u3000space", "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a spaces", "\u2028line\u2029para",
    "\u0085nel\u0085", "\u000bvt\u000cff", "\u001c\u001d\u001e\u001f separators", "\u200bzwsp\u200b", "\ufeffbom", "\u180emvs\u180e",
    "\u1680ogham\u202fnnbsp\u205fmmsp", " \u00a0 \u3000 ", "a \u3000b", "!\n\n", "?\r\n", "...\n   \n",
    "<|endoftext|>", "a<|im_start|>b<|im_end|>c", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|extra_0|><|extra_204|>", "<|extra_205|> is not special", "<|notspecial|>", "<|im_start|", "<|im_start|>>", "<<|im_end|>",
    "<|endoftext|><|endoftext|><|endoftext|>", " <|im_end|> ", "x<|extra_17|>\n", "<|im_end|>\u0338 combining after special",
    "supercalifragilisticexpialidocious" * 3, "a" * 1000, "ab" * 300, "🙂" * 30, "中文" * 200, "ー" * 150,
    "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft", "x" * 97, "y" * 96, "z" * 95,
    "=" * 300, "-" * 120 + "\n", " " * 300, " " * 300 + "x", "\n" * 50, "\t" * 40 + "x", "!!!???...", "#$%&@^~`", "\\n literal",
    "mixed中文English混合123数字", "IPv4 192.168.0.1, IPv6 fe80::1%eth0, https://example.com/a/b?c=d&e=f#g",
    "email: first.last+tag@example.co.uk", "C:\\Users\\name\\file.txt", "~/.config/app/settings.json",
    "$100.00 €50 £20 ¥1000 ₹500 ₿0.01", "→ ← ↑ ↓ ⇒ ∀x∈ℝ: x² ≥ 0 ∑ ∏ ∫ √ ∞ ≈ ≠", "┌─┬─┐\n│ │ │\n└─┴─┘",
]
EDGE = CODE + TEXT

POOLS = {
    "words": "the of and to in is you that it he was for on are as with his they at be this have from or one had by "
             "Hello World Python Swift tokenizer don't I'm we'll THEY'RE".split(),
    "code": ["def", "return", "if", "else", "{", "}", "(", ")", ";", "==", "!=", "->", "=>", "self.", "import", "//", "/*",
             "*/", "\t", "    ", "\n", "[0]", "x_1", "fooBar", "CONST_VALUE", "#include", "<div>", "</div>", "&&", "||"],
    "cjk": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明"),
    "kana": list("あいうえおかきくけこアイウエオカキクケコーッャュョ"),
    "hangul": ["한국", "어", "문장", "입니다", "안녕"],
    "emoji": ["😀", "🎉", "👍🏽", "❤️", "🔥", "🚀", "👩‍💻", "🇫🇷", "✨", "🤖", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👨‍👨‍👧"],
    "marks": ["e\u0301", "a\u0308", "o\u0302", "n\u0303", "\u0915\u093f", "\u0627\u064e", "\u0301", "\u20dd", "\u0e31"],
    "space": [" ", "  ", "\t", "\n", "\r\n", "\n\n", "   \n", "\u00a0", "\u2009", " \t ", "\u3000", "\r", "\u0085", "\u2028"],
    "num": ["0", "7", "42", "2024", "3.5", "-1", "1e9", "0x1F", "100%", "1/2", "١٢", "½", "Ⅻ", "²", "１２", "9" * 12],
    "special": list(SPECIALS)[:5] + ["<|extra_17|>", "<|im_start|", "|>"],
    "punct": list(".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`") + ["'s", "'T", "'Re", "'LL", "...", "—", "«", "»", "¿", "¡"],
}

# Unicode blocks to draw random scalars from (assigned in Python's Unicode version; no surrogates).
BLOCKS = [(0x00A0, 0x024F), (0x0250, 0x036F), (0x0370, 0x052F), (0x0530, 0x06FF), (0x0900, 0x0DFF), (0x0E00, 0x0EFF),
          (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1E00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x218F), (0x2190, 0x23FF),
          (0x2460, 0x27BF), (0x2E80, 0x2FDF), (0x3000, 0x30FF), (0x3130, 0x318F), (0x4E00, 0x9FFF), (0xA000, 0xA4CF),
          (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFB00, 0xFDFF), (0xFE00, 0xFFFD), (0x10000, 0x100FA), (0x10300, 0x1034F),
          (0x1D400, 0x1D7FF), (0x1F000, 0x1FAFF), (0x20000, 0x2A6DF), (0xE0000, 0xE007F)]


def random_scalars(rng, n):
    out = []
    while len(out) < n:
        lo, hi = rng.choice(BLOCKS)
        c = chr(rng.randint(lo, hi))
        if unicodedata.category(c) not in ("Cn", "Cs"):
            out.append(c)
    return "".join(out)


def random_string(rng):
    parts = []
    for _ in range(rng.randint(1, 16)):
        if rng.random() < 0.15:
            parts.append(random_scalars(rng, rng.randint(1, 6)))
        else:
            pool = rng.choice(list(POOLS))
            parts.append(rng.choice(POOLS[pool]))
        if rng.random() < 0.5:
            parts.append(rng.choice([" ", "", "", "\n", "  ", "\t", "'"]))
    return "".join(parts)


def bpe(ranks, token, max_rank):
    """tiktoken's merge of `token` using only ranks below max_rank (transformers' tiktoken converter)."""
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


def tokenizer_json(vocab, merges, added, ignore_merges=False, pattern=PAT, nfc=True):
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t, i in added.items()],
        "normalizer": {"type": "NFC"} if nfc else None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": ignore_merges,
                  "vocab": vocab, "merges": merges},
    }


def truncated_tokenizer_json(ranks, limit, array_merges):
    table = byte_table()
    def s(b): return "".join(table[x] for x in b)
    kept = {tok: r for tok, r in ranks.items() if r < limit}
    vocab = {s(tok): r for tok, r in sorted(kept.items(), key=lambda kv: kv[1])}
    merges = []
    for tok, r in sorted(kept.items(), key=lambda kv: kv[1]):
        if len(tok) >= 2:
            a, b = bpe(kept, tok, r)
            merges.append([s(a), s(b)] if array_merges else f"{s(a)} {s(b)}")
    added = {t: limit + i for i, t in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])}
    return tokenizer_json(vocab, merges, added)


def ignore_merges_fixture():
    table = byte_table()
    vocab = {table[b]: b for b in range(256)}
    for t in ["ab", "abc", "bc", "xy", "xyz"]:
        vocab[t] = len(vocab)
    merges = ["a b", "x y", "xy z"]        # "abc" and "bc" have no merge path
    texts = ["abc", "abcabc", "abc xyz", "ab c", "bc", "xyz abc bc", "abcd", " abc"]
    rows = []
    for flag in (False, True):
        (OUT / "ignore_merges.json").write_text(json.dumps(tokenizer_json(vocab, merges, {}, ignore_merges=flag, nfc=False)))
        tok = Tokenizer.from_file(str(OUT / "ignore_merges.json"))
        rows.append({"ignore_merges": flag, "cases": [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]})
    (OUT / "ignore_merges.json").write_text(json.dumps(tokenizer_json(vocab, merges, {}, nfc=False)))
    with (OUT / "ignore_merges_corpus.jsonl").open("w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    ranks = load_ranks(ranks_file())
    enc = tiktoken.Encoding("qwen", pat_str=PAT, mergeable_ranks=ranks, special_tokens=SPECIALS)
    enc_cl = tiktoken.Encoding("qwen_cl100k_split", pat_str=CL100K, mergeable_ranks=ranks, special_tokens=SPECIALS)
    rng = random.Random(2510)
    # Long space-less letter runs (pieces of 100-3,000 bytes: the heap merge path).
    letters = "etaoinshrdlucmfwypvbgkqjxz" * 4 + "ETAOINSHRD" + "éèàüößçñ" + "фывапролджэ" + "的一是不了人我在有他这"
    long_words = ["".join(rng.choice(letters) for _ in range(rng.randint(60, 1500))) for _ in range(16)]
    corpus = EDGE + long_words + [random_string(rng) for _ in range(1500 - len(EDGE) - len(long_words))]
    assert len(set(corpus)) > 1400, len(set(corpus))
    with (OUT / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for text in corpus:
            ids = enc.encode(text, allowed_special="all")
            assert enc.decode(ids) == text, text
            row = {"text": text, "ids": ids, "ids_cl100k": enc_cl.encode(text, allowed_special="all")}
            if "<|" in text:
                row["ordinary"] = enc.encode_ordinary(text)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    for name, arrays in (("tokenizer_strings.json", False), ("tokenizer_arrays.json", True)):
        (OUT / name).write_text(json.dumps(truncated_tokenizer_json(ranks, TRUNCATED, arrays), ensure_ascii=False))
    tok = Tokenizer.from_file(str(OUT / "tokenizer_strings.json"))
    tok_arrays = Tokenizer.from_file(str(OUT / "tokenizer_arrays.json"))
    with (OUT / "tokenizer_corpus.jsonl").open("w", encoding="utf-8") as f:
        for text in corpus:
            ids = tok.encode(text, add_special_tokens=False).ids
            assert ids == tok_arrays.encode(text, add_special_tokens=False).ids
            f.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=False) + "\n")
    ignore_merges_fixture()
    for old in ("small_corpus.jsonl", "small_tokenizer_strings.json", "small_tokenizer_arrays.json"):
        (OUT / old).unlink(missing_ok=True)
    size = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(corpus)} corpus strings; vocabulary {len(ranks)} + {len(SPECIALS)} specials; fixtures {size / 1e6:.1f} MB")
