/* Entry analysis. A function can take the jump when:
 * - it lies in an executable segment;
 * - its bytes decode (so branch targets inside it are known);
 * - no branch inside it lands strictly inside the overwritten bytes;
 * - it has the jump's bytes from the patch point (the architecture table's
 *   entry_options say where and how many), counting dead padding after its
 *   end only when that padding is filler (int3/nop, udf/nop) owned by no
 *   symbol.
 * A landing pad is kept when the jump fits after it; otherwise it is
 * overwritten and the caller must clear the IBT/BTI marking. */
#include "site.h"

#include <stdio.h>
#include <string.h>

_Static_assert(4 + HP_SITE_MAX_STEAL <= HP_XREF_WINDOW,
               "the branch-target table must watch every byte a steal can cover");

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
static bool hp_site_padding_ok(const hp_arch *a, const hp_image *img, uint64_t from,
                               uint64_t to)
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
        if (a->decode(p + (va - from), (size_t)(limit - va), va, &in) != HP_OK)
            return false;
        if (!a->pad_insn(&in))
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

/* Choose the stolen instructions from patch_va, at least need bytes.
 * Returns false when the function (plus usable padding) is too short. */
static bool hp_site_steal(const hp_image *img, const hp_func_scan *sc, uint32_t need,
                          hp_site *s)
{
    uint64_t end = s->fn_va + s->fn_size, va = s->patch_va;
    for (size_t i = hp_site_insn_at(sc, va); i < sc->ninsns && va - s->patch_va < need; i++)
        va = sc->insns[i].va + sc->insns[i].len;
    s->copy_len = (uint32_t)(va - s->patch_va);
    if (s->copy_len >= need) {
        s->steal_len = s->copy_len;
        return true;
    }
    s->steal_len = need;
    return va == end && hp_site_padding_ok(s->arch, img, end, s->patch_va + need);
}

/* Whether a branch to t goes back to the entry: to the patch point, or to
 * the function's start when a landing pad (endbr64, BTI) is kept before
 * the patch point: it runs into the patch just the same. */
static bool hp_site_to_entry(const hp_site *s, uint64_t t)
{
    return t >= s->fn_va && t <= s->patch_va;
}

