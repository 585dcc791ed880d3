/* Unit tests for the resolve pass (rewriter/resolve.c) over a synthetic
 * image: which hook claims each function when rules overlap (two globs,
 * aliases, an exact rule after another), and the cross-checks of
 * `replace =` and `original =` (the target itself, the replacement, bound
 * twice, hooked elsewhere, cycles, outside executable code), each reported
 * at its rules location, all of them in one run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rewriter/rewriter.h"

#define RULES "r.toml"

/* ---- a synthetic image: functions f0..f15 of 16 bytes in an r-x segment
 * (f3 also named f3_alias), and a FUNC symbol in an rw- segment */

static uint8_t rs_data[0x200];
static const char *const rs_names[] = {"f", "g", "h", "k", "p", "q", "r", "s",
                                       "t1", "t2", "t3", "o1", "o2", "main", "x", "y"};
#define RS_NFUNCS 16

static hp_image *rs_image(void)
{
    hp_image *img = hp_calloc(1, sizeof *img);
    assert_non_null(img);
    for (size_t i = 0; i < RS_NFUNCS; i++) { /* mov eax, i; ret; int3 padding */
        uint8_t *p = rs_data + 16 * i;
        memset(p, 0xcc, 16);
        p[0] = 0xb8;
        p[1] = (uint8_t)i;
        p[2] = p[3] = p[4] = 0;
        p[5] = 0xc3;
    }
    img->data = rs_data;
    img->size = sizeof rs_data;
    img->kind = HP_FMT_ELF;
    hp_segment text = {0x1000, 0x100, 0, 0x100, HP_PROT_R | HP_PROT_X};
    hp_segment data = {0x2000, 0x100, 0x100, 0x100, HP_PROT_R | HP_PROT_W};
    assert_int_equal(hp_image_add_segment(img, &text), HP_OK);
    assert_int_equal(hp_image_add_segment(img, &data), HP_OK);
    for (size_t i = 0; i < RS_NFUNCS; i++)
        assert_int_equal(hp_image_add_symbol(img, rs_names[i], strlen(rs_names[i]),
                                             0x1000 + 16 * i, 16, HP_SYM_FUNC, HP_SRC_SYMTAB,
                                             true),
                         HP_OK);
    assert_int_equal(hp_image_add_symbol(img, "f3_alias", 8, 0x1030, 16, HP_SYM_FUNC,
                                         HP_SRC_SYMTAB, true),
                     HP_OK);
    assert_int_equal(hp_image_add_symbol(img, "datafn", 6, 0x2010, 8, HP_SYM_FUNC,
                                         HP_SRC_SYMTAB, true),
                     HP_OK);
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    return img;
}

/* ---- rules, written as the rules parser would fill them: a [[hook]]
 * header on line L, target = on L+1 col 10, the action on L+2 col 11 and
 * original = on L+3 col 12 */

typedef struct rs_rules {
    hp_hook_req v[16];
    hp_hook_reqs reqs;
} rs_rules;

static hp_hook_req *rs_add(rs_rules *r, const char *target, hp_action act, const char *arg,
                           const char *original)
{
    hp_hook_req *q = &r->v[r->reqs.n];
    uint32_t line = 1 + 5 * (uint32_t)r->reqs.n;
    memset(q, 0, sizeof *q);
    q->loc = (hp_loc){RULES, line, 1};
    q->target = (char *)target;
    q->target_loc = (hp_loc){RULES, line + 1, 10};
    q->target_kind = strpbrk(target, "*?[") ? HP_TGT_GLOB : HP_TGT_NAME;
    q->action = act;
    q->action_loc = (hp_loc){RULES, line + 2, 11};
    if (act == HP_ACT_REPLACE)
        q->replace = (char *)arg;
    q->original = (char *)original;
    q->original_loc = (hp_loc){RULES, line + 3, 12};
    r->reqs.v = r->v;
    r->reqs.path = RULES;
    r->reqs.n++;
    return q;
}

typedef struct rs_run {
    hp_image *img;
    hp_plan plan;
    hp_diags d;
    hp_status st;
} rs_run;

static void rs_resolve(rs_run *run, rs_rules *r)
{
    memset(run, 0, sizeof *run);
    run->img = rs_image();
    run->plan.img = run->img;
    run->st = hp_resolve(&run->plan, &r->reqs, &run->d);
}

