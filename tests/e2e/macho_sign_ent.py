#!/usr/bin/python3
"""Re-sign a thin, signed Mach-O file the way `codesign -s - --entitlements`
would, for the tests (nothing here runs Apple's codesign); independent of
hookpatch's signer.

  macho_sign_ent.py IN OUT ENTITLEMENTS.plist|- [--team ID] [--cms CN|--cms-bad]

The new SuperBlob holds a CodeDirectory (version 0x20400, SHA-256, 4 KiB
pages, CS_ADHOC, the old identifier, 5 special slots; 2 without
entitlements), an empty Requirements blob (slot 2) and an Entitlements
blob (slot 5, magic 0xfade7171, the plist's bytes). It replaces the old
signature at the same offset; LC_CODE_SIGNATURE and __LINKEDIT grow to fit.

A real signature, as far as hookpatch reads one: --team puts a team
identifier in the CodeDirectory (teamOffset); --cms adds a CMS blob (slot
0x10000, magic 0xfade0b01) holding a PKCS#7 SignedData, BER with
indefinite lengths at the outer levels as Apple's encoder writes them,
with two certificates (an intermediate CA first, then the leaf whose
subject CN is the argument) and a SignerInfo naming the leaf by issuer and
serial. Nothing is really signed (no keys): the certificates and the
signature value are well-formed filler. --cms-bad writes a CMS blob whose
DER is cut short.
"""
import hashlib
import struct
import sys


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + content


def indef(tag, content):
    return bytes([tag, 0x80]) + content + b"\0\0"


def oid(*arcs):
    body = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        enc = [a & 0x7F]
        a >>= 7
        while a:
            enc.insert(0, 0x80 | (a & 0x7F))
            a >>= 7
        body += bytes(enc)
    return tlv(0x06, body)


def name(*rdns):
    return tlv(0x30, b"".join(tlv(0x31, tlv(0x30, oid(2, 5, 4, a) + tlv(t, v.encode())))
                              for a, t, v in rdns))


ALG = tlv(0x30, oid(1, 2, 840, 113549, 1, 1, 11) + b"\x05\x00")


def cert(serial, issuer, subject):
    tbs = tlv(0x30, tlv(0xA0, tlv(0x02, b"\x02")) + tlv(0x02, serial) + ALG + issuer +
              tlv(0x30, tlv(0x17, b"250101000000Z") + tlv(0x17, b"300101000000Z")) + subject +
              tlv(0x30, tlv(0x30, oid(1, 2, 840, 113549, 1, 1, 1) + b"\x05\x00") +
                  tlv(0x03, b"\x00" + bytes(16))))
    return tlv(0x30, tbs + ALG + tlv(0x03, b"\x00" + bytes(32)))


def cms(cn, team):
    root = name((6, 0x13, "US"), (10, 0x0C, "Apple Inc."), (3, 0x0C, "Test Root CA"))
    ca = name((6, 0x13, "US"), (10, 0x0C, "Apple Inc."), (3, 0x0C, "Developer ID Test CA"))
    leaf = name((6, 0x13, "US"), (10, 0x0C, "Foo"), (11, 0x0C, team or "NOTEAM"), (3, 0x0C, cn))
    serial = b"\x51\x7a\x03"
    certs = cert(b"\x11", root, ca) + cert(serial, ca, leaf)
    signer = tlv(0x30, tlv(0x02, b"\x01") + tlv(0x30, ca + tlv(0x02, serial)) +
                 tlv(0x30, oid(2, 16, 840, 1, 101, 3, 4, 2, 1)) + ALG + tlv(0x04, bytes(32)))
    sd = indef(0x30, tlv(0x02, b"\x01") +
               tlv(0x31, tlv(0x30, oid(2, 16, 840, 1, 101, 3, 4, 2, 1))) +
               indef(0x30, oid(1, 2, 840, 113549, 1, 7, 1)) +
               indef(0xA0, certs) + tlv(0x31, signer))
    return indef(0x30, oid(1, 2, 840, 113549, 1, 7, 2) + indef(0xA0, sd))


def main(src, dst, plist, team=None, cms_cn=None, cms_bad=False):
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
    ents = b""
    if plist != "-":
        ents = open(plist, "rb").read()
        ents = struct.pack(">II", 0xFADE7171, 8 + len(ents)) + ents
    teamb = team.encode() + b"\0" if team else b""
    nspecial, npages = 5 if ents else 2, (sigoff + 4095) // 4096
    hash_at = 88 + len(ident) + len(teamb) + 32 * nspecial
    cd = bytearray(hash_at + 32 * npages)
    struct.pack_into(">IIIIIIIIIBBBBIIIIQQQQ", cd, 0, 0xFADE0C02, len(cd), 0x20400, 0x2,
                     hash_at, 88, nspecial, npages, sigoff, 32, 2, 0, 12, 0, 0,
                     88 + len(ident) if team else 0, 0, 0,
                     text[0], text[1], 1 if ftype == 2 else 0)
    cd[88:88 + len(ident)] = ident
    cd[88 + len(ident):88 + len(ident) + len(teamb)] = teamb
    special = {2: reqs, 5: ents}
    cmsb = b""
    if cms_cn or cms_bad:
        der = cms(cms_cn or "x", team)
        if cms_bad:
            der = der[:len(der) // 2]
        cmsb = struct.pack(">II", 0xFADE0B01, 8 + len(der)) + der
    for slot in range(1, nspecial + 1):
        if slot in special:
            cd[hash_at - 32 * slot:hash_at - 32 * (slot - 1)] = hashlib.sha256(special[slot]).digest()
    # the load commands are hashed too: resize them first
    blobs = [(0, None), (2, reqs)] + ([(5, ents)] if ents else []) + \
        ([(0x10000, cmsb)] if cmsb else [])
    hdr = 12 + 8 * len(blobs)
    total = hdr + len(cd) + sum(len(b) for _, b in blobs[1:])
    total += -total % 16
    struct.pack_into("<I", d, sig_lc + 12, total)
    le_off = struct.unpack_from("<Q", d, le_lc + 40)[0]
    struct.pack_into("<Q", d, le_lc + 48, sigoff + total - le_off)
    vms = struct.unpack_from("<Q", d, le_lc + 32)[0]
    struct.pack_into("<Q", d, le_lc + 32, max(vms, (sigoff + total - le_off + 0x3FFF) & ~0x3FFF))
    for i in range(npages):
        cd[hash_at + 32 * i:hash_at + 32 * (i + 1)] = \
            hashlib.sha256(d[4096 * i:min(4096 * (i + 1), sigoff)]).digest()
    blobs[0] = (0, bytes(cd))
    sb = bytearray(struct.pack(">III", 0xFADE0CC0, hdr + sum(len(b) for _, b in blobs), len(blobs)))
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
    args, opts = sys.argv[1:4], sys.argv[4:]
    kw = {}
    while opts:
        o = opts.pop(0)
        if o == "--team" and opts:
            kw["team"] = opts.pop(0)
        elif o == "--cms" and opts:
            kw["cms_cn"] = opts.pop(0)
        elif o == "--cms-bad":
            kw["cms_bad"] = True
        else:
            args = []
            break
    if len(args) != 3:
        print(__doc__)
        sys.exit(2)
    main(*args, **kw)
