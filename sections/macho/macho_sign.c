/* Ad hoc code signature for a patched Mach-O slice, and the SHA-256 it needs.
 *
 * Patching invalidates the page hashes of the old LC_CODE_SIGNATURE. arm64
 * macOS refuses to run unsigned or badly signed code; x86-64 macOS runs
 * unsigned code but kills a process whose signature is present and wrong, so
 * a signed input is re-signed the way `codesign -s -` does: a SuperBlob
 * holding
 *   - a CodeDirectory, version 0x20400, SHA-256, 4 KiB pages, CS_ADHOC,
 *     code limit = the signature's file offset, the identifier of the old
 *     signature (or the file name), exec segment = __TEXT;
 *   - an empty Requirements blob, whose hash is special slot -2 (slot -1,
 *     Info.plist, is zero: a bare binary has none).
 * Entitlements blobs of the input (XML, slot 5; DER, slot 7: test binaries
 * carry get-task-allow) are kept byte for byte after the Requirements, and
 * the special slots grow to cover them, their hashes recomputed.
 * An input the linker signed (lld, ld64 and Go's linker sign every arm64
 * output) has a SuperBlob with the CodeDirectory alone, flagged
 * CS_ADHOC | CS_LINKER_SIGNED; the output keeps that form: the flag says
 * "no one signed this on purpose", so tools may re-sign it freely. Any other
 * signature becomes the codesign form above, without CS_LINKER_SIGNED.
 * Code signatures are big-endian, unlike the rest of the file. SHA-256 is
 * implemented here (FIPS 180-4) so hookpatch needs no crypto library.
 */
#include "macho_priv.h"

#include <string.h>

#define HP_CS_PAGE_SHIFT 12u
#define HP_CS_HASH 32u
#define HP_CS_NSPECIAL 2u
#define HP_CS_SUPER_HDR (12u + 2u * 8u) /* SuperBlob + 2 index entries */
#define HP_CS_REQS 12u                  /* empty Requirements blob */

/* ---- SHA-256 ---- */

static const uint32_t hp_sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t hp_ror(uint32_t x, unsigned n) { return x >> n | x << (32 - n); }

static void hp_sha256_block(uint32_t h[8], const uint8_t *blk)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = hp_rd32be(blk + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = hp_ror(w[i - 15], 7) ^ hp_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = hp_ror(w[i - 2], 17) ^ hp_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (hp_ror(e, 6) ^ hp_ror(e, 11) ^ hp_ror(e, 25)) + ((e & f) ^ (~e & g)) +
                      hp_sha_k[i] + w[i];
        uint32_t t2 = (hp_ror(a, 2) ^ hp_ror(a, 13) ^ hp_ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void hp_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t full = n / 64 * 64;
    for (size_t i = 0; i < full; i += 64)
        hp_sha256_block(h, p + i);
    uint8_t tail[128] = {0};
    size_t rest = n - full;
    memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    size_t tlen = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t i = 0; i < tlen; i += 64)
        hp_sha256_block(h, tail + i);
    for (int i = 0; i < 8; i++)
        hp_wr32be(out + 4 * i, h[i]);
}

/* ---- the signature ---- */

static uint64_t hp_cs_npages(uint64_t code_limit)
{
    return (code_limit + (1u << HP_CS_PAGE_SHIFT) - 1) >> HP_CS_PAGE_SHIFT;
}

/* Special slots: up to the highest kept blob's type, at least
 * Requirements (2; Info.plist, 1, stays zero); none when linker-signed. */
static uint32_t hp_cs_nspecial(const hp_macho_sig *sg)
{
    uint32_t n = HP_CS_NSPECIAL;
    for (size_t i = 0; i < sg->nkeep; i++)
        if (sg->keep[i].type > n)
            n = sg->keep[i].type;
    return sg->linker_signed ? 0 : n;
}

static size_t hp_cs_kept_bytes(const hp_macho_sig *sg)
{
    size_t n = 0;
    for (size_t i = 0; i < sg->nkeep; i++)
        n += sg->keep[i].len;
    return n;
}

