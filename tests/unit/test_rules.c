/* Unit tests for cli/rules.c and cli/toml_adapter.cpp: every schema error
 * with its exact location and message, the happy paths, and allocation
 * failure at every allocation. Files are written only under a mkdtemp
 * directory, removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/rules.h"
#include "cli/toml_adapter.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char rt_dir[PATH_MAX];   /* the mkdtemp directory */
static char rt_path[PATH_MAX];  /* rt_dir/rules.toml: the path every parse uses */
static char rt_obj[PATH_MAX];   /* rt_dir/mocks/add.o, an existing dummy object */

/* ---- fixture */

static void rt_join(char *out, const char *a, const char *b)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
    assert_true(n > 0 && n < PATH_MAX);
}

static void rt_write(const char *rel, const char *text)
{
    char p[PATH_MAX];
    rt_join(p, rt_dir, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void rt_mkdir(const char *rel)
{
    char p[PATH_MAX];
    rt_join(p, rt_dir, rel);
    assert_int_equal(mkdir(p, 0700), 0);
}

static int rt_setup(void **state)
{
    char tmpl[] = "/tmp/hp_test_rules.XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(rt_dir, sizeof rt_dir, "%s", tmpl);
    rt_join(rt_path, rt_dir, "rules.toml");
    rt_mkdir("mocks");
    rt_mkdir("sub");
    rt_write("mocks/add.o", "not really an object; only its existence is checked\n");
    rt_write("sub/stub.o", "x");
    rt_join(rt_obj, rt_dir, "mocks/add.o");
    return 0;
}

static void rt_remove(const char *rel, int (*fn)(const char *))
{
    char p[PATH_MAX];
    rt_join(p, rt_dir, rel);
    fn(p); /* missing entries are fine: not every test creates them */
}

static int rt_teardown(void **state)
{
    static const char *const files[] = {"rules.toml", "mocks/add.o", "sub/stub.o", "sub/r.toml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        rt_remove(files[i], unlink);
    rt_remove("mocks", rmdir);
    rt_remove("sub", rmdir);
    return rmdir(rt_dir);
}

/* ---- helpers */

typedef struct rt_run {
    hp_status st;
    hp_hook_reqs r;
    hp_diags d;
} rt_run;

static void rt_parse(rt_run *run, const char *text)
{
    memset(run, 0, sizeof *run);
    run->st = hp_rules_parse(rt_path, text, strlen(text), &run->r, &run->d);
}

static void rt_done(rt_run *run)
{
    hp_hook_reqs_free(&run->r);
    hp_diags_free(&run->d);
}

static void rt_assert_empty(const hp_hook_reqs *r)
{
    assert_int_equal(r->n, 0);
    assert_null(r->v);
    assert_null(r->path);
}

static void rt_assert_diag(const rt_run *run, size_t i, hp_diag_level lvl, uint32_t line,
                           uint32_t col, const char *substr)
{
    assert_true(i < run->d.n);
    const hp_diag *g = &run->d.v[i];
    if (!strstr(g->msg, substr))
        fail_msg("diag %zu: '%s' does not contain '%s'", i, g->msg, substr);
    assert_int_equal(g->level, lvl);
    assert_int_equal(g->line, line);
    assert_int_equal(g->col, col);
    assert_string_equal(g->file, rt_path);
}

/* text must fail with exactly one diagnostic: an error at line:col. */
static void rt_expect_one(const char *text, uint32_t line, uint32_t col, const char *substr)
{
    rt_run run;
    rt_parse(&run, text);
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.errors, 1);
    assert_int_equal(run.d.n, 1);
    rt_assert_diag(&run, 0, HP_DIAG_ERROR, line, col, substr);
    rt_assert_empty(&run.r);
    rt_done(&run);
}

static const hp_hook_req *rt_only_hook(rt_run *run, const char *text)
{
    rt_parse(run, text);
    if (run->st != HP_OK) {
        hp_diags_print(&run->d, stderr);
        fail_msg("expected success, got %s", hp_status_str(run->st));
    }
    assert_int_equal(run->d.n, 0);
    assert_int_equal(run->r.n, 1);
    assert_string_equal(run->r.path, rt_path);
    return &run->r.v[0];
}

static void rt_assert_loc(hp_loc loc, const char *file, uint32_t line, uint32_t col)
{
    assert_ptr_equal(loc.file, file);
    assert_int_equal(loc.line, line);
    assert_int_equal(loc.col, col);
}

static hp_target_kind rt_kind_of(const char *target, uint64_t *va)
{
    char text[512];
    rt_run run;
    snprintf(text, sizeof text, "[[hook]]\ntarget = '%s'\naction = 'trap'\n", target);
    const hp_hook_req *h = rt_only_hook(&run, text);
    assert_string_equal(h->target, target);
    hp_target_kind k = h->target_kind;
    if (va)
        *va = h->target_va;
    rt_done(&run);
    return k;
}

/* ---- TOML level */

static void test_syntax_error_eof(void **state)
{
    rt_expect_one("a = [", 1, 6, "invalid TOML: Error while parsing array: encountered end-of-file");
}

static void test_syntax_error_bare_word(void **state)
{
    rt_expect_one("[[hook]]\ntarget = \"a\"\naction = trap\n", 3, 12,
                  "invalid TOML: Error while parsing boolean");
}

static void test_syntax_error_int_range(void **state)
{
    rt_expect_one("[[hook]]\ntarget = \"a\"\naction = \"return\"\nvalue = 99999999999999999999\n",
                  4, 29, "not representable in 64 bits");
}

static void test_syntax_error_redefined_hook(void **state)
{
    rt_expect_one("hook = 1\n[[hook]]\ntarget = \"a\"\n", 2, 1,
                  "cannot redefine existing integer 'hook' as array-of-tables");
}

static void test_nul_key_rejected(void **state)
{
    rt_expect_one("[[hook]]\ntarget = \"a\"\naction = \"trap\"\n\"ta\\u0000rget\" = 1\n", 4, 1,
                  "invalid TOML: keys containing a NUL character are not supported");
}

/* ---- nesting depth (limit 128: tables, arrays and dotted-key parts) */

/* A growable string for building deep documents. */
typedef struct rt_text {
    char *s;
    size_t len, cap;
} rt_text;

static void rt_add(rt_text *t, const char *piece, size_t times)
{
    size_t n = strlen(piece);
    for (size_t i = 0; i < times; i++) {
        if (t->len + n + 1 > t->cap) {
            t->cap = (t->len + n + 1) * 2;
            t->s = realloc(t->s, t->cap);
            assert_non_null(t->s);
        }
        memcpy(t->s + t->len, piece, n + 1);
        t->len += n;
    }
}

/* "a.a.....a" with `parts` parts. */
static void rt_add_key(rt_text *t, size_t parts)
{
    rt_add(t, "a", 1);
    rt_add(t, ".a", parts - 1);
}

static void rt_toml_ok(rt_text *t)
{
    hp_toml_error err;
    hp_tval *root = hp_toml_parse(t->s, t->len, &err);
    if (!root)
        fail_msg("expected the TOML to parse, got %u:%u: %s", err.line, err.col, err.msg);
    hp_toml_free(root);
    free(t->s);
    *t = (rt_text){0};
}

static void rt_toml_too_deep(rt_text *t, uint32_t line, uint32_t col)
{
    hp_toml_error err;
    hp_tval *root = hp_toml_parse(t->s, t->len, &err);
    assert_null(root);
    assert_int_equal(err.nomem, 0);
    if (!strstr(err.msg, "nested too deeply: more than 128 levels"))
        fail_msg("unexpected error %u:%u: %s", err.line, err.col, err.msg);
    assert_int_equal(err.line, line);
    assert_int_equal(err.col, col);
    free(t->s);
    *t = (rt_text){0};
}

static void test_depth_dotted_key(void **state)
{
    rt_text t = {0};
    rt_add_key(&t, 128); /* 127 tables and the value */
    rt_add(&t, " = 1\n", 1);
    rt_toml_ok(&t);
    rt_add_key(&t, 129);
    rt_add(&t, " = 1\n", 1);
    rt_toml_too_deep(&t, 1, 2 * 128); /* the 128th '.' */
    rt_add_key(&t, 20000); /* toml++ alone would build a tree 20000 deep */
    rt_add(&t, " = 1\n", 1);
    rt_toml_too_deep(&t, 1, 2 * 128);
}

static void test_depth_arrays(void **state)
{
    rt_text t = {0};
    rt_add(&t, "x = ", 1);
    rt_add(&t, "[", 128);
    rt_add(&t, "]", 128);
    rt_toml_ok(&t);
    rt_add(&t, "x = ", 1);
    rt_add(&t, "[", 129); /* under toml++'s own limit of 256 */
    rt_add(&t, "]", 129);
    rt_toml_too_deep(&t, 1, 4 + 129);
    rt_add(&t, "x = ", 1); /* an element is a level too */
    rt_add(&t, "[", 127);
    rt_add(&t, "'s'", 1);
    rt_add(&t, "]", 127);
    rt_toml_ok(&t);
    rt_add(&t, "x = ", 1);
    rt_add(&t, "[", 128);
    rt_add(&t, " 1", 1);
    rt_add(&t, "]", 128);
    rt_toml_too_deep(&t, 1, 4 + 128 + 2);
    rt_add(&t, "x = [", 1); /* arrays of inline tables, one per line */
    rt_add(&t, "\n{a = [", 63);
    rt_add(&t, "]}", 63);
    rt_add(&t, "]\n", 1);
    rt_toml_ok(&t);
    rt_add(&t, "x = [", 1);
    rt_add(&t, "\n  {a = [", 64);
    rt_toml_too_deep(&t, 65, 6); /* the 64th 'a' is level 129, at its '=' */
}

static void test_depth_headers(void **state)
{
    /* A header part may be an array of tables and its element: two each. */
    rt_text t = {0};
    rt_add(&t, "[", 1);
    rt_add_key(&t, 63);
    rt_add(&t, "]\nb.c = 1\n", 1); /* 126 + 2 */
    rt_toml_ok(&t);
    rt_add(&t, "[", 1);
    rt_add_key(&t, 63);
    rt_add(&t, "]\nb.c.d = 1\n", 1);
    rt_toml_too_deep(&t, 2, 4);
    rt_add(&t, "[[", 1);
    rt_add_key(&t, 65);
    rt_add(&t, "]]\n", 1);
    rt_toml_too_deep(&t, 1, 2 + 2 * 64);
}

/* The shape that overflowed an 8 MiB stack under ASan: within toml++'s 256
 * nested values, but each value under a 255-dot key, ~32k levels in all.
 * Refused where it passes the limit. */
static void test_depth_across_lines(void **state)
{
    rt_text t = {0};
    rt_add(&t, "[[hook]]\ntarget = 'a'\naction = 'trap'\nx = [", 1);
    for (int i = 0; i < 127; i++) {
        rt_add(&t, "\n{", 1);
        rt_add_key(&t, 256);
        rt_add(&t, " = [", 1);
    }
    rt_add(&t, "]}", 127);
    rt_add(&t, "]\n", 1);
    /* x at 3, the array 3, the inline table 4: the 124th '.' makes 129 */
    rt_expect_one(t.s, 5, 2 * 124 + 1, "invalid TOML: nested too deeply: more than 128 levels");
    free(t.s);
    t = (rt_text){0};
    rt_add(&t, "x = [", 1); /* the same shape with short keys is fine */
    for (int i = 0; i < 5; i++) {
        rt_add(&t, "\n{", 1);
        rt_add_key(&t, 20);
        rt_add(&t, " = [", 1);
    }
    rt_add(&t, "]}", 5);
    rt_add(&t, "]\n", 1);
    rt_toml_ok(&t);
}

/* Brackets and dots inside strings and comments do not nest; 200 of them
 * would pass the limit if they were counted. */
static void test_depth_strings_and_comments(void **state)
{
    rt_text t = {0};
    rt_add(&t, "a = \"", 1); /* basic, with escaped quotes */
    rt_add(&t, "[{.", 200);
    rt_add(&t, "\\\"[\"\nb = '", 1); /* literal */
    rt_add(&t, "[{.", 200);
    rt_add(&t, "'\n# ", 1); /* comment */
    rt_add(&t, "[{.", 200);
    rt_add(&t, "\nc = [ # ", 1); /* comment inside an array */
    rt_add(&t, "[", 200);
    rt_add(&t, "\n  \"\"\"\n", 1); /* multi-line basic */
    rt_add(&t, "[{.\n", 200);
    rt_add(&t, "\\\"\"\" ]]] \"\"\"\", '''", 1); /* ...then multi-line literal */
    rt_add(&t, "[", 200);
    rt_add(&t, "''''' ]\n\"", 1); /* ending in two quotes; a quoted key */
    rt_add_key(&t, 200);
    rt_add(&t, "\".'x'.\"y\" = 1\nf = [", 1); /* dots in values */
    rt_add(&t, "1.5, ", 1000);
    rt_add(&t, "2.5]\nd = 1979-05-27T07:32:00.999\n", 1);
    rt_toml_ok(&t);
}

/* A string ends where TOML says: \' does not escape in a literal string and
 * \\ is a backslash in a basic one, so the arrays after them count. */
static void test_depth_after_strings(void **state)
{
    rt_text t = {0};
    rt_add(&t, "x = ['C:\\', ", 1);
    rt_add(&t, "[", 128);
    rt_toml_too_deep(&t, 1, 12 + 128);
    rt_add(&t, "x = [\"C:\\\\\", ", 1);
    rt_add(&t, "[", 128);
    rt_toml_too_deep(&t, 1, 13 + 128);
    rt_add(&t, "x = \"\"\"a\"\"\"\"\"\ny = ", 1); /* a"" then the delimiter */
    rt_add(&t, "[", 129);
    rt_toml_too_deep(&t, 2, 4 + 129);
}

static void test_adapter_tree(void **state)
{
    const char *text = "z = 1.5\n[t]\nb = [1, 'x']\na = 1979-05-27\n\"q\" = true\n";
    hp_toml_error err;
    hp_tval *root = hp_toml_parse(text, strlen(text), &err);
    assert_non_null(root);
    assert_int_equal(root->kind, HP_TV_TABLE);
    assert_int_equal(root->u.table.n, 2);
    assert_string_equal(root->u.table.kv[0].key, "z");
    assert_true(root->u.table.kv[0].val->u.f == 1.5);
    const hp_tval *t = root->u.table.kv[1].val;
    assert_int_equal(t->line, 2);
    /* source order, not toml++'s alphabetical order */
    assert_string_equal(t->u.table.kv[0].key, "b");
    assert_string_equal(t->u.table.kv[1].key, "a");
    assert_string_equal(t->u.table.kv[2].key, "q");
    assert_int_equal(t->u.table.kv[1].val->kind, HP_TV_DATETIME);
    assert_int_equal(t->u.table.kv[2].val->u.b, 1);
    const hp_tval *arr = t->u.table.kv[0].val;
    assert_int_equal(arr->u.array.n, 2);
    assert_int_equal(arr->u.array.items[0]->u.i, 1);
    assert_string_equal(arr->u.array.items[1]->u.str.s, "x");
    assert_int_equal(arr->u.array.items[1]->col, 9);
    assert_string_equal(hp_toml_kind_name(HP_TV_DATETIME), "datetime");
    hp_toml_free(root);
}

static void test_adapter_not_nul_terminated(void **state)
{
    /* Only len bytes count: the garbage after them must not be read. */
    const char text[] = "[[hook]]\ntarget = 'a'\naction = 'trap'\n!!garbage";
    rt_run run = {0};
    run.st = hp_rules_parse(rt_path, text, strlen(text) - 9, &run.r, &run.d);
    assert_int_equal(run.st, HP_OK);
    assert_int_equal(run.r.n, 1);
    rt_done(&run);
}

/* ---- top level */

static void test_unknown_root_key_suggest(void **state)
{
    rt_expect_one("hooks = 1\n[[hook]]\ntarget = \"a\"\naction = \"trap\"\n", 1, 1,
                  "unknown key 'hooks'; did you mean 'hook'?");
}

static void test_unknown_root_key_plain(void **state)
{
    rt_expect_one("[settings]\nx = 1\n[[hook]]\ntarget = \"a\"\naction = \"trap\"\n", 1, 2,
                  "unknown key 'settings'; the top level holds only [[hook]] tables");
}

static void test_hook_key_at_root(void **state)
{
    rt_expect_one("target = \"a\"\n[[hook]]\ntarget = \"a\"\naction = \"trap\"\n", 1, 1,
                  "unknown key 'target' at the top level; it belongs inside a [[hook]] table");
}

static void test_hook_is_table(void **state)
{
    rt_expect_one("\n[hook]\ntarget = \"a\"\naction = \"trap\"\n", 2, 1,
                  "'hook' must be an array of tables ([[hook]]), not a table");
}

static void test_hook_is_string(void **state)
{
    rt_expect_one("hook = \"a\"\n", 1, 8, "'hook' must be an array of tables ([[hook]]), not a string");
}

static void test_hook_item_not_table(void **state)
{
    rt_expect_one("hook = [{target = 'a', action = 'trap'}, 7]\n", 1, 42,
                  "each 'hook' entry must be a table ([[hook]]), not an integer");
}

static void test_no_hooks_empty_file(void **state)
{
    rt_expect_one("", 1, 1, "no hooks: the rules file has no [[hook]] table");
}

static void test_no_hooks_comments_only(void **state)
{
    rt_expect_one("# nothing yet\n\n", 1, 1, "no hooks");
}

static void test_no_hooks_empty_array(void **state)
{
    rt_expect_one("\nhook = []\n", 2, 8, "no hooks: 'hook' is empty");
}

/* ---- keys and types inside a hook */

static void test_unknown_hook_key_suggest(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\nreplace = 'b'\n  orignal = 'c'\n", 4, 3,
                  "unknown key 'orignal' in [[hook]]; did you mean 'original'?");
}

static void test_unknown_hook_key_plain(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'trap'\ncolor = 'red'\n", 4, 1,
                  "unknown key 'color' in [[hook]] (expected target, replace, action, value, "
                  "original, object or symbol)");
}

