/* Who signed a Mach-O input with a real (non-ad hoc) signature, for the
 * warning that re-signing ad hoc drops it.
 *
 * A real signature's SuperBlob holds a CMS blob (slot 0x10000, magic
 * 0xfade0b01): a PKCS#7 / CMS ContentInfo whose SignedData carries the
 * certificate chain and a SignerInfo naming the signer's certificate by
 * issuer and serial number. Its subject common name (OID 2.5.4.3) is what
 * Keychain calls the identity ("Developer ID Application: Foo (TEAMID)").
 * The CodeDirectory (version >= 0x20200) names the team at teamOffset.
 *
 * Only as much ASN.1 is read as that takes: tag, length, contents. The
 * input is hostile until proven otherwise: every length is checked against
 * what is left, nesting is bounded, and Apple's encoder writes the outer
 * levels with BER indefinite lengths (0x80 ... 00 00), which are followed
 * child by child. Whatever cannot be read leaves the name unknown; the
 * caller still warns, with what it could read.
 */
#include "../format.h"
#include "macho_priv.h"

#include <stdio.h>
#include <string.h>

#define HP_CS_CMS_SLOT 0x10000u
#define HP_CS_CMS_MAGIC 0xfade0b01u
#define HP_DER_MAX_DEPTH 24
#define HP_DER_SEQ 0x30
#define HP_DER_SET 0x31
#define HP_DER_INT 0x02
#define HP_DER_OID 0x06
#define HP_DER_CTX0 0xa0

typedef struct hp_der {
    const uint8_t *p;
    size_t n;
} hp_der;

static bool hp_der_tlv(hp_der *d, uint8_t *tag, hp_der *val, int depth);

/* The contents of an indefinite-length value starting at p: children up to
 * the end-of-contents octets 00 00, which *used counts too. */
static bool hp_der_indef(const uint8_t *p, size_t n, hp_der *val, size_t *used, int depth)
{
    hp_der rest = {p, n};
    for (;;) {
        if (rest.n >= 2 && rest.p[0] == 0 && rest.p[1] == 0) {
            val->p = p;
            val->n = (size_t)(rest.p - p);
            *used = val->n + 2;
            return true;
        }
        uint8_t t;
        hp_der child;
        if (!hp_der_tlv(&rest, &t, &child, depth + 1))
            return false;
    }
}

/* One TLV from the front of d: its tag and contents; d advances past it. */
static bool hp_der_tlv(hp_der *d, uint8_t *tag, hp_der *val, int depth)
{
    if (depth > HP_DER_MAX_DEPTH || d->n < 2 || (d->p[0] & 0x1f) == 0x1f)
        return false; /* too deep, truncated, or a multi-byte tag (none here) */
    uint8_t t = d->p[0], l = d->p[1];
    size_t hdr = 2, len = l;
    if (l == 0x80) {
        size_t used;
        if (!(t & 0x20) || !hp_der_indef(d->p + 2, d->n - 2, val, &used, depth))
            return false; /* only constructed values may be indefinite */
        *tag = t;
        d->p += 2 + used;
        d->n -= 2 + used;
        return true;
    }
    if (l > 0x80) {
        unsigned k = l & 0x7f;
        if (k > 4 || d->n - 2 < k)
            return false;
        len = 0;
        for (unsigned i = 0; i < k; i++)
            len = len << 8 | d->p[2 + i];
        hdr += k;
    }
    if (len > d->n - hdr)
        return false;
    *tag = t;
    val->p = d->p + hdr;
    val->n = len;
    d->p += hdr + len;
    d->n -= hdr + len;
    return true;
}

/* The next TLV of d, which must have tag `want`. */
static bool hp_der_want(hp_der *d, uint8_t want, hp_der *val)
{
    uint8_t t;
    return hp_der_tlv(d, &t, val, 0) && t == want;
}

