#!/usr/bin/python3
"""Re-sign a thin, signed Mach-O file the way `codesign -s - --entitlements`
would, for the tests (nothing here runs Apple's codesign); independent of
hookpatch's signer.

  macho_sign_ent.py IN OUT ENTITLEMENTS.plist

The new SuperBlob holds a CodeDirectory (version 0x20400, SHA-256, 4 KiB
pages, CS_ADHOC, the old identifier, 5 special slots), an empty
Requirements blob (slot 2) and an Entitlements blob (slot 5, magic
0xfade7171, the plist's bytes). It replaces the old signature at the same
offset; LC_CODE_SIGNATURE and __LINKEDIT grow to fit.
"""
import hashlib
import struct
import sys


def main(src, dst, plist):
    d = bytearray(open(src, "rb").read())
    ncmds = struct.unpack_from("<I", d, 16)[0]
    off, sig_lc, le_lc, text = 32, None, None, (0, 0)
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", d, off)
        if cmd == 0x1D:
            sig_lc = off
        elif cmd == 0x19:
            name = d[off + 8:off + 24].rstrip(b"\0")
            if name == b"__LINKEDIT":
                le_lc = off
            elif name == b"__TEXT":
                text = struct.unpack_from("<QQ", d, off + 40)
        off += size
    assert sig_lc and le_lc, "needs a signed input"
    sigoff, sigsize = struct.unpack_from("<II", d, sig_lc + 8)
    old = bytes(d[sigoff:sigoff + sigsize])
    cd_at = struct.unpack_from(">I", old, 16)[0]
    ident_at = struct.unpack_from(">I", old, cd_at + 20)[0]
    ident = old[cd_at + ident_at:old.index(b"\0", cd_at + ident_at) + 1]
    ftype = struct.unpack_from("<I", d, 12)[0]

    reqs = struct.pack(">III", 0xFADE0C01, 12, 0)
    ents = open(plist, "rb").read()
    ents = struct.pack(">II", 0xFADE7171, 8 + len(ents)) + ents
    nspecial, npages = 5, (sigoff + 4095) // 4096
    hash_at = 88 + len(ident) + 32 * nspecial
    cd = bytearray(hash_at + 32 * npages)
    struct.pack_into(">IIIIIIIIIBBBBIIIIQQQQ", cd, 0, 0xFADE0C02, len(cd), 0x20400, 0x2,
                     hash_at, 88, nspecial, npages, sigoff, 32, 2, 0, 12, 0, 0, 0, 0, 0,
                     text[0], text[1], 1 if ftype == 2 else 0)
    cd[88:88 + len(ident)] = ident
    special = {2: reqs, 5: ents}
    for slot in range(1, nspecial + 1):
        if slot in special:
            cd[hash_at - 32 * slot:hash_at - 32 * (slot - 1)] = hashlib.sha256(special[slot]).digest()
    # the load commands are hashed too: resize them first
    hdr = 12 + 8 * 3
    total = hdr + len(cd) + len(reqs) + len(ents)
    total += -total % 16
    struct.pack_into("<I", d, sig_lc + 12, total)
    le_off = struct.unpack_from("<Q", d, le_lc + 40)[0]
    struct.pack_into("<Q", d, le_lc + 48, sigoff + total - le_off)
    vms = struct.unpack_from("<Q", d, le_lc + 32)[0]
    struct.pack_into("<Q", d, le_lc + 32, max(vms, (sigoff + total - le_off + 0x3FFF) & ~0x3FFF))
    for i in range(npages):
        cd[hash_at + 32 * i:hash_at + 32 * (i + 1)] = \
            hashlib.sha256(d[4096 * i:min(4096 * (i + 1), sigoff)]).digest()
    blobs = [(0, bytes(cd)), (2, reqs), (5, ents)]
    sb = bytearray(struct.pack(">III", 0xFADE0CC0, hdr + sum(len(b) for _, b in blobs), 3))
    at = hdr
    for typ, b in blobs:
        sb += struct.pack(">II", typ, at)
        at += len(b)
    for _, b in blobs:
        sb += b
    sb += bytes(-len(sb) % 16)
    assert len(sb) == total
    del d[sigoff:]
    d += sb
    open(dst, "wb").write(d)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    main(*sys.argv[1:])
