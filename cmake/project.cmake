# Helpers shared by every module's CMakeLists.txt.

# mp_module(NAME DEPS dep... [POSIX_ONLY file.c...]): static library mp_NAME from src/NAME/*.c
# (main.c excluded). Files named *_win32.c are built for Windows only; the POSIX_ONLY files
# everywhere else. In the WebAssembly build a file X_wasm.c takes the place of X.c; *_wasm.c
# files are built there only.
function(mp_module name)
  cmake_parse_arguments(M "" "" "DEPS;POSIX_ONLY" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.c)
  list(FILTER sources EXCLUDE REGEX "/main\\.c$")
  if(WIN32)
    foreach(f ${M_POSIX_ONLY})
      list(REMOVE_ITEM sources ${CMAKE_SOURCE_DIR}/src/${name}/${f})
    endforeach()
  else()
    list(FILTER sources EXCLUDE REGEX "_win32\\.c$")
  endif()
  if(EMSCRIPTEN)
    foreach(f ${sources})
      if(f MATCHES "^(.*)_wasm\\.c$")
        list(REMOVE_ITEM sources ${CMAKE_MATCH_1}.c)
      endif()
    endforeach()
  else()
    list(FILTER sources EXCLUDE REGEX "_wasm\\.c$")
  endif()
  if(NOT sources)
    # A module still being written: headers only.
    add_library(mp_${name} INTERFACE)
    target_include_directories(mp_${name} INTERFACE ${CMAKE_SOURCE_DIR}/src)
    target_link_libraries(mp_${name} INTERFACE ${M_DEPS})
    return()
  endif()
  add_library(mp_${name} STATIC ${sources})
  target_include_directories(mp_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(mp_${name} PUBLIC ${M_DEPS})
endfunction()

# mp_unit_test(NAME SOURCES src... DEPS lib... [SHARED]): a cmocka test program registered with
# ctest. Exit status 77 shows as "Skipped" (tests/unit/test_shared.h). SHARED: the program also
# has tests needing ../shared, run as NAME_shared_data (argument "shared"). Left out without
# BUILD_TESTING or cmocka.
function(mp_unit_test name)
  cmake_parse_arguments(T "SHARED" "TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT BUILD_TESTING OR NOT CMOCKA_FOUND)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests/unit)
  target_link_libraries(${name} PRIVATE ${T_DEPS} PkgConfig::CMOCKA)
  set(runs ${name})
  add_test(NAME ${name} COMMAND ${name})
  if(T_SHARED)
    add_test(NAME ${name}_shared_data COMMAND ${name} shared)
    list(APPEND runs ${name}_shared_data)
  endif()
  set_tests_properties(${runs} PROPERTIES
    LABELS unit
    SKIP_RETURN_CODE 77
    ENVIRONMENT "MP_SHARED_DIR=${MP_SHARED_DIR};MP_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  if(T_TIMEOUT)
    set_tests_properties(${runs} PROPERTIES TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()

# mp_fuzzer(NAME SOURCES src... DEPS lib... [CORPUS dir]): a libFuzzer harness, built and run
# (for FUZZ_SECONDS) only in a FUZZ build.
function(mp_fuzzer name)
  cmake_parse_arguments(F "" "CORPUS" "SOURCES;DEPS" ${ARGN})
  if(NOT FUZZ OR NOT BUILD_TESTING)
    return()
  endif()
  add_executable(${name} ${F_SOURCES})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${name} PRIVATE ${F_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set(corpus ${CMAKE_CURRENT_BINARY_DIR}/${name}-corpus)
  file(MAKE_DIRECTORY ${corpus})
  set(seed_dirs)
  if(F_CORPUS)
    list(APPEND seed_dirs ${F_CORPUS})
  endif()
  add_test(NAME ${name}
           COMMAND ${name} -max_total_time=${FUZZ_SECONDS} -rss_limit_mb=2048 ${corpus} ${seed_dirs})
  set_tests_properties(${name} PROPERTIES LABELS fuzz
    ENVIRONMENT "MP_SHARED_DIR=${MP_SHARED_DIR}")
endfunction()
