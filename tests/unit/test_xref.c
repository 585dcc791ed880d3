/* Unit tests for the branch-target table (rewriter/xref) and the scans it
 * is built from: the superset candidate scan of relocs/x86 must report
 * every branch a real decode finds, and the table must hold exactly the
 * real branches into watched entries, conservatively where decoding fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relocs/x86.h"
#include "rewriter/xref.h"
#include "sections/code.h"
#include "sections/format.h"

/* ---- the candidate scan */

typedef struct xt_list {
    uint64_t at[4096], target[4096];
    size_t n;
} xt_list;

static hp_status xt_collect(void *ctx, uint64_t at, uint64_t target)
{
    xt_list *l = ctx;
    if (l->n < 4096) {
        l->at[l->n] = at;
        l->target[l->n++] = target;
    }
    return HP_OK;
}

static bool xt_has(const xt_list *l, uint64_t at, uint64_t target)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->at[i] == at && l->target[i] == target)
            return true;
    return false;
}

static void test_candidates_every_form(void **state)
{
    (void)state;
    static const uint8_t code[] = {
        0xeb, 0x10,                         /* 0x1000 jmp rel8 -> 0x1012 */
        0x74, 0xfe,                         /* 0x1002 je rel8 -> 0x1002 */
        0xe8, 0x00, 0x01, 0x00, 0x00,       /* 0x1004 call -> 0x1109 */
        0xe9, 0xf0, 0xff, 0xff, 0xff,       /* 0x1009 jmp rel32 -> 0x0ffe */
        0x0f, 0x85, 0x10, 0x00, 0x00, 0x00, /* 0x100e jne rel32 -> 0x1024 */
        0xe2, 0x02,                         /* 0x1014 loop -> 0x1018 */
        0xe3, 0x00,                         /* 0x1016 jrcxz -> 0x1018 */
        0xc7, 0xf8, 0x20, 0x00, 0x00, 0x00, /* 0x1018 xbegin -> 0x103e */
        0x66, 0xe9, 0x04, 0x00,             /* 0x101e jmp rel16 form -> 0x1026 */
        /* 0x1022 xbegin rel16: 66, then an ignored REX before more
         * prefixes (found by fuzz_x86) -> 0x102b + 0x10 */
        0x66, 0x47, 0x2e, 0x2e, 0xc7, 0xf8, 0x10, 0x00,
    };
    xt_list l = {0};
    assert_int_equal(hp_x86_branch_candidates(code, sizeof code, 0x1000, NULL, xt_collect, &l), HP_OK);
    assert_true(xt_has(&l, 0x1000, 0x1012));
    assert_true(xt_has(&l, 0x1002, 0x1002));
    assert_true(xt_has(&l, 0x1004, 0x1109));
    assert_true(xt_has(&l, 0x1009, 0x0ffe));
    assert_true(xt_has(&l, 0x100e, 0x1024));
    assert_true(xt_has(&l, 0x1014, 0x1018));
    assert_true(xt_has(&l, 0x1016, 0x1018));
    assert_true(xt_has(&l, 0x1018, 0x103e));
    assert_true(xt_has(&l, 0x101f, 0x1026)); /* rel16 of the 66-prefixed form */
    assert_true(xt_has(&l, 0x1026, 0x102a + 0x10)); /* rel16 past an ignored REX */
    /* A filter keeps targets in [0x1000, 0x1080) and, of that, block 0 only:
     * [0x1000, 0x1040). */
    const uint8_t blocks[1] = {0x01};
    hp_x86_target_filter f = {0x1000, 0x80, blocks};
    l.n = 0;
    assert_int_equal(hp_x86_branch_candidates(code, sizeof code, 0x1000, &f, xt_collect, &l),
                     HP_OK);
    assert_true(xt_has(&l, 0x1000, 0x1012));
    assert_true(xt_has(&l, 0x1018, 0x103e));
    assert_false(xt_has(&l, 0x1004, 0x1109)); /* beyond the range */
    assert_false(xt_has(&l, 0x1009, 0x0ffe)); /* below it */
    for (size_t i = 0; i < l.n; i++)
        assert_true(l.target[i] >= 0x1000 && l.target[i] < 0x1040);
    /* Truncated immediates at the end are not read past the buffer. */
    l.n = 0;
    assert_int_equal(hp_x86_branch_candidates(code + 4, 3, 0x1004, NULL, xt_collect, &l), HP_OK);
    assert_int_equal(l.n, 0);
}