static void test_unknown_hook_key_subtable(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'trap'\n[hook.extra]\nx = 1\n", 4, 7,
                  "unknown key 'extra' in [[hook]]");
}

static void test_value_is_string(void **state)
{
    rt_run run;
    rt_expect_one("[[hook]]\ntarget = 'answer'\naction = 'return'\nvalue = \"42\"\n", 4, 9,
                  "'value' must be an integer, not a string");
    /* the diagnostic names the hook's target */
    rt_parse(&run, "[[hook]]\ntarget = 'answer'\naction = 'return'\nvalue = \"42\"\n");
    assert_string_equal(run.d.v[0].target, "answer");
    rt_done(&run);
}

/* Every other key, and every kind of wrong value, in one table. */
static void test_wrong_types(void **state)
{
    static const struct {
        const char *text, *msg;
        uint32_t line, col;
    } cases[] = {
        {"[[hook]]\ntarget = 'a'\naction = 'return'\nvalue = 4.2\n",
         "'value' must be an integer, not a float", 4, 9},
        {"[[hook]]\ntarget = 0x401000\naction = 'trap'\n",
         "'target' must be a string, not an integer", 2, 10},
        {"[[hook]]\ntarget = 'a'\nreplace = ['b']\n", "'replace' must be a string, not an array",
         3, 11},
        {"[[hook]]\ntarget = 'a'\naction = true\n", "'action' must be a string, not a boolean", 3,
         10},
        {"[[hook]]\ntarget = 'a'\nobject = 'mocks/add.o'\nsymbol = 1979-05-27T07:32:00Z\n",
         "'symbol' must be a string, not a datetime", 4, 10},
        {"[[hook]]\ntarget = 'a'\nreplace = 'b'\noriginal = {x = 1}\n",
         "'original' must be a string, not a table", 4, 12},
        {"[[hook]]\ntarget = 'a'\nobject = 07:32:00\nsymbol = 's'\n",
         "'object' must be a string, not a datetime", 3, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        rt_expect_one(cases[i].text, cases[i].line, cases[i].col, cases[i].msg);
}

static void test_empty_string(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\nreplace = ''\n", 3, 11, "'replace' must not be empty");
}

static void test_empty_target(void **state)
{
    rt_expect_one("[[hook]]\ntarget = \"\"\naction = 'trap'\n", 2, 10,
                  "'target' must not be empty");
}

static void test_nul_in_string(void **state)
{
    rt_expect_one("[[hook]]\ntarget = \"a\\u0000b\"\naction = 'trap'\n", 2, 10,
                  "'target' must not contain a NUL character");
}

/* ---- which keys go together */

static void test_missing_target(void **state)
{
    rt_expect_one("# x\n[[hook]]\naction = 'trap'\n", 2, 1, "[[hook]] has no 'target'");
}

static void test_no_action(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\n", 1, 1,
                  "[[hook]] needs exactly one of 'replace', 'action' or 'object'");
}

static void test_two_actions(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\nreplace = 'b'\naction = 'trap'\n", 4, 10,
                  "'action' conflicts with 'replace': a [[hook]] takes exactly one of "
                  "'replace', 'action' or 'object'");
}

