/* Unit tests for rewriter/info.c, the hookpatch record: the text must not
 * change (outputs of earlier versions are read back by `hookpatch list` and
 * refused a second patch), so hp_info_encode is compared byte for byte with
 * a plain printf rendering of the format in info.h, on plans built by hand:
 * extreme numbers, every byte value, ranges longer than the 32 recorded,
 * skipped hooks, an empty plan, appending after existing bytes, and
 * allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rewriter/info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the reference: the format of info.h, with printf */

static void ref_printf(hp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ref_printf(hp_buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof line);
    assert_int_equal(hp_buf_append(b, line, (size_t)n), HP_OK);
}

static void ref_hex(hp_buf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && i < 32; i++)
        ref_printf(b, "%02x", p[i]);
}

static void ref_encode(const hp_plan *p, hp_buf *b)
{
    ref_printf(b, "hookpatch-info 1\n");
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state != HP_HOOK_PLANNED)
            continue;
        ref_printf(b, "hook %s %s 0x%llx 0x%llx ", hp_action_name(h->req->action),
                   h->target->name, (unsigned long long)h->target->va,
                   (unsigned long long)h->site.patch_va);
        ref_hex(b, h->site.bytes, h->site.steal_len);
        ref_printf(b, " -> 0x%llx\n", (unsigned long long)h->dest_va);
    }
    for (size_t i = 0; i < p->ed.npatches; i++) {
        const hp_patch *pt = &p->ed.patches[i];
        ref_printf(b, "site 0x%llx ", (unsigned long long)pt->va);
        ref_hex(b, pt->orig, pt->len);
        ref_printf(b, " ");
        ref_hex(b, pt->bytes, pt->len);
        ref_printf(b, "\n");
    }
}

/* ---- plans built by hand */

typedef struct fx {
    hp_plan plan;
    hp_hook_req reqs[5]; /* one per action */
    hp_symbol *syms;
    char (*names)[64];
} fx;

static uint64_t fx_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A number of every width, from 0 to UINT64_MAX. */
static uint64_t fx_num(uint64_t *s, size_t i)
{
    switch (i % 4) {
    case 0: return i % 8 == 0 ? 0 : UINT64_MAX;
    case 1: return fx_rand(s) >> (fx_rand(s) % 64);
    case 2: return (uint64_t)1 << (i % 64);
    default: return fx_rand(s);
    }
}

static void fx_build(fx *f, size_t nhooks, size_t npatches, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    for (int a = 0; a < 5; a++)
        f->reqs[a].action = (hp_action)a;
    f->syms = calloc(nhooks ? nhooks : 1, sizeof *f->syms);
    f->names = calloc(nhooks ? nhooks : 1, sizeof *f->names);
    assert_non_null(f->syms);
    assert_non_null(f->names);
    f->plan.v = calloc(nhooks ? nhooks : 1, sizeof *f->plan.v);
    assert_non_null(f->plan.v);
    f->plan.n = f->plan.cap = nhooks;
    uint64_t s = seed | 1;
    for (size_t i = 0; i < nhooks; i++) {
        hp_hook *h = &f->plan.v[i];
        /* names of every length up to 62, C++ and versioned spellings */
        size_t len = 1 + fx_rand(&s) % 62;
        for (size_t k = 0; k < len; k++)
            f->names[i][k] = "_ZN4llvm3fooEv@.$abcXYZ019"[fx_rand(&s) % 26];
        f->names[i][len] = 0;
        f->syms[i] = (hp_symbol){.name = f->names[i], .va = fx_num(&s, i)};
        h->req = &f->reqs[i % 5];
        h->target = &f->syms[i];
        h->state = i % 7 == 3 ? HP_HOOK_SKIPPED : HP_HOOK_PLANNED;
        h->site.patch_va = fx_num(&s, i + 1);
        h->dest_va = fx_num(&s, i + 2);
        h->site.steal_len = (uint32_t)(i % 41); /* 33..40: only 32 are recorded */
        for (size_t k = 0; k < sizeof h->site.bytes; k++)
            h->site.bytes[k] = (uint8_t)(i * 32 + k); /* every byte value */
    }
    for (size_t i = 0; i < npatches; i++) {
        hp_patch pt = {.va = fx_num(&s, i), .len = (uint32_t)(i % 40)};
        for (size_t k = 0; k < sizeof pt.bytes; k++) {
            pt.orig[k] = (uint8_t)(i * 32 + k);
            pt.bytes[k] = (uint8_t)fx_rand(&s);
        }
        assert_int_equal(hp_edit_add_patch(&f->plan.ed, &pt), HP_OK);
    }
}

