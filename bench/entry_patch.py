#!/usr/bin/env python3
"""Write a runtime patcher's entry sequence into a copy of a non-PIE ELF.

    entry_patch.py IN OUT KIND TARGET DEST

KIND  movabs: mov rdx, imm64; jmp rdx   (48 ba imm64 ff e2; 12 bytes, gomonkey /
              bouk/monkey on amd64, which use rdx, Go's closure context register)
      jmpmem: jmp [rip+0]; .quad DEST   (ff 25 00000000 imm64; 14 bytes)

This is what those tools write at run time (after mprotect); here it is
written into the file so the cost per call can be compared with hookpatch's
jmp rel32 in the same run, on the same binary."""
import struct
import subprocess
import sys


def symbols(path):
    out = subprocess.run(["nm", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    return {f[2]: int(f[0], 16) for f in (l.split() for l in out.splitlines()) if len(f) == 3}


def va_to_off(data, va):
    e_phoff, = struct.unpack_from("<Q", data, 0x20)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(e_phnum):
        p_type, _, p_off, p_va, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, e_phoff + i * e_phentsize)
        if p_type == 1 and p_va <= va < p_va + p_filesz:
            return va - p_va + p_off
    sys.exit(f"entry_patch: 0x{va:x} is in no PT_LOAD")


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    src, dst, kind, target, dest = sys.argv[1:]
    data = bytearray(open(src, "rb").read())
    if struct.unpack_from("<H", data, 0x10)[0] != 2:
        sys.exit("entry_patch: needs a non-PIE executable (ET_EXEC): DEST is an absolute address")
    syms = symbols(src)
    t, d = syms[target], syms[dest]
    if kind == "movabs":
        seq = b"\x48\xba" + struct.pack("<Q", d) + b"\xff\xe2"
    elif kind == "jmpmem":
        seq = b"\xff\x25\x00\x00\x00\x00" + struct.pack("<Q", d)
    else:
        sys.exit(f"entry_patch: unknown KIND {kind}")
    off = va_to_off(data, t)
    data[off:off + len(seq)] = seq
    with open(dst, "wb") as f:
        f.write(data)
    print(f"entry_patch: {target}@0x{t:x} <- {kind} -> {dest}@0x{d:x} ({len(seq)} bytes)")


if __name__ == "__main__":
    main()
