#!/usr/bin/env python3
"""Writes the parser fuzz corpus (tests/reliability/fuzz/corpus/<parser>/...) from the seeds in
seeds/: deterministic mutations (seeded PRNG) of every kind the campaign found harmful: extreme and
non-finite numbers, integers beyond 32/64 bits, wrong types, removed or duplicated lines, truncation,
stray bytes, and for binary formats flipped bytes and huge length fields. Rerun after changing a
seed: python3 make_corpus.py (the output is committed, so CI never needs Python)."""
import json
import os
import random
import re
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
OUT = os.path.join(HERE, "corpus")
PER_SEED = 24

NUMBERS = ["0", "-1", "1e308", "-1e308", "inf", "-inf", "nan", "4294967297", "9223372036854775807",
           "-9223372036854775808", "1e-320", "0.5", "2000000000", "65536", "1e-30", "18446744073709551615"]
STRINGS = ['""', '"../../../etc"', '"' + "x" * 300 + '"', '"\\u0000"', '"/"', '"nonexistent.toml"']
JSON_VALUES = ['{}', '[]', 'null', '"seven"', '-1', '1e999', 'true', '[1,2,3]', '{"i":"seven"}', '4294967297']

NUM_RE = re.compile(r"(?<![A-Za-z_\"])-?\d+(\.\d+)?([eE][-+]?\d+)?(?![A-Za-z_\"])")
STR_RE = re.compile(r'"[^"\n]*"')


def text_mutations(text, rng, json_like):
    lines = text.split("\n")
    ops = ["number", "number", "number", "string", "delete_line", "duplicate_line", "truncate", "bytes",
           "retype", "drop_key"]
    op = rng.choice(ops)
    if op == "number":
        spans = list(NUM_RE.finditer(text))
        if spans:
            m = rng.choice(spans)
            values = NUMBERS if not json_like else NUMBERS[:3] + ["1e999", "-1", "4294967297", "0"]
            return text[:m.start()] + rng.choice(values) + text[m.end():]
    if op == "string":
        spans = list(STR_RE.finditer(text))
        if spans:
            m = rng.choice(spans)
            return text[:m.start()] + rng.choice(STRINGS) + text[m.end():]
    if op == "delete_line" and len(lines) > 1:
        del lines[rng.randrange(len(lines))]
        return "\n".join(lines)
    if op == "duplicate_line" and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return "\n".join(lines)
    if op == "truncate":
        return text[:rng.randrange(max(1, len(text)))]
    if op == "bytes":
        i = rng.randrange(max(1, len(text)))
        return text[:i] + rng.choice(["\x00", "\xff", "[[", "]]", "{", "}", "=", "\"", "\n[x]\n", ","]) + text[i:]
    if op == "retype":
        if json_like:
            spans = list(re.finditer(r":\s*(\"[^\"]*\"|-?\d[\d.eE+-]*|true|false|null)", text))
            if spans:
                m = rng.choice(spans)
                return text[:m.start(1)] + rng.choice(JSON_VALUES) + text[m.end(1):]
        else:
            spans = list(re.finditer(r"=\s*(.+)$", text, re.M))
            if spans:
                m = rng.choice(spans)
                return text[:m.start(1)] + rng.choice(['"text"', "[1, 2]", "true", "{ a = 1 }", "[]", "1979-05-27"]) + text[m.end(1):]
    if op == "drop_key":
        keyed = [i for i, l in enumerate(lines) if "=" in l or ":" in l]
        if keyed:
            del lines[rng.choice(keyed)]
            return "\n".join(lines)
    return text + "\n" + rng.choice(["junk = 1", "[unknown]", "{}", "x"])


def binary_mutations(data, rng, header_fields):
    b = bytearray(data)
    op = rng.choice(["flip", "flip", "truncate", "field", "field", "extend"])
    if op == "flip" and b:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == "truncate":
        b = b[:rng.randrange(max(1, len(b)))]
    elif op == "field":
        off, fmt = rng.choice(header_fields)
        size = struct.calcsize(fmt)
        value = rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 2 ** 40, 2 ** 63 - 1, 2 ** 64 - 1, 60000])
        value &= (1 << (8 * size)) - 1
        if off + size <= len(b):
            b[off:off + size] = struct.pack(fmt, value)
    else:
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(b)


def safetensors_mutation(data, rng):
    n = struct.unpack("<Q", data[:8])[0]
    header, body = data[8:8 + n].decode(), data[8 + n:]
    if rng.random() < 0.5:
        h = text_mutations(header, rng, True).encode()
        return struct.pack("<Q", len(h)) + h + body
    return binary_mutations(data, rng, [(0, "<Q")])


def main():
    rng = random.Random(20261128)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for parser in sorted(os.listdir(SEEDS)):
        src = os.path.join(SEEDS, parser)
        if not os.path.isdir(src) or parser == "bundle":  # bundle: the valid bundle the manifests go into
            continue
        dst = os.path.join(OUT, parser)
        os.makedirs(dst)
        for seed in sorted(os.listdir(src)):
            data = open(os.path.join(src, seed), "rb").read()
            stem, ext = os.path.splitext(seed)
            for k in range(PER_SEED):
                if parser == "safetensors":
                    out = safetensors_mutation(data, rng)
                elif parser == "idx":
                    fields = [(0, ">I"), (4, ">I"), (8, ">I"), (12, ">I")]
                    out = binary_mutations(data, rng, fields)
                else:
                    out = text_mutations(data.decode("utf-8"), rng, parser in ("journals", "bundles")).encode("utf-8", "surrogateescape")
                with open(os.path.join(dst, f"{stem}.{k:02d}{ext}"), "wb") as f:
                    f.write(out)


if __name__ == "__main__":
    main()