static void rs_done(rs_run *run)
{
    hp_plan_free(&run->plan);
    hp_image_close(run->img);
    hp_diags_free(&run->d);
}

/* Diagnostic i is an error at line:col with exactly this message. */
static void rs_assert_error(const rs_run *run, size_t i, uint32_t line, uint32_t col,
                            const char *msg)
{
    assert_true(i < run->d.n);
    const hp_diag *g = &run->d.v[i];
    if (g->level != HP_DIAG_ERROR || g->line != line || g->col != col || strcmp(g->msg, msg)) {
        print_error("diag %zu: level %d at %u:%u: %s\nwanted error at %u:%u: %s\n", i,
                    g->level, g->line, g->col, g->msg, line, col, msg);
        fail();
    }
    assert_string_equal(g->file, RULES);
}

static const hp_hook *rs_hook(const rs_run *run, const char *target, const hp_hook_req *req)
{
    for (size_t i = 0; i < run->plan.n; i++)
        if (!strcmp(run->plan.v[i].target->name, target) && run->plan.v[i].req == req)
            return &run->plan.v[i];
    return NULL;
}

/* ---- claims */

/* Two globs over every function: the plan grows past the room reserved
 * for one hook per function while the second glob skips what the first
 * claimed (this read freed memory), each skip naming the first rule's
 * path:line:col; an alias is skipped once, with its address. */
static void test_two_globs(void **state)
{
    (void)state;
    rs_rules r = {0};
    hp_hook_req *a = rs_add(&r, "*", HP_ACT_PASSTHROUGH, NULL, NULL);
    hp_hook_req *b = rs_add(&r, "*", HP_ACT_TRAP, NULL, NULL);
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_OK);
    assert_int_equal(run.d.errors + run.d.warnings, 0);
    /* datafn is a FUNC symbol: claimed too (the site analysis refuses it) */
    assert_int_equal(run.plan.n, 2 * (RS_NFUNCS + 1));
    assert_non_null(rs_hook(&run, "datafn", a));
    for (size_t i = 0; i < RS_NFUNCS; i++) {
        const hp_hook *ha = rs_hook(&run, rs_names[i], a);
        const hp_hook *hb = rs_hook(&run, rs_names[i], b);
        if (i == 3) /* f3_alias sorts before p: its address is claimed under that name */
            ha = rs_hook(&run, "f3_alias", a), hb = rs_hook(&run, "f3_alias", b);
        assert_non_null(ha);
        assert_non_null(hb);
        assert_int_equal(ha->state, HP_HOOK_PLANNED);
        assert_int_equal(hb->state, HP_HOOK_SKIPPED);
        assert_string_equal(hp_hook_skip_reason(hb, &run.d),
                            "already hooked by the rule at " RULES ":2:10");
        /* the reason is a diagnostic at the skipped rule's target =, about
         * the function */
        const hp_diag *g = &run.d.v[hb->skip];
        assert_int_equal(g->level, HP_DIAG_REASON);
        assert_string_equal(g->file, RULES);
        assert_int_equal(g->line, 7);
        assert_int_equal(g->col, 10);
        assert_string_equal(g->target, hb->target->name);
        assert_true(g->va == hb->target->va);
    }
    /* one reason per skipped hook, and nothing else */
    assert_int_equal(run.d.n, RS_NFUNCS + 1);
    rs_done(&run);
}

/* An exact rule on a function a glob already claimed is an error naming
 * the glob's full location; an exact rule reached through an alias too. */
static void test_exact_after_claim(void **state)
{
    (void)state;
    rs_rules r = {0};
    rs_add(&r, "t*", HP_ACT_TRAP, NULL, NULL);
    rs_add(&r, "t2", HP_ACT_PASSTHROUGH, NULL, NULL);
    rs_add(&r, "k", HP_ACT_TRAP, NULL, NULL);
    rs_add(&r, "f3_alias", HP_ACT_TRAP, NULL, NULL);
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.n, 2);
    rs_assert_error(&run, 0, 7, 10, "'t2' is already hooked by the rule at " RULES ":2:10");
    rs_assert_error(&run, 1, 17, 10, "'f3_alias' is already hooked by the rule at " RULES ":12:10");
    rs_done(&run);
}

/* ---- original = and replace = */

static void test_original_is_target(void **state)
{
    (void)state;
    rs_rules r = {0};
    rs_add(&r, "f", HP_ACT_REPLACE, "g", "f");
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.n, 1);
    rs_assert_error(&run, 0, 4, 12,
                    "original 'f' is the target itself: its entry is the one the hook "
                    "overwrites, so the hook would be undone");
    rs_done(&run);
}

