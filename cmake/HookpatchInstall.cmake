# What leaves the build tree: `cmake --install` (the binary, the man page,
# the switch helpers include/hookpatch.h and the Go module, the CMake
# package with hookpatch::hookpatch and hookpatch_patch()) and
# `cpack -G DEB`. Included at the end of the top-level CMakeLists.txt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HOOKPATCH_INSTALL_CMAKEDIR "lib/cmake/hookpatch" CACHE STRING
  "Where the CMake package is installed, relative to the prefix")

install(TARGETS hookpatch EXPORT hookpatchTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES man/hookpatch.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# The switchable hooks' helpers (issue 17): the C/C++ header, and the Go
# module hookpatch.dev, which tests use through a replace directive
# pointing at share/hookpatch/go.
install(FILES include/hookpatch.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY go/ DESTINATION ${CMAKE_INSTALL_DATADIR}/hookpatch/go
  FILES_MATCHING PATTERN "*.go" PATTERN "*.s" PATTERN "go.mod")

install(EXPORT hookpatchTargets NAMESPACE hookpatch:: DESTINATION ${HOOKPATCH_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/hookpatchConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/hookpatchConfig.cmake
  INSTALL_DESTINATION ${HOOKPATCH_INSTALL_CMAKEDIR})
# Before 1.0 a minor release may change the rules or the options. The
# package holds a program, not a library: any architecture may use it.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/hookpatchConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/hookpatchConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/hookpatchConfigVersion.cmake
  cmake/HookpatchPatch.cmake
  DESTINATION ${HOOKPATCH_INSTALL_CMAKEDIR})

# ---- Debian package: cpack -G DEB in the build tree.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hookpatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "hookpatch maintainers <hookpatch@invalid>" CACHE STRING
  "Maintainer field of the Debian package")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "offline binary rewriter for test builds")
set(CPACK_PACKAGE_DESCRIPTION "hookpatch reads an x86-64 ELF, PE or Mach-O executable or \
library, appends stubs, trampolines and code linked from object files, and points each \
target function's entry at them. It runs as a post-link step for test binaries. The \
package holds the program, its manual page, the switch helpers (include/hookpatch.h and \
the Go module hookpatch.dev) and a CMake package with hookpatch_patch().")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# dpkg-shlibdeps reads the binary's DT_NEEDED entries: Zydis, cJSON,
# toml++, libstdc++, libc, ...
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
include(CPack)
