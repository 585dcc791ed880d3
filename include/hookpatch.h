/* hookpatch.h: switch a function's behaviour at run time in a binary that
 * hookpatch patched with `action = "switch"` rules (per-test mocks for C and
 * C++). Test code includes it; the binary's code is never written at run
 * time: each switchable function reads a slot that these helpers set.
 *
 * Use: include this header where you need it, and in exactly ONE C or C++
 * file of each executable or shared library define the implementation:
 *
 *     #define HOOKPATCH_IMPLEMENTATION
 *     #include "hookpatch.h"
 *
 * (Forgetting it is a link error, undefined hookpatch_set; defining it twice
 * is a duplicate-symbol link error: either way the linker says so, on every
 * toolchain. Weak definitions in the header were not used: mingw-w64 makes
 * each weak definition a body of its own, `.weak.NAME.FILE`, and leaves
 * NAME undefined in the COFF symbol table, so there would be several
 * markers and none that hookpatch finds by its name.)
 *
 * Then patch the binary with one rule per function to switch:
 *
 *     [[hook]]
 *     target = "add"         # a name, a glob or an address
 *     action = "switch"
 *
 *     hookpatch_set(add, mock_add);    // from now on add() runs mock_add()
 *     hookpatch_original(add)(2, 3);   // the real add (C++; in C cast it)
 *     hookpatch_reset(add);            // add() is itself again
 *
 * Contract
 * - hookpatch_set(target, fn): calls of `target` (direct, through function
 *   pointers, from any thread) run `fn` with the target's arguments until the
 *   next set/reset. `fn` must have the target's type. fn == NULL or
 *   fn == target is a reset. The store is a release store, so a thread that
 *   sees the new function also sees what was written before the call.
 * - hookpatch_reset(target): calls of `target` run the original again.
 * - hookpatch_original(target): the original function, callable from a mock
 *   (it does not go through the switch, so a mock can wrap the original).
 * - Each returns 0 / non-NULL on success. On failure nothing is changed, a
 *   line starting "hookpatch: " is written to stderr and the result is one
 *   of the HOOKPATCH_E* codes (NULL for hookpatch_original):
 *   the binary was not patched (run it through hookpatch with a switch
 *   rule), the target is not switchable (the message gives the rule to add,
 *   with the function's name where the platform can tell it, and its link
 *   address), or it is a Go function (switch those from Go,
 *   hookpatch.dev/mock).
 * - Scope: the helpers see the switch table of the module (executable or
 *   shared library) that they are linked into; targets in another module
 *   are switched by code in that module. The helpers are hidden on ELF and
 *   Mach-O for that reason: two libraries never share one copy.
 * - hookpatch finds the marker by name: in the symbol table, or (ELF
 *   shared libraries, which export it) in .dynsym. Patch executables, PE
 *   files and Mach-O files before stripping them.
 * - Needs GCC or Clang (ELF, Mach-O, mingw-w64 PE); C99 or C++11 and later.
 *
 * How the helpers find the table without a symbol table at run time:
 * hookpatch_switch_table() below returns NULL as compiled; hookpatch finds
 * it by name when it patches the binary and replaces its body with a stub
 * that returns the address of the switch table. Table format, version 1
 * (little-endian; every address is relative to the table itself):
 *     0  char   magic[8] = "HPSWTAB1"
 *     8  u32    version = 1,   12 u32 count
 *     16 i64    slots_rel (slot i at table + slots_rel + 8 * i)
 *     24 u32    entry_size = 24,  28 u32 reserved
 *     32 entries[count], sorted by target_rel, unique:
 *        i64 target_rel, i64 tramp_rel, u32 abi (0 C, 1 Go), u32 reserved
 * A C slot holds a code address; 0 means "run the original".
 */
#ifndef HOOKPATCH_H
#define HOOKPATCH_H

#define HOOKPATCH_OK 0
#define HOOKPATCH_ENOTPATCHED 1   /* no switch table: hookpatch did not patch this binary */
#define HOOKPATCH_ETABLE 2        /* a switch table this header cannot read (version) */
#define HOOKPATCH_ENOTSWITCHABLE 3 /* no switch rule matched the target */
#define HOOKPATCH_EABI 4          /* the target is a Go function */

#if defined(_WIN32) || defined(__CYGWIN__)
#define HOOKPATCH__HIDDEN
#else
#define HOOKPATCH__HIDDEN __attribute__((visibility("hidden")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

HOOKPATCH__HIDDEN int hookpatch_set(const void *target, const void *fn);
HOOKPATCH__HIDDEN int hookpatch_reset(const void *target);
HOOKPATCH__HIDDEN void *hookpatch_original(const void *target);

