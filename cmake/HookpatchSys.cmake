# Which Linux-only facilities this host has (base/hp_sys.c, relocs/x86.c,
# relocs/arm64.c). Each found one sets HP_HAVE_<NAME> and adds it to
# HP_SYS_DEFS; the code uses the portable fallback otherwise. HP_PORTABLE
# forces every one off, so the fallbacks are built and tested on Linux too
# (scripts/test.sh) and a macOS build takes no path CI has not run.
include(CheckSymbolExists)
include(CheckCSourceCompiles)

set(HP_SYS_DEFS "")
set(HP_SYS_FACILITIES COPY_FILE_RANGE SCHED_GETAFFINITY MKOSTEMP SSE2)
foreach(f ${HP_SYS_FACILITIES})
  set(HP_HAVE_${f} OFF)
endforeach()

if(NOT HP_PORTABLE)
  set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
  set(CMAKE_REQUIRED_QUIET ON)
  check_symbol_exists(copy_file_range "unistd.h" HP_SYS_COPY_FILE_RANGE)
  check_c_source_compiles("
    #include <sched.h>
    int main(void) { cpu_set_t s; return sched_getaffinity(0, sizeof s, &s) ? 0 : CPU_COUNT(&s); }"
    HP_SYS_SCHED_GETAFFINITY)
  check_symbol_exists(mkostemp "stdlib.h" HP_SYS_MKOSTEMP)
  # Compiled for this target with SSE2 enabled, not merely a header found.
  check_c_source_compiles("
    #ifndef __SSE2__
    #error no SSE2
    #endif
    #include <emmintrin.h>
    int main(void) { return _mm_movemask_epi8(_mm_set1_epi8(1)); }" HP_SYS_SSE2)
  unset(CMAKE_REQUIRED_DEFINITIONS)
  unset(CMAKE_REQUIRED_QUIET)
  foreach(f ${HP_SYS_FACILITIES})
    if(HP_SYS_${f})
      set(HP_HAVE_${f} ON)
      list(APPEND HP_SYS_DEFS HP_HAVE_${f})
    endif()
  endforeach()
endif()
message(STATUS "hookpatch: native facilities: ${HP_SYS_DEFS} (HP_PORTABLE=${HP_PORTABLE})")
