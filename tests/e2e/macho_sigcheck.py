#!/usr/bin/python3
"""An independent check of a Mach-O slice's embedded code signature, for
the tests (not hookpatch's signer, not macho_emu.py's quick page check).

  macho_sigcheck.py FILE [CPU]   CPU: x86_64 or arm64 (a universal file's
                                 slice; a thin file needs none)

Prints "ok ident=... flags=0x... special=N pages=N blobs=T,T,..." and
" shaT=HEX" (SHA-256) for each blob but the CodeDirectory, or "unsigned",
exit 0; or "error: REASON", exit 1.

What it checks, from the file alone:
  - LC_CODE_SIGNATURE: 16-aligned, the last bytes of __LINKEDIT and of the
    slice;
  - the SuperBlob: magic, length within the command's size, every index
    entry inside it, blobs in offset order without overlap, each blob's
    own length inside the SuperBlob;
  - the CodeDirectory: magic, version >= 0x20400, SHA-256 (type 2, 32
    bytes), 4 KiB pages, codeLimit equal to the signature's offset
    (codeLimit64 zero), nCodeSlots = ceil(codeLimit / 4096), identifier
    NUL-terminated and before the hashes, the hash array inside the blob;
  - every code page hash, recomputed over the slice;
  - every special slot: the SHA-256 of the blob of that type when the
    SuperBlob has one, zero otherwise; a blob of a type the special slots
    do not cover fails;
  - CS_ADHOC set; CS_LINKER_SIGNED only with a CodeDirectory alone and no
    special slots;
  - execSeg: __TEXT's file range, CS_EXECSEG_MAIN_BINARY iff MH_EXECUTE.
"""
import hashlib
import struct
import sys

CPUS = {"x86_64": 0x01000007, "arm64": 0x0100000C}
CSMAGIC_EMBEDDED = 0xFADE0CC0
CSMAGIC_CD = 0xFADE0C02
CS_ADHOC = 0x2
CS_LINKER_SIGNED = 0x20000
# blob types that are neither code directories nor covered by a slot
CSSLOT_ALT_CD_FIRST, CSSLOT_SIGNATURESLOT = 0x1000, 0x10000