static void test_three_actions(void **state)
{
    rt_run run;
    rt_parse(&run, "[[hook]]\ntarget = 'a'\nobject = 'mocks/add.o'\nreplace = 'b'\n"
                   "action = 'return'\nsymbol = 's'\n");
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.errors, 2);
    rt_assert_diag(&run, 0, HP_DIAG_ERROR, 4, 11, "'replace' conflicts with 'object'");
    rt_assert_diag(&run, 1, HP_DIAG_ERROR, 5, 10, "'action' conflicts with 'object'");
    rt_done(&run);
}

static void test_unknown_action_suggest(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'passthru'\n", 3, 10,
                  "unknown action 'passthru'; did you mean 'passthrough'?");
}

static void test_unknown_action_typo(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'retrun'\nvalue = 1\n", 3, 10,
                  "unknown action 'retrun'; did you mean 'return'?");
}

static void test_unknown_action_plain(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'explode'\n", 3, 10,
                  "unknown action 'explode' (expected return, trap, passthrough or switch)");
}

static void test_switch(void **state)
{
    rt_run run;
    const hp_hook_req *h = rt_only_hook(&run, "[[hook]]\ntarget = 'time.*'\naction = 'switch'\n"
                                              "original = 'real_now'\n");
    assert_int_equal(h->action, HP_ACT_SWITCH);
    assert_int_equal(h->marker, HP_MARK_NONE);
    assert_int_equal(h->target_kind, HP_TGT_GLOB);
    assert_string_equal(h->original, "real_now");
    rt_assert_loc(h->action_loc, run.r.path, 3, 10);
    rt_done(&run);
}

