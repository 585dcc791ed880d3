/* Unit tests for cli/output.c, the handle that writes OUT through a
 * temporary file: commit replaces the file (new inode, exact bytes, mode
 * without setuid/setgid/sticky) and leaves no temporary; discard leaves an
 * existing OUT as it was; symbolic links (chains, relative targets in
 * other directories, dangling) stay links and their final target gets the
 * result; directories, FIFOs, sockets, devices, links to them and link
 * loops are refused untouched; a destination swapped for a FIFO between
 * open and commit is refused too; open_beside + finish leave a complete
 * temporary (exec runs it) that discard removes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/output.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#define WORK HP_BINARY_DIR "/output-unit"

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The whole file, or "" when it cannot be read. */
static const char *get(const char *path)
{
    static char buf[256];
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    return buf;
}

/* Temporary files (".NAME.hookpatch-XXXXXX") left in dir. */
static int temps_in(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] == '.' && strstr(e->d_name, ".hookpatch-") != NULL;
    closedir(d);
    return n;
}

static ino_t inode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_ino;
}

static mode_t lmode(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode;
}

/* open, write text, commit; the status of the first failing step. */
static hp_status write_out(const char *out, unsigned mode, const char *text, hp_diags *d)
{
    hp_output o;
    hp_status s = hp_output_open(&o, out, mode, true, d);
    if (s == HP_OK) {
        assert_int_equal(write(o.fd, text, strlen(text)), (ssize_t)strlen(text));
        s = hp_output_commit(&o, d);
    }
    hp_output_discard(&o);
    return s;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(system("rm -rf '" WORK "' && mkdir -p '" WORK "/a/b'"), 0);
    return 0;
}

static void test_new_file_mode(void **state)
{
    (void)state;
    hp_diags d = {0};
    /* setuid, setgid and sticky are dropped, the rest is kept exactly
     * (not filtered by the umask: the output keeps IN's mode). */
    assert_int_equal(write_out(WORK "/new", 07751, "patched", &d), HP_OK);
    assert_string_equal(get(WORK "/new"), "patched");
    assert_int_equal(lmode(WORK "/new") & 07777, 0751);
    assert_int_equal(temps_in(WORK), 0);
    assert_int_equal(d.n, 0);
}

static void test_replace_and_discard(void **state)
{
    (void)state;
    hp_diags d = {0};
    put(WORK "/old", "old");
    ino_t before = inode(WORK "/old");
    hp_output o;
    assert_int_equal(hp_output_open(&o, WORK "/old", 0644, false, &d), HP_OK);
    assert_int_equal(write(o.fd, "half", 4), 4);
    assert_int_equal(temps_in(WORK), 1);
    hp_output_discard(&o);
    assert_string_equal(get(WORK "/old"), "old");
    assert_int_equal(inode(WORK "/old"), before);
    assert_int_equal(temps_in(WORK), 0);
    hp_output_discard(&o); /* twice is harmless */

    assert_int_equal(write_out(WORK "/old", 0644, "new", &d), HP_OK);
    assert_string_equal(get(WORK "/old"), "new");
    assert_true(inode(WORK "/old") != before); /* replaced, not written through */
    assert_int_equal(d.n, 0);
}

static void test_symlink_chain(void **state)
{
    (void)state;
    hp_diags d = {0};
    /* top -> a/l1 -> (relative to a/) b/l2 -> (relative to a/b/) ../../target */
    put(WORK "/target", "old");
    assert_int_equal(symlink("../../target", WORK "/a/b/l2"), 0);
    assert_int_equal(symlink("b/l2", WORK "/a/l1"), 0);
    assert_int_equal(symlink(WORK "/a/l1", WORK "/top"), 0);
    ino_t before = inode(WORK "/target");
    assert_int_equal(write_out(WORK "/top", 0755, "via links", &d), HP_OK);
    assert_true(S_ISLNK(lmode(WORK "/top")));
    assert_true(S_ISLNK(lmode(WORK "/a/l1")));
    assert_true(S_ISLNK(lmode(WORK "/a/b/l2")));
    assert_true(S_ISREG(lmode(WORK "/target")));
    assert_string_equal(get(WORK "/target"), "via links");
    assert_true(inode(WORK "/target") != before);
    assert_int_equal(temps_in(WORK), 0);
    assert_int_equal(temps_in(WORK "/a"), 0);
    assert_int_equal(temps_in(WORK "/a/b"), 0);
}

