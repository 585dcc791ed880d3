/* Entry analysis. A function can take the jump when:
 * - it lies in an executable segment;
 * - its bytes decode (so branch targets inside it are known);
 * - no branch inside it lands strictly inside the overwritten bytes;
 * - it has 5 bytes from the patch point, counting dead padding after its
 *   end only when that padding is int3/nop and owned by no symbol.
 * endbr64 is kept when the jump fits after it; otherwise it is overwritten
 * and the caller must clear the IBT marking. */
#include "site.h"

#include "../relocs/x86.h"

#include <stdio.h>
#include <string.h>

_Static_assert(4 + HP_SITE_MAX_STEAL <= HP_XREF_WINDOW,
               "the branch-target table must watch every byte a steal can cover");

#define HP_JMP_LEN 5

/* Refuse the entry of the function at fn_va, with the reason in why. */
static hp_status hp_site_refuse(hp_diags *why, uint64_t fn_va, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static hp_status hp_site_refuse(hp_diags *why, uint64_t fn_va, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_status s = hp_diag_vreason(why, NULL, NULL, fn_va, fmt, ap);
    va_end(ap);
    return s == HP_OK ? HP_ERR_UNHOOKABLE : s;
}

/* Padding after the function may be overwritten only if nothing owns it and
 * nothing runs it: int3 or nop bytes up to the next symbol. */
static bool hp_site_padding_ok(const hp_image *img, uint64_t from, uint64_t to)
{
    if (to <= from)
        return true;
    uint64_t limit = hp_image_next_sym_va(img, from - 1);
    if (limit < to)
        return false;
    const uint8_t *p = hp_image_bytes(img, from, limit - from);
    if (!p)
        return false;
    /* Decode up to the next symbol: a multi-byte nop may run past `to`. */
    for (uint64_t va = from; va < to;) {
        hp_insn in;
        if (hp_x86_decode(p + (va - from), (size_t)(limit - va), va, &in) != HP_OK)
            return false;
        if (in.kind != HP_INSN_INT3 && in.kind != HP_INSN_NOP)
            return false;
        va += in.len;
    }
    return true;
}

/* Index of the first instruction at or after va. */
static size_t hp_site_insn_at(const hp_func_scan *sc, uint64_t va)
{
    size_t i = 0;
    while (i < sc->ninsns && sc->insns[i].va < va)
        i++;
    return i;
}

/* Choose the stolen instructions from patch_va. Returns false when the
 * function (plus usable padding) is too short. */
static bool hp_site_steal(const hp_image *img, const hp_func_scan *sc, hp_site *s)
{
    uint64_t end = s->fn_va + s->fn_size, va = s->patch_va;
    for (size_t i = hp_site_insn_at(sc, va); i < sc->ninsns && va - s->patch_va < HP_JMP_LEN;
         i++)
        va = sc->insns[i].va + sc->insns[i].len;
    s->copy_len = (uint32_t)(va - s->patch_va);
    if (s->copy_len >= HP_JMP_LEN) {
        s->steal_len = s->copy_len;
        return true;
    }
    s->steal_len = HP_JMP_LEN;
    return va == end && hp_site_padding_ok(img, end, s->patch_va + HP_JMP_LEN);
}

static hp_status hp_site_check_targets(const hp_func_scan *sc, hp_site *s, hp_diags *why)
{
    for (size_t i = 0; i < sc->ntargets; i++) {
        uint64_t t = sc->targets[i];
        if (t > s->patch_va && t < s->patch_va + s->steal_len)
            return hp_site_refuse(why, s->fn_va,
                                  "a branch inside the function lands at 0x%llx, within the "
                                  "%u bytes the jump would overwrite",
                                  (unsigned long long)t, s->steal_len);
    }
    for (size_t i = 0; i < sc->ninsns; i++) {
        const hp_insn *in = &sc->insns[i];
        bool rel = in->kind == HP_INSN_JMP || in->kind == HP_INSN_JCC ||
                   in->kind == HP_INSN_LOOP;
        if (!rel || in->target_va != s->patch_va || in->va < s->patch_va + s->steal_len)
            continue;
        if (s->nredirects == HP_SITE_MAX_REDIRECTS)
            return hp_site_refuse(why, s->fn_va, "more than %d branches back to the entry",
                                  HP_SITE_MAX_REDIRECTS);
        if (in->va - s->fn_va > UINT32_MAX)
            return hp_site_refuse(why, s->fn_va, "function too large");
        s->redirect_off[s->nredirects] = (uint32_t)(in->va - s->fn_va);
        s->redirect_len[s->nredirects++] = in->len;
    }
    return HP_OK;
}

/* How many of the copied bytes need no relocation, from the decode the
 * analysis already made (measure and emit then skip decoding them). */
static void hp_site_plain_prefix(const hp_func_scan *sc, hp_site *s)
{
    uint64_t va = s->patch_va;
    for (size_t i = hp_site_insn_at(sc, va); i < sc->ninsns; i++) {
        const hp_insn *in = &sc->insns[i];
        if (in->va != va || !in->plain || va + in->len > s->patch_va + s->copy_len)
            break;
        va += in->len;
    }
    s->plain_len = (uint8_t)(va - s->patch_va);
}

hp_status hp_site_check_copy(hp_site *s, hp_diags *why)
{
    uint64_t va = s->patch_va + s->plain_len;
    while (va < s->patch_va + s->copy_len) {
        const uint8_t *p = s->bytes + (va - s->patch_va);
        size_t n = s->copy_len - (size_t)(va - s->patch_va);
        hp_insn in;
        HP_CHECK(hp_x86_decode(p, n, va, &in));
        bool last = va + in.len == s->patch_va + s->copy_len;
        size_t len;
        /* Measure only; the final address is not known yet. */
        hp_status st = hp_x86_relocate(p, n, va, va, last ? va + in.len : 0, NULL, &len, why);
        if (st == HP_ERR_NOMEM)
            return st;
        if (st != HP_OK)
            return HP_ERR_UNHOOKABLE;
        va += in.len;
    }
    return HP_OK;
}

/* Go's stack check: cmp rsp,[r14+0x10] or a lea/mov of r12 from rsp. */
static bool hp_site_is_go_check(const uint8_t *p, size_t n)
{
    static const uint8_t cmp[] = {0x49, 0x3b, 0x66, 0x10};
    static const uint8_t lea[] = {0x4c, 0x8d};
    return (n >= 4 && !memcmp(p, cmp, 4)) || (n >= 2 && !memcmp(p, lea, 2));
}

/* Decode just the entry: enough instructions for the jump, or the whole
 * function when it is short (the padding check needs to know it ended). */
static hp_status hp_site_scan_entry(const uint8_t *p, uint64_t size, uint64_t va,
                                    hp_func_scan *sc)
{
    uint64_t off = 0;
    while (off < size && off < 4 + 5) { /* endbr64 + the jump */
        HP_CHECK(HP_GROW(sc->insns, sc->insns_cap, sc->ninsns + 1));
        hp_insn *in = &sc->insns[sc->ninsns];
        if (hp_x86_decode(p + off, (size_t)(size - off), va + off, in) != HP_OK)
            break;
        sc->ninsns++;
        off += in->len;
    }
    sc->ok_size = off == size ? size : off;
    return HP_OK;
}

static hp_status hp_site_scan(const hp_image *img, const hp_symbol *fn, unsigned flags,
                              const hp_xrefs *xrefs, hp_func_scan *sc, hp_diags *why)
{
    const uint8_t *p = hp_image_bytes(img, fn->va, fn->size);
    if (!p)
        return hp_site_refuse(why, fn->va, "function bytes are not in the file");
    /* The image-wide table already knows every direct branch into the
     * entry, from this function or any other: decode only the entry. */
    if ((xrefs || (flags & HP_SITE_XREFS_LATER)) && !(flags & HP_SITE_REDIRECTS))
        return hp_site_scan_entry(p, fn->size, fn->va, sc);
    uint64_t bad = 0;
    hp_status st = hp_x86_scan(p, fn->size, fn->va, sc);
    if (st == HP_OK && sc->ok_size < fn->size)
        bad = fn->va + sc->ok_size;
    if (st == HP_ERR_NOMEM)
        return st;
    if (bad || st != HP_OK)
        return hp_site_refuse(why, fn->va,
                              "cannot decode the instruction at 0x%llx (data in code?), so "
                              "branches into the entry cannot be ruled out",
                              (unsigned long long)bad);
    return HP_OK;
}

static bool hp_site_choose(const hp_image *img, const hp_func_scan *sc, hp_site *out)
{
    out->patch_va = out->fn_va;
    if (sc->ninsns && sc->insns[0].kind == HP_INSN_ENDBR64) {
        out->patch_va = out->fn_va + 4;
        if (hp_site_steal(img, sc, out))
            return true;
        out->patch_va = out->fn_va;
        out->over_endbr = true;
    }
    return hp_site_steal(img, sc, out);
}

/* Go starts every goroutine with goexit+1 as its first return address
 * (runtime.newproc1 sets sched.pc = goexit + PCQuantum): an entry point no
 * branch shows. */
static bool hp_site_is_go_goexit(const hp_image *img, const hp_symbol *s)
{
    return img->pclntab &&
           (!strcmp(s->name, "runtime.goexit") || !strcmp(s->name, "runtime.goexit.abi0"));
}

hp_status hp_site_check_xrefs(const hp_site *s, const hp_xrefs *xrefs, hp_diags *why)
{
    if (!hp_xrefs_any_in(xrefs, s->patch_va, s->patch_va + s->steal_len))
        return HP_OK;
    return hp_site_refuse(why, s->fn_va,
                          "a branch lands inside the %u bytes the jump would overwrite "
                          "(a loop to the top, or a second entry point)", s->steal_len);
}

/* The checks that need no decoding. */
static hp_status hp_site_check_fn(const hp_image *img, const hp_symbol *fn, hp_diags *why)
{
    if (!fn->size)
        return hp_site_refuse(why, fn->va, "function size unknown");
    /* A FUNC symbol says nothing about what the loader maps executable: a
     * jump written there would land in data (or nowhere). */
    char what[160];
    if (!hp_image_executable(img, fn->va, what, sizeof what))
        return hp_site_refuse(why, fn->va, "%s", what);
    if (hp_site_is_go_goexit(img, fn))
        return hp_site_refuse(why, fn->va, "every goroutine returns into runtime.goexit+1, "
                                           "inside the bytes the jump would overwrite");
    return HP_OK;
}

/* Decode the entry and choose the stolen bytes. */
static hp_status hp_site_decode(const hp_image *img, const hp_symbol *fn, unsigned flags,
                                const hp_xrefs *xrefs, hp_site *out, hp_diags *why)
{
    hp_func_scan sc = {0};
    hp_status st = hp_site_scan(img, fn, flags, xrefs, &sc, why);
    if (st == HP_OK && !hp_site_choose(img, &sc, out))
        st = hp_site_refuse(why, fn->va,
                            "too short: %llu bytes and no free padding after it; the jump "
                            "needs 5", (unsigned long long)fn->size);
    if (st == HP_OK)
        hp_site_plain_prefix(&sc, out);
    bool table = xrefs || (flags & HP_SITE_XREFS_LATER);
    if (st == HP_OK && (!table || (flags & HP_SITE_REDIRECTS)))
        st = hp_site_check_targets(&sc, out, why);
    hp_x86_scan_free(&sc);
    return st;
}

hp_status hp_site_analyze(const hp_image *img, const hp_symbol *fn, unsigned flags,
                          const hp_xrefs *xrefs, hp_site *out, hp_diags *why)
{
    memset(out, 0, sizeof *out);
    out->fn_va = fn->va;
    out->fn_size = fn->size;
    HP_CHECK(hp_site_check_fn(img, fn, why));
    HP_CHECK(hp_site_decode(img, fn, flags, xrefs, out, why));
    if (xrefs)
        HP_CHECK(hp_site_check_xrefs(out, xrefs, why));
    const uint8_t *bytes = hp_image_bytes(img, out->patch_va, out->steal_len);
    if (!bytes || out->steal_len > HP_SITE_MAX_STEAL)
        return hp_site_refuse(why, fn->va, "entry bytes are not in the file");
    memcpy(out->bytes, bytes, out->steal_len);
    out->go_stack_check = hp_site_is_go_check(out->bytes, out->copy_len);
    return (flags & HP_SITE_COPY) ? hp_site_check_copy(out, why) : HP_OK;
}
