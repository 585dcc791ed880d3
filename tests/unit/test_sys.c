/* base/hp_sys: each Linux-only facility and its portable fallback, both
 * run here (hp_sys_force_portable) whatever the build; the HP_PORTABLE
 * build (scripts/test.sh) also checks that it really has no native path.
 * Files live in a scratch directory of the build tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_util.h"
#include "base/hp_par.h"
#include "base/hp_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GIB (1ull << 30)
#define FAR (5 * GIB + 12345) /* past 4 GiB: 64-bit offsets all the way */

static char dir[4096];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "%s/test_sys", HP_BINARY_DIR);
    mkdir(dir, 0755);
}

static int open_new(const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    return fd;
}

/* A byte pattern that differs at every offset of a chunk and between
 * chunks, so a block copied to the wrong place shows. */
static void pattern(uint8_t *b, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)((seed + i) * 2654435761u >> 13);
}

static void put(int fd, uint64_t off, size_t n, uint64_t seed)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    pattern(b, n, seed);
    assert_int_equal(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    free(b);
}

/* [off, off+n) of fd equals `want` (NULL: all zero). */
static void expect(int fd, uint64_t off, size_t n, const uint8_t *want)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    assert_int_equal(pread(fd, b, n, (off_t)off), (ssize_t)n);
    for (size_t i = 0; i < n; i++)
        if (b[i] != (want ? want[i] : 0))
            fail_msg("byte 0x%llx: 0x%02x, want 0x%02x", (unsigned long long)(off + i), b[i],
                     want ? want[i] : 0);
    free(b);
}

/* A sparse input: 3 data runs around holes, one of them past 5 GiB. The
 * range copied spans data, a 1 MiB hole and data again, with a copy
 * buffer of an odd size so the fallback loops ~60 times and ends on a
 * partial chunk. Copied to another offset of the output, which must then
 * hold exactly those bytes and nothing around them. */
static void copy_sparse(bool portable)
{
    hp_sys_force_portable(portable);
    hp_sys_set_copy_chunk(64 * 1024 + 3);
    int in = open_new("sparse.in"), out = open_new("sparse.out");
    const size_t run = 1500 * 1000;
    put(in, 0, 4096, 1);
    put(in, FAR, run, 2);
    put(in, FAR + run + (1u << 20), run, 3);
    const uint64_t len = 2 * run + (1u << 20), dst = 3 * GIB + 7;

    assert_int_equal(hp_sys_copy_range(in, FAR, out, dst, len), (int64_t)len);

    struct stat st;
    assert_int_equal(fstat(out, &st), 0);
    assert_int_equal((uint64_t)st.st_size, dst + len);
    uint8_t *want = malloc(run);
    assert_non_null(want);
    pattern(want, run, 2);
    expect(out, dst, run, want);
    expect(out, dst + run, 1u << 20, NULL);
    pattern(want, run, 3);
    expect(out, dst + run + (1u << 20), run, want);
    expect(out, dst - 4096, 4096, NULL); /* nothing written before */
    free(want);
    /* The file offsets did not move. */
    assert_int_equal(lseek(in, 0, SEEK_CUR), 0);
    assert_int_equal(lseek(out, 0, SEEK_CUR), 0);
    close(in);
    close(out);
    hp_sys_set_copy_chunk(0);
    hp_sys_force_portable(false);
}

static void test_copy_sparse_native(void **state) { copy_sparse(false); }
static void test_copy_sparse_portable(void **state) { copy_sparse(true); }

/* The input ends inside the range: the bytes up to its end are copied and
 * their count returned (the ELF writer then knows the file shrank). */
static void copy_short(bool portable)
{
    hp_sys_force_portable(portable);
    hp_sys_set_copy_chunk(1000);
    int in = open_new("short.in"), out = open_new("short.out");
    put(in, 0, 10000, 4);
    assert_int_equal(hp_sys_copy_range(in, 2500, out, 0, 20000), 7500);
    uint8_t want[10000];
    pattern(want, sizeof want, 4);
    expect(out, 0, 7500, want + 2500);
    /* Entirely past the end: nothing, not an error. */
    assert_int_equal(hp_sys_copy_range(in, 20000, out, 0, 100), 0);
    assert_int_equal(hp_sys_copy_range(in, 0, out, 0, 0), 0);
    close(in);
    close(out);
    hp_sys_set_copy_chunk(0);
    hp_sys_force_portable(false);
}

