# hookpatch_patch: hookpatch as a post-link step of a CMake build. Installed
# with the hookpatch CMake package and loaded by find_package(hookpatch),
# which also defines the imported executable hookpatch::hookpatch.
#
#   hookpatch_patch(<target> RULES <file> [OUTPUT <name>]
#                   [OPTIONS <hookpatch option>...] [DEPENDS <target>...])
#
# Patches the executable or shared library <target> with the rules <file>
# (relative to the current source directory) into <name> (default
# <target>.hooked; relative to <target>'s output directory). A target
# hookpatch_<name>, built by `all`, makes it. OPTIONS go to hookpatch
# before IN OUT RULES (--strict, -q, --no-fsync, ...). DEPENDS names targets
# to build first: the OBJECT library whose object a rules file names as
# `object =`. The output is made again when <target>, the rules file, an
# object file the rules name, or hookpatch itself changes: hookpatch writes
# a depfile during the run (--depfile). Where the generator cannot read
# depfiles (Makefiles before CMake 3.20), or when HOOKPATCH_NO_DEPFILE is
# true, the object files come from `hookpatch --print-deps RULES` at
# configure time instead (CMake configures again when the rules file
# changes) and from the OBJECT libraries in DEPENDS.
#
# Register the patched program as a test with
#   add_test(NAME app-hooked COMMAND $<TARGET_FILE_DIR:app>/app.hooked)
# or, when app is built in the current binary directory, simply
#   add_test(NAME app-hooked COMMAND app.hooked)

include_guard(GLOBAL)

# A function runs with the policies in force where it was defined. CMP0116
# NEW: CMake rewrites the depfile's paths for Ninja itself, so hookpatch may
# write absolute ones.
cmake_policy(PUSH)
if(POLICY CMP0116)
  cmake_policy(SET CMP0116 NEW)
endif()

# Whether add_custom_command(DEPFILE) works with this generator and CMake.
function(_hookpatch_depfile_supported out)
  set(ok FALSE)
  if(CMAKE_GENERATOR MATCHES "Ninja")
    set(ok TRUE)
  elseif(CMAKE_GENERATOR MATCHES "Makefiles|Xcode" AND NOT CMAKE_VERSION VERSION_LESS 3.20)
    set(ok TRUE)
  elseif(CMAKE_GENERATOR MATCHES "Visual Studio" AND NOT CMAKE_VERSION VERSION_LESS 3.21)
    set(ok TRUE)
  endif()
  if(HOOKPATCH_NO_DEPFILE)
    set(ok FALSE)
  endif()
  set(${out} ${ok} PARENT_SCOPE)
endfunction()

# The directory <target>'s file is written to, known at configure time
# (add_custom_command's OUTPUT may not use target-dependent expressions).
function(_hookpatch_output_dir target kind out)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" cfg)
  set(dir "")
  if(cfg)
    get_target_property(dir ${target} ${kind}_OUTPUT_DIRECTORY_${cfg})
  endif()
  if(NOT dir)
    get_target_property(dir ${target} ${kind}_OUTPUT_DIRECTORY)
  endif()
  get_target_property(bin ${target} BINARY_DIR)
  if(NOT dir)
    set(dir "${bin}")
  elseif(dir MATCHES "\\$<")
    message(FATAL_ERROR "hookpatch_patch(${target}): its ${kind}_OUTPUT_DIRECTORY holds a "
      "generator expression; give OUTPUT an absolute path instead")
  elseif(NOT IS_ABSOLUTE "${dir}")
    set(dir "${bin}/${dir}")
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

