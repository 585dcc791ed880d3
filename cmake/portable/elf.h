/* Found first by hookpatch's own sources in an HP_PORTABLE build
 * (CMakeLists.txt), so an <elf.h> include fails here as it would on macOS,
 * which has none. */
#error "<elf.h> is not portable (macOS has none): use sections/elf/elf_defs.h"
