#!/usr/bin/env python3
"""Write N mutated copies of a binary: byte flips in its headers and tables,
and truncations. Deterministic for a given seed, so a failure can be
reproduced. Usage: mutate.py INPUT OUTDIR COUNT SEED"""
import os
import random
import struct
import sys


def table_ranges(data):
    """Byte ranges worth mutating: file headers and the format's tables."""
    size = len(data)
    ranges = [(0, min(size, 512))]
    if data[:4] == b"\x7fELF" and size >= 64:
        phoff, shoff = struct.unpack_from("<QQ", data, 32)
        phnum, shnum = struct.unpack_from("<H", data, 56)[0], struct.unpack_from("<H", data, 60)[0]
        ranges.append((phoff, phoff + 56 * phnum))
        ranges.append((shoff, shoff + 64 * shnum))
        for i in range(shnum):
            off = shoff + 64 * i
            if off + 64 > size:
                break
            typ, = struct.unpack_from("<I", data, off + 4)
            soff, ssize = struct.unpack_from("<QQ", data, off + 24)
            if typ in (2, 3, 7, 11):  # symtab, strtab, note, dynsym
                ranges.append((soff, soff + min(ssize, 4096)))
    elif data[:2] == b"MZ" and size >= 64:
        pe, = struct.unpack_from("<I", data, 0x3C)
        ranges.append((pe, pe + 24 + 240 + 40 * 16))
    return [(a, min(b, size)) for a, b in ranges if a < min(b, size)]


def mutate(data, rng, ranges):
    kind = rng.random()
    if kind < 0.2:
        return data[: rng.randrange(1, len(data))]
    out = bytearray(data)
    lo, hi = rng.choice(ranges)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(lo, hi)
        choice = rng.random()
        if choice < 0.5:
            out[pos] ^= 1 << rng.randrange(8)
        elif choice < 0.8:
            out[pos] = rng.choice([0x00, 0xFF, 0x7F, 0x80])
        else:
            word = rng.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, len(data), len(data) + 1])
            if pos + 4 <= len(out):
                struct.pack_into("<I", out, pos, word)
    return bytes(out)


def main():
    src, outdir, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = open(src, "rb").read()
    rng = random.Random(seed)
    ranges = table_ranges(data)
    os.makedirs(outdir, exist_ok=True)
    for i in range(count):
        with open(os.path.join(outdir, "m%04d" % i), "wb") as f:
            f.write(mutate(data, rng, ranges))


if __name__ == "__main__":
    main()