/* Every branch a linear Zydis decode finds is among the candidates, on
 * random bytes biased towards branch opcodes and prefixes. */
static hp_status xt_check_real(void *ctx, uint64_t insn_va, uint64_t target)
{
    const xt_list *cands = ctx;
    for (size_t i = 0; i < cands->n; i++)
        if (cands->target[i] == target && cands->at[i] >= insn_va && cands->at[i] < insn_va + 15)
            return HP_OK;
    return HP_ERR_INTERNAL;
}

static size_t nreal;

static hp_status xt_count_real(void *ctx, uint64_t insn_va, uint64_t target)
{
    nreal++;
    return xt_check_real(ctx, insn_va, target);
}

static void test_candidates_superset_random(void **state)
{
    (void)state;
    static const uint8_t pool[] = {0xeb, 0x74, 0xe8, 0xe9, 0x0f, 0x85, 0xe2, 0xe3, 0xc7,
                                   0xf8, 0x66, 0xf2, 0x3e, 0x48, 0x90, 0x89, 0xc3, 0x00};
    static xt_list cands;
    uint8_t buf[512];
    srand(1234);
    for (int round = 0; round < 3000; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = rand() % 3 ? pool[rand() % sizeof pool] : (uint8_t)rand();
        cands.n = 0;
        assert_int_equal(hp_x86_branch_candidates(buf, sizeof buf, 0x400000, NULL, xt_collect, &cands),
                         HP_OK);
        for (uint64_t start = 0; start < 64; start++) { /* a decode from every offset */
            uint64_t ok = 0;
            assert_int_equal(hp_x86_branches(buf + start, sizeof buf - start, 0x400000 + start,
                                             xt_count_real, &cands, &ok),
                             HP_OK);
        }
    }
    assert_true(nreal > 10000); /* the decodes did find branches */
}

/* The same with a filter keeping a few 64-byte blocks: every real branch
 * into a kept block is still reported (the scan skips whole stretches of
 * rel8 opcodes that cannot reach a kept block). */
typedef struct xt_filtered {
    const hp_x86_target_filter *f;
    const xt_list *cands;
    size_t checked;
} xt_filtered;

static hp_status xt_check_kept(void *ctx, uint64_t insn_va, uint64_t target)
{
    xt_filtered *x = ctx;
    uint64_t o = target - x->f->lo;
    if (o >= x->f->span || !(x->f->blocks[o >> 9] & (1u << ((o >> 6) & 7))))
        return HP_OK;
    x->checked++;
    return xt_check_real((void *)x->cands, insn_va, target);
}

static void test_candidates_superset_filtered(void **state)
{
    (void)state;
    static const uint8_t pool[] = {0xeb, 0x74, 0xe8, 0xe9, 0x0f, 0x85, 0xe2, 0xe3, 0xc7,
                                   0xf8, 0x66, 0xf2, 0x3e, 0x48, 0x90, 0x89, 0xc3, 0x00};
    static xt_list cands;
    static uint8_t buf[4096];
    uint8_t blocks[16];
    srand(99);
    size_t checked = 0;
    for (int round = 0; round < 300; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = rand() % 3 ? pool[rand() % sizeof pool] : (uint8_t)rand();
        for (size_t i = 0; i < sizeof blocks; i++)
            blocks[i] = (uint8_t)(rand() & rand() & 0xff); /* about a quarter of the blocks */
        hp_x86_target_filter f = {0x400000, 8192, blocks};
        cands.n = 0;
        assert_int_equal(
            hp_x86_branch_candidates(buf, sizeof buf, 0x400000, &f, xt_collect, &cands), HP_OK);
        xt_filtered x = {&f, &cands, 0};
        for (uint64_t start = 0; start < 512; start++) { /* a decode from every offset */
            uint64_t ok = 0;
            assert_int_equal(hp_x86_branches(buf + start, sizeof buf - start, 0x400000 + start,
                                             xt_check_kept, &x, &ok),
                             HP_OK);
        }
        checked += x.checked;
        for (size_t i = 0; i < cands.n; i++) { /* and nothing outside kept blocks */
            uint64_t o = cands.target[i] - f.lo;
            assert_true(o < f.span && (blocks[o >> 9] & (1u << ((o >> 6) & 7))));
        }
    }
    assert_true(checked > 100);
}