static size_t hp_cs_cd_size(uint64_t code_limit, const hp_macho_sig *sg)
{
    return HP_CD_HEADER + strlen(sg->ident) + 1 +
           (hp_cs_nspecial(sg) + hp_cs_npages(code_limit)) * HP_CS_HASH;
}

/* SuperBlob header: 12 bytes and one index entry per blob. */
static uint32_t hp_cs_super_hdr(const hp_macho_sig *sg)
{
    return sg->linker_signed ? 12u + 8u : HP_CS_SUPER_HDR + 8u * (uint32_t)sg->nkeep;
}

size_t hp_macho_sig_size(uint64_t code_limit, const hp_macho_sig *sg)
{
    return hp_align_up(hp_cs_super_hdr(sg) + hp_cs_cd_size(code_limit, sg) +
                           (sg->linker_signed ? 0 : HP_CS_REQS + hp_cs_kept_bytes(sg)), 16);
}

static void hp_cs_code_directory(const uint8_t *slice, uint64_t code_limit,
                                 const hp_macho_sig *sg, const uint8_t *reqs, uint8_t *cd)
{
    const char *ident = sg->ident;
    size_t ident_len = strlen(ident) + 1;
    uint32_t nspecial = hp_cs_nspecial(sg);
    uint32_t ident_off = HP_CD_HEADER;
    uint32_t hash_off = ident_off + (uint32_t)ident_len + nspecial * HP_CS_HASH;
    uint64_t npages = hp_cs_npages(code_limit);
    hp_wr32be(cd + 0, HP_CSMAGIC_CODEDIRECTORY);
    hp_wr32be(cd + 4, (uint32_t)hp_cs_cd_size(code_limit, sg));
    hp_wr32be(cd + 8, HP_CD_VERSION);
    hp_wr32be(cd + 12, HP_CS_ADHOC | (sg->linker_signed ? HP_CS_LINKER_SIGNED : 0));
    hp_wr32be(cd + 16, hash_off);
    hp_wr32be(cd + 20, ident_off);
    hp_wr32be(cd + 24, nspecial);
    hp_wr32be(cd + 28, (uint32_t)npages);
    hp_wr32be(cd + 32, (uint32_t)code_limit);
    cd[36] = HP_CS_HASH;      /* hashSize */
    cd[37] = 2;               /* hashType: SHA-256 */
    cd[38] = 0;               /* platform */
    cd[39] = HP_CS_PAGE_SHIFT; /* log2(pageSize) */
    /* 40: spare2, 44: scatterOffset, 48: teamOffset, 52: spare3,
     * 56: codeLimit64 (0: the 32-bit field holds it) */
    memset(cd + 40, 0, 24);
    hp_wr64be(cd + 64, sg->exec_off);
    hp_wr64be(cd + 72, sg->exec_size);
    hp_wr64be(cd + 80, sg->main_binary ? HP_CS_EXECSEG_MAIN_BINARY : 0);
    memcpy(cd + ident_off, ident, ident_len);
    uint8_t *slot0 = cd + hash_off;
    memset(slot0 - nspecial * HP_CS_HASH, 0, nspecial * HP_CS_HASH);
    if (reqs)
        hp_sha256(reqs, HP_CS_REQS, slot0 - HP_CSSLOT_REQUIREMENTS * HP_CS_HASH);
    for (size_t i = 0; i < sg->nkeep && reqs; i++)
        hp_sha256(sg->keep[i].data, sg->keep[i].len, slot0 - sg->keep[i].type * HP_CS_HASH);
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t off = i << HP_CS_PAGE_SHIFT, n = code_limit - off;
        if (n > (1u << HP_CS_PAGE_SHIFT))
            n = 1u << HP_CS_PAGE_SHIFT;
        hp_sha256(slice + off, (size_t)n, slot0 + i * HP_CS_HASH);
    }
}

