/* Unit tests for the planner's one error channel (rewriter/plan.c): every
 * refusal, from the site analysis on worker threads, the x86 relocator under
 * it, or the serial branch-target check, becomes the skipped hook's
 * HP_DIAG_REASON in the run's list, at the rule's location, with the exact
 * text the reports print; the list, the reports and the JSON are the same
 * with one thread and with several; an allocation failing anywhere on those
 * paths ends in a reported error, never a silent change, crash or leak.
 *
 * The input is a real shared library assembled at test time: 4400 functions
 * (more than the planner's threshold for going parallel) of four kinds,
 * three of them refused for different reasons. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hp_par.h"
#include "cli/job.h"
#include "cli/report.h"

#ifndef HP_BINARY_DIR
#error "HP_BINARY_DIR must name the build tree"
#endif
#define WORK HP_BINARY_DIR "/plan-unit"
#define RULES "r.toml"

/* ---- the input: function i is f<i> of kind i % 4 */

enum { K_OK, K_SHORT, K_RSP_CALL, K_LOOP, NKINDS };

static const char *const kind_asm[NKINDS] = {
    /* 55 48 89 e5 5d c3: five bytes of whole instructions to steal */
    "push %rbp\n mov %rsp, %rbp\n pop %rbp\n ret\n",
    /* c3, and the next function right after it: no room for the jump nor
     * the short jump, and (hidden: not exported; never called) no call
     * sites to redirect */
    "ret\n",
    /* 31 c0 ff 54 24 08: the stolen call reads rsp, which the pushed
     * return address would shift (the relocator refuses) */
    "xor %eax, %eax\n call *8(%rsp)\n ret\n",
    /* 53 b8 01 00 00 00 ...: the loop branches to +1, inside the six stolen
     * bytes (the image-wide branch check, after the parallel part, refuses),
     * and inside the short jump's too (push rbx alone is 1 byte) */
    "push %rbx\n1: mov $1, %eax\n dec %edi\n jnz 1b\n pop %rbx\n ret\n",
};

#define NFUNCS 4400 /* more than the 4096 hooks hp_analyze needs to go parallel */

static bool g_ok; /* the library was built */

static int setup(void **state)
{
    (void)state;
    if (system("command -v gcc >/dev/null 2>&1") != 0)
        return 0;
    mkdir(WORK, 0755);
    FILE *f = fopen(WORK "/plan.s", "w");
    if (!f)
        return -1;
    fputs(".text\n", f);
    /* The refused kinds are hidden: an exported one would be hooked at its
     * call sites through its .dynsym value (rewriter/callsite.h). */
    for (int i = 0; i < NFUNCS; i++) {
        bool hidden = i % NKINDS == K_SHORT || i % NKINDS == K_LOOP;
        fprintf(f, ".globl f%05d\n%s f%05d\n.type f%05d, @function\nf%05d:\n %s.size f%05d, "
                ".-f%05d\n", i, hidden ? ".hidden" : ".globl", i, i, i, kind_asm[i % NKINDS], i, i);
    }
    fclose(f);
    g_ok = system("gcc -shared -nostdlib -o " WORK "/plan.so " WORK "/plan.s") == 0;
    return g_ok ? 0 : -1;
}

/* ---- rules, as the rules parser fills them: rule k's target = on line
 * 2 + 3k, column 10 */

typedef struct rules {
    hp_hook_req v[8];
    hp_hook_reqs reqs;
} rules;

static void add_rule(rules *r, const char *target)
{
    hp_hook_req *q = &r->v[r->reqs.n];
    uint32_t line = 1 + 3 * (uint32_t)r->reqs.n;
    memset(q, 0, sizeof *q);
    q->loc = (hp_loc){RULES, line, 1};
    q->target = (char *)target;
    q->target_loc = (hp_loc){RULES, line + 1, 10};
    q->target_kind = strchr(target, '*') ? HP_TGT_GLOB : HP_TGT_NAME;
    q->action = HP_ACT_PASSTHROUGH;
    q->action_loc = (hp_loc){RULES, line + 2, 10};
    r->reqs.v = r->v;
    r->reqs.path = RULES;
    r->reqs.n++;
}

/* ---- one planning run, and everything it says */

typedef struct run {
    hp_image *img;
    hp_diags d;
    hp_plan plan;
    hp_status st;
    bool failed; /* an allocation of the run failed (hp_mem_fail_after) */
} run;

