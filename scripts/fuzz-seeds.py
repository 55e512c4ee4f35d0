#!/usr/bin/env python3
"""Writes the fuzz seeds of grouped short rows: for the `rms` and `layer` targets, four rows
of 32, 64 and 128 elements (the widths `short::by_width` compiles apart: eight whole vectors
on the portable path, AVX2 and AVX-512, and AVX2's 128-wide QK-norm heads) of every element and
weight type the targets decode (fuzz/fuzz_targets/common.rs), finite values of several means
and spreads, with a weight (and for LayerNorm a bias). Deterministic: run it from the
repository root to rewrite fuzz/corpus/{rms,layer}/grouped-*."""
import random
import struct

# The first byte's choice (common.rs `run_any`): element type, weight type.
TYPES = {0: ("f32", "f32"), 1: ("f16", "f16"), 2: ("f16", "f32"), 3: ("bf16", "bf16"), 4: ("bf16", "f32")}
# Each row's mean and standard deviation.
ROWS = [(0.0, 1.0), (3.0, 0.01), (-100.0, 5.0), (1000.0, 1.0)]


def elem(t, v):
    if t == "f32":
        return struct.pack("<f", v)
    if t == "f16":
        return struct.pack("<e", v)
    bits = struct.unpack("<I", struct.pack("<f", v))[0]
    return struct.pack("<H", (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16)  # round to nearest even


def seed(kind, sel, width, rnd):
    t = TYPES[sel][0]
    flags = 2 | 4 | 8 if kind == "layer" else 1 | 4  # eps 1e-5 or 1e-6; weight; bias (layer)
    out = bytes([sel]) + struct.pack("<H", width - 1) + bytes([len(ROWS) - 1, flags])
    for mean, std in ROWS:
        out += b"".join(elem(t, rnd.gauss(mean, std)) for _ in range(width))
    for _ in range(2 if kind == "layer" else 1):  # weight, bias: u16 / 65535 * 8 - 4
        out += b"".join(struct.pack("<H", rnd.randrange(65536)) for _ in range(width))
    return out


for kind in ("rms", "layer"):
    rnd = random.Random(kind)
    for width in (32, 64, 128):
        for sel, (t, w) in TYPES.items():
            with open(f"fuzz/corpus/{kind}/grouped-w{width}-{t}-{w}", "wb") as f:
                f.write(seed(kind, sel, width, rnd))
