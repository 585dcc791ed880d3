/* Portable wrappers over Linux-only calls (see hp_sys.h). Each facility is
 * one function: the Linux call under its HP_HAVE_* definition (set by the
 * checks in CMakeLists.txt, all off under HP_PORTABLE), then the POSIX
 * fallback, which is also what the Linux path falls back to at run time
 * when the call is refused (an old kernel, a file system without it). This
 * is the only file that asks the C library for GNU extensions. */
#if defined(HP_HAVE_COPY_FILE_RANGE) || defined(HP_HAVE_SCHED_GETAFFINITY) || \
    defined(HP_HAVE_MKOSTEMP)
#define _GNU_SOURCE
#endif
#include "hp_sys.h"
#include "hp_base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef HP_HAVE_SCHED_GETAFFINITY
#include <sched.h>
#endif

#define HP_SYS_CHUNK_DEFAULT (1u << 20)

static size_t hp_sys_chunk = HP_SYS_CHUNK_DEFAULT;
static bool hp_sys_portable; /* test hook: take the fallbacks */

void hp_sys_set_copy_chunk(size_t bytes) { hp_sys_chunk = bytes ? bytes : HP_SYS_CHUNK_DEFAULT; }

void hp_sys_force_portable(bool on) { hp_sys_portable = on; }

const char *hp_sys_native(void)
{
    static const char s[] = ""
#ifdef HP_HAVE_COPY_FILE_RANGE
           " copy_file_range"
#endif
#ifdef HP_HAVE_SCHED_GETAFFINITY
           " sched_getaffinity"
#endif
#ifdef HP_HAVE_MKOSTEMP
           " mkostemp"
#endif
#ifdef HP_HAVE_SSE2
           " sse2"
#endif
        ;
    return s[0] ? s + 1 : s;
}

/* ---- copying a file range */

/* pwrite all of buf at off, retrying short writes and EINTR. */
static bool hp_sys_pwrite_all(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
    while (len) {
        ssize_t n = pwrite(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO; /* no progress and no reason: do not spin */
        if (n <= 0)
            return false;
        buf += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return true;
}

/* The portable copy: one bounded buffer, pread then pwrite. */
static int64_t hp_sys_copy_rw(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off,
                              uint64_t len)
{
    size_t cap = len < hp_sys_chunk ? (size_t)len : hp_sys_chunk;
    uint8_t *buf = cap ? hp_malloc(cap) : NULL;
    if (cap && !buf) {
        errno = ENOMEM;
        return -1;
    }
    uint64_t done = 0;
    while (done < len) {
        size_t want = len - done < cap ? (size_t)(len - done) : cap;
        ssize_t n = pread(in_fd, buf, want, (off_t)(in_off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && !hp_sys_pwrite_all(out_fd, buf, (size_t)n, out_off + done))) {
            done = UINT64_MAX;
            break;
        }
        if (n == 0)
            break; /* the input ends here */
        done += (uint64_t)n;
    }
    int err = errno;
    hp_free(buf);
    errno = err;
    return done == UINT64_MAX ? -1 : (int64_t)done;
}

#ifdef HP_HAVE_COPY_FILE_RANGE
/* Errors that mean "these two files cannot do copy_file_range" (another
 * file system, an old kernel), not "the disk failed". */
static bool hp_sys_copy_unsupported(int err)
{
    return err == EXDEV || err == ENOSYS || err == EINVAL || err == EOPNOTSUPP;
}
#endif

int64_t hp_sys_copy_range(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off,
                          uint64_t len)
{
    if (len > INT64_MAX || in_off > INT64_MAX - len || out_off > INT64_MAX - len) {
        errno = EINVAL;
        return -1;
    }
    uint64_t done = 0;
#ifdef HP_HAVE_COPY_FILE_RANGE
    while (!hp_sys_portable && done < len) {
        loff_t in = (loff_t)(in_off + done), out = (loff_t)(out_off + done);
        size_t want = len - done < (1u << 30) ? (size_t)(len - done) : (1u << 30);
        ssize_t n = copy_file_range(in_fd, &in, out_fd, &out, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && !hp_sys_copy_unsupported(errno))
            return -1;
        if (n < 0)
            break; /* refused: the portable copy does the rest */
        if (n == 0)
            return (int64_t)done; /* the input ends here */
        done += (uint64_t)n;
    }
#endif
    int64_t rest = hp_sys_copy_rw(in_fd, in_off + done, out_fd, out_off + done, len - done);
    return rest < 0 ? -1 : (int64_t)done + rest;
}

/* ---- CPUs */

long hp_sys_cpus(void)
{
    long n = 0;
#ifdef HP_HAVE_SCHED_GETAFFINITY
    cpu_set_t set; /* the CPUs this process may run on (taskset, cgroups) */
    if (!hp_sys_portable && sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
#endif
    if (n < 1)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n;
}

/* ---- temporary files */

int hp_sys_mkstemp_cloexec(char *tmpl)
{
#ifdef HP_HAVE_MKOSTEMP
    if (!hp_sys_portable)
        return mkostemp(tmpl, O_CLOEXEC);
#endif
    /* Not atomic against a fork in another thread, but hookpatch's worker
     * threads (hp_par) never fork. */
    int fd = mkstemp(tmpl);
    if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        int err = errno;
        unlink(tmpl);
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}