static hp_status hp_site_check_targets(const hp_func_scan *sc, hp_site *s, hp_diags *why)
{
    for (size_t i = 0; i < sc->ntargets; i++) {
        uint64_t t = sc->targets[i];
        if (t > s->patch_va && t < s->patch_va + s->steal_len && (s->branch_inside = true))
            return hp_site_refuse(why, s->fn_va,
                                  "a branch inside the function lands at 0x%llx, within the "
                                  "%u bytes the jump would overwrite",
                                  (unsigned long long)t, s->steal_len);
    }
    for (size_t i = 0; i < sc->ninsns; i++) {
        const hp_insn *in = &sc->insns[i];
        bool rel = in->kind == HP_INSN_JMP || in->kind == HP_INSN_JCC ||
                   in->kind == HP_INSN_LOOP;
        if (!rel || !hp_site_to_entry(s, in->target_va) ||
            in->va < s->patch_va + s->steal_len)
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

/* Registers free before copied byte off: Go's answer for its stack check,
 * else the entry's free registers minus those the bytes before off write. */
static uint32_t hp_site_scratch_at(const hp_site *s, uint32_t off)
{
    const hp_arch *a = s->arch;
    if (s->go_regs && off % 4 == 0 && off / 4 < sizeof s->go_free / sizeof s->go_free[0])
        return s->go_free[off / 4];
    uint32_t scratch = a->entry_scratch;
    for (uint32_t k = 0; a->regs_written && k + a->insn_align <= off; k += a->insn_align)
        scratch &= ~a->regs_written(s->bytes + k, s->copy_len - k);
    return scratch;
}

/* The address to relocate the stolen instruction in from. A branch back to
 * the entry among the stolen bytes must aim at the copy of the entry, dst
 * (the entry itself now jumps to the hook): it is relocated as if it sat
 * where its displacement leads there. A branch has no other address-
 * dependent part, and while the analysis measures (dst = patch_va) the
 * address is the real one, so refusals name it. */
static uint64_t hp_site_reloc_src(const hp_site *s, const hp_insn *in, uint64_t dst)
{
    bool rel = in->kind == HP_INSN_JMP || in->kind == HP_INSN_JCC || in->kind == HP_INSN_LOOP;
    if (!rel || !hp_site_to_entry(s, in->target_va))
        return in->va;
    return in->va + (dst - in->target_va);
}

hp_status hp_site_relocate(const hp_site *s, uint64_t dst, uint8_t *out, size_t *len,
                           bool *called, hp_diags *why)
{
    const hp_arch *a = s->arch;
    size_t total = s->plain_len;
    if (out)
        memcpy(out, s->bytes, s->plain_len);
    for (uint64_t va = s->patch_va + s->plain_len; va < s->patch_va + s->copy_len;) {
        const uint8_t *p = s->bytes + (va - s->patch_va);
        size_t n = s->copy_len - (size_t)(va - s->patch_va), l;
        hp_insn in;
        HP_CHECK(a->decode(p, n, va, &in));
        uint64_t ret = va + in.len == s->patch_va + s->copy_len ? va + in.len : 0;
        if (in.kind == HP_INSN_CALL || in.kind == HP_INSN_CALL_IND)
            *called = true;
        uint32_t scratch = hp_site_scratch_at(s, (uint32_t)(va - s->patch_va));
        HP_CHECK(a->relocate(p, n, hp_site_reloc_src(s, &in, dst), dst + total, ret, scratch,
                             out ? out + total : NULL, &l, why));
        total += l;
        va += in.len;
    }
    *len = total;
    return HP_OK;
}

hp_status hp_site_check_copy(hp_site *s, hp_diags *why)
{
    size_t len;
    bool called = false;
    /* Measure only; the final address is not known yet. */
    hp_status st = hp_site_relocate(s, s->patch_va, NULL, &len, &called, why);
    if (st == HP_ERR_NOMEM || st == HP_ERR_FORMAT)
        return st;
    if (st != HP_OK)
        return HP_ERR_UNHOOKABLE;
    if (s->copy_len == s->steal_len && !s->arch->jump(NULL, 0, 0, s->far, s->scratch))
        return hp_site_refuse(why, s->fn_va,
                              "the stolen instructions write every register the far jump "
                              "back could use");
    return HP_OK;
}

/* Decode just the entry: enough instructions for the jump, or the whole
 * function when it is short (the padding check needs to know it ended).
 * *bad is the address of an instruction that does not decode, 0 if none:
 * the decode stops there, and a steal that needs bytes past it is refused
 * for that reason, not as "too short" (the function does not end there). */
static hp_status hp_site_scan_entry(const hp_arch *a, const uint8_t *p, uint64_t size,
                                    uint64_t va, hp_func_scan *sc, uint64_t *bad)
{
    uint64_t off = 0;
    while (off < size && off < a->entry_window) {
        HP_CHECK(HP_GROW(sc->insns, sc->insns_cap, sc->ninsns + 1));
        hp_insn *in = &sc->insns[sc->ninsns];
        if (a->decode(p + off, (size_t)(size - off), va + off, in) != HP_OK) {
            *bad = va + off;
            break;
        }
        sc->ninsns++;
        off += in->len;
    }
    sc->ok_size = off == size ? size : off;
    return HP_OK;
}

static hp_status hp_site_refuse_decode(hp_diags *why, uint64_t fn_va, uint64_t bad)
{
    return hp_site_refuse(why, fn_va,
                          "cannot decode the instruction at 0x%llx (data in code?), so "
                          "branches into the entry cannot be ruled out",
                          (unsigned long long)bad);
}

static hp_status hp_site_scan(const hp_arch *a, const hp_image *img, const hp_symbol *fn,
                              unsigned flags, const hp_xrefs *xrefs, hp_func_scan *sc,
                              uint64_t *bad, hp_diags *why)
{
    const uint8_t *p = hp_image_bytes(img, fn->va, fn->size);
    if (!p)
        return hp_site_refuse(why, fn->va, "function bytes are not in the file");
    /* The image-wide table already knows every direct branch into the
     * entry, from this function or any other: decode only the entry. */
    if ((xrefs || (flags & HP_SITE_XREFS_LATER)) && !(flags & HP_SITE_REDIRECTS))
        return hp_site_scan_entry(a, p, fn->size, fn->va, sc, bad);
    hp_status st = a->scan(p, fn->size, fn->va, sc);
    if (st == HP_OK && sc->ok_size < fn->size)
        *bad = fn->va + sc->ok_size;
    if (st == HP_ERR_NOMEM)
        return st;
    if (*bad || st != HP_OK)
        return hp_site_refuse_decode(why, fn->va, *bad);
    return HP_OK;
}

/* The short jump to an island instead (arch.h short_jump): whole
 * instructions of the function covering its bytes, no padding (the island
 * is found later, by the planner or `list`). Not with a head or the far
 * form: only the near jump goes in an island. */
static bool hp_site_choose_short(const hp_func_scan *sc, const hp_arch_entry *e, hp_site *out)
{
    uint32_t need = out->arch->short_jump_len;
    if (!need || e->head_len || out->far)
        return false;
    out->patch_va = out->fn_va + e->patch_off;
    out->over_endbr = e->over_landing;
    uint64_t va = out->patch_va, end = out->fn_va + out->fn_size;
    for (size_t i = hp_site_insn_at(sc, va); i < sc->ninsns && va - out->patch_va < need; i++)
        va = sc->insns[i].va + sc->insns[i].len;
    if (va - out->patch_va < need || va > end)
        return false;
    out->copy_len = out->steal_len = (uint32_t)(va - out->patch_va);
    out->island = true;
    return true;
}

/* The first of the architecture's ways to patch the entry that fits, then
 * the same ways with a short jump to an island; *need is the last one's
 * size, for the refusal. */
static bool hp_site_choose(const hp_image *img, const hp_func_scan *sc, unsigned flags,
                           hp_site *out, uint32_t *need)
{
    hp_arch_entry e[HP_ARCH_MAX_ENTRY];
    size_t n = out->arch->entry_options(sc->ninsns && sc->insns[0].va == out->fn_va
                                            ? &sc->insns[0] : NULL,
                                        out->far, e);
    for (size_t i = 0; !(flags & HP_SITE_SHORT) && i < n; i++) {
        out->patch_va = out->fn_va + e[i].patch_off;
        out->over_endbr = e[i].over_landing;
        out->head_len = e[i].head_len;
        *need = e[i].min_steal;
        if (hp_site_steal(img, sc, e[i].min_steal, out))
            return true;
    }
    for (size_t i = 0; i < n; i++)
        if (hp_site_choose_short(sc, &e[i], out))
            return true;
    return false;
}

/* The refusal of an entry too short for every technique. */
static hp_status hp_site_refuse_short(hp_diags *why, hp_site *s, uint32_t need)
{
    uint32_t sj = s->arch->short_jump_len;
    s->too_short = true;
    if (!sj || s->far)
        return hp_site_refuse(why, s->fn_va,
                              "too short: %llu bytes and no free padding after it; the jump "
                              "needs %u", (unsigned long long)s->fn_size, need);
    return hp_site_refuse(why, s->fn_va,
                          "too short: %llu bytes and no free padding after it; tried the "
                          "jump (needs %u bytes) and a short jump to an island (needs %u bytes "
                          "of whole instructions at the entry)", (unsigned long long)s->fn_size,
                          need, sj);
}

/* Refuse words that are most likely data among the stolen instructions. */
static hp_status hp_site_check_stealable(const hp_image *img, const hp_func_scan *sc,
                                         const hp_site *s, hp_diags *why)
{
    if (!s->arch->stealable)
        return HP_OK;
    for (size_t i = hp_site_insn_at(sc, s->patch_va); i < sc->ninsns; i++) {
        const hp_insn *in = &sc->insns[i];
        if (in->va >= s->patch_va + s->copy_len)
            break;
        const uint8_t *p = hp_image_bytes(img, in->va, in->len);
        if (!p || !s->arch->stealable(p, in->len))
            return hp_site_refuse(why, s->fn_va,
                                  "the word at 0x%llx the jump would overwrite is not an "
                                  "allocated instruction (data in code?)",
                                  (unsigned long long)in->va);
    }
    return HP_OK;
}

/* Go's stack check writes the entry's scratch registers: the table says
 * which ones stay free, from the whole check (the stolen bytes may end
 * inside it). */
static void hp_site_go_regs(const hp_image *img, hp_site *s)
{
    const hp_arch *a = s->arch;
    uint64_t end = s->fn_va + s->fn_size, n = end - s->patch_va;
    if (!a->go_scratch || !img->pclntab || s->copy_len > HP_SITE_MAX_STEAL)
        return;
    if (n > 64) /* the longest check is 10 words */
        n = 64;
    const uint8_t *p = hp_image_bytes(img, s->patch_va, n);
    for (uint32_t off = 0; p && off <= s->copy_len; off += 4)
        if (!a->go_scratch(p, (size_t)n, s->patch_va, off, &s->go_free[off / 4]))
            return;
    s->go_regs = p != NULL;
}

/* Go starts every goroutine with goexit+PCQuantum (x86-64 1, arm64 4) as
 * its first return address (runtime.newproc1 sets sched.pc): an entry point
 * no branch shows. */
static bool hp_site_is_go_goexit(const hp_image *img, const hp_symbol *s)
{
    /* Mach-O spells it "_runtime.goexit.abi0": the alias drops the '_'. */
    const char *n = s->alias ? s->alias : s->name;
    return img->pclntab && (!strcmp(n, "runtime.goexit") || !strcmp(n, "runtime.goexit.abi0"));
}

void hp_site_use_callsites(hp_site *s)
{
    s->callsites = true;
    s->island = false;
    s->island_va = 0;
    s->patch_va = s->fn_va;
    s->steal_len = s->copy_len = s->plain_len = s->head_len = 0;
    s->over_endbr = false;
    s->nredirects = 0;
    s->scratch = s->arch->entry_scratch; /* nothing runs before the trampoline's jump */
}

void hp_site_use_callsites_for_branch(hp_site *s)
{
    uint32_t n = s->steal_len;
    hp_site_use_callsites(s);
    s->branch_len = n;
}

hp_status hp_site_check_xrefs(const hp_site *s, const hp_xrefs *xrefs, hp_diags *why)
{
    if (s->callsites)
        return HP_OK; /* nothing is overwritten at the entry */
    if (!hp_xrefs_any_in(xrefs, s->patch_va, s->patch_va + s->steal_len))
        return HP_OK;
    return hp_site_refuse(why, s->fn_va,
                          "a branch lands inside the %u bytes the jump would overwrite "
                          "(a loop to the top, or a second entry point)", s->steal_len);
}

/* The checks that need no decoding. */
static hp_status hp_site_check_fn(const hp_image *img, const hp_symbol *fn, const hp_site *s,
                                  hp_diags *why)
{
    if (!fn->size)
        return hp_site_refuse(why, fn->va, "function size unknown");
    /* A FUNC symbol says nothing about what the loader maps executable: a
     * jump written there would land in data (or nowhere). */
    char what[160];
    if (!hp_image_executable(img, fn->va, what, sizeof what))
        return hp_site_refuse(why, fn->va, "%s", what);
    hp_arch_entry e[HP_ARCH_MAX_ENTRY];
    s->arch->entry_options(NULL, s->far, e);
    uint32_t ret = s->arch->go_goexit_ret_off;
    if (hp_site_is_go_goexit(img, fn) && ret < e[0].min_steal)
        return hp_site_refuse(why, fn->va,
                              "every goroutine returns into runtime.goexit+%u, inside the "
                              "bytes the jump would overwrite", ret);
    /* Past the jump (arm64's 4-byte B) the patch would be harmless but
     * useless: nothing calls goexit, so a hook there would silently never
     * run. */
    if (hp_site_is_go_goexit(img, fn))
        return hp_site_refuse(why, fn->va,
                              "every goroutine returns into runtime.goexit+%u, past the "
                              "patched entry, and nothing calls the entry: the hook would "
                              "never run", ret);
    return HP_OK;
}

/* Decode the entry and choose the stolen bytes. */
static hp_status hp_site_decode(const hp_image *img, const hp_symbol *fn, unsigned flags,
                                const hp_xrefs *xrefs, hp_site *out, hp_diags *why)
{
    hp_func_scan sc = {0};
    uint32_t need = 0;
    uint64_t bad = 0;
    hp_status st = hp_site_scan(out->arch, img, fn, flags, xrefs, &sc, &bad, why);
    if (st == HP_OK && !hp_site_choose(img, &sc, flags, out, &need))
        st = bad ? hp_site_refuse_decode(why, fn->va, bad) : hp_site_refuse_short(why, out, need);
    /* A short function whose bytes do not all decode may be data: the
     * island technique wants the function to end in view. */
    else if (st == HP_OK && out->island && bad)
        st = hp_site_refuse_decode(why, fn->va, bad);
    if (st == HP_OK)
        st = hp_site_check_stealable(img, &sc, out, why);
    if (st == HP_OK)
        hp_site_plain_prefix(&sc, out);
    bool table = xrefs || (flags & HP_SITE_XREFS_LATER);
    if (st == HP_OK && (!table || (flags & HP_SITE_REDIRECTS)))
        st = hp_site_check_targets(&sc, out, why);
    out->arch->scan_free(&sc);
    return st;
}

hp_status hp_site_analyze(const hp_image *img, const hp_symbol *fn, unsigned flags,
                          const hp_xrefs *xrefs, hp_site *out, hp_diags *why)
{
    memset(out, 0, sizeof *out);
    out->arch = hp_arch_for(img);
    out->fn_va = fn->va;
    out->fn_size = fn->size;
    out->far = (flags & HP_SITE_FAR) && out->arch->has_far;
    HP_CHECK(hp_site_check_fn(img, fn, out, why));
    HP_CHECK(hp_site_decode(img, fn, flags, xrefs, out, why));
    if (xrefs)
        HP_CHECK(hp_site_check_xrefs(out, xrefs, why));
    const uint8_t *bytes = hp_image_bytes(img, out->patch_va, out->steal_len);
    if (!bytes || out->steal_len > HP_SITE_MAX_STEAL)
        return hp_site_refuse(why, fn->va, "entry bytes are not in the file");
    memcpy(out->bytes, bytes, out->steal_len);
    out->go_stack_check = out->arch->go_stack_check(out->bytes, out->copy_len, out->patch_va);
    hp_site_go_regs(img, out);
    out->scratch = hp_site_scratch_at(out, out->copy_len);
    return (flags & HP_SITE_COPY) ? hp_site_check_copy(out, why) : HP_OK;
}
