/* Unit tests for cli/deps.c: the depfile's text (gcc's escaping, objects
 * once, an empty rule each), names it cannot hold, an allocation failing at
 * every step, the files it refuses to overwrite, and --print-deps over
 * objects that do not exist yet. tests/e2e/depfile.sh runs the same through
 * the command line, Ninja and make. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/deps.h"

/* reqs whose hooks name the given object paths (NULL: a hook without one). */
static void dt_reqs(hp_hook_reqs *r, const char *rules, const char *const *objs, size_t n)
{
    memset(r, 0, sizeof *r);
    r->path = hp_strdup(rules);
    r->v = hp_calloc(n ? n : 1, sizeof *r->v);
    assert_non_null(r->path);
    assert_non_null(r->v);
    r->n = r->cap = n;
    for (size_t i = 0; i < n; i++)
        r->v[i].object_path = objs[i] ? hp_strdup(objs[i]) : NULL;
}

static void dt_format_ok(const char *out, const char *in, const hp_hook_reqs *r,
                         const char *want)
{
    hp_diags d = {0};
    char *text = NULL;
    assert_int_equal(hp_deps_format(out, in, r, &text, &d), HP_OK);
    assert_int_equal(d.n, 0);
    assert_string_equal(text, want);
    hp_free(text);
    hp_diags_free(&d);
}

static void test_format_objects_once(void **state)
{
    (void)state;
    static const char *const objs[] = {"/m/a.o", NULL, "/m/b.o", "/m/a.o", "/m/b.o"};
    hp_hook_reqs r;
    dt_reqs(&r, "rules.toml", objs, 5);
    dt_format_ok("out", "in", &r,
                 "out: \\\n  in \\\n  rules.toml \\\n  /m/a.o \\\n  /m/b.o\n"
                 "\n/m/a.o:\n\n/m/b.o:\n");
    hp_hook_reqs_free(&r);
}

static void test_format_no_objects(void **state)
{
    (void)state;
    hp_hook_reqs r;
    dt_reqs(&r, "r.toml", NULL, 0);
    dt_format_ok("o", "i", &r, "o: \\\n  i \\\n  r.toml\n");
    hp_hook_reqs_free(&r);
}

/* As gcc -MD: "\ " for a space or tab (backslashes before it doubled, so
 * that "a\ b" on disk is not read as "a b"), "\#", "$$"; a backslash
 * elsewhere and a colon stay as they are. */
static void test_format_escapes(void **state)
{
    (void)state;
    static const char *const objs[] = {"/m/x y\tz#$.o", "/m/back\\ slash\\\\ two.o",
                                       "/m/c:\\d.o"};
    hp_hook_reqs r;
    dt_reqs(&r, "my rules.toml", objs, 3);
    dt_format_ok("a b", "$in#", &r,
                 "a\\ b: \\\n  $$in\\# \\\n  my\\ rules.toml \\\n"
                 "  /m/x\\ y\\\tz\\#$$.o \\\n  /m/back\\\\\\ slash\\\\\\\\\\ two.o \\\n"
                 "  /m/c:\\d.o\n"
                 "\n/m/x\\ y\\\tz\\#$$.o:\n\n/m/back\\\\\\ slash\\\\\\\\\\ two.o:\n"
                 "\n/m/c:\\d.o:\n");
    hp_hook_reqs_free(&r);
}

static void dt_format_refused(const char *out, const char *in, const char *obj,
                              const char *named)
{
    hp_hook_reqs r;
    dt_reqs(&r, "rules.toml", &obj, 1);
    hp_diags d = {0};
    char *text = (char *)"untouched";
    assert_int_equal(hp_deps_format(out, in, &r, &text, &d), HP_ERR_USAGE);
    assert_string_equal(text, "untouched");
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].file, named);
    assert_string_equal(d.v[0].msg,
                        "the name holds a line break, which a dependency list cannot hold");
    hp_diags_free(&d);
    hp_hook_reqs_free(&r);
}

static void test_format_line_breaks_refused(void **state)
{
    (void)state;
    dt_format_refused("o\nut", "in", "/m/a.o", "o\nut");
    dt_format_refused("out", "i\rn", "/m/a.o", "i\rn");
    dt_format_refused("out", "in", "/m/a\n.o", "/m/a\n.o");
}