void hp_macho_sig_build(const uint8_t *slice, uint64_t code_limit, const hp_macho_sig *sg,
                        uint8_t *out)
{
    size_t total = hp_macho_sig_size(code_limit, sg);
    size_t cd_len = hp_cs_cd_size(code_limit, sg);
    uint32_t cd_off = hp_cs_super_hdr(sg), reqs_off = cd_off + (uint32_t)cd_len;
    memset(out, 0, total);
    hp_wr32be(out + 0, HP_CSMAGIC_EMBEDDED_SIGNATURE);
    hp_wr32be(out + 12, HP_CSSLOT_CODEDIRECTORY);
    hp_wr32be(out + 16, cd_off);
    if (sg->linker_signed) {
        hp_wr32be(out + 4, reqs_off);
        hp_wr32be(out + 8, 1);
        hp_cs_code_directory(slice, code_limit, sg, NULL, out + cd_off);
        return;
    }
    hp_wr32be(out + 8, 2 + (uint32_t)sg->nkeep);
    hp_wr32be(out + 20, HP_CSSLOT_REQUIREMENTS);
    hp_wr32be(out + 24, reqs_off);
    uint32_t at = reqs_off + HP_CS_REQS;
    for (size_t i = 0; i < sg->nkeep; i++) {
        hp_wr32be(out + 28 + 8 * i, sg->keep[i].type);
        hp_wr32be(out + 32 + 8 * i, at);
        memcpy(out + at, sg->keep[i].data, sg->keep[i].len);
        at += sg->keep[i].len;
    }
    hp_wr32be(out + 4, at);
    uint8_t *reqs = out + reqs_off;
    hp_wr32be(reqs + 0, HP_CSMAGIC_REQUIREMENTS);
    hp_wr32be(reqs + 4, HP_CS_REQS);
    hp_wr32be(reqs + 8, 0);
    hp_cs_code_directory(slice, code_limit, sg, reqs, out + cd_off);
}

/* The entitlements blobs (slots 5 and 7) of the SuperBlob, in slot order. */
static void hp_cs_read_kept(const uint8_t *blob, size_t size, hp_macho_sig *sg)
{
    static const uint32_t types[] = {HP_CSSLOT_ENTITLEMENTS, HP_CSSLOT_DER_ENTITLEMENTS};
    uint32_t count = hp_rd32be(blob + 8);
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (uint64_t i = 0; i < count && 12 + (i + 1) * 8 <= size; i++) {
            uint32_t type = hp_rd32be(blob + 12 + i * 8), off = hp_rd32be(blob + 16 + i * 8);
            if (type != types[t] || !hp_in_bounds(off, 8, size))
                continue;
            uint32_t len = hp_rd32be(blob + off + 4);
            if (len < 8 || !hp_in_bounds(off, len, size))
                continue; /* malformed: dropped, as a signer would not write it */
            sg->keep[sg->nkeep++] = (hp_macho_sig_blob){type, blob + off, len};
            break;
        }
}

bool hp_macho_sig_read(const uint8_t *blob, size_t size, char *buf, size_t buf_len,
                       hp_macho_sig *sg)
{
    sg->linker_signed = false;
    sg->nkeep = 0;
    if (size < 12 || hp_rd32be(blob) != HP_CSMAGIC_EMBEDDED_SIGNATURE)
        return false;
    uint32_t count = hp_rd32be(blob + 8);
    hp_cs_read_kept(blob, size, sg);
    for (uint64_t i = 0; i < count && 12 + (i + 1) * 8 <= size; i++) {
        uint32_t type = hp_rd32be(blob + 12 + i * 8), off = hp_rd32be(blob + 16 + i * 8);
        if (type != HP_CSSLOT_CODEDIRECTORY || !hp_in_bounds(off, 24, size))
            continue;
        const uint8_t *cd = blob + off;
        uint32_t len = hp_rd32be(cd + 4), ident = hp_rd32be(cd + 20);
        if (hp_rd32be(cd) != HP_CSMAGIC_CODEDIRECTORY || len > size - off || ident >= len)
            return false;
        const char *s = (const char *)cd + ident;
        const char *end = memchr(s, 0, len - ident);
        size_t n = end ? (size_t)(end - s) : 0;
        if (!end || n == 0 || n >= buf_len)
            return false;
        memcpy(buf, s, n + 1);
        sg->linker_signed = count == 1 && (hp_rd32be(cd + 12) & HP_CS_LINKER_SIGNED);
        return true;
    }
    return false;
}