/* How allocations fail during a run. */
typedef enum fail_mode { FAIL_NONE, FAIL_ONE, FAIL_ALL_FROM } fail_mode;

/* Plan on one CPU or on all this process may use, with allocation number k
 * failing (FAIL_ONE), or it and every later one (FAIL_ALL_FROM). */
static void plan_failing(run *r, const rules *rs, bool one_cpu, fail_mode mode, long k)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(hp_image_open(WORK "/plan.so", &r->d, &r->img), HP_OK);
    if (one_cpu) { /* the hook, not the affinity: not every system has one */
        hp_par_limit(1);
        assert_int_equal(hp_par_threads(), 1);
    }
    hp_options opt = {0};
    if (mode == FAIL_ONE)
        hp_mem_fail_one(k);
    else
        hp_mem_fail_after(mode == FAIL_NONE ? -1 : k);
    r->st = hp_plan_build(r->img, &rs->reqs, &opt, &r->d, &r->plan);
    /* With the countdown past the run's last allocation, this one works. */
    bool pending = hp_mem_fail_pending();
    void *probe = hp_malloc(1);
    r->failed = mode == FAIL_ONE ? !pending : mode == FAIL_ALL_FROM && !probe;
    hp_free(probe);
    hp_mem_fail_after(-1);
    hp_par_limit(0);
}

static void plan(run *r, const rules *rs, bool one_cpu)
{
    plan_failing(r, rs, one_cpu, FAIL_NONE, -1);
}

static void done(run *r)
{
    hp_plan_free(&r->plan);
    hp_image_close(r->img);
    hp_diags_free(&r->d);
}

/* Every diagnostic (reasons too, with their addresses), then what the user
 * sees: the dry-run plan, the summary, the printed list and (with json)
 * the JSON, which holds nothing the rest does not. */
static char *snapshot(const run *r, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fprintf(f, "status %d, %zu errors, %zu warnings\n", r->st, r->d.errors, r->d.warnings);
    for (size_t i = 0; i < r->d.n; i++) {
        const hp_diag *g = &r->d.v[i];
        fprintf(f, "%d %s:%u:%u %s 0x%llx %s\n", g->level, g->file ? g->file : "-", g->line,
                g->col, g->target ? g->target : "-", (unsigned long long)g->va, g->msg);
    }
    if (r->plan.img) {
        hp_report_ctx c = {WORK "/plan.so", NULL, true, false, false};
        hp_report_plan(&r->plan, &r->d, f);
        hp_report_summary(&c, &r->plan, &r->d, f);
        if (json)
            hp_report_json(&c, &r->plan, &r->d, f);
    }
    hp_diags_print(&r->d, f);
    fclose(f);
    return buf;
}

static size_t fn_index(const hp_hook *h)
{
    assert_true(h->target->name[0] == 'f');
    return (size_t)strtoul(h->target->name + 1, NULL, 10);
}

/* What the planner says about a function of this kind at va. */
static void expected_reason(int kind, uint64_t va, char *buf, size_t len)
{
    switch (kind) {
    case K_SHORT:
        snprintf(buf, len, "too short: 1 bytes; tried the jump at the entry (needs 5 bytes "
                           "and there is no free padding after it), an island (the entry is "
                           "shorter than the 2-byte short jump), and call sites (no direct "
                           "call, jump or address computation of it was found)");
        break;
    case K_RSP_CALL:
        snprintf(buf, len,
                 "cannot relocate 'call [rsp+0x08]' at 0x%llx: its operand depends on rsp, "
                 "which the pushed return address would shift",
                 (unsigned long long)va + 2);
        break;
    default:
        snprintf(buf, len, "a branch lands inside the 6 bytes the jump would overwrite (a loop "
                           "to the top, or a second entry point); tried call sites instead (no "
                           "direct call, jump or address computation of it was found); and an "
                           "island in moved code (a branch lands inside the 6 bytes the short "
                           "jump would overwrite too)");
    }
}

/* Hook h is skipped with exactly its kind's reason: a reason diagnostic at
 * the rule's target =, naming the function and its address. */
