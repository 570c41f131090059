# Warnings every beamflow target compiles with.
add_library(beamflow_warnings INTERFACE)
target_compile_options(beamflow_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)

# beamflow_gtest(NAME LIBS libs... [NEEDS_BINARY] [LABELS ...]): one GoogleTest
# executable per tests/ folder, built from every *_test.cpp in it, each test
# registered with CTest. NEEDS_BINARY: the tests drive the real `beamflow`
# executable, found through BEAMFLOW_BINARY.
function(beamflow_gtest name)
  cmake_parse_arguments(ARG "NEEDS_BINARY" "" "LIBS;LABELS;SOURCES" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  add_executable(${name} ${_srcs} ${ARG_SOURCES})
  if(ARG_SOURCES)
    target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest beamflow_warnings)
  else()
    target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main beamflow_warnings)
  endif()
  target_compile_definitions(${name} PRIVATE BEAMFLOW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set(_env "BEAMFLOW_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(ARG_NEEDS_BINARY)
    add_dependencies(${name} beamflow)
    target_compile_definitions(${name} PRIVATE BEAMFLOW_BINARY="$<TARGET_FILE:beamflow>")
    list(APPEND _env "BEAMFLOW_BINARY=$<TARGET_FILE:beamflow>")
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120
    PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "${_env}")
endfunction()

# beamflow_library(NAME SOURCE_DIRS dirs... LIBS libs...): a static library
# from every *.cpp in the given folders (an INTERFACE library while a folder
# has headers only), with the folders' parent as include root.
function(beamflow_library name)
  cmake_parse_arguments(ARG "" "INCLUDE_ROOT" "SOURCE_DIRS;LIBS" ${ARGN})
  set(_srcs)
  foreach(_d IN LISTS ARG_SOURCE_DIRS)
    file(GLOB _s CONFIGURE_DEPENDS ${_d}/*.cpp)
    list(APPEND _srcs ${_s})
  endforeach()
  if(_srcs)
    add_library(${name} STATIC ${_srcs})
    target_include_directories(${name} PUBLIC ${ARG_INCLUDE_ROOT})
    target_link_libraries(${name} PUBLIC ${ARG_LIBS} PRIVATE beamflow_warnings)
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${ARG_INCLUDE_ROOT})
    target_link_libraries(${name} INTERFACE ${ARG_LIBS})
  endif()
endfunction()