/* ---- the table, over a synthetic image (no backend: executable segments
 * and function symbols stand in for the code map) */

static uint8_t xt_data[0x400];

static hp_image *xt_image(void)
{
    hp_image *img = hp_calloc(1, sizeof *img);
    assert_non_null(img);
    memset(xt_data, 0xcc, sizeof xt_data);
    img->data = xt_data;
    img->size = sizeof xt_data;
    img->kind = HP_FMT_ELF;
    hp_segment s = {0x1000, 0x400, 0, 0x400, HP_PROT_R | HP_PROT_X};
    assert_int_equal(hp_image_add_segment(img, &s), HP_OK);
    return img;
}

static void xt_put(uint64_t va, const void *bytes, size_t n)
{
    memcpy(xt_data + (va - 0x1000), bytes, n);
}

static void xt_func(hp_image *img, const char *name, uint64_t va, uint64_t size)
{
    assert_int_equal(hp_image_add_symbol(img, name, strlen(name), va, size, HP_SYM_FUNC,
                                         HP_SRC_SYMTAB, true),
                     HP_OK);
}

static hp_image *xt_std(void)
{
    hp_image *img = xt_image();
    /* f1 at 0x1000: push rbp; mov rbp,rsp; nop; dec edi; jne 0x1001 (its own
     * loop to the second byte); ret */
    xt_put(0x1000, "\x55\x48\x89\xe5\x90\xff\xcf\x75\xf8\xc3", 10);
    xt_func(img, "f1", 0x1000, 10);
    /* f2 at 0x1040: call f1 (a start: not recorded); jmp 0x1004 (into f1's
     * first bytes from elsewhere); mov eax, imm32 whose immediate looks like
     * "jmp 0x1003" (not an instruction: not recorded); ret */
    xt_put(0x1040, "\xe8\xbb\xff\xff\xff", 5);
    xt_put(0x1045, "\xe9\xba\xff\xff\xff", 5);
    xt_put(0x104a, "\xb8\xe9\xb3\xff\xff", 5); /* e9 at 0x104b: rel32 0xffffffb3 + 0x1050 */
    xt_put(0x104f, "\xff\xc3", 2);             /* inc ebx, continuing the decode */
    xt_put(0x1051, "\xc3", 1);
    xt_func(img, "f2", 0x1040, 0x12);
    /* f3 at 0x1080: undecodable byte (0x06 is invalid in 64-bit mode), then
     * a would-be "jmp 0x1102" into f4's window: counted, since decoding
     * cannot tell */
    xt_put(0x1080, "\x06\xeb\x7f", 3);
    xt_func(img, "f3", 0x1080, 3);
    /* f4 at 0x1100: a plain function; a jmp rel8 to 0x1103 hides in f5's
     * first instruction's immediate (mov eax, 0x00f3eb00) */
    xt_put(0x1100, "\x31\xc0\x90\x90\x90\xc3", 6);
    xt_func(img, "f4", 0x1100, 6);
    xt_put(0x110c, "\xb8\x00\xeb\xf3\x00\xc3", 6);
    xt_func(img, "f5", 0x110c, 6);
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    return img;
}