/* Every allocation failing in turn: an error, no text, nothing leaked
 * (the sanitizer build checks the last part). */
static void test_format_nomem(void **state)
{
    (void)state;
    static const char *const objs[] = {"/m/a.o", "/m/b b.o"};
    hp_hook_reqs r;
    dt_reqs(&r, "rules.toml", objs, 2);
    bool succeeded = false;
    for (long n = 0; !succeeded && n < 64; n++) {
        hp_diags d = {0};
        char *text = NULL;
        hp_mem_fail_after(n);
        hp_status s = hp_deps_format("out", "in", &r, &text, &d);
        hp_mem_fail_after(-1);
        succeeded = s == HP_OK;
        if (!succeeded) {
            assert_int_equal(s, HP_ERR_NOMEM);
            assert_null(text);
            assert_true(d.errors == 1);
        }
        hp_free(text);
        hp_diags_free(&d);
    }
    assert_true(succeeded);
    hp_hook_reqs_free(&r);
}

/* ---- on disk */

static char dt_dir[PATH_MAX];

static int dt_setup(void **state)
{
    (void)state;
    strcpy(dt_dir, "/tmp/hp_test_deps.XXXXXX");
    return mkdtemp(dt_dir) ? 0 : -1;
}

static int dt_teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dt_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *dt_path(const char *name)
{
    char *p = hp_asprintf("%s/%s", dt_dir, name);
    assert_non_null(p);
    return p;
}

static void dt_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *dt_read_file(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void test_write_and_replace(void **state)
{
    (void)state;
    char *in = dt_path("in"), *rules = dt_path("rules.toml"), *obj = dt_path("a.o");
    char *dep = dt_path("out.d"), *out = dt_path("out");
    dt_write_file(in, "IN");
    dt_write_file(dep, "an old depfile, much longer than the new one will be .........");
    const char *objs[] = {obj};
    hp_hook_reqs r;
    dt_reqs(&r, rules, objs, 1);
    hp_diags d = {0};
    assert_int_equal(hp_deps_write(dep, out, in, &r, false, &d), HP_OK);
    assert_int_equal(d.n, 0);
    char *want = hp_asprintf("%s: \\\n  %s \\\n  %s \\\n  %s\n\n%s:\n", out, in, rules, obj, obj);
    assert_string_equal(dt_read_file(dep), want);
    assert_string_equal(dt_read_file(in), "IN");
    hp_free(want);
    hp_diags_free(&d);
    hp_hook_reqs_free(&r);
    hp_free(in), hp_free(rules), hp_free(obj), hp_free(dep), hp_free(out);
}

static void dt_write_refused(const char *dep, const char *out, const char *in,
                             const hp_hook_reqs *r, const char *what)
{
    hp_diags d = {0};
    assert_int_equal(hp_deps_write(dep, out, in, r, false, &d), HP_ERR_USAGE);
    assert_int_equal(d.errors, 1);
    char *msg = hp_asprintf("--depfile names %s: refusing to overwrite it", what);
    assert_string_equal(d.v[0].msg, msg);
    hp_free(msg);
    hp_diags_free(&d);
}

/* The depfile may not be a file the run reads or writes, under any name:
 * the same string, another spelling of the path, a link, a file not made
 * yet reached through another directory name. */
static void test_write_refuses_inputs_and_out(void **state)
{
    (void)state;
    char *in = dt_path("in"), *rules = dt_path("rules.toml"), *obj = dt_path("a.o");
    char *out = dt_path("out"), *link = dt_path("link-to-in");
    char *sub = dt_path("sub"), *out_via_sub = dt_path("sub/../out");
    char *in_dotted = dt_path("./in");
    dt_write_file(in, "IN");
    dt_write_file(rules, "R");
    dt_write_file(obj, "O");
    assert_int_equal(symlink(in, link), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    const char *objs[] = {obj};
    hp_hook_reqs r;
    dt_reqs(&r, rules, objs, 1);
    dt_write_refused(in, out, in, &r, "IN");
    dt_write_refused(in_dotted, out, in, &r, "IN");
    dt_write_refused(link, out, in, &r, "IN");
    dt_write_refused(rules, out, in, &r, "the rules file");
    dt_write_refused(obj, out, in, &r, "an object file of the rules");
    dt_write_refused(out, out, in, &r, "OUT");
    dt_write_refused(out_via_sub, out, in, &r, "OUT"); /* neither exists yet */
    assert_string_equal(dt_read_file(in), "IN");
    assert_string_equal(dt_read_file(rules), "R");
    assert_string_equal(dt_read_file(obj), "O");
    assert_null(dt_read_file(out));
    hp_hook_reqs_free(&r);
    hp_free(in), hp_free(rules), hp_free(obj), hp_free(out), hp_free(link);
    hp_free(sub), hp_free(out_via_sub), hp_free(in_dotted);
}

/* A depfile that cannot be created: an error naming it, nothing left. */
static void test_write_unwritable(void **state)
{
    (void)state;
    char *in = dt_path("in"), *dep = dt_path("no/such/dir/out.d");
    dt_write_file(in, "IN");
    hp_hook_reqs r;
    dt_reqs(&r, "rules.toml", NULL, 0);
    hp_diags d = {0};
    assert_int_equal(hp_deps_write(dep, "out", in, &r, false, &d), HP_ERR_IO);
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].file, dep);
    hp_diags_free(&d);
    hp_hook_reqs_free(&r);
    hp_free(in), hp_free(dep);
}