static void test_copy_short_native(void **state) { copy_short(false); }
static void test_copy_short_portable(void **state) { copy_short(true); }

/* A write error is -1 with errno, not a short count: here the output is
 * open read-only (EBADF), then the input is not readable. */
static void copy_errors(bool portable)
{
    hp_sys_force_portable(portable);
    int in = open_new("err.in"), w = open_new("err.out");
    put(in, 0, 5000, 5);
    char p[4200];
    snprintf(p, sizeof p, "%s/err.out", dir);
    int ro = open(p, O_RDONLY);
    assert_true(ro >= 0);
    errno = 0;
    assert_int_equal(hp_sys_copy_range(in, 0, ro, 0, 5000), -1);
    assert_int_equal(errno, EBADF);
    snprintf(p, sizeof p, "%s/err.in", dir);
    int wo = open(p, O_WRONLY);
    assert_true(wo >= 0);
    errno = 0;
    assert_int_equal(hp_sys_copy_range(wo, 0, w, 0, 5000), -1);
    assert_int_equal(errno, EBADF);
    /* Offsets that would overflow off_t are refused up front. */
    errno = 0;
    assert_int_equal(hp_sys_copy_range(in, INT64_MAX - 10, w, 0, 100), -1);
    assert_int_equal(errno, EINVAL);
    close(in);
    close(w);
    close(ro);
    close(wo);
    hp_sys_force_portable(false);
}

static void test_copy_errors_native(void **state) { copy_errors(false); }
static void test_copy_errors_portable(void **state) { copy_errors(true); }

/* The CPU count follows the affinity mask where the build has
 * sched_getaffinity, else it is the online CPUs; hp_par_threads follows
 * it. Pinned to one CPU here, so the two differ on any multi-core host. */
static void test_cpus(void **state)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    assert_true(online >= 1);
    cpu_set_t old, one;
    assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &old)) {
            CPU_SET(c, &one);
            break;
        }
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    bool native = strstr(hp_sys_native(), "sched_getaffinity") != NULL;
    long got = hp_sys_cpus(), par = (long)hp_par_threads();
    hp_sys_force_portable(true);
    long portable = hp_sys_cpus();
    hp_sys_force_portable(false);
    assert_int_equal(sched_setaffinity(0, sizeof old, &old), 0);

    assert_int_equal(got, native ? 1 : online);
    assert_int_equal(par, got > 8 ? 8 : got);
    assert_int_equal(portable, online);
}

/* A temporary from the template, close-on-exec from either path, mode
 * 0600, the template's XXXXXX replaced. */
static void mkstemp_cloexec(bool portable)
{
    hp_sys_force_portable(portable);
    char t[4200];
    snprintf(t, sizeof t, "%s/tmp.XXXXXX", dir);
    int fd = hp_sys_mkstemp_cloexec(t);
    hp_sys_force_portable(false);
    assert_true(fd >= 0);
    assert_null(strstr(t, "XXXXXX"));
    assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    struct stat st;
    assert_int_equal(stat(t, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    unlink(t);
    /* A template without XXXXXX is refused, as mkstemp refuses it. */
    snprintf(t, sizeof t, "%s/no-template", dir);
    hp_sys_force_portable(portable);
    errno = 0;
    assert_int_equal(hp_sys_mkstemp_cloexec(t), -1);
    hp_sys_force_portable(false);
    assert_int_equal(errno, EINVAL);
}

static void test_mkstemp_native(void **state) { mkstemp_cloexec(false); }
static void test_mkstemp_portable(void **state) { mkstemp_cloexec(true); }

/* What CMake found is what the build uses; HP_PORTABLE leaves nothing
 * native (HP_TEST_SYS_NATIVE: the facilities CMake enabled). */
static void test_native_set(void **state)
{
    assert_string_equal(hp_sys_native(), HP_TEST_SYS_NATIVE);
#ifdef HP_TEST_PORTABLE
    assert_string_equal(hp_sys_native(), "");
#endif
}

int main(void)
{
    make_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_sparse_native),  cmocka_unit_test(test_copy_sparse_portable),
        cmocka_unit_test(test_copy_short_native),   cmocka_unit_test(test_copy_short_portable),
        cmocka_unit_test(test_copy_errors_native),  cmocka_unit_test(test_copy_errors_portable),
        cmocka_unit_test(test_cpus),                cmocka_unit_test(test_mkstemp_native),
        cmocka_unit_test(test_mkstemp_portable),    cmocka_unit_test(test_native_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