static void test_table_watch_all(void **state)
{
    (void)state;
    hp_image *img = xt_std();
    hp_xrefs x;
    assert_int_equal(hp_xrefs_build(img, NULL, 0, &x), HP_OK);
    assert_int_equal(x.nwatch, 5);
    /* f1's loop target and f2's jump into f1 */
    assert_true(hp_xrefs_any_in(&x, 0x1000, 0x1002)); /* 0x1001 */
    assert_true(hp_xrefs_any_in(&x, 0x1003, 0x1005)); /* 0x1004 */
    assert_false(hp_xrefs_any_in(&x, 0x1001, 0x1004)); /* (0x1001, 0x1004): 0x1002, 0x1003 */
    /* f3's undecodable tail counts its candidate; f5's hidden one does not */
    assert_true(hp_xrefs_any_in(&x, 0x1100, 0x1103));
    assert_false(hp_xrefs_any_in(&x, 0x1103, 0x1105)); /* 0x1104 not a target */
    /* a call to f1's start is no entry into its middle */
    assert_false(hp_xrefs_any_in(&x, 0x1040, 0x1045));
    /* Exactly those, plus f3's other undecoded would-be branch: the 0x7f
     * of "eb 7f" is also "jg" whose displacement (the 0xcc filler) lands at
     * 0x1050, in f2's window. */
    static const uint64_t want[] = {0x1001, 0x1004, 0x1050, 0x1102};
    assert_int_equal(x.n, 4);
    for (size_t i = 0; i < x.n; i++)
        assert_int_equal(x.v[i], want[i]);
    hp_xrefs_free(&x);
    hp_image_close(img);
}

static void test_table_watch_some(void **state)
{
    (void)state;
    hp_image *img = xt_std();
    hp_xref_range ranges[] = {{0x1100, 0x1128}, {0x1000, 0x1028}, {0x1100, 0x1105}};
    hp_xrefs x;
    assert_int_equal(hp_xrefs_build(img, ranges, 3, &x), HP_OK);
    assert_int_equal(x.nwatch, 2);
    assert_true(hp_xrefs_any_in(&x, 0x1000, 0x1005));
    assert_true(hp_xrefs_any_in(&x, 0x1100, 0x1105));
    /* f2 is not watched: nothing is known there, so the answer is "unsafe" */
    assert_true(hp_xrefs_any_in(&x, 0x1040, 0x1045));
    /* a range past the watched window is not covered either */
    assert_true(hp_xrefs_any_in(&x, 0x1010, 0x1030));
    assert_false(hp_xrefs_any_in(&x, 0x1004, 0x1020));
    hp_xrefs_free(&x);
    hp_image_close(img);
}

/* Watching just the stolen bytes: (0x1000, 0x1003) holds f1's loop target
 * 0x1001 but not f2's jump to 0x1004, and (0x1003, 0x1006) holds 0x1004. */
static void test_table_narrow(void **state)
{
    (void)state;
    hp_image *img = xt_std();
    hp_xref_range r[] = {{0x1000, 0x1003}, {0x1100, 0x1102}};
    hp_xrefs x;
    assert_int_equal(hp_xrefs_build(img, r, 2, &x), HP_OK);
    assert_true(hp_xrefs_any_in(&x, 0x1000, 0x1003));
    assert_false(hp_xrefs_any_in(&x, 0x1100, 0x1102)); /* 0x1101: nothing */
    assert_true(hp_xrefs_any_in(&x, 0x1000, 0x1006)); /* past the range: unknown */
    for (size_t i = 0; i < x.n; i++)
        assert_true(x.v[i] == 0x1001 || x.v[i] == 0x1102 - 1);
    hp_xrefs_free(&x);
    hp_xref_range r2[] = {{0x1003, 0x1006}};
    assert_int_equal(hp_xrefs_build(img, r2, 1, &x), HP_OK);
    assert_true(hp_xrefs_any_in(&x, 0x1003, 0x1006));
    assert_int_equal(x.n, 1);
    assert_int_equal(x.v[0], 0x1004);
    hp_xrefs_free(&x);
    hp_image_close(img);
}