static void test_switch_companions(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'switch'\nvalue = 1\n", 4, 1,
                  "'value' is only allowed with action = \"return\"");
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'switch'\nsymbol = 's'\n", 4, 1,
                  "'symbol' is only allowed with 'object'");
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'switch'\nreplace = 'b'\n", 4, 11,
                  "'replace' conflicts with 'action'");
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'swich'\n", 3, 10,
                  "unknown action 'swich'; did you mean 'switch'?");
}

static void test_value_without_return(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'trap'\nvalue = 1\n", 4, 1,
                  "'value' is only allowed with action = \"return\"");
}

static void test_value_with_replace(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\nvalue = 1\nreplace = 'b'\n", 3, 1,
                  "'value' is only allowed with action = \"return\"");
}

static void test_return_without_value(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = \"return\"\n", 3, 10,
                  "action = \"return\" needs an integer 'value'");
}

static void test_symbol_without_object(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\nreplace = 'b'\nsymbol = 's'\n", 4, 1,
                  "'symbol' is only allowed with 'object'");
}

static void test_object_without_symbol(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\nobject = 'mocks/add.o'\n", 3, 10,
                  "'object' needs a 'symbol'");
}

static void test_original_with_trap(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'trap'\noriginal = 'o'\n", 4, 1,
                  "'original' is not allowed with action = \"trap\"");
}

static void test_original_with_return(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\noriginal = 'o'\naction = 'return'\nvalue = 0\n", 3, 1,
                  "'original' is not allowed with action = \"return\"");
}

/* ---- targets */

static void test_addr_no_digits(void **state)
{
    rt_expect_one("[[hook]]\ntarget = '0x'\naction = 'trap'\n", 2, 10,
                  "invalid address '0x': expected hex digits after '0x'");
}

static void test_addr_bad_digit(void **state)
{
    rt_expect_one("[[hook]]\ntarget = '0x40100g'\naction = 'trap'\n", 2, 10,
                  "invalid address '0x40100g'");
}

static void test_addr_too_big(void **state)
{
    rt_expect_one("[[hook]]\ntarget = '0x10000000000000000'\naction = 'trap'\n", 2, 10,
                  "address '0x10000000000000000' does not fit in 64 bits");
}