static void test_original_is_replacement(void **state)
{
    (void)state;
    rs_rules r = {0};
    rs_add(&r, "f", HP_ACT_REPLACE, "g", "g");
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.n, 1);
    rs_assert_error(&run, 0, 4, 12,
                    "original 'g' is the replacement itself: its entry would jump to the "
                    "original code, so the replacement would never run");
    rs_done(&run);
}

/* Bound twice; hooked by a later rule; the replacement of another rule. */
static void test_original_conflicts(void **state)
{
    (void)state;
    rs_rules r = {0};
    rs_add(&r, "f", HP_ACT_REPLACE, "h", "o1");      /* lines 1-4 */
    rs_add(&r, "g", HP_ACT_PASSTHROUGH, NULL, "o1"); /* 6-9: o1 again */
    rs_add(&r, "k", HP_ACT_PASSTHROUGH, NULL, "o2"); /* 11-14: o2, hooked below */
    rs_add(&r, "o2", HP_ACT_TRAP, NULL, NULL);       /* 16-19 */
    rs_add(&r, "p", HP_ACT_PASSTHROUGH, NULL, "h");  /* 21-24: h is f's replacement */
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.n, 3);
    rs_assert_error(&run, 0, 9, 12, "original 'o1' is already bound by the rule at " RULES ":4:12");
    rs_assert_error(&run, 1, 14, 12, "original 'o2' is itself hooked by the rule at " RULES ":17:10");
    rs_assert_error(&run, 2, 24, 12,
                    "original 'h' is the replacement named by the rule at " RULES ":3:11");
    rs_done(&run);
}

/* A valid original and a valid chain of replacements (no cycle). */
static void test_valid_refs(void **state)
{
    (void)state;
    rs_rules r = {0};
    hp_hook_req *a = rs_add(&r, "f", HP_ACT_REPLACE, "g", "o1");
    rs_add(&r, "g", HP_ACT_REPLACE, "h", NULL);
    rs_add(&r, "h", HP_ACT_TRAP, NULL, NULL);
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_OK);
    assert_int_equal(run.d.n, 0);
    const hp_hook *h = rs_hook(&run, "f", a);
    assert_non_null(h);
    assert_string_equal(h->replace->name, "g");
    assert_string_equal(h->orig->name, "o1");
    rs_done(&run);
}

static void test_cycles(void **state)
{
    (void)state;
    rs_rules r = {0};
    rs_add(&r, "x", HP_ACT_REPLACE, "f", NULL);  /* 1-3: leads into the cycle, not in it */
    rs_add(&r, "f", HP_ACT_REPLACE, "g", NULL);  /* 6-8 */
    rs_add(&r, "g", HP_ACT_REPLACE, "f", NULL);  /* 11-13 */
    rs_add(&r, "t2", HP_ACT_REPLACE, "t3", NULL); /* 16-18 */
    rs_add(&r, "t3", HP_ACT_REPLACE, "t1", NULL); /* 21-23 */
    rs_add(&r, "t1", HP_ACT_REPLACE, "t2", NULL); /* 26-28 */
    rs_add(&r, "y", HP_ACT_REPLACE, "y", NULL);  /* 31-33: itself, reported as such */
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.n, 3);
    rs_assert_error(&run, 0, 33, 11, "the replacement 'y' is the target itself");
    rs_assert_error(&run, 1, 8, 11,
                    "the replacements form a cycle, f -> g -> f (rules at " RULES ":8:11, " RULES
                    ":13:11): every call would loop forever");
    rs_assert_error(&run, 2, 18, 11,
                    "the replacements form a cycle, t2 -> t3 -> t1 -> t2 (rules at " RULES
                    ":18:11, " RULES ":23:11, " RULES ":28:11): every call would loop forever");
    rs_done(&run);
}

/* A FUNC symbol in a data segment: a replace = or original = there is a
 * rules error; as a target it is left to the site analysis (below). */
