/* Island allocation (island.h). The window of candidate starts is small
 * (the short jump's reach: 256 bytes on x86-64), so each candidate's gap
 * is found byte by byte from the symbols. */
#include "island.h"

#include <string.h>

/* How far back a gap's start is looked for: padding longer than this is
 * not padding between functions. */
#define HP_ISLAND_MAX_GAP 4096

hp_status hp_islands_take(hp_islands *t, uint64_t lo, uint64_t hi)
{
    HP_CHECK(HP_GROW(t->v, t->cap, t->n + 1));
    t->v[t->n++] = (hp_xref_range){lo, hi};
    return HP_OK;
}

void hp_islands_free(hp_islands *t)
{
    hp_free(t->v);
    memset(t, 0, sizeof *t);
}

bool hp_islands_overlap(const hp_islands *t, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (lo < t->v[i].hi && t->v[i].lo < hi)
            return true;
    return false;
}

/* The function owning addr, unless addr is in the filler after the code of
 * a function whose size the format did not record (crt's frame_dummy runs
 * to the next symbol: `endbr64; jmp register_tm_clones` and then the
 * alignment nops before the next function). Its code ends after its last
 * instruction that is not filler, when that one does not fall through
 * (ret, jmp, ud2); a decode failure or a fall-through keeps the guessed
 * extent. *memo caches the last guessed function's code end. */
typedef struct hp_island_memo {
    const hp_symbol *fn;
    uint64_t code_end;
} hp_island_memo;

static uint64_t hp_island_code_end(const hp_image *img, const hp_arch *a, const hp_symbol *f)
{
    uint64_t end = f->va + f->size, at = f->va, code_end = end;
    const uint8_t *p = hp_image_bytes(img, f->va, f->size);
    if (!p || f->size > HP_ISLAND_MAX_GAP)
        return end;
    bool stops = false;
    while (at < end) {
        hp_insn in;
        if (a->decode(p + (at - f->va), (size_t)(end - at), at, &in) != HP_OK)
            return end;
        at += in.len;
        if (a->pad_insn(&in))
            continue;
        code_end = at;
        stops = in.kind == HP_INSN_RET || in.kind == HP_INSN_JMP || in.kind == HP_INSN_JMP_IND ||
                in.kind == HP_INSN_UD;
    }
    return stops ? code_end : end;
}

/* *end (unless NULL): where the owner's recorded extent ends (addr + 1
 * when not known): no byte before it is free. */
static bool hp_island_owned(const hp_image *img, const hp_arch *a, uint64_t addr,
                            hp_island_memo *memo, uint64_t *end)
{
    const hp_symbol *f = hp_image_owner(img, addr);
    if (end)
        *end = f && !f->size_guessed && f->va + f->size > addr ? f->va + f->size : addr + 1;
    if (!f || !f->size_guessed)
        return f != NULL;
    if (memo->fn != f)
        *memo = (hp_island_memo){f, hp_island_code_end(img, a, f)};
    return addr < memo->code_end;
}

/* The free padding [*lo, *hi) that an unowned va lies in or after: the
 * unowned bytes before it, decoded from the first one as filler up to the
 * first other instruction or the next symbol (*hi may be *lo: none). False
 * when nothing can be said (not executable, not in the file, no gap). */
static bool hp_island_gap(const hp_image *img, const hp_arch *a, uint64_t va, uint64_t *lo,
                          uint64_t *hi, hp_island_memo *memo)
{
    if (!hp_image_executable(img, va, NULL, 0))
        return false;
    const hp_segment *seg = hp_image_segment_at(img, va);
    uint64_t g0 = va;
    while (va - g0 < HP_ISLAND_MAX_GAP && g0 > 0 && !hp_island_owned(img, a, g0 - 1, memo, NULL) &&
           hp_image_segment_at(img, g0 - 1) == seg)
        g0--;
    /* A symbol starting in the run (data in code: a table) owns what
     * follows it: no padding there. */
    if (g0 == 0 || hp_image_next_sym_va(img, g0 - 1) <= va)
        return false;
    uint64_t limit = hp_image_next_sym_va(img, va);
    const uint8_t *p = hp_image_bytes(img, g0, limit - g0);
    if (!p || va - g0 >= HP_ISLAND_MAX_GAP)
        return false;
    uint64_t at = g0;
    while (at < limit) {
        hp_insn in;
        if (a->decode(p + (at - g0), (size_t)(limit - at), at, &in) != HP_OK || !a->pad_insn(&in))
            break;
        at += in.len;
    }
    *lo = g0;
    *hi = at < limit ? at : limit;
    return true;
}

uint64_t hp_island_find_in(const hp_image *img, const hp_arch *a, uint64_t at, uint64_t len,
                           uint64_t size, uint64_t window, hp_island_reach_fn reach, void *ctx,
                           const hp_islands *taken)
{
    uint64_t from = at > window ? at - window : 0;
    uint64_t lo = 0, hi = 0, end;
    bool in_run = false; /* c-1 was unowned, in the gap [lo, hi) found for it */
    hp_island_memo memo = {0};
    for (uint64_t c = from; c < at + window; c++) {
        if (c % a->insn_align || !reach(ctx, c)) {
            in_run = false;
            continue;
        }
        if (hp_island_owned(img, a, c, &memo, &end)) {
            in_run = false;
            c = end - 1; /* a function's bytes are never free */
            continue;
        }
        if (!in_run && !(in_run = hp_island_gap(img, a, c, &lo, &hi, &memo))) {
            /* Every later byte of this unowned run fails the same way (not
             * executable, a label inside it, longer than a gap): go on at
             * the next symbol. */
            uint64_t next = hp_image_next_sym_va(img, c);
            if (next > c + 1)
                c = next - 1;
            continue;
        }
        if (c + size <= hi && !hp_islands_overlap(taken, c, c + size) &&
            !(c < at + len && at < c + size))
            return c;
    }
    return 0;
}

/* Whether the short jump at the site's patch point reaches va. */
static bool hp_island_short_reach(void *ctx, uint64_t va)
{
    const hp_site *s = ctx;
    uint8_t buf[16];
    return s->arch->short_jump(buf, s->patch_va, va) != 0;
}

uint64_t hp_island_find(const hp_image *img, const hp_site *s, const hp_islands *taken)
{
    const hp_arch *a = s->arch;
    if (!a->short_jump || !s->island)
        return 0;
    return hp_island_find_in(img, a, s->patch_va, s->steal_len, a->jump(NULL, 0, 0, false, 0),
                             HP_ISLAND_REACH, hp_island_short_reach, (void *)s, taken);
}