static void test_table_empty(void **state)
{
    (void)state;
    hp_image *img = xt_std();
    hp_xrefs x;
    assert_int_equal(hp_xrefs_build(img, NULL, 0, &x), HP_OK);
    hp_xrefs_free(&x);
    hp_xref_range none[1] = {{0x1000, 0x1001}}; /* empty: nothing strictly inside */
    assert_int_equal(hp_xrefs_build(img, none, 1, &x), HP_OK);
    assert_int_equal(x.nwatch, 0);
    assert_true(hp_xrefs_any_in(&x, 0x1000, 0x1005));
    assert_false(hp_xrefs_any_in(NULL, 0x1000, 0x1005));
    hp_xrefs_free(&x);
    hp_image_close(img);
}

/* hp_xrefs_build_entries: calls and jumps to function entries, from
 * anywhere but the entered function itself (its loop back to the top is
 * no call by name). */
static void test_table_entries(void **state)
{
    (void)state;
    hp_image *img = xt_image();
    xt_put(0x1000, "\xe8\x7b\x00\x00\x00\xc3", 6); /* g1: call g3; ret */
    xt_func(img, "g1", 0x1000, 6);
    xt_put(0x1040, "\xff\xc8\x75\xfc\xc3", 5); /* g2: dec eax; jne g2; ret */
    xt_func(img, "g2", 0x1040, 5);
    xt_put(0x1080, "\x31\xc0\xc3", 3); /* g3 */
    xt_func(img, "g3", 0x1080, 3);
    xt_put(0x10c0, "\xe9\x3b\xff\xff\xff", 5); /* g4: jmp g1 (a tail call) */
    xt_func(img, "g4", 0x10c0, 5);
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    static const uint64_t entries[] = {0x1080, 0x1040, 0x1000, 0};
    hp_xrefs x;
    assert_int_equal(hp_xrefs_build_entries(img, entries, 4, &x), HP_OK);
    assert_true(hp_xrefs_reached(&x, 0x1000));  /* g4's jump */
    assert_false(hp_xrefs_reached(&x, 0x1040)); /* only its own loop */
    assert_true(hp_xrefs_reached(&x, 0x1080));  /* g1's call */
    assert_true(hp_xrefs_reached(&x, 0x10c0));  /* not watched: unknown */
    assert_int_equal(x.n, 2);
    hp_xrefs_free(&x);
    /* The ordinary table ignores branches to starts: none of these. */
    hp_xref_range r[] = {{0x0fff, 0x1001}, {0x103f, 0x1041}, {0x107f, 0x1081}};
    assert_int_equal(hp_xrefs_build(img, r, 3, &x), HP_OK);
    assert_int_equal(x.n, 0);
    hp_xrefs_free(&x);
    hp_image_close(img);
}

/* The code map without a backend: executable segments, symbol starts. */
static void test_code_map_fallback(void **state)
{
    (void)state;
    hp_image *img = xt_std();
    hp_segment data = {0x2000, 0x100, 0x300, 0x100, HP_PROT_R | HP_PROT_W};
    assert_int_equal(hp_image_add_segment(img, &data), HP_OK);
    hp_code_map m;
    assert_int_equal(hp_image_code(img, &m), HP_OK);
    assert_int_equal(m.nranges, 1);
    assert_int_equal(m.ranges[0].va, 0x1000);
    assert_int_equal(m.ranges[0].size, 0x400);
    assert_int_equal(m.nstarts, 5);
    assert_int_equal(m.starts[0], 0x1000);
    assert_int_equal(m.starts[4], 0x110c);
    hp_code_map_free(&m);
    hp_image_close(img);
}

/* A real ELF (this test program): code ranges are its executable sections,
 * not whole segments, and the unwind table adds the starts of functions the
 * symbol table does not have (or more). */
static uint64_t main_va; /* main's link-time address, found by test_code_map_elf */

