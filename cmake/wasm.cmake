# The WebAssembly build (emscripten; scripts/build-wasm.sh runs it). The two libraries the engine
# uses are compiled here from Debian's source packages, unpacked under MP_WASM_SOURCES:
#   zlib/      zlib as packaged (deflate, inflate, CRC-32)
#   openssl/   OpenSSL after its Configure step, of which only MD5, SHA-256 and the base64 codec
#              (with the allocator it calls) are built: the rest of libcrypto is not used.
# They stand in for the ZLIB::ZLIB and OpenSSL::Crypto targets the modules link.
set(MP_WASM_SOURCES "" CACHE PATH "Debian's zlib and openssl sources, unpacked (scripts/build-wasm.sh)")
set(zlib_dir ${MP_WASM_SOURCES}/zlib)
set(ssl_dir ${MP_WASM_SOURCES}/openssl)
if(NOT EXISTS ${zlib_dir}/deflate.c OR NOT EXISTS ${ssl_dir}/include/openssl/configuration.h)
  message(FATAL_ERROR "MP_WASM_SOURCES (${MP_WASM_SOURCES}) lacks zlib/ or a configured "
                      "openssl/: build with scripts/build-wasm.sh, which fetches them")
endif()

add_library(mp_wasm_zlib STATIC
  ${zlib_dir}/adler32.c ${zlib_dir}/compress.c ${zlib_dir}/crc32.c ${zlib_dir}/deflate.c
  ${zlib_dir}/infback.c ${zlib_dir}/inffast.c ${zlib_dir}/inflate.c ${zlib_dir}/inftrees.c
  ${zlib_dir}/trees.c ${zlib_dir}/uncompr.c ${zlib_dir}/zutil.c)
target_include_directories(mp_wasm_zlib SYSTEM PUBLIC ${zlib_dir})
target_compile_definitions(mp_wasm_zlib PRIVATE HAVE_UNISTD_H HAVE_STDARG_H)
# Their code, their warnings: none of them stops our build.
target_compile_options(mp_wasm_zlib PRIVATE -w)
add_library(ZLIB::ZLIB ALIAS mp_wasm_zlib)

add_library(mp_wasm_crypto STATIC
  ${ssl_dir}/crypto/md5/md5_dgst.c ${ssl_dir}/crypto/sha/sha256.c ${ssl_dir}/crypto/evp/encode.c
  ${ssl_dir}/crypto/mem.c ${ssl_dir}/crypto/mem_clr.c)
target_include_directories(mp_wasm_crypto SYSTEM PUBLIC ${ssl_dir}/include)
target_include_directories(mp_wasm_crypto PRIVATE ${ssl_dir} ${ssl_dir}/crypto/include)
target_compile_options(mp_wasm_crypto PRIVATE -w)
add_library(OpenSSL::Crypto ALIAS mp_wasm_crypto)

# Our sources see posix_wasm.h first (after the libraries above, which do not).
add_compile_options(-include ${CMAKE_SOURCE_DIR}/src/port/posix_wasm.h)

# Called at the end of the top-level CMakeLists.txt, once every module exists.
function(mp_wasm_programs)
  target_link_libraries(mp_util PUBLIC mp_port)
  # The CLI under Node: real files (NODERAWFS), the exit status passed on, Node's environment
  # (NO_COLOR, COLUMNS) and the .wasm read from beside the script (node_pre.js).
  target_link_options(mp-image-tool-esp32 PRIVATE
    -sENVIRONMENT=node -sNODERAWFS=1 -sEXIT_RUNTIME=1 -sALLOW_MEMORY_GROWTH=1
    --pre-js ${CMAKE_SOURCE_DIR}/src/port/wasm/node_pre.js)
  set_property(TARGET mp-image-tool-esp32 APPEND PROPERTY LINK_DEPENDS
               ${CMAKE_SOURCE_DIR}/src/port/wasm/node_pre.js)

  # The engine of the web page: the same program, run as `createEngine()` then
  # `callMain(argv)` on files in its in-memory file system, one fresh instance per command
  # (web/engine-api.js). Written beside the page's own files in BUILD/web, the folder to serve.
  # Asyncify lets the program wait on the page's serial port (src/serial/port_tty_wasm.c).
  add_executable(mp-image-tool-esp32-web ${CMAKE_SOURCE_DIR}/src/tool/main.c
                 ${CMAKE_SOURCE_DIR}/src/port/wasm/engine_main.c)
  target_compile_definitions(mp-image-tool-esp32-web PRIVATE main=mp_tool_main)
  target_link_libraries(mp-image-tool-esp32-web PRIVATE mp_tool)
  set_target_properties(mp-image-tool-esp32-web PROPERTIES OUTPUT_NAME engine
                        RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/web)
  target_link_options(mp-image-tool-esp32-web PRIVATE
    -sMODULARIZE=1 -sEXPORT_NAME=createEngine -sENVIRONMENT=web,worker -sINVOKE_RUN=0
    -sEXIT_RUNTIME=1 -sALLOW_MEMORY_GROWTH=1 -sFORCE_FILESYSTEM=1 -sASYNCIFY=1
    -sASYNCIFY_STACK_SIZE=65536
    "-sEXPORTED_RUNTIME_METHODS=['callMain','FS']")
  file(GLOB page_files CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/*.html ${CMAKE_SOURCE_DIR}/web/*.js
       ${CMAKE_SOURCE_DIR}/web/*.css)
  set(page_outputs)
  foreach(f ${page_files})
    get_filename_component(n ${f} NAME)
    add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/web/${n}
                       COMMAND ${CMAKE_COMMAND} -E copy ${f} ${CMAKE_BINARY_DIR}/web/${n}
                       DEPENDS ${f} VERBATIM)
    list(APPEND page_outputs ${CMAKE_BINARY_DIR}/web/${n})
  endforeach()
  add_custom_target(web-page ALL DEPENDS ${page_outputs})
endfunction()