static void test_glob_open_bracket(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'foo[ab'\naction = 'trap'\n", 2, 10,
                  "unbalanced '[' in target 'foo[ab'");
}

static void test_go_name_unclosed(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'pkg.G[go.shape.int_0'\naction = 'trap'\n", 2, 10,
                  "unbalanced '['");
}

static void test_glob_stray_close(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a]*'\naction = 'trap'\n", 2, 10,
                  "unbalanced ']' in glob 'a]*'");
}

static void test_duplicate_name(void **state)
{
    rt_run run;
    rt_parse(&run, "[[hook]]\ntarget = 'main.Add'\naction = 'trap'\n\n"
                   "[[hook]]\ntarget = 'other'\naction = 'trap'\n"
                   "[[hook]]\naction = 'trap'\ntarget    = 'main.Add'\n");
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.errors, 1);
    assert_int_equal(run.d.n, 2);
    rt_assert_diag(&run, 0, HP_DIAG_ERROR, 10, 13, "duplicate target: 'main.Add' is already hooked");
    assert_string_equal(run.d.v[0].target, "main.Add");
    char note[PATH_MAX + 32];
    snprintf(note, sizeof note, "first hooked at %s:2:10", rt_path);
    rt_assert_diag(&run, 1, HP_DIAG_NOTE, 2, 10, note);
    rt_assert_empty(&run.r);
    rt_done(&run);
}

static void test_duplicate_address(void **state)
{
    rt_run run;
    rt_parse(&run, "[[hook]]\ntarget = '0x401000'\naction = 'trap'\n"
                   "[[hook]]\ntarget = '0X0000401000'\nreplace = 'r'\n"
                   "[[hook]]\ntarget = '0x401000'\naction = 'passthrough'\n");
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.errors, 2);
    assert_int_equal(run.d.n, 4);
    rt_assert_diag(&run, 0, HP_DIAG_ERROR, 5, 10, "address 0x401000 is already hooked");
    rt_assert_diag(&run, 1, HP_DIAG_NOTE, 2, 10, ":2:10");
    rt_assert_diag(&run, 2, HP_DIAG_ERROR, 8, 10, "address 0x401000 is already hooked");
    rt_assert_diag(&run, 3, HP_DIAG_NOTE, 2, 10, ":2:10");
    rt_done(&run);
}

static void test_duplicate_glob_allowed(void **state)
{
    /* Overlapping globs are for the resolver to judge, not the parser. */
    rt_run run;
    rt_parse(&run, "[[hook]]\ntarget = 'a.*'\naction = 'trap'\n"
                   "[[hook]]\ntarget = 'a.*'\naction = 'passthrough'\n");
    assert_int_equal(run.st, HP_OK);
    assert_int_equal(run.r.n, 2);
    rt_done(&run);
}

/* ---- objects */

static void test_object_not_found(void **state)
{
    char msg[PATH_MAX + 64];
    snprintf(msg, sizeof msg, "object 'mocks/nope.o' not found (looked in %s/mocks/nope.o)",
             rt_dir);
    rt_expect_one("[[hook]]\ntarget = 'add'\nobject = 'mocks/nope.o'\nsymbol = 's'\n", 3, 10, msg);
}

static void test_object_is_directory(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'add'\nobject = 'mocks'\nsymbol = 's'\n", 3, 10,
                  "object 'mocks' is not a regular file");
}

static void test_object_absolute(void **state)
{
    char text[PATH_MAX + 128];
    rt_run run;
    snprintf(text, sizeof text, "[[hook]]\ntarget = 'add'\nobject = '%s'\nsymbol = 's'\n", rt_obj);
    const hp_hook_req *h = rt_only_hook(&run, text);
    assert_string_equal(h->object, rt_obj);
    assert_string_equal(h->object_path, rt_obj);
    rt_done(&run);
}

/* A relative rules path is resolved against the cwd, and "./" is dropped. */
static void test_object_relative_rules_path(void **state)
{
    static const char text[] = "[[hook]]\ntarget = 'add'\nobject = 'stub.o'\nsymbol = 's'\n";
    char cwd[PATH_MAX], want[PATH_MAX];
    hp_hook_reqs r;
    hp_diags d = {0};
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(rt_dir), 0);
    hp_status st = hp_rules_parse("./sub/r.toml", text, strlen(text), &r, &d);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(st, HP_OK);
    rt_join(want, rt_dir, "sub/stub.o");
    assert_string_equal(r.v[0].object_path, want);
    assert_string_equal(r.v[0].object, "stub.o");
    hp_hook_reqs_free(&r);
    hp_diags_free(&d);
}

/* ---- many errors in one run */

static void test_several_errors(void **state)
{
    rt_run run;
    rt_parse(&run, "hooks = 1\n"                                 /* 1 */
                   "[[hook]]\n"                                  /* 2 */
                   "taget = 'a'\n"                               /* 3 */
                   "action = 'retrun'\n"                         /* 4 */
                   "[[hook]]\n"                                  /* 5 */
                   "target = 'b'\n"                              /* 6 */
                   "action = 'return'\n"                         /* 7 */
                   "value = '1'\n"                               /* 8 */
                   "[[hook]]\n"                                  /* 9 */
                   "target = 'ok'\n"                             /* 10 */
                   "action = 'trap'\n"                           /* 11 */
                   "[[hook]]\n"                                  /* 12 */
                   "target = '0xq'\n"                            /* 13 */
                   "object = 'missing.o'\n");                    /* 14 */
    assert_int_equal(run.st, HP_ERR_RULES);
    assert_int_equal(run.d.errors, 8);
    assert_int_equal(run.d.n, 8);
    rt_assert_diag(&run, 0, HP_DIAG_ERROR, 1, 1, "did you mean 'hook'?");
    rt_assert_diag(&run, 1, HP_DIAG_ERROR, 3, 1, "did you mean 'target'?");
    rt_assert_diag(&run, 2, HP_DIAG_ERROR, 4, 10, "did you mean 'return'?");
    rt_assert_diag(&run, 3, HP_DIAG_ERROR, 2, 1, "has no 'target'");
    rt_assert_diag(&run, 4, HP_DIAG_ERROR, 8, 9, "'value' must be an integer, not a string");
    rt_assert_diag(&run, 5, HP_DIAG_ERROR, 13, 10, "invalid address '0xq'");
    rt_assert_diag(&run, 6, HP_DIAG_ERROR, 14, 10, "object 'missing.o' not found");
    rt_assert_diag(&run, 7, HP_DIAG_ERROR, 14, 10, "'object' needs a 'symbol'");
    rt_assert_empty(&run.r);
    rt_done(&run);
}