static void test_code_map_elf(void **state)
{
    (void)state;
    hp_diags d = {0};
    hp_image *img = NULL;
    assert_int_equal(hp_image_open("/proc/self/exe", &d, &img), HP_OK);
    hp_code_map m;
    assert_int_equal(hp_image_code(img, &m), HP_OK);
    assert_true(m.nranges >= 1);
    uint64_t code = 0, xseg = 0;
    for (size_t i = 0; i < m.nranges; i++)
        code += m.ranges[i].size;
    for (size_t i = 0; i < img->nsegs; i++)
        if (img->segs[i].prot & HP_PROT_X)
            xseg += img->segs[i].file_size;
    assert_true(code > 0 && code <= xseg);
    size_t nfuncs = 0, in_code = 0;
    for (size_t i = 0; i < img->nsyms; i++)
        nfuncs += img->syms[i].kind == HP_SYM_FUNC && img->syms[i].source != HP_SRC_PLT;
    for (size_t i = 0; i < m.nstarts; i++)
        for (size_t k = 0; k < m.nranges; k++)
            if (m.starts[i] - m.ranges[k].va < m.ranges[k].size) {
                in_code++;
                break;
            }
    assert_true(m.nstarts >= nfuncs);
    assert_true(in_code * 10 >= m.nstarts * 9); /* starts are code addresses */
    /* the unwind table's entry for main is among the starts */
    const hp_symbol *mainsym = NULL;
    for (size_t i = 0; i < img->nsyms && !mainsym; i++)
        if (!strcmp(img->syms[i].name, "main"))
            mainsym = &img->syms[i];
    assert_non_null(mainsym);
    bool found = false;
    for (size_t i = 0; i < m.nstarts; i++)
        found |= m.starts[i] == mainsym->va;
    assert_true(found);
    main_va = mainsym->va;
    hp_code_map_free(&m);
    hp_image_close(img);
    hp_diags_free(&d);
}

/* Stripped, the same program keeps its unwind table: the starts still
 * cover main, which no symbol names any more. */
static void test_code_map_elf_stripped(void **state)
{
    (void)state;
    char path[] = "/tmp/hp_test_xref_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char self[4096] = "", cmd[4500];
    assert_true(readlink("/proc/self/exe", self, sizeof self - 1) > 0); /* the shell's is another */
    snprintf(cmd, sizeof cmd, "strip -o %s '%s'", path, self);
    assert_int_equal(system(cmd), 0);
    hp_diags d = {0};
    hp_image *img = NULL;
    assert_int_equal(hp_image_open(path, &d, &img), HP_OK);
    hp_code_map m;
    assert_int_equal(hp_image_code(img, &m), HP_OK);
    size_t nfuncs = 0;
    for (size_t i = 0; i < img->nsyms; i++)
        nfuncs += img->syms[i].kind == HP_SYM_FUNC && img->syms[i].source != HP_SRC_PLT;
    assert_true(m.nstarts > nfuncs + 100);
    bool found = false;
    for (size_t i = 0; i < m.nstarts; i++)
        found |= m.starts[i] == main_va;
    assert_true(found);
    hp_code_map_free(&m);
    hp_image_close(img);
    hp_diags_free(&d);
    unlink(path);
}

/* ---- watched ranges far apart: the bitmaps are built per cluster, so
 * two segments 320 GiB apart need no 40 GiB bitmap; a cluster is scanned
 * from every part of the code within rel32 reach of it, including another
 * cluster's segment. */

static uint8_t xt_far_data[0x300];

