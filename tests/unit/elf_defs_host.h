/* One ELF name's value, or one structure's or field's size and offset,
 * from one header: the project's (test_elf.c) or the host's <elf.h>
 * (elf_defs_host.c). Two translation units, since the two headers define
 * the same names. */
#ifndef HP_TEST_ELF_DEFS_HOST_H
#define HP_TEST_ELF_DEFS_HOST_H

#include <stddef.h>
#include <stdint.h>

typedef struct elf_def {
    const char *name; /* "SHT_NULL", "Elf64_Sym", "Elf64_Sym.st_info" */
    uint64_t value;   /* the constant, or the size */
    size_t off;       /* fields: offsetof */
} elf_def;

#define HP_ELF_NAME(n) {#n, (uint64_t)(n), 0},
#define HP_ELF_TYPE(t) {#t, sizeof(t), 0},
#define HP_ELF_FIELD(t, f) {#t "." #f, sizeof(((t *)0)->f), offsetof(t, f)},

/* The host's table, NULL where the host has no <elf.h>. */
extern const elf_def *const elf_defs_host;
extern const size_t elf_defs_host_count;

#endif