static void fx_free(fx *f)
{
    hp_edit_free(&f->plan.ed);
    free(f->plan.v);
    free(f->syms);
    free(f->names);
}

static void expect_same(const hp_plan *p, const char *prefix)
{
    hp_buf want = {0}, got = {0};
    assert_int_equal(hp_buf_append(&want, prefix, strlen(prefix)), HP_OK);
    assert_int_equal(hp_buf_append(&got, prefix, strlen(prefix)), HP_OK);
    ref_encode(p, &want);
    assert_int_equal(hp_info_encode(p, &got), HP_OK);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    assert_true(got.len <= got.cap);
    hp_buf_free(&want);
    hp_buf_free(&got);
}

/* ---- tests */

static void test_empty_plan(void **state)
{
    (void)state;
    fx f;
    fx_build(&f, 0, 0, 1);
    hp_buf b = {0};
    assert_int_equal(hp_info_encode(&f.plan, &b), HP_OK);
    assert_int_equal(b.len, strlen("hookpatch-info 1\n"));
    assert_memory_equal(b.data, "hookpatch-info 1\n", b.len);
    hp_buf_free(&b);
    fx_free(&f);
}

static void test_known_lines(void **state)
{
    (void)state;
    fx f;
    fx_build(&f, 1, 0, 1);
    hp_hook *h = &f.plan.v[0];
    h->req = &f.reqs[HP_ACT_PASSTHROUGH];
    f.syms[0] = (hp_symbol){.name = "get_answer", .va = 0x401126};
    h->site.patch_va = 0x40112a;
    h->site.steal_len = 5;
    memcpy(h->site.bytes, "\x55\x48\x89\xe5\xb8", 5);
    h->dest_va = 0;
    hp_patch pt = {.va = 0x40112a, .len = 5};
    memcpy(pt.orig, h->site.bytes, 5);
    memcpy(pt.bytes, "\xe9\x00\x10\xff\x0f", 5);
    assert_int_equal(hp_edit_add_patch(&f.plan.ed, &pt), HP_OK);
    hp_buf b = {0};
    assert_int_equal(hp_info_encode(&f.plan, &b), HP_OK);
    static const char want[] = "hookpatch-info 1\n"
                               "hook passthrough get_answer 0x401126 0x40112a 554889e5b8 -> 0x0\n"
                               "site 0x40112a 554889e5b8 e90010ff0f\n";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.data, want, b.len);
    hp_buf_free(&b);
    fx_free(&f);
}

static void test_matches_printf(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fx f;
        fx_build(&f, 500, 600, seed);
        expect_same(&f.plan, "");
        fx_free(&f);
    }
}

/* Records are appended to what the buffer already holds. */
static void test_appends(void **state)
{
    (void)state;
    fx f;
    fx_build(&f, 50, 50, 7);
    expect_same(&f.plan, "earlier bytes\n");
    hp_buf b = {0};
    assert_int_equal(hp_info_encode(&f.plan, &b), HP_OK);
    size_t one = b.len;
    assert_int_equal(hp_info_encode(&f.plan, &b), HP_OK);
    assert_int_equal(b.len, 2 * one);
    assert_memory_equal(b.data + one, b.data, one);
    hp_buf_free(&b);
    fx_free(&f);
}

/* The longest lines: 32 recorded bytes and 16-digit numbers everywhere. */
static void test_longest_lines(void **state)
{
    (void)state;
    fx f;
    fx_build(&f, 64, 64, 3);
    for (size_t i = 0; i < 64; i++) {
        hp_hook *h = &f.plan.v[i];
        h->state = HP_HOOK_PLANNED;
        h->site.steal_len = 32 + (uint32_t)i;
        f.syms[i].va = h->site.patch_va = h->dest_va = UINT64_MAX - i;
        f.plan.ed.patches[i].len = 32 + (uint32_t)i * 1000;
        f.plan.ed.patches[i].va = UINT64_MAX - i;
    }
    expect_same(&f.plan, "");
    fx_free(&f);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    fx f;
    fx_build(&f, 20, 20, 5);
    hp_buf b = {0};
    assert_int_equal(hp_buf_append(&b, "x", 1), HP_OK);
    hp_mem_fail_after(0);
    hp_status s = hp_info_encode(&f.plan, &b);
    hp_mem_fail_after(-1);
    assert_int_equal(s, HP_ERR_NOMEM);
    assert_int_equal(b.len, 1); /* nothing half-written */
    assert_int_equal(b.data[0], 'x');
    hp_buf_free(&b);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_plan),
        cmocka_unit_test(test_known_lines),
        cmocka_unit_test(test_matches_printf),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_longest_lines),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