static void check_skip(const run *r, const hp_hook *h, const char *want)
{
    assert_int_equal(h->state, HP_HOOK_SKIPPED);
    assert_string_equal(hp_hook_skip_reason(h, &r->d), want);
    assert_true(h->skip < r->d.n);
    const hp_diag *g = &r->d.v[h->skip];
    assert_int_equal(g->level, HP_DIAG_REASON);
    assert_string_equal(g->file, RULES);
    assert_int_equal(g->line, h->req->target_loc.line);
    assert_int_equal(g->col, 10);
    assert_string_equal(g->target, h->target->name);
    assert_true(g->va == h->target->va);
}

/* ---- tests */

/* A glob over every function: each refused one is skipped with its exact
 * reason, nothing is listed as an error or printed, and one thread and
 * several say the same, byte for byte. */
static void test_glob_reasons_any_threads(void **state)
{
    (void)state;
    if (!g_ok)
        skip();
    if (hp_par_threads() < 2)
        print_message("only one CPU: the runs below cannot differ in threads\n");
    rules rs = {0};
    add_rule(&rs, "f*");
    run one, many;
    plan(&one, &rs, true);
    plan(&many, &rs, false);
    assert_int_equal(many.st, HP_OK);
    assert_int_equal(many.plan.n, NFUNCS);
    assert_int_equal(many.plan.nskipped, NFUNCS / 4 * 3);
    assert_int_equal(many.d.errors + many.d.warnings, 0);
    for (size_t i = 0; i < many.plan.n; i++) {
        const hp_hook *h = &many.plan.v[i];
        int kind = (int)(fn_index(h) % NKINDS);
        char want[512];
        if (kind == K_OK) {
            assert_int_equal(h->state, HP_HOOK_PLANNED);
            continue;
        }
        expected_reason(kind, h->target->va, want, sizeof want);
        check_skip(&many, h, want);
    }
    char *a = snapshot(&one, true), *b = snapshot(&many, true);
    assert_string_equal(a, b);
    assert_non_null(strstr(b, "\"diagnostics\":\t[]")); /* reasons are not diagnostics there */
    free(a);
    free(b);
    done(&one);
    done(&many);
}

/* Exact rules on refused functions are errors quoting the reason, in rule
 * order, at each rule's location; the glob after them skips those
 * functions as already claimed. Same with one thread and several. */
static void test_exact_errors_any_threads(void **state)
{
    (void)state;
    if (!g_ok)
        skip();
    rules rs = {0};
    add_rule(&rs, "f00003"); /* loop: refused by the serial branch check */
    add_rule(&rs, "f00002"); /* refused by the relocator, on a worker */
    add_rule(&rs, "f00001"); /* too short */
    add_rule(&rs, "f*");
    run one, many;
    plan(&one, &rs, true);
    plan(&many, &rs, false);
    assert_int_equal(many.st, HP_ERR_UNHOOKABLE);
    assert_int_equal(many.d.errors, 3);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    hp_diags_print(&many.d, f);
    fclose(f);
    char want[2048], r3[512], r2[512], r1[512];
    const hp_hook *h3 = &many.plan.v[0], *h2 = &many.plan.v[1], *h1 = &many.plan.v[2];
    expected_reason(K_LOOP, h3->target->va, r3, sizeof r3);
    expected_reason(K_RSP_CALL, h2->target->va, r2, sizeof r2);
    expected_reason(K_SHORT, h1->target->va, r1, sizeof r1);
    /* The two refused in the parallel part first, in rule order; then the
     * one the branch check after it refused. */
    snprintf(want, sizeof want,
             "hookpatch: error: " RULES ":5:10: target 'f00002': cannot hook at 0x%llx: %s\n"
             "hookpatch: error: " RULES ":8:10: target 'f00001': cannot hook at 0x%llx: %s\n"
             "hookpatch: error: " RULES ":2:10: target 'f00003': cannot hook at 0x%llx: %s\n",
             (unsigned long long)h2->target->va, r2, (unsigned long long)h1->target->va, r1,
             (unsigned long long)h3->target->va, r3);
    assert_string_equal(out, want);
    free(out);
    check_skip(&many, h3, r3);
    check_skip(&many, h2, r2);
    check_skip(&many, h1, r1);
    size_t claimed = 0;
    for (size_t i = 3; i < many.plan.n; i++) {
        size_t fn = fn_index(&many.plan.v[i]);
        if (fn < 1 || fn > 3)
            continue;
        snprintf(want, sizeof want, "already hooked by the rule at " RULES ":%zu:10",
                 2 + 3 * (3 - fn));
        check_skip(&many, &many.plan.v[i], want);
        claimed++;
    }
    assert_int_equal(claimed, 3);
    char *a = snapshot(&one, true), *b = snapshot(&many, true);
    assert_string_equal(a, b);
    free(a);
    free(b);
    done(&one);
    done(&many);
}

