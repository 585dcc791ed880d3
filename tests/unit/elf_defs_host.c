/* The host's <elf.h> values of the names sections/elf/elf_defs.h defines
 * (elf_defs_names.h), for test_elf.c to compare. */
#include "elf_defs_host.h"

#ifdef HP_TEST_HOST_ELF_H
#include <elf.h>

static const elf_def host[] = {
#include "elf_defs_names.h"
};
const elf_def *const elf_defs_host = host;
const size_t elf_defs_host_count = sizeof host / sizeof host[0];
#else
const elf_def *const elf_defs_host = NULL;
const size_t elf_defs_host_count = 0;
#endif