static void test_errors_append_to_existing_diags(void **state)
{
    /* Diagnostics from earlier stages stay; the status reflects only ours. */
    hp_hook_reqs r;
    hp_diags d = {0};
    hp_diag_add(&d, HP_DIAG_ERROR, NULL, NULL, "earlier problem");
    static const char text[] = "[[hook]]\ntarget = 'a'\naction = 'trap'\n";
    assert_int_equal(hp_rules_parse(rt_path, text, strlen(text), &r, &d), HP_OK);
    assert_int_equal(d.errors, 1);
    assert_int_equal(r.n, 1);
    hp_hook_reqs_free(&r);
    hp_diags_free(&d);
}

/* ---- happy paths */

static void test_replace_with_original(void **state)
{
    rt_run run;
    const hp_hook_req *h = rt_only_hook(&run, "# rules\n[[hook]]\ntarget  = \"main.Add\"\n"
                                              "replace = \"main.AddMock\"\n"
                                              "original = \"main.AddOrig\"\n");
    assert_int_equal(h->action, HP_ACT_REPLACE);
    assert_string_equal(h->target, "main.Add");
    assert_int_equal(h->target_kind, HP_TGT_NAME);
    assert_string_equal(h->replace, "main.AddMock");
    assert_string_equal(h->original, "main.AddOrig");
    assert_null(h->object);
    assert_null(h->object_path);
    assert_null(h->symbol);
    rt_assert_loc(h->loc, run.r.path, 2, 1);
    rt_assert_loc(h->target_loc, run.r.path, 3, 11);
    rt_assert_loc(h->action_loc, run.r.path, 4, 11);
    rt_assert_loc(h->original_loc, run.r.path, 5, 12);
    rt_assert_loc(h->symbol_loc, NULL, 0, 0);
    rt_done(&run);
}

static void test_return_values(void **state)
{
    rt_run run;
    const hp_hook_req *h =
        rt_only_hook(&run, "[[hook]]\ntarget = 'answer'\naction = 'return'\nvalue = 42\n");
    assert_int_equal(h->action, HP_ACT_RETURN);
    assert_int_equal(h->value, 42);
    rt_assert_loc(h->action_loc, run.r.path, 3, 10);
    assert_null(h->replace);
    rt_done(&run);
    h = rt_only_hook(&run, "[[hook]]\ntarget = 'neg'\naction = 'return'\n"
                           "value = -9223372036854775808\n");
    assert_true(h->value == INT64_MIN);
    rt_done(&run);
}

static void test_trap_and_passthrough(void **state)
{
    rt_run run;
    rt_parse(&run, "[[hook]]\ntarget = 'panic_path'\naction = 'trap'\n"
                   "[[hook]]\ntarget = 'strings.*'\naction = 'passthrough'\noriginal = 'o'\n");
    assert_int_equal(run.st, HP_OK);
    assert_int_equal(run.r.n, 2);
    assert_int_equal(run.r.v[0].action, HP_ACT_TRAP);
    assert_int_equal(run.r.v[1].action, HP_ACT_PASSTHROUGH);
    assert_int_equal(run.r.v[1].target_kind, HP_TGT_GLOB);
    assert_string_equal(run.r.v[1].original, "o");
    rt_assert_loc(run.r.v[1].loc, run.r.path, 4, 1);
    rt_done(&run);
}

static void test_object_relative(void **state)
{
    rt_run run;
    const hp_hook_req *h = rt_only_hook(&run, "[[hook]]\ntarget   = 'add'\n"
                                              "object   = 'mocks/add.o'\n"
                                              "symbol   = 'add_hook'\n"
                                              "original = 'real_add'\n");
    assert_int_equal(h->action, HP_ACT_OBJECT);
    assert_string_equal(h->object, "mocks/add.o");
    assert_string_equal(h->object_path, rt_obj);
    assert_string_equal(h->symbol, "add_hook");
    assert_string_equal(h->original, "real_add");
    rt_assert_loc(h->action_loc, run.r.path, 3, 12);
    rt_assert_loc(h->symbol_loc, run.r.path, 4, 12);
    rt_assert_loc(h->original_loc, run.r.path, 5, 12);
    rt_done(&run);
}

static void test_inline_hook_array(void **state)
{
    rt_run run;
    rt_parse(&run, "hook = [\n  {target = 'a', action = 'trap'},\n  {target = 'b', replace = 'c'},\n]\n");
    assert_int_equal(run.st, HP_OK);
    assert_int_equal(run.r.n, 2);
    rt_assert_loc(run.r.v[1].loc, run.r.path, 3, 3);
    rt_assert_loc(run.r.v[1].action_loc, run.r.path, 3, 28);
    rt_done(&run);
}

static void test_target_addresses(void **state)
{
    uint64_t va;
    assert_int_equal(rt_kind_of("0x401000", &va), HP_TGT_ADDR);
    assert_true(va == 0x401000);
    assert_int_equal(rt_kind_of("0XdeadBEEF", &va), HP_TGT_ADDR);
    assert_true(va == 0xdeadbeef);
    assert_int_equal(rt_kind_of("0xffffffffffffffff", &va), HP_TGT_ADDR);
    assert_true(va == UINT64_MAX);
    assert_int_equal(rt_kind_of("0x000000000000000000012", &va), HP_TGT_ADDR);
    assert_true(va == 0x12);
}

static void test_target_globs(void **state)
{
    static const char *const globs[] = {
        "strings.*", "f?o", "f[ab]", "f[!a-z]x", "f[[:digit:]]", "a\\.b", "main.(*T).*",
        "pkg.G\\[go.shape.int_0\\]",
    };
    for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++)
        if (rt_kind_of(globs[i], NULL) != HP_TGT_GLOB)
            fail_msg("'%s' should be a glob", globs[i]);
}

