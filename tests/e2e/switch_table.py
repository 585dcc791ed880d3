#!/usr/bin/env python3
"""switch_table.py ELF TABLE_VA: read hookpatch's switch table (format in
rewriter/switch.h) back from a patched ELF64 file and print it:

    count N
    slots 0xVA rw-zero        (the slots' place: a writable segment, zero bytes)
    entry 0xTARGET 0xTRAMP ABI

Exits 1 with a message when the table is malformed: bad magic, version,
entry size, reserved fields, unsorted or duplicate targets, or slots outside
a writable segment or not zero-initialised."""
import struct
import sys


def segments(data):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit("not a little-endian ELF64 file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segs = []
    for i in range(phnum):
        p_type, p_flags, off, va, _, filesz, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == 1:  # PT_LOAD
            segs.append((va, memsz, off, filesz, p_flags))
    return segs


def read(data, segs, va, n):
    """n bytes at va: file bytes, or zeros past a segment's file size."""
    for sva, memsz, off, filesz, flags in segs:
        if sva <= va and va + n <= sva + memsz:
            out = bytearray(n)
            for k in range(n):
                rel = va + k - sva
                if rel < filesz:
                    out[k] = data[off + rel]
            return bytes(out), flags
    sys.exit("0x%x (+%d) is outside every PT_LOAD" % (va, n))


def main():
    data = open(sys.argv[1], "rb").read()
    table = int(sys.argv[2], 0)
    segs = segments(data)
    head, flags = read(data, segs, table, 32)
    if flags & 2:
        sys.exit("the table is in a writable segment")
    magic, version, count, slots_rel, esize, reserved = struct.unpack("<8sIIqII", head)
    if magic != b"HPSWTAB1" or version != 1 or esize != 24 or reserved != 0:
        sys.exit("bad header: %r %d %d %d" % (magic, version, esize, reserved))
    if table % 8:
        sys.exit("the table is not 8-aligned")
    print("count", count)
    slots = table + slots_rel
    if count:
        raw, sflags = read(data, segs, slots, 8 * count)
        if not sflags & 2 or any(raw) or slots % 8:
            sys.exit("slots at 0x%x: not writable, not zero or misaligned" % slots)
        print("slots 0x%x rw-zero" % slots)
    last = None
    for i in range(count):
        e, _ = read(data, segs, table + 32 + 24 * i, 24)
        target_rel, tramp_rel, abi, res = struct.unpack("<qqII", e)
        target = table + target_rel
        if res != 0 or abi > 1:
            sys.exit("entry %d: abi %d reserved %d" % (i, abi, res))
        if last is not None and target <= last:
            sys.exit("entry %d: targets not sorted and unique" % i)
        last = target
        print("entry 0x%x 0x%x %d" % (target, table + tramp_rel, abi))


main()