static char *dt_print(const char *rules, hp_status want, hp_diags *d)
{
    static char buf[4096];
    memset(buf, 0, sizeof buf);
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    assert_int_equal(hp_deps_print(rules, f, d), want);
    fclose(f);
    return buf;
}

/* Objects that do not exist yet are listed; each once, absolute. */
static void test_print_missing_objects(void **state)
{
    (void)state;
    char *rules = dt_path("p.toml");
    dt_write_file(rules, "[[hook]]\ntarget = 'a'\nobject = 'later/x.o'\nsymbol = 's'\n"
                         "[[hook]]\ntarget = 'b'\naction = 'trap'\n"
                         "[[hook]]\ntarget = 'c'\nobject = 'later/x.o'\nsymbol = 't'\n"
                         "[[hook]]\ntarget = 'd'\nobject = '/abs/y.o'\nsymbol = 'u'\n");
    hp_diags d = {0};
    char *want = hp_asprintf("%s/later/x.o\n/abs/y.o\n", dt_dir);
    assert_string_equal(dt_print(rules, HP_OK, &d), want);
    assert_int_equal(d.n, 0);
    hp_free(want);
    hp_diags_free(&d);
    hp_free(rules);
}

/* A rules error: reported with its location, nothing printed. */
static void test_print_rules_error(void **state)
{
    (void)state;
    char *rules = dt_path("bad.toml");
    dt_write_file(rules, "[[hook]]\ntarget = 'a'\nobject = 'x.o'\nsymbol = 's'\nbogus = 1\n");
    hp_diags d = {0};
    assert_string_equal(dt_print(rules, HP_ERR_RULES, &d), "");
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.v[0].line, 5);
    hp_diags_free(&d);
    hp_free(rules);
}

/* A name with a line break cannot be one line of the list: an error, and
 * nothing printed, not even the names before it. */
static void test_print_line_break(void **state)
{
    (void)state;
    char *rules = dt_path("nl.toml");
    dt_write_file(rules, "[[hook]]\ntarget = 'a'\nobject = 'ok.o'\nsymbol = 's'\n"
                         "[[hook]]\ntarget = 'b'\nobject = \"bad\\n.o\"\nsymbol = 's'\n");
    hp_diags d = {0};
    assert_string_equal(dt_print(rules, HP_ERR_USAGE, &d), "");
    assert_int_equal(d.errors, 1);
    hp_diags_free(&d);
    hp_free(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_objects_once),
        cmocka_unit_test(test_format_no_objects),
        cmocka_unit_test(test_format_escapes),
        cmocka_unit_test(test_format_line_breaks_refused),
        cmocka_unit_test(test_format_nomem),
        cmocka_unit_test(test_write_and_replace),
        cmocka_unit_test(test_write_refuses_inputs_and_out),
        cmocka_unit_test(test_write_unwritable),
        cmocka_unit_test(test_print_missing_objects),
        cmocka_unit_test(test_print_rules_error),
        cmocka_unit_test(test_print_line_break),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