/* The marker hookpatch rewrites (see above). Not for direct use. On ELF it
 * is protected, not hidden: a shared library exports it, so hookpatch finds
 * it in .dynsym once the library is stripped, and the library's own calls
 * still go straight to it (never to another module's marker). */
#if defined(__ELF__)
__attribute__((visibility("protected")))
#else
HOOKPATCH__HIDDEN
#endif
const void *hookpatch_switch_table(void);

#ifdef __cplusplus
}

/* C++ cannot convert a function pointer to `const void *` implicitly: these
 * take the function itself and check that the mock has the target's type.
 * They call the C functions through pointers so that overload resolution
 * can never pick a template again. */
template <typename F>
inline int hookpatch_set(F *target, F *fn)
{
    int (*c)(const void *, const void *) = hookpatch_set;
    return c((const void *)target, (const void *)fn);
}

template <typename F>
inline int hookpatch_reset(F *target)
{
    int (*c)(const void *) = hookpatch_reset;
    return c((const void *)target);
}

template <typename F>
inline F *hookpatch_original(F *target)
{
    void *(*c)(const void *) = hookpatch_original;
    return (F *)c((const void *)target);
}
#endif /* __cplusplus */
#endif /* HOOKPATCH_H */

#if defined(HOOKPATCH_IMPLEMENTATION) && !defined(HOOKPATCH__IMPLEMENTED)
#define HOOKPATCH__IMPLEMENTED

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(_WIN32) || defined(__CYGWIN__)
#include <windows.h>
#elif defined(__ELF__)
#include <elf.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Always NULL: hookpatch replaces the marker's body, never this variable.
 * The volatile load keeps the body real code (>= 8 bytes, room for the
 * entry jump) that no compiler can fold into its callers. */
static const void *volatile hookpatch__unpatched;

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ < 8)
__attribute__((noinline, used))
#else
__attribute__((noinline, noipa, used))
#endif
const void *hookpatch_switch_table(void)
{
    return hookpatch__unpatched;
}

/* c_switch.sh checks the lookup against forged tables through this seam. */
#ifdef HOOKPATCH_TEST_TABLE
#define HOOKPATCH__TABLE() HOOKPATCH_TEST_TABLE()
#else
#define HOOKPATCH__TABLE() hookpatch_switch_table()
#endif

#define HOOKPATCH__HEADER_SIZE 32
#define HOOKPATCH__ENTRY_MIN 24
#define HOOKPATCH__ABI_C 0
#define HOOKPATCH__ABI_GO 1

struct hookpatch__table {
    const unsigned char *base; /* the table; NULL when unpatched */
    uint32_t count;
    uint32_t entry_size;
    int64_t slots_rel;
};

struct hookpatch__entry {
    int64_t target_rel;
    int64_t tramp_rel;
    uint32_t abi;
    uint32_t index;
};

/* Where a function is, for messages: its name when the platform's loader
 * knows it, the module and the address hookpatch rules use (link time). */
struct hookpatch__where {
    const char *name;
    const char *module;
    unsigned long long link_va;
    int have_va;
    char buf[260];
};

static int64_t hookpatch__i64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

static uint32_t hookpatch__u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t hookpatch__rel(const void *p, const unsigned char *base)
{
    return (int64_t)((uint64_t)(uintptr_t)p - (uint64_t)(uintptr_t)base);
}

#if defined(_WIN32) || defined(__CYGWIN__)
static void hookpatch__locate(const void *p, struct hookpatch__where *w)
{
    HMODULE mod = NULL;
    if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                                GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCSTR)p, &mod))
        return;
    if (GetModuleFileNameA(mod, w->buf, sizeof w->buf) > 0)
        w->module = w->buf;
    /* The loader may have moved the image: report the RVA, which the
     * rules' address (image base + RVA) is made from. */
    w->link_va = (unsigned long long)((uintptr_t)p - (uintptr_t)mod);
    w->have_va = 2;
}
#else
#define HOOKPATCH__STR2(x) #x
#define HOOKPATCH__STR(x) HOOKPATCH__STR2(x)
struct hookpatch__dl_info { /* Dl_info, declared here: <dlfcn.h> hides it without _GNU_SOURCE */
    const char *dli_fname;
    void *dli_fbase;
    const char *dli_sname;
    void *dli_saddr;
};
/* Weak: a static link, or a libc without dladdr in it (glibc < 2.34 without
 * -ldl), still links; the message then has no name. */
extern int hookpatch__dladdr(const void *, struct hookpatch__dl_info *)
    __asm__(HOOKPATCH__STR(__USER_LABEL_PREFIX__) "dladdr") __attribute__((weak));

