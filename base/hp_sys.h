/* hp_sys: the operating-system calls that differ between Linux and other
 * POSIX systems (macOS), each behind one function with a portable
 * fallback. Which one is built is decided by CMake's checks
 * (HP_HAVE_* compile definitions, private to this module) and can be
 * forced to the fallbacks with -DHP_PORTABLE=ON, which CI builds and tests
 * too (scripts/test.sh). Callers see the same contract either way. */
#ifndef HP_SYS_H
#define HP_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy len bytes from in_fd at in_off to out_fd at out_off, without moving
 * either file offset. In the kernel where it can (Linux copy_file_range),
 * else through a bounded buffer with pread/pwrite. Returns the bytes
 * copied: len, or fewer when the input ends early (it was truncated);
 * -1 with errno set on a read or write error. EINTR is retried. */
int64_t hp_sys_copy_range(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off,
                          uint64_t len);

/* The number of CPUs this process may run on: its affinity mask where the
 * system has one (Linux sched_getaffinity), else the online CPUs. At
 * least 1. */
long hp_sys_cpus(void);

/* mkstemp(tmpl) with the descriptor close-on-exec from the start where the
 * system can (mkostemp), else set right after creation. Same return and
 * errno as mkstemp. */
int hp_sys_mkstemp_cloexec(char *tmpl);

/* The facilities this build has a native path for, for the tests: a
 * static string such as
 * "copy_file_range sched_getaffinity mkostemp sse2" (in that order), ""
 * for a fully portable build. */
const char *hp_sys_native(void);

/* Test hook: the copy fallback's buffer size (default 1 MiB), so a test can
 * make it loop; 0 restores the default. Only the fallback uses it. */
void hp_sys_set_copy_chunk(size_t bytes);

/* Test hook: force the portable fallbacks on (true) in a native build, so
 * both paths of one facility can be run by one test binary. */
void hp_sys_force_portable(bool on);

#endif
