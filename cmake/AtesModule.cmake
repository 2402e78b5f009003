# ates_module(NAME <folder> [DEPS targets...] [TEST_DEPS targets...])
#
# Makes the shared library `ates_<folder>` (alias `ates::<folder>`) from
# <folder>/src/*.cpp, with <folder>/include as its public include directory,
# and, when <folder>/src has *_test.cpp files, the unit-test executable
# `<folder>_test` (Boost.Test, shared library) registered with CTest under
# the label `unit`. Tests sit beside the code they test; only the test files
# go into the test executable.
function(ates_module)
  cmake_parse_arguments(M "" "NAME" "DEPS;TEST_DEPS" ${ARGN})
  set(dir "${CMAKE_CURRENT_SOURCE_DIR}")
  file(GLOB sources CONFIGURE_DEPENDS "${dir}/src/*.cpp")
  file(GLOB tests CONFIGURE_DEPENDS "${dir}/src/*_test.cpp")
  list(REMOVE_ITEM sources ${tests} "")

  set(target ates_${M_NAME})
  # Shared, so the host and every plugin it loads use one copy of the code
  # and of its singletons (the event registry, failpoints).
  add_library(${target} SHARED ${sources})
  add_library(ates::${M_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${dir}/include>" PRIVATE "${dir}/src")
  target_link_libraries(${target} PUBLIC ${M_DEPS})

  if(tests AND BUILD_TESTING AND NOT ATES_FUZZ)
    ates_test(NAME ${M_NAME}_test LABEL unit SOURCES ${tests}
              DEPS ${target} ${M_TEST_DEPS})
    target_include_directories(${M_NAME}_test PRIVATE "${dir}/src")
  endif()
endfunction()

# ates_test(NAME <exe> LABEL <unit|integration|system|security|bench>
#           SOURCES files... [DEPS targets...])
#
# One Boost.Test executable, linked against the shared Boost.Test library,
# registered with CTest under LABEL, with that label's timeout: a hung test
# fails at its ceiling instead of holding CI. The ceilings are for the
# default build; under the sanitizers the same work runs about five times
# slower, and they stretch with it.
set(ATES_TEST_TIMEOUT_unit 60)
set(ATES_TEST_TIMEOUT_integration 300)
set(ATES_TEST_TIMEOUT_system 300)
set(ATES_TEST_TIMEOUT_security 300)
function(ates_test)
  cmake_parse_arguments(T "" "NAME;LABEL" "SOURCES;DEPS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES} "${PROJECT_SOURCE_DIR}/cmake/test_main.cpp")
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} Boost::unit_test_framework)
  target_compile_definitions(${T_NAME} PRIVATE BOOST_TEST_DYN_LINK)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} --log_level=message)
  set(timeout ${ATES_TEST_TIMEOUT_${T_LABEL}})
  if(NOT timeout)
    message(FATAL_ERROR "ates_test: no timeout for the label '${T_LABEL}'")
  endif()
  if(ATES_SANITIZE)
    math(EXPR timeout "${timeout} * 5")
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${timeout})
endfunction()

# ates_add_plugin(): cmake/AtesPlugin.cmake, which the SDK installs too.
include(AtesPlugin)