#if defined(__ELF__)
#if __SIZEOF_POINTER__ == 8
typedef Elf64_Phdr hookpatch__phdr;
#else
typedef Elf32_Phdr hookpatch__phdr;
#endif
/* The leading fields of struct dl_phdr_info (<link.h> hides it without
 * _GNU_SOURCE); the same in glibc, musl and the BSDs. */
struct hookpatch__phdr_info {
    uintptr_t dlpi_addr;
    const char *dlpi_name;
    const hookpatch__phdr *dlpi_phdr;
    uint16_t dlpi_phnum;
};
extern int hookpatch__dl_iterate_phdr(int (*)(struct hookpatch__phdr_info *, size_t, void *), void *)
    __asm__(HOOKPATCH__STR(__USER_LABEL_PREFIX__) "dl_iterate_phdr");

struct hookpatch__find_va {
    uintptr_t p;
    struct hookpatch__where *w;
};

static int hookpatch__phdr_cb(struct hookpatch__phdr_info *info, size_t size, void *data)
{
    struct hookpatch__find_va *f = (struct hookpatch__find_va *)data;
    int i;
    (void)size;
    for (i = 0; i < info->dlpi_phnum; i++) {
        uintptr_t lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
        if (info->dlpi_phdr[i].p_type != PT_LOAD || f->p < lo ||
            f->p - lo >= info->dlpi_phdr[i].p_memsz)
            continue;
        f->w->link_va = f->p - info->dlpi_addr;
        f->w->have_va = 1;
        if (info->dlpi_name && info->dlpi_name[0])
            f->w->module = info->dlpi_name;
        return 1;
    }
    return 0;
}
#elif defined(__APPLE__)
/* The link address is the offset from the Mach header plus __TEXT's vmaddr. */
static void hookpatch__macho_va(const void *p, const unsigned char *mh, struct hookpatch__where *w)
{
    const unsigned char *lc = mh + 32;
    uint32_t n = hookpatch__u32(mh + 16), i;
    for (i = 0; i < n; i++, lc += hookpatch__u32(lc + 4)) {
        if (hookpatch__u32(lc) == 0x19 && memcmp(lc + 8, "__TEXT", 7) == 0) {
            w->link_va = (unsigned long long)(hookpatch__rel(p, mh) + hookpatch__i64(lc + 24));
            w->have_va = 1;
            return;
        }
    }
}
#endif

static void hookpatch__locate(const void *p, struct hookpatch__where *w)
{
    struct hookpatch__dl_info info;
    memset(&info, 0, sizeof info);
    if (hookpatch__dladdr && hookpatch__dladdr(p, &info)) {
        if (info.dli_sname && info.dli_saddr == p)
            w->name = info.dli_sname;
        w->module = info.dli_fname;
    }
#if defined(__ELF__)
    {
        struct hookpatch__find_va f;
        f.p = (uintptr_t)p;
        f.w = w;
        hookpatch__dl_iterate_phdr(hookpatch__phdr_cb, &f);
    }
#elif defined(__APPLE__)
    if (info.dli_fbase)
        hookpatch__macho_va(p, (const unsigned char *)info.dli_fbase, w);
#endif
}
#endif /* not Windows */

static void hookpatch__describe(const char *who, const void *target, const char *problem)
{
    struct hookpatch__where w;
    memset(&w, 0, sizeof w);
    hookpatch__locate(target, &w);
    fprintf(stderr, "hookpatch: %s(%p", who, target);
    if (w.name)
        fprintf(stderr, " %s", w.name);
    if (w.have_va == 1)
        fprintf(stderr, ", link address 0x%llx", w.link_va);
    else if (w.have_va == 2)
        fprintf(stderr, ", RVA 0x%llx", w.link_va);
    if (w.module)
        fprintf(stderr, " in %s", w.module);
    fprintf(stderr, "): %s", problem);
    if (w.name)
        fprintf(stderr, " [[hook]] target = \"%s\" action = \"switch\"\n", w.name);
    else if (w.have_va == 1)
        fprintf(stderr, " [[hook]] target = \"0x%llx\" action = \"switch\" (or the function's name)\n",
                w.link_va);
    else
        fprintf(stderr, " [[hook]] target = \"<the function's name>\" action = \"switch\"\n");
}