/* Sweep allocation k across the run (denser at the start) in this mode:
 * either the run is untouched or it ends with an error the user sees, exit
 * code 1; never a crash, a leak (the sanitizer build) or a quietly
 * different plan. Returns the number of runs where an allocation failed. */
static size_t sweep(const rules *rs, const char *want, fail_mode mode)
{
    size_t runs = 0;
    for (long k = 0;; k += 1 + k / 6) {
        run r;
        plan_failing(&r, rs, false, mode, k);
        char *got = snapshot(&r, false);
        bool failed = r.failed;
        if (!failed)
            assert_string_equal(got, want);
        if (strcmp(got, want)) {
            assert_int_equal(hp_job_exit_code(&r.d, r.st, "plan.so"), 1);
            bool said = false;
            for (size_t i = 0; i < r.d.n; i++)
                said |= r.d.v[i].level == HP_DIAG_ERROR && r.d.v[i].msg[0];
            assert_true(said);
        }
        free(got);
        done(&r);
        if (!failed)
            return runs;
        runs++;
    }
}

/* The reference run of rs, and sweeps of it in the given modes. */
static void sweeps(const rules *rs, hp_status ref_st, fail_mode a, fail_mode b)
{
    run ref;
    plan(&ref, rs, false);
    assert_int_equal(ref.st, ref_st);
    char *want = snapshot(&ref, false);
    done(&ref);
    size_t na = sweep(rs, want, a), nb = b == FAIL_NONE ? 41 : sweep(rs, want, b);
    print_message("runs with a failing allocation: %zu, %zu\n", na, nb);
    assert_true(na > 40 && nb > 40); /* the sweep reached deep into the run */
    free(want);
}

/* On every CPU, so the failures land on worker threads too: a glob whose
 * run succeeds with many skips, with one allocation failing (the others
 * work, so a failure handled silently would show as a changed plan with
 * exit code 0) and with every allocation failing from one on; then a run
 * that fails anyway (an exact rule refused), so its error paths lose
 * allocations too. */
static void test_alloc_failures(void **state)
{
    (void)state;
    if (!g_ok)
        skip();
    rules glob = {0}, exact = {0};
    add_rule(&glob, "f*");
    sweeps(&glob, HP_OK, FAIL_ONE, FAIL_ALL_FROM);
    add_rule(&exact, "f00002");
    add_rule(&exact, "f*");
    sweeps(&exact, HP_ERR_UNHOOKABLE, FAIL_ONE, FAIL_NONE);
}

/* `hookpatch list` with its reasons as text, and the status. */
static hp_status list_text(const hp_image *img, char **text)
{
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    assert_non_null(f);
    hp_status s = hp_list(img, "f0001*", false, f);
    fclose(f);
    return s;
}

/* `list` records each refusal's reason too: one allocation failing gives
 * the same listing or HP_ERR_NOMEM (which cli/ reports), never a line with
 * its reason missing. */
static void test_list_alloc_failures(void **state)
{
    (void)state;
    if (!g_ok)
        skip();
    hp_diags d = {0};
    hp_image *img = NULL;
    assert_int_equal(hp_image_open(WORK "/plan.so", &d, &img), HP_OK);
    char *want = NULL, *got = NULL;
    assert_int_equal(list_text(img, &want), HP_OK);
    assert_non_null(strstr(want, "replace-only f00010  # cannot relocate 'call [rsp+0x08]'"));
    size_t runs = 0;
    for (long k = 0;; k++, runs++) {
        hp_mem_fail_one(k);
        hp_status s = list_text(img, &got);
        bool failed = !hp_mem_fail_pending();
        hp_mem_fail_after(-1);
        if (s == HP_OK)
            assert_string_equal(got, want);
        else
            assert_int_equal(s, HP_ERR_NOMEM);
        free(got);
        if (!failed)
            break;
    }
    assert_true(runs > 50);
    free(want);
    hp_image_close(img);
    hp_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_reasons_any_threads),
        cmocka_unit_test(test_exact_errors_any_threads),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_list_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
