# ates_add_plugin(<name> SOURCES files... [OUTPUT_DIR dir] [TARGET target]
#                 [DEFINITIONS defs...])
#
# Builds the plugin <name>: the shared library libates_plugin_<name>.so that
# `ates serve` loads from its plugin folders (docs/plugins.md). It links
# ates::plugin_api and nothing of the host. This file serves both the tree
# itself and, installed with the SDK, plugins built outside it
# (`find_package(ates)`).
#
# - The library lands in OUTPUT_DIR, by default ${CMAKE_BINARY_DIR}/plugins.
# - The target is TARGET, by default ates_plugin_<name>.
# - It is built with -fno-gnu-unique (GCC), so that dlclose really unloads
#   it (hot reload), and with hidden visibility: the entry point that
#   ATES_DEFINE_PLUGIN defines is the only symbol it exports.
function(ates_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIR;TARGET" "SOURCES;DEFINITIONS" ${ARGN})
  # The name is a path segment of its routes, a config section and a folder
  # of the data directory.
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "ates_add_plugin: '${name}' is not a plugin name (lower-case letters, digits, _)")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "ates_add_plugin(${name}): no SOURCES")
  endif()
  if(NOT P_TARGET)
    set(P_TARGET ates_plugin_${name})
  endif()
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins")
  endif()
  add_library(${P_TARGET} MODULE ${P_SOURCES})
  set_target_properties(${P_TARGET} PROPERTIES
    OUTPUT_NAME ates_plugin_${name} PREFIX lib
    LIBRARY_OUTPUT_DIRECTORY "${P_OUTPUT_DIR}"
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${P_TARGET} PRIVATE cxx_std_20)
  # GCC marks some template statics STB_GNU_UNIQUE, which pins a library
  # in memory for good; clang never does and has no such flag.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${P_TARGET} PRIVATE -fno-gnu-unique)
  endif()
  target_compile_definitions(${P_TARGET} PRIVATE ${P_DEFINITIONS})
  target_link_libraries(${P_TARGET} PRIVATE ates::plugin_api)
endfunction()