/* The switch table, checked; 0 or an HOOKPATCH_E* code (message printed). */
static int hookpatch__load(const char *who, const void *target, struct hookpatch__table *t)
{
    const unsigned char *p = (const unsigned char *)HOOKPATCH__TABLE();
    if (!p) {
        hookpatch__describe(who, target,
                            "this binary was not patched by hookpatch (it has no switch table): "
                            "patch it, or run it under `hookpatch exec`, with the rule");
        return HOOKPATCH_ENOTPATCHED;
    }
    t->base = p;
    t->count = hookpatch__u32(p + 12);
    t->slots_rel = hookpatch__i64(p + 16);
    t->entry_size = hookpatch__u32(p + 24);
    if (memcmp(p, "HPSWTAB1", 8) != 0 || hookpatch__u32(p + 8) != 1 ||
        t->entry_size < HOOKPATCH__ENTRY_MIN) {
        fprintf(stderr,
                "hookpatch: %s(%p): the switch table at %p is not version 1 (magic %.8s, "
                "version %u, entry size %u): this hookpatch.h does not match the hookpatch "
                "that patched the binary\n",
                who, target, (const void *)p, (const char *)p, (unsigned)hookpatch__u32(p + 8),
                (unsigned)t->entry_size);
        return HOOKPATCH_ETABLE;
    }
    return HOOKPATCH_OK;
}

/* Binary search of the entries (sorted by target_rel, unique). */
static int hookpatch__search(const struct hookpatch__table *t, int64_t rel, struct hookpatch__entry *e)
{
    uint32_t lo = 0, hi = t->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const unsigned char *q = t->base + HOOKPATCH__HEADER_SIZE + (size_t)mid * t->entry_size;
        int64_t key = hookpatch__i64(q);
        if (key == rel) {
            e->target_rel = key;
            e->tramp_rel = hookpatch__i64(q + 8);
            e->abi = hookpatch__u32(q + 16);
            e->index = mid;
            return 1;
        }
        if (key < rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The target's C entry: 0, or an HOOKPATCH_E* code with its message. */
static int hookpatch__lookup(const char *who, const void *target, struct hookpatch__table *t,
                             struct hookpatch__entry *e)
{
    int rc = hookpatch__load(who, target, t);
    if (rc != HOOKPATCH_OK)
        return rc;
    if (!hookpatch__search(t, hookpatch__rel(target, t->base), e)) {
        hookpatch__describe(who, target, "not switchable in this binary: patch it with the rule");
        return HOOKPATCH_ENOTSWITCHABLE;
    }
    if (e->abi == HOOKPATCH__ABI_GO) {
        fprintf(stderr,
                "hookpatch: %s(%p): a Go function (its slot holds a Go func value): switch it "
                "from Go with hookpatch.dev/mock (mock.Patch), not with hookpatch.h\n",
                who, target);
        return HOOKPATCH_EABI;
    }
    if (e->abi != HOOKPATCH__ABI_C) {
        fprintf(stderr,
                "hookpatch: %s(%p): its switch uses ABI %u, which this hookpatch.h does not "
                "know: use the hookpatch.h of the hookpatch that patched the binary\n",
                who, target, (unsigned)e->abi);
        return HOOKPATCH_EABI;
    }
    return HOOKPATCH_OK;
}

static void hookpatch__store(const struct hookpatch__table *t, uint32_t i, const void *fn)
{
    uintptr_t *slot = (uintptr_t *)((uintptr_t)t->base + (uintptr_t)t->slots_rel + (uintptr_t)8 * i);
    __atomic_store_n(slot, (uintptr_t)fn, __ATOMIC_RELEASE);
}

int hookpatch_set(const void *target, const void *fn)
{
    struct hookpatch__table t;
    struct hookpatch__entry e;
    int rc = hookpatch__lookup("hookpatch_set", target, &t, &e);
    if (rc != HOOKPATCH_OK)
        return rc;
    /* The target itself would call its own dispatch forever: empty the slot. */
    hookpatch__store(&t, e.index, fn == target ? NULL : fn);
    return HOOKPATCH_OK;
}

int hookpatch_reset(const void *target)
{
    struct hookpatch__table t;
    struct hookpatch__entry e;
    int rc = hookpatch__lookup("hookpatch_reset", target, &t, &e);
    if (rc != HOOKPATCH_OK)
        return rc;
    hookpatch__store(&t, e.index, NULL);
    return HOOKPATCH_OK;
}

void *hookpatch_original(const void *target)
{
    struct hookpatch__table t;
    struct hookpatch__entry e;
    if (hookpatch__lookup("hookpatch_original", target, &t, &e) != HOOKPATCH_OK)
        return NULL;
    return (void *)(uintptr_t)(t.base + e.tramp_rel);
}

#ifdef __cplusplus
}
#endif
#endif /* HOOKPATCH_IMPLEMENTATION */