static void test_refs_not_code(void **state)
{
    (void)state;
    rs_rules r = {0};
    rs_add(&r, "f", HP_ACT_REPLACE, "datafn", NULL);
    rs_add(&r, "g", HP_ACT_PASSTHROUGH, NULL, "datafn");
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.n, 2);
    rs_assert_error(&run, 0, 3, 11,
                    "the replacement 'datafn' at 0x2010 is not executable code: it lies in a "
                    "non-executable segment (rw-) at 0x2000");
    rs_assert_error(&run, 1, 9, 12,
                    "the original 'datafn' at 0x2010 is not executable code: it lies in a "
                    "non-executable segment (rw-) at 0x2000");
    hp_diags why = {0};
    hp_site site;
    const hp_symbol *s = NULL;
    for (size_t i = 0; i < run.img->nsyms; i++)
        if (!strcmp(run.img->syms[i].name, "datafn"))
            s = &run.img->syms[i];
    assert_non_null(s);
    assert_int_equal(hp_site_analyze(run.img, s, HP_SITE_COPY, NULL, &site, &why),
                     HP_ERR_UNHOOKABLE);
    assert_int_equal(why.n, 1);
    assert_int_equal(why.v[0].level, HP_DIAG_REASON);
    assert_true(why.v[0].va == 0x2010);
    assert_string_equal(why.v[0].msg, "not executable code: it lies in a non-executable segment "
                                      "(rw-) at 0x2000");
    hp_diags_free(&why);
    rs_done(&run);
}

/* Every kind of mistake at once: each reported, in rule order. */
static void test_all_in_one_run(void **state)
{
    (void)state;
    rs_rules r = {0};
    rs_add(&r, "f", HP_ACT_PASSTHROUGH, NULL, "f"); /* 4:12 the target */
    rs_add(&r, "g", HP_ACT_REPLACE, "h", "h");      /* 9:12 the replacement */
    rs_add(&r, "k", HP_ACT_REPLACE, "p", "o1");     /* valid */
    rs_add(&r, "q", HP_ACT_PASSTHROUGH, NULL, "o1"); /* 19:12 bound twice */
    rs_add(&r, "r", HP_ACT_REPLACE, "s", NULL);     /* 23:11 cycle */
    rs_add(&r, "s", HP_ACT_REPLACE, "r", NULL);
    rs_add(&r, "t1", HP_ACT_REPLACE, "datafn", NULL); /* 33:11 not code */
    rs_run run;
    rs_resolve(&run, &r);
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.n, 5);
    rs_assert_error(&run, 0, 4, 12,
                    "original 'f' is the target itself: its entry is the one the hook "
                    "overwrites, so the hook would be undone");
    rs_assert_error(&run, 1, 9, 12,
                    "original 'h' is the replacement itself: its entry would jump to the "
                    "original code, so the replacement would never run");
    rs_assert_error(&run, 2, 33, 11,
                    "the replacement 'datafn' at 0x2010 is not executable code: it lies in a "
                    "non-executable segment (rw-) at 0x2000");
    rs_assert_error(&run, 3, 23, 11,
                    "the replacements form a cycle, r -> s -> r (rules at " RULES ":23:11, " RULES
                    ":28:11): every call would loop forever");
    rs_assert_error(&run, 4, 19, 12, "original 'o1' is already bound by the rule at " RULES ":14:12");
    rs_done(&run);
}

/* An allocation failing anywhere: HP_ERR_NOMEM or success, no leak, no
 * crash (the sanitizer build checks the first two). */
static void test_alloc_failures(void **state)
{
    (void)state;
    for (long k = 0; k < 60; k++) {
        rs_rules r = {0};
        rs_add(&r, "*", HP_ACT_PASSTHROUGH, NULL, NULL);
        rs_add(&r, "*", HP_ACT_TRAP, NULL, NULL);
        rs_add(&r, "f", HP_ACT_REPLACE, "g", "o1");
        rs_add(&r, "g", HP_ACT_REPLACE, "f", NULL);
        rs_run run;
        memset(&run, 0, sizeof run);
        run.img = rs_image();
        run.plan.img = run.img;
        hp_mem_fail_after(k);
        run.st = hp_resolve(&run.plan, &r.reqs, &run.d);
        hp_mem_fail_after(-1);
        assert_true(run.st == HP_ERR_NOMEM || run.st == HP_ERR_RULES);
        rs_done(&run);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_globs),
        cmocka_unit_test(test_exact_after_claim),
        cmocka_unit_test(test_original_is_target),
        cmocka_unit_test(test_original_is_replacement),
        cmocka_unit_test(test_original_conflicts),
        cmocka_unit_test(test_valid_refs),
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_refs_not_code),
        cmocka_unit_test(test_all_in_one_run),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