static void test_dangling_link(void **state)
{
    (void)state;
    hp_diags d = {0};
    assert_int_equal(symlink("made", WORK "/a/dangling"), 0);
    assert_int_equal(write_out(WORK "/a/dangling", 0700, "created", &d), HP_OK);
    assert_true(S_ISLNK(lmode(WORK "/a/dangling")));
    assert_string_equal(get(WORK "/a/made"), "created");
    assert_int_equal(lmode(WORK "/a/made") & 07777, 0700);
}

/* out must be refused with a message containing `why`, no temporary left,
 * and its kind (lstat mode) unchanged. */
static void refused(const char *out, const char *why)
{
    hp_diags d = {0};
    mode_t before = lmode(out);
    assert_int_equal(write_out(out, 0755, "x", &d), HP_ERR_IO);
    assert_int_equal(d.errors, 1);
    if (!strstr(d.v[0].msg, why))
        fail_msg("'%s' does not say '%s'", d.v[0].msg, why);
    assert_string_equal(d.v[0].file, out);
    assert_int_equal(lmode(out), before);
    assert_int_equal(temps_in(WORK), 0);
    hp_diags_free(&d);
}

static void test_refusals(void **state)
{
    (void)state;
    assert_int_equal(mkfifo(WORK "/fifo", 0644), 0);
    refused(WORK "/fifo", "is a FIFO, not a regular file: refusing to replace it");
    mkdir(WORK "/dir", 0755);
    refused(WORK "/dir", "is a directory, not a regular file");
    assert_int_equal(symlink("fifo", WORK "/to-fifo"), 0);
    refused(WORK "/to-fifo", "which is not a regular file: refusing");
    assert_int_equal(symlink("loop2", WORK "/loop1"), 0);
    assert_int_equal(symlink("loop1", WORK "/loop2"), 0);
    refused(WORK "/loop1", "Too many levels of symbolic links");

    int sk = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", WORK "/sock");
    if (sk >= 0 && strlen(WORK "/sock") < sizeof sa.sun_path &&
        bind(sk, (struct sockaddr *)&sa, sizeof sa) == 0)
        refused(WORK "/sock", "is a socket");
    if (sk >= 0)
        close(sk);
    /* A copy of /dev/null: root only. */
    if (mknod(WORK "/null", S_IFCHR | 0666, makedev(1, 3)) == 0) {
        refused(WORK "/null", "is a character device");
        struct stat st;
        assert_int_equal(stat(WORK "/null", &st), 0);
        assert_int_equal(st.st_rdev, makedev(1, 3));
    }
}

static void test_swapped_before_commit(void **state)
{
    (void)state;
    hp_diags d = {0};
    hp_output o;
    assert_int_equal(hp_output_open(&o, WORK "/swap", 0644, false, &d), HP_OK);
    assert_int_equal(mkfifo(WORK "/swap", 0644), 0);
    assert_int_equal(hp_output_commit(&o, &d), HP_ERR_IO);
    hp_output_discard(&o);
    assert_true(S_ISFIFO(lmode(WORK "/swap")));
    assert_int_equal(temps_in(WORK), 0);
    assert_non_null(strstr(d.v[0].msg, "has become a FIFO"));
    hp_diags_free(&d);
}

static void test_missing_dir(void **state)
{
    (void)state;
    hp_diags d = {0};
    assert_int_equal(write_out(WORK "/no/such/out", 0644, "x", &d), HP_ERR_IO);
    assert_string_equal(d.v[0].msg, "cannot create a temporary file next to it: No such file or "
                                    "directory");
    hp_diags_free(&d);
}

static void test_beside_finish(void **state)
{
    (void)state;
    hp_diags d = {0};
    put(WORK "/a/bin", "orig");
    hp_output o;
    assert_int_equal(hp_output_open_beside(&o, WORK "/a/bin", 04755 | 0700, false, &d), HP_OK);
    assert_int_equal(write(o.fd, "patched", 7), 7);
    assert_int_equal(hp_output_finish(&o, &d), HP_OK);
    assert_int_equal(o.fd, -1);
    assert_int_equal(hp_output_finish(&o, &d), HP_OK);
    assert_non_null(o.tmp);
    assert_int_equal(strncmp(o.tmp, WORK "/a/.bin.hookpatch-", strlen(WORK "/a/.bin.hookpatch-")),
                     0);
    assert_string_equal(get(o.tmp), "patched");
    assert_int_equal(lmode(o.tmp) & 07777, 0755);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", o.tmp);
    hp_output_discard(&o);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_string_equal(get(WORK "/a/bin"), "orig");
    assert_int_equal(d.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_file_mode),
        cmocka_unit_test(test_replace_and_discard),
        cmocka_unit_test(test_symlink_chain),
        cmocka_unit_test(test_dangling_link),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_swapped_before_commit),
        cmocka_unit_test(test_missing_dir),
        cmocka_unit_test(test_beside_finish),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