class Bad(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Bad(msg)


def pick_slice(data, cpu):
    magic = struct.unpack_from(">I", data, 0)[0]
    if magic not in (0xCAFEBABE, 0xCAFEBABF):
        return data
    n = struct.unpack_from(">I", data, 4)[0]
    for i in range(n):
        if magic == 0xCAFEBABE:
            c, _, off, size, _ = struct.unpack_from(">IIIII", data, 8 + 20 * i)
        else:
            c, _, off, size, _, _ = struct.unpack_from(">IIQQII", data, 8 + 32 * i)
        if c == CPUS[cpu or "x86_64"]:
            return data[off:off + size]
    raise Bad("no %s slice" % cpu)


def load_commands(d):
    magic, _, _, ftype, ncmds, _, _, _ = struct.unpack_from("<IIIIIIII", d, 0)
    need(magic == 0xFEEDFACF, "not a 64-bit Mach-O slice")
    segs, sig, off = {}, None, 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", d, off)
        if cmd == 0x19:
            name = d[off + 8:off + 24].rstrip(b"\0").decode()
            fo, fs = struct.unpack_from("<QQ", d, off + 40)
            segs[name] = (fo, fs)
        elif cmd == 0x1D:
            need(sig is None, "two LC_CODE_SIGNATURE commands")
            sig = struct.unpack_from("<II", d, off + 8)
        off += size
    return ftype, segs, sig


def blobs_of(sb, sigsize):
    magic, length, count = struct.unpack_from(">III", sb, 0)
    need(magic == CSMAGIC_EMBEDDED, "SuperBlob magic 0x%x" % magic)
    need(12 <= length <= sigsize, "SuperBlob length %d, the command holds %d" % (length, sigsize))
    need(12 + 8 * count <= length, "SuperBlob index (%d entries) overruns it" % count)
    out, end = {}, 12 + 8 * count
    for i in range(count):
        typ, off = struct.unpack_from(">II", sb, 12 + 8 * i)
        need(off >= end and off + 8 <= length, "blob %d (type 0x%x) at %d is out of place" % (i, typ, off))
        blen = struct.unpack_from(">I", sb, off + 4)[0]
        need(8 <= blen and off + blen <= length, "blob type 0x%x: length %d overruns" % (typ, blen))
        need(typ not in out, "two blobs of type 0x%x" % typ)
        out[typ] = sb[off:off + blen]
        end = off + blen
    return out


def check_cd(d, cd, sigoff, blobs, ftype, segs):
    (magic, length, ver, flags, hashoff, identoff, nspecial, ncode, limit, hsize, htype,
     _, pshift) = struct.unpack_from(">IIIIIIIIIBBBB", cd, 0)
    need(magic == CSMAGIC_CD and length == len(cd), "CodeDirectory header")
    need(ver >= 0x20400, "CodeDirectory version 0x%x has no exec segment" % ver)
    need(htype == 2 and hsize == 32, "hash type %d size %d, want SHA-256" % (htype, hsize))
    need(pshift == 12, "page size 2^%d, want 4 KiB" % pshift)
    limit64 = struct.unpack_from(">Q", cd, 56)[0]
    need(limit == sigoff and limit64 == 0, "codeLimit 0x%x (64: 0x%x), signature at 0x%x" % (limit, limit64, sigoff))
    need(ncode == (limit + 4095) // 4096, "%d code slots for %d bytes" % (ncode, limit))
    need(identoff < length and b"\0" in cd[identoff:], "identifier not terminated")
    ident = cd[identoff:cd.index(b"\0", identoff)]
    need(ident and identoff + len(ident) + 1 <= hashoff - 32 * nspecial, "identifier overlaps the hashes")
    need(hashoff + 32 * ncode <= length, "code hashes overrun the CodeDirectory")
    for i in range(ncode):
        got = cd[hashoff + 32 * i:hashoff + 32 * (i + 1)]
        if got != hashlib.sha256(d[4096 * i:min(4096 * (i + 1), limit)]).digest():
            raise Bad("page %d hash mismatch" % i)
    for slot in range(1, nspecial + 1):
        got = cd[hashoff - 32 * slot:hashoff - 32 * (slot - 1)]
        want = hashlib.sha256(blobs[slot]).digest() if slot in blobs else bytes(32)
        need(got == want, "special slot -%d: hash mismatch" % slot)
    for typ in blobs:
        need(typ == 0 or typ <= nspecial or CSSLOT_ALT_CD_FIRST <= typ,
             "blob type 0x%x has no special slot (nSpecialSlots %d)" % (typ, nspecial))
    need(flags & CS_ADHOC, "not ad hoc (flags 0x%x)" % flags)
    if flags & CS_LINKER_SIGNED:
        need(len(blobs) == 1 and nspecial == 0, "CS_LINKER_SIGNED with other blobs or special slots")
    ebase, elimit, eflags = struct.unpack_from(">QQQ", cd, 64)
    text = segs.get("__TEXT", (0, 0))
    need((ebase, elimit) == text, "execSeg 0x%x+0x%x, __TEXT is 0x%x+0x%x" % (ebase, elimit, *text))
    need(bool(eflags & 1) == (ftype == 2), "execSegFlags 0x%x for file type %d" % (eflags, ftype))
    return ident.decode(), flags, nspecial, ncode


def check(path, cpu):
    d = pick_slice(open(path, "rb").read(), cpu)
    ftype, segs, sig = load_commands(d)
    if sig is None:
        return "unsigned"
    sigoff, sigsize = sig
    need(sigoff % 16 == 0, "signature offset 0x%x is not 16-aligned" % sigoff)
    need(sigoff + sigsize == len(d), "the signature does not end the slice")
    le = segs.get("__LINKEDIT")
    need(le and le[0] + le[1] == sigoff + sigsize, "__LINKEDIT does not end with the signature")
    blobs = blobs_of(d[sigoff:sigoff + sigsize], sigsize)
    need(0 in blobs, "no CodeDirectory")
    ident, flags, nspecial, ncode = check_cd(d, blobs[0], sigoff, blobs, ftype, segs)
    return "ok ident=%s flags=0x%x special=%d pages=%d blobs=%s%s" % (
        ident, flags, nspecial, ncode, ",".join("%x" % t for t in sorted(blobs)),
        "".join(" sha%x=%s" % (t, hashlib.sha256(blobs[t]).hexdigest()) for t in sorted(blobs) if t))


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__)
        return 2
    try:
        print(check(argv[1], argv[2] if len(argv) == 3 else None))
        return 0
    except (Bad, struct.error, ValueError, KeyError) as e:
        print("error: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