static void test_target_names(void **state)
{
    static const char *const names[] = {
        "main.Add",
        "main.(*T).M",
        "pkg.G[go.shape.int_0]",
        "pkg.F[go.shape.string,go.shape.int]",
        "pkg.(*T[go.shape.*uint8]).M",
        "pkg.F[go.shape.[]uint8]",
        "type:.eq.[2]string",
        "example.com/p.F",
        "_ZN3foo3barEv",
        "foo]",
        "0",
        "type:.eq.struct { a int }",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (rt_kind_of(names[i], NULL) != HP_TGT_NAME)
            fail_msg("'%s' should be an exact name", names[i]);
}

static void test_crlf_positions(void **state)
{
    rt_expect_one("[[hook]]\r\ntarget = 'a'\r\naction = 'trap'\r\nvalue = 1\r\n", 4, 1,
                  "'value' is only allowed");
}

static void test_utf8_columns(void **state)
{
    /* Columns count characters, so 'é' (two bytes) is one column. */
    rt_expect_one("hook = [{target = \"é\", replace = \"\"}]\n", 1, 34,
                  "'replace' must not be empty");
}

/* toml++ 3.3.0 has undefined behaviour when it asks whether some non-ASCII
 * characters are whitespace (marzer/tomlplusplus#190, #295); the library we
 * link answers "no", which these pin down. */
static void test_non_ascii_after_value(void **state)
{
    rt_expect_one("[[hook]]\ntarget = 'a'\naction = 'trap' \xc2\xa7\n", 3, 17,
                  "expected a comment or whitespace, saw '\xc2\xa7'");
}

static void test_non_ascii_after_line_continuation(void **state)
{
    rt_run run;
    const hp_hook_req *h = rt_only_hook(
        &run, "[[hook]]\ntarget = \"\"\"\\\n  \xc2\xa7x\"\"\"\naction = 'trap'\n");
    assert_string_equal(h->target, "\xc2\xa7x");
    rt_done(&run);
}

/* ---- files */

static void test_load_file(void **state)
{
    hp_hook_reqs r;
    hp_diags d = {0};
    rt_write("rules.toml", "[[hook]]\ntarget = 'add'\nobject = 'mocks/add.o'\nsymbol = 's'\n");
    assert_int_equal(hp_rules_load(rt_path, &r, &d), HP_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.path, rt_path);
    assert_string_equal(r.v[0].object_path, rt_obj);
    assert_ptr_equal(r.v[0].target_loc.file, r.path);
    hp_hook_reqs_free(&r);
    hp_diags_free(&d);
}

static void test_load_errors_carry_path(void **state)
{
    hp_hook_reqs r;
    hp_diags d = {0};
    rt_write("rules.toml", "\n[[hook]]\ntarget = 'a'\n");
    assert_int_equal(hp_rules_load(rt_path, &r, &d), HP_ERR_RULES);
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].file, rt_path);
    assert_int_equal(d.v[0].line, 2);
    rt_assert_empty(&r);
    hp_diags_free(&d);
}

static void test_load_missing_file(void **state)
{
    char p[PATH_MAX], want[PATH_MAX + 64];
    hp_hook_reqs r;
    hp_diags d = {0};
    rt_join(p, rt_dir, "absent.toml");
    assert_int_equal(hp_rules_load(p, &r, &d), HP_ERR_IO);
    assert_int_equal(d.errors, 1);
    snprintf(want, sizeof want, "cannot read rules file '%s': %s", p, strerror(ENOENT));
    assert_string_equal(d.v[0].msg, want);
    rt_assert_empty(&r);
    hp_diags_free(&d);
}

/* Only a regular file is read: anything else is refused from fstat, after
 * an open that does not block (a FIFO with no writer would hang it). */
static void rt_assert_refused(const char *path, const char *kind)
{
    hp_hook_reqs r;
    hp_diags d = {0};
    char want[PATH_MAX + 128];
    assert_int_equal(hp_rules_load(path, &r, &d), HP_ERR_IO);
    assert_int_equal(d.errors, 1);
    snprintf(want, sizeof want, "cannot read rules file '%s': not a regular file (%s)", path,
             kind);
    assert_string_equal(d.v[0].msg, want);
    rt_assert_empty(&r);
    hp_diags_free(&d);
}

static void test_load_directory(void **state)
{
    rt_assert_refused(rt_dir, "a directory");
}

static void test_load_device_and_fifo(void **state)
{
    rt_assert_refused("/dev/zero", "a character device");
    char fifo[PATH_MAX];
    rt_join(fifo, rt_dir, "rules.fifo");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    rt_assert_refused(fifo, "a FIFO");
    unlink(fifo);
}

static void test_load_endless_file(void **state)
{
    hp_hook_reqs r;
    hp_diags d = {0};
    char big[PATH_MAX];
    rt_join(big, rt_dir, "big.toml");
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)17 << 20), 0); /* sparse: zeros */
    fclose(f);
    assert_int_equal(hp_rules_load(big, &r, &d), HP_ERR_RULES);
    assert_int_equal(d.errors, 1);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "rules file '%s' is larger than 16 MiB", big);
    assert_string_equal(d.v[0].msg, want);
    rt_assert_empty(&r);
    hp_diags_free(&d);
    unlink(big);
}

static void test_bad_arguments(void **state)
{
    hp_hook_reqs r;
    hp_diags d = {0};
    assert_int_equal(hp_rules_parse(NULL, "", 0, &r, &d), HP_ERR_INTERNAL);
    assert_int_equal(hp_rules_parse(rt_path, NULL, 3, &r, &d), HP_ERR_INTERNAL);
    assert_int_equal(hp_rules_load(rt_path, NULL, &d), HP_ERR_INTERNAL);
    assert_int_equal(d.n, 0);
}

/* ---- allocation failure: every allocation in turn, until one run passes */

static const char rt_all_actions[] =
    "[[hook]]\ntarget = 'main.Add'\nreplace = 'main.AddMock'\noriginal = 'o'\n"
    "[[hook]]\ntarget = '0x401000'\naction = 'return'\nvalue = -1\n"
    "[[hook]]\ntarget = 'strings.*'\naction = 'passthrough'\n"
    "[[hook]]\ntarget = 'p'\naction = 'trap'\n"
    "[[hook]]\ntarget = 'add'\nobject = 'mocks/add.o'\nsymbol = 's'\noriginal = 'r'\n";