static hp_image *xt_far_image(uint64_t hi_va)
{
    hp_image *img = hp_calloc(1, sizeof *img);
    assert_non_null(img);
    memset(xt_far_data, 0xcc, sizeof xt_far_data);
    img->data = xt_far_data;
    img->size = sizeof xt_far_data;
    img->kind = HP_FMT_ELF;
    hp_segment lo = {0x1000, 0x100, 0, 0x100, HP_PROT_R | HP_PROT_X};
    hp_segment hi = {hi_va, 0x100, 0x100, 0x100, HP_PROT_R | HP_PROT_X};
    assert_int_equal(hp_image_add_segment(img, &lo), HP_OK);
    assert_int_equal(hp_image_add_segment(img, &hi), HP_OK);
    /* lo: a at 0x1000 (nop; mov eax,1; ret), b at 0x1010: jmp a+1 */
    memcpy(xt_far_data, "\x90\xb8\x01\x00\x00\x00\xc3", 7);
    memcpy(xt_far_data + 0x10, "\xe9\xec\xff\xff\xff", 5);
    /* hi: c at hi_va (nop; mov eax,2; ret), d at hi_va + 0x10: jmp c+1 */
    memcpy(xt_far_data + 0x100, "\x90\xb8\x02\x00\x00\x00\xc3", 7);
    memcpy(xt_far_data + 0x110, "\xe9\xec\xff\xff\xff", 5);
    xt_func(img, "a", 0x1000, 7);
    xt_func(img, "b", 0x1010, 5);
    xt_func(img, "c", hi_va, 7);
    xt_func(img, "d", hi_va + 0x10, 5);
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    return img;
}

static void test_table_far_apart(void **state)
{
    (void)state;
    uint64_t hi = 0x5000000000ull; /* 320 GiB up */
    hp_image *img = xt_far_image(hi);
    hp_xref_range r[] = {{0x1000, 0x1006}, {hi, hi + 6}};
    hp_xrefs x;
    assert_int_equal(hp_xrefs_build(img, r, 2, &x), HP_OK);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.v[0], 0x1001);
    assert_int_equal(x.v[1], hi + 1);
    hp_xrefs_free(&x);
    assert_int_equal(hp_xrefs_build(img, NULL, 0, &x), HP_OK); /* what `list` does */
    assert_true(hp_xrefs_any_in(&x, 0x1000, 0x1006));
    assert_true(hp_xrefs_any_in(&x, hi, hi + 6));
    assert_false(hp_xrefs_any_in(&x, 0x1010, 0x1015));
    hp_xrefs_free(&x);
    hp_image_close(img);
}

/* Two clusters 1.5 GiB apart (past the gap that splits them): a rel32
 * branch in the low segment into the high one is still found. */
static void test_table_clusters_in_reach(void **state)
{
    (void)state;
    uint64_t hi = 0x1000 + 0x60000000ull;
    hp_image *img = xt_far_image(hi);
    /* b at 0x1010 now jumps to c+1 in the high segment; d just returns */
    hp_wr32(xt_far_data + 0x11, (uint32_t)(hi + 1 - (0x1010 + 5)));
    memset(xt_far_data + 0x110, 0xc3, 5);
    hp_xref_range r[] = {{0x1000, 0x1006}, {hi, hi + 6}};
    hp_xrefs x;
    assert_int_equal(hp_xrefs_build(img, r, 2, &x), HP_OK);
    assert_int_equal(x.n, 1); /* c+1, from b only; nothing lands in a */
    assert_int_equal(x.v[0], hi + 1);
    assert_false(hp_xrefs_any_in(&x, 0x1000, 0x1006));
    hp_xrefs_free(&x);
    hp_image_close(img);
}

/* ---- the code map's rule: executable segments, less the backend's data
 * ranges in which no function starts */

static hp_status xt_fake_code(const hp_image *img, hp_code_map *m)
{
    (void)img;
    HP_CHECK(hp_code_add_data(m, 0x1020, 0x20));  /* between f1 and f2: skipped */
    HP_CHECK(hp_code_add_data(m, 0x1100, 0x80));  /* data holding f4's start: scanned */
    HP_CHECK(hp_code_add_data(m, 0x1200, 0x100)); /* data, no start: skipped */
    HP_CHECK(hp_code_add_data(m, 0x1250, 0x10));  /* overlapping the one before */
    HP_CHECK(hp_code_add_data(m, 0x9000, 0x10));  /* outside every segment */
    return hp_code_add_start(m, 0x1310);          /* an unwind-only start */
}