# Configure-time dependencies, for generators that cannot read a depfile.
function(_hookpatch_static_deps rules depends out)
  set(deps "")
  foreach(t IN LISTS depends)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "OBJECT_LIBRARY")
      list(APPEND deps "$<TARGET_OBJECTS:${t}>")
    endif()
  endforeach()
  # A rules file made at generate time (file(GENERATE)) does not exist yet
  # on the first configure; the OBJECT libraries above cover its objects.
  if(EXISTS "${rules}")
    get_target_property(exe hookpatch::hookpatch LOCATION)
    execute_process(COMMAND "${exe}" --print-deps "${rules}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE objs ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "hookpatch_patch: hookpatch --print-deps ${rules} failed:\n${err}")
    endif()
    string(REGEX REPLACE "\n$" "" objs "${objs}")
    if(objs MATCHES ";")
      message(FATAL_ERROR "hookpatch_patch: an object path in ${rules} holds ';', "
        "which a CMake list cannot")
    endif()
    string(REPLACE "\n" ";" objs "${objs}")
    list(APPEND deps ${objs})
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${rules}")
  set(${out} "${deps}" PARENT_SCOPE)
endfunction()

function(hookpatch_patch target)
  cmake_parse_arguments(PARSE_ARGV 1 _hp "" "RULES;OUTPUT" "OPTIONS;DEPENDS")
  set(where "hookpatch_patch(${target})")
  if(_hp_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${where}: unexpected arguments: ${_hp_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "${where}: there is no target named '${target}'")
  endif()
  if(NOT _hp_RULES)
    message(FATAL_ERROR "${where}: RULES <file> is required")
  endif()
  if(NOT TARGET hookpatch::hookpatch)
    message(FATAL_ERROR "${where}: hookpatch::hookpatch is not defined; call find_package(hookpatch) first")
  endif()
  get_property(multi GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(multi AND NOT IS_ABSOLUTE "${_hp_OUTPUT}")
    message(FATAL_ERROR "${where}: with a multi-config generator (${CMAKE_GENERATOR}) "
      "give OUTPUT an absolute path")
  endif()
  foreach(t IN LISTS _hp_DEPENDS)
    if(NOT TARGET ${t})
      message(FATAL_ERROR "${where}: DEPENDS takes targets; '${t}' is not one")
    endif()
  endforeach()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set(kind RUNTIME)
  elseif(type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "MODULE_LIBRARY")
    set(kind LIBRARY)
  else()
    message(FATAL_ERROR "${where}: '${target}' is of type ${type}; hookpatch patches executables "
      "and shared libraries")
  endif()

  get_filename_component(rules "${_hp_RULES}" ABSOLUTE)
  set(name "${target}.hooked")
  if(_hp_OUTPUT)
    set(name "${_hp_OUTPUT}")
  endif()
  if(IS_ABSOLUTE "${name}")
    set(out "${name}")
  else()
    _hookpatch_output_dir(${target} ${kind} dir)
    set(out "${dir}/${name}")
  endif()
  get_filename_component(base "${out}" NAME)
  string(MAKE_C_IDENTIFIER "${base}" id)
  set(tname "hookpatch_${base}")
  if(NOT tname MATCHES "^[A-Za-z0-9_.+-]+$")
    set(tname "hookpatch_${id}")
  endif()

  # A function sees its caller's variables: set each one it reads.
  set(extra "")
  set(static_deps "")
  _hookpatch_depfile_supported(use_depfile)
  if(use_depfile)
    set(depfile "${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/${tname}.d")
    set(extra DEPFILE "${depfile}")
    set(dep_option --depfile "${depfile}")
  else()
    _hookpatch_static_deps("${rules}" "${_hp_DEPENDS}" static_deps)
    set(dep_option "")
  endif()

  add_custom_command(OUTPUT "${out}"
    COMMAND hookpatch::hookpatch ${_hp_OPTIONS} ${dep_option}
            "$<TARGET_FILE:${target}>" "${out}" "${rules}"
    DEPENDS ${target} "${rules}" "$<TARGET_FILE:hookpatch::hookpatch>" ${_hp_DEPENDS}
            ${static_deps}
    ${extra}
    COMMENT "hookpatch: patching ${target} into ${base}"
    VERBATIM)
  add_custom_target(${tname} ALL DEPENDS "${out}")
  if(_hp_DEPENDS)
    add_dependencies(${tname} ${_hp_DEPENDS})
  endif()
endfunction()

cmake_policy(POP)