static void test_nomem_sweep_valid(void **state)
{
    long n;
    for (n = 0; n < 100000; n++) {
        rt_run run;
        hp_mem_fail_after(n);
        rt_parse(&run, rt_all_actions);
        hp_mem_fail_after(-1);
        if (run.st == HP_OK) {
            assert_int_equal(run.r.n, 5);
            assert_int_equal(run.d.n, 0);
            rt_done(&run);
            break;
        }
        assert_int_equal(run.st, HP_ERR_NOMEM);
        assert_true(run.d.errors >= 1);
        rt_assert_empty(&run.r);
        rt_done(&run);
    }
    assert_true(n > 20); /* the sweep really failed many allocations */
}

static void test_nomem_sweep_invalid(void **state)
{
    static const char text[] = "hooks = 1\n[[hook]]\ntaget = 'a'\naction = 'retrun'\n"
                               "[[hook]]\ntarget = 'b'\nobject = 'missing.o'\n"
                               "[[hook]]\ntarget = 'b'\naction = 'trap'\n";
    rt_run run;
    rt_parse(&run, text);
    assert_int_equal(run.st, HP_ERR_RULES);
    size_t want = run.d.n;
    assert_int_equal(want, 8);
    rt_done(&run);
    long n;
    for (n = 0; n < 100000; n++) {
        hp_mem_fail_after(n);
        rt_parse(&run, text);
        hp_mem_fail_after(-1);
        hp_status st = run.st;
        size_t got = run.d.n;
        assert_true(st == HP_ERR_RULES || st == HP_ERR_NOMEM);
        rt_assert_empty(&run.r);
        rt_done(&run);
        if (st == HP_ERR_RULES && got == want)
            break;
    }
    assert_true(n > 20);
}

static void test_nomem_sweep_load(void **state)
{
    rt_write("rules.toml", rt_all_actions);
    for (long n = 0;; n++) {
        hp_hook_reqs r;
        hp_diags d = {0};
        hp_mem_fail_after(n);
        hp_status st = hp_rules_load(rt_path, &r, &d);
        hp_mem_fail_after(-1);
        hp_diags_free(&d);
        if (st == HP_OK) {
            assert_int_equal(r.n, 5);
            hp_hook_reqs_free(&r);
            break;
        }
        assert_int_equal(st, HP_ERR_NOMEM);
        rt_assert_empty(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax_error_eof),
        cmocka_unit_test(test_syntax_error_bare_word),
        cmocka_unit_test(test_syntax_error_int_range),
        cmocka_unit_test(test_syntax_error_redefined_hook),
        cmocka_unit_test(test_nul_key_rejected),
        cmocka_unit_test(test_depth_dotted_key),
        cmocka_unit_test(test_depth_arrays),
        cmocka_unit_test(test_depth_headers),
        cmocka_unit_test(test_depth_across_lines),
        cmocka_unit_test(test_depth_strings_and_comments),
        cmocka_unit_test(test_depth_after_strings),
        cmocka_unit_test(test_adapter_tree),
        cmocka_unit_test(test_adapter_not_nul_terminated),
        cmocka_unit_test(test_unknown_root_key_suggest),
        cmocka_unit_test(test_unknown_root_key_plain),
        cmocka_unit_test(test_hook_key_at_root),
        cmocka_unit_test(test_hook_is_table),
        cmocka_unit_test(test_hook_is_string),
        cmocka_unit_test(test_hook_item_not_table),
        cmocka_unit_test(test_no_hooks_empty_file),
        cmocka_unit_test(test_no_hooks_comments_only),
        cmocka_unit_test(test_no_hooks_empty_array),
        cmocka_unit_test(test_unknown_hook_key_suggest),
        cmocka_unit_test(test_unknown_hook_key_plain),
        cmocka_unit_test(test_unknown_hook_key_subtable),
        cmocka_unit_test(test_value_is_string),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_empty_string),
        cmocka_unit_test(test_empty_target),
        cmocka_unit_test(test_nul_in_string),
        cmocka_unit_test(test_missing_target),
        cmocka_unit_test(test_no_action),
        cmocka_unit_test(test_two_actions),
        cmocka_unit_test(test_three_actions),
        cmocka_unit_test(test_unknown_action_suggest),
        cmocka_unit_test(test_unknown_action_typo),
        cmocka_unit_test(test_unknown_action_plain),
        cmocka_unit_test(test_switch),
        cmocka_unit_test(test_switch_companions),
        cmocka_unit_test(test_value_without_return),
        cmocka_unit_test(test_value_with_replace),
        cmocka_unit_test(test_return_without_value),
        cmocka_unit_test(test_symbol_without_object),
        cmocka_unit_test(test_object_without_symbol),
        cmocka_unit_test(test_original_with_trap),
        cmocka_unit_test(test_original_with_return),
        cmocka_unit_test(test_addr_no_digits),
        cmocka_unit_test(test_addr_bad_digit),
        cmocka_unit_test(test_addr_too_big),
        cmocka_unit_test(test_glob_open_bracket),
        cmocka_unit_test(test_go_name_unclosed),
        cmocka_unit_test(test_glob_stray_close),
        cmocka_unit_test(test_duplicate_name),
        cmocka_unit_test(test_duplicate_address),
        cmocka_unit_test(test_duplicate_glob_allowed),
        cmocka_unit_test(test_object_not_found),
        cmocka_unit_test(test_object_is_directory),
        cmocka_unit_test(test_object_absolute),
        cmocka_unit_test(test_object_relative_rules_path),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_errors_append_to_existing_diags),
        cmocka_unit_test(test_replace_with_original),
        cmocka_unit_test(test_return_values),
        cmocka_unit_test(test_trap_and_passthrough),
        cmocka_unit_test(test_object_relative),
        cmocka_unit_test(test_inline_hook_array),
        cmocka_unit_test(test_target_addresses),
        cmocka_unit_test(test_target_globs),
        cmocka_unit_test(test_target_names),
        cmocka_unit_test(test_crlf_positions),
        cmocka_unit_test(test_utf8_columns),
        cmocka_unit_test(test_non_ascii_after_value),
        cmocka_unit_test(test_non_ascii_after_line_continuation),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_errors_carry_path),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_load_directory),
        cmocka_unit_test(test_load_device_and_fifo),
        cmocka_unit_test(test_load_endless_file),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_nomem_sweep_valid),
        cmocka_unit_test(test_nomem_sweep_invalid),
        cmocka_unit_test(test_nomem_sweep_load),
    };
    return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}