static void test_code_map_data_rule(void **state)
{
    (void)state;
    static hp_format fake = {.name = "fake", .code = xt_fake_code};
    hp_image *img = xt_std();
    img->fmt = &fake;
    hp_code_map m;
    assert_int_equal(hp_image_code(img, &m), HP_OK);
    static const uint64_t want[][2] = {{0x1000, 0x20}, {0x1040, 0x1c0}, {0x1300, 0x100}};
    assert_int_equal(m.nranges, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(m.ranges[i].va, want[i][0]);
        assert_int_equal(m.ranges[i].size, want[i][1]);
    }
    assert_int_equal(m.ndata, 0);
    assert_int_equal(m.nstarts, 6);
    assert_int_equal(m.starts[5], 0x1310);
    hp_code_map_free(&m);
    img->fmt = NULL;
    hp_image_close(img);
}

/* A real ELF with .text's SHF_EXECINSTR cleared (the loader does not care):
 * the code ranges stay the same, since .text holds functions. */
static void test_code_map_elf_flag_cleared(void **state)
{
    (void)state;
    char self[4096] = "", path[] = "/tmp/hp_test_xref_nx_XXXXXX";
    assert_true(readlink("/proc/self/exe", self, sizeof self - 1) > 0);
    FILE *in = fopen(self, "rb");
    assert_non_null(in);
    static uint8_t buf[16 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    assert_true(n > 64 && n < sizeof buf);
    uint64_t shoff = hp_rd64(buf + 0x28);
    unsigned shentsize = hp_rd16(buf + 0x3a), shnum = hp_rd16(buf + 0x3c);
    unsigned shstrndx = hp_rd16(buf + 0x3e);
    uint64_t names = hp_rd64(buf + shoff + shstrndx * shentsize + 0x18);
    int cleared = 0;
    for (unsigned i = 0; i < shnum; i++) {
        uint8_t *sh = buf + shoff + (uint64_t)i * shentsize;
        if (!strcmp((const char *)buf + names + hp_rd32(sh), ".text")) {
            hp_wr64(sh + 8, hp_rd64(sh + 8) & ~(uint64_t)4);
            cleared++;
        }
    }
    assert_int_equal(cleared, 1);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
    hp_diags d = {0};
    hp_image *a = NULL, *b = NULL;
    assert_int_equal(hp_image_open(self, &d, &a), HP_OK);
    assert_int_equal(hp_image_open(path, &d, &b), HP_OK);
    hp_code_map ma, mb;
    assert_int_equal(hp_image_code(a, &ma), HP_OK);
    assert_int_equal(hp_image_code(b, &mb), HP_OK);
    assert_int_equal(ma.nranges, mb.nranges);
    for (size_t i = 0; i < ma.nranges; i++) {
        assert_int_equal(ma.ranges[i].va, mb.ranges[i].va);
        assert_int_equal(ma.ranges[i].size, mb.ranges[i].size);
    }
    hp_code_map_free(&ma);
    hp_code_map_free(&mb);
    hp_image_close(a);
    hp_image_close(b);
    hp_diags_free(&d);
    unlink(path);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    for (int k = 0; k < 40; k++) {
        hp_image *img = xt_std();
        hp_xrefs x;
        hp_mem_fail_after(k);
        hp_status s = hp_xrefs_build(img, NULL, 0, &x);
        hp_mem_fail_after(-1);
        assert_true(s == HP_OK || s == HP_ERR_NOMEM);
        hp_xrefs_free(&x);
        hp_image_close(img);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates_every_form),
        cmocka_unit_test(test_candidates_superset_random),
        cmocka_unit_test(test_candidates_superset_filtered),
        cmocka_unit_test(test_table_watch_all),
        cmocka_unit_test(test_table_watch_some),
        cmocka_unit_test(test_table_narrow),
        cmocka_unit_test(test_table_empty),
        cmocka_unit_test(test_table_entries),
        cmocka_unit_test(test_code_map_fallback),
        cmocka_unit_test(test_code_map_elf),
        cmocka_unit_test(test_code_map_elf_stripped),
        cmocka_unit_test(test_table_far_apart),
        cmocka_unit_test(test_table_clusters_in_reach),
        cmocka_unit_test(test_code_map_data_rule),
        cmocka_unit_test(test_code_map_elf_flag_cleared),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
