# ates_module(NAME <folder> [SHARED] [DEPS targets...] [TEST_DEPS targets...])
#
# Makes the library target `ates_<folder>` (alias `ates::<folder>`) from
# <folder>/src/*.cpp, with <folder>/include as its public include directory,
# and, when <folder>/src has *_test.cpp files, the unit-test executable
# `<folder>_test` (Boost.Test, shared library) registered with CTest under
# the label `unit`. Tests sit beside the code they test; only the test files
# go into the test executable.
function(ates_module)
  cmake_parse_arguments(M "SHARED" "NAME" "DEPS;TEST_DEPS" ${ARGN})
  set(dir "${CMAKE_CURRENT_SOURCE_DIR}")
  file(GLOB sources CONFIGURE_DEPENDS "${dir}/src/*.cpp")
  file(GLOB tests CONFIGURE_DEPENDS "${dir}/src/*_test.cpp")
  list(REMOVE_ITEM sources ${tests} "")

  set(target ates_${M_NAME})
  if(M_SHARED)
    add_library(${target} SHARED ${sources})
  else()
    add_library(${target} STATIC ${sources})
  endif()
  add_library(ates::${M_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC "${dir}/include" PRIVATE "${dir}/src")
  target_link_libraries(${target} PUBLIC ${M_DEPS})

  if(tests AND BUILD_TESTING AND NOT ATES_FUZZ)
    ates_test(NAME ${M_NAME}_test LABEL unit SOURCES ${tests}
              DEPS ${target} ${M_TEST_DEPS})
    target_include_directories(${M_NAME}_test PRIVATE "${dir}/src")
  endif()
endfunction()

# ates_test(NAME <exe> LABEL <unit|integration|system|browser|fuzz>
#           SOURCES files... [DEPS targets...])
#
# One Boost.Test executable, linked against the shared Boost.Test library,
# registered with CTest under LABEL.
function(ates_test)
  cmake_parse_arguments(T "" "NAME;LABEL" "SOURCES;DEPS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES} "${PROJECT_SOURCE_DIR}/cmake/test_main.cpp")
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} Boost::unit_test_framework)
  target_compile_definitions(${T_NAME} PRIVATE BOOST_TEST_DYN_LINK)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} --log_level=message)
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT 600)
endfunction()