/* A Name's common name (the last one, as the most specific), into out. */
static bool hp_der_cn(hp_der name, char *out, size_t out_len)
{
    static const uint8_t cn_oid[] = {0x55, 0x04, 0x03};
    bool found = false;
    hp_der rdn, atv;
    while (name.n && hp_der_want(&name, HP_DER_SET, &rdn)) {
        while (rdn.n && hp_der_want(&rdn, HP_DER_SEQ, &atv)) {
            hp_der oid, str;
            uint8_t t;
            if (!hp_der_want(&atv, HP_DER_OID, &oid) || !hp_der_tlv(&atv, &t, &str, 0))
                return false;
            if (oid.n != sizeof cn_oid || memcmp(oid.p, cn_oid, sizeof cn_oid))
                continue;
            size_t n = str.n < out_len - 1 ? str.n : out_len - 1;
            for (size_t i = 0; i < n; i++) /* the text lands in a message */
                out[i] = str.p[i] < 0x20 || str.p[i] == 0x7f ? '?' : (char)str.p[i];
            out[n] = 0;
            found = n > 0;
        }
    }
    return found;
}

/* A certificate's serial number and subject. */
static bool hp_der_cert(hp_der cert, hp_der *serial, hp_der *subject)
{
    hp_der c, tbs, skip;
    uint8_t t;
    if (!hp_der_want(&cert, HP_DER_SEQ, &c) || !hp_der_want(&c, HP_DER_SEQ, &tbs))
        return false;
    if (tbs.n && tbs.p[0] == HP_DER_CTX0 && !hp_der_tlv(&tbs, &t, &skip, 0))
        return false; /* [0] version */
    return hp_der_want(&tbs, HP_DER_INT, serial) && hp_der_want(&tbs, HP_DER_SEQ, &skip) &&
           hp_der_want(&tbs, HP_DER_SEQ, &skip) && hp_der_want(&tbs, HP_DER_SEQ, &skip) &&
           hp_der_want(&tbs, HP_DER_SEQ, subject); /* sigalg, issuer, validity, subject */
}

/* The serial number in the first SignerInfo's issuerAndSerialNumber (its
 * version 1 form; version 3 names a key identifier: n = 0). */
static hp_der hp_der_signer_serial(hp_der infos)
{
    hp_der none = {NULL, 0}, si, ver, sid, issuer, serial;
    if (!hp_der_want(&infos, HP_DER_SEQ, &si) || !hp_der_want(&si, HP_DER_INT, &ver) ||
        !hp_der_want(&si, HP_DER_SEQ, &sid) || !hp_der_want(&sid, HP_DER_SEQ, &issuer) ||
        !hp_der_want(&sid, HP_DER_INT, &serial))
        return none;
    return serial;
}

/* The SignedData's certificates ([0]) and signerInfos (the last SET). */
static bool hp_cms_parts(const uint8_t *p, size_t n, hp_der *certs, hp_der *infos)
{
    static const uint8_t signed_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
    hp_der d = {p, n}, ci, oid, ex, sd, f;
    uint8_t t;
    if (!hp_der_want(&d, HP_DER_SEQ, &ci) || !hp_der_want(&ci, HP_DER_OID, &oid) ||
        oid.n != sizeof signed_data || memcmp(oid.p, signed_data, oid.n) ||
        !hp_der_want(&ci, HP_DER_CTX0, &ex) || !hp_der_want(&ex, HP_DER_SEQ, &sd))
        return false;
    certs->n = infos->n = 0;
    while (sd.n && hp_der_tlv(&sd, &t, &f, 0)) {
        if (t == HP_DER_CTX0)
            *certs = f;
        else if (t == HP_DER_SET)
            *infos = f; /* digestAlgorithms first, signerInfos last */
    }
    return certs->n > 0;
}

bool hp_macho_cms_signer(const uint8_t *p, size_t n, char *out, size_t out_len)
{
    hp_der certs, infos = {NULL, 0}, cert, serial, subject;
    if (out_len < 2 || !hp_cms_parts(p, n, &certs, &infos))
        return false;
    hp_der want = infos.n ? hp_der_signer_serial(infos) : infos, first = {NULL, 0};
    uint8_t t;
    while (certs.n) {
        const uint8_t *at = certs.p;
        if (!hp_der_tlv(&certs, &t, &cert, 0) || t != HP_DER_SEQ)
            break;
        hp_der whole = {at, (size_t)(certs.p - at)};
        if (!hp_der_cert(whole, &serial, &subject))
            continue;
        if (!first.n)
            first = subject;
        if (want.n && serial.n == want.n && !memcmp(serial.p, want.p, want.n))
            return hp_der_cn(subject, out, out_len);
    }
    /* no SignerInfo to match: codesign puts the leaf first */
    return !want.n && first.n && hp_der_cn(first, out, out_len);
}

/* The team identifier of a CodeDirectory (version >= 0x20200), or "". */
static void hp_cs_team(const uint8_t *cd, size_t len, char *out, size_t out_len)
{
    out[0] = 0;
    if (len < 52 || hp_rd32be(cd + 8) < 0x20200)
        return;
    uint32_t off = hp_rd32be(cd + 48);
    if (!off || off >= len)
        return;
    const uint8_t *s = cd + off, *end = memchr(s, 0, len - off);
    size_t n = end ? (size_t)(end - s) : 0;
    if (!n || n >= out_len)
        return;
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] < 0x20 || s[i] >= 0x7f ? '?' : (char)s[i];
    out[n] = 0;
}

/* The CMS blob and the CodeDirectory of a SuperBlob (either may be absent). */
static void hp_cs_find(const uint8_t *blob, size_t size, hp_der *cms, hp_der *cd)
{
    cms->n = cd->n = 0;
    uint32_t count = hp_rd32be(blob + 8);
    for (uint64_t i = 0; i < count && 12 + (i + 1) * 8 <= size; i++) {
        uint32_t type = hp_rd32be(blob + 12 + i * 8), off = hp_rd32be(blob + 16 + i * 8);
        if (!hp_in_bounds(off, 8, size))
            continue;
        uint32_t magic = hp_rd32be(blob + off), len = hp_rd32be(blob + off + 4);
        if (len < 8 || len > size - off)
            continue;
        if (type == HP_CS_CMS_SLOT && magic == HP_CS_CMS_MAGIC) {
            cms->p = blob + off;
            cms->n = len;
        } else if (type == 0 && magic == HP_CSMAGIC_CODEDIRECTORY) {
            cd->p = blob + off;
            cd->n = len;
        }
    }
}

void hp_macho_warn_signer(const hp_image *img, const uint8_t *blob, size_t size)
{
    if (size < 12 || hp_rd32be(blob) != HP_CSMAGIC_EMBEDDED_SIGNATURE)
        return;
    hp_der cms = {NULL, 0}, cd = {NULL, 0};
    hp_cs_find(blob, size, &cms, &cd);
    if (!cms.n || cms.n <= 8)
        return; /* ad hoc: nothing is lost */
    char cn[160] = "", team[64] = "", who[256];
    bool have_cn = hp_macho_cms_signer(cms.p + 8, cms.n - 8, cn, sizeof cn);
    if (cd.n)
        hp_cs_team(cd.p, cd.n, team, sizeof team);
    if (have_cn && team[0])
        snprintf(who, sizeof who, "was signed by '%s' (team %s)", cn, team);
    else if (have_cn)
        snprintf(who, sizeof who, "was signed by '%s' (no team identifier)", cn);
    else if (team[0])
        snprintf(who, sizeof who, "was signed by team %s (the signer's certificate could not "
                                  "be read)", team);
    else
        snprintf(who, sizeof who, "had a real signature (its signer's certificate could not be "
                                  "read, no team identifier)");
    hp_image_warn(img, "the input %s; the output is signed ad hoc: that signature is dropped, "
                       "re-sign the output with codesign to keep it", who);
}
