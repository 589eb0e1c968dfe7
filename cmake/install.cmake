# What `cmake --install` puts where (paths relative to the prefix; GNUInstallDirs):
#   bin/                          mp-image-tool-esp32, esp-virtual-chip (not on Windows)
#   share/man/man1/               their manual pages (docs/man/*.1, gzipped when gzip exists)
#   share/bash-completion/completions/, share/zsh/..., share/fish/vendor_completions.d/
#                                 shell completions (completions/)
#   share/doc/mp-image-tool-esp32/ README, compatibility notes, and the licence of the
#                                 flasher stubs embedded in the program

set(man_pages mp-image-tool-esp32.1)
set(programs mp-image-tool-esp32)
if(TARGET esp-virtual-chip)
  list(APPEND programs esp-virtual-chip)
  list(APPEND man_pages esp-virtual-chip.1)
endif()
install(TARGETS ${programs} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Manual pages: the version and the documentation folder are filled in at configure time.
set(VERSION ${PROJECT_VERSION})
set(DOCDIR ${CMAKE_INSTALL_FULL_DOCDIR})
find_program(GZIP_EXECUTABLE gzip)
set(man_outputs)
foreach(page ${man_pages})
  configure_file(${CMAKE_SOURCE_DIR}/docs/man/${page} ${CMAKE_BINARY_DIR}/man/${page} @ONLY)
  if(GZIP_EXECUTABLE AND NOT WIN32)
    # Debian policy: compressed, and reproducible (-n: no name or time stamp)
    add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
      COMMAND ${GZIP_EXECUTABLE} -9nc ${CMAKE_BINARY_DIR}/man/${page} > ${CMAKE_BINARY_DIR}/man/${page}.gz
      DEPENDS ${CMAKE_BINARY_DIR}/man/${page} VERBATIM)
    list(APPEND man_outputs ${CMAKE_BINARY_DIR}/man/${page}.gz)
  else()
    list(APPEND man_outputs ${CMAKE_BINARY_DIR}/man/${page})
  endif()
endforeach()
add_custom_target(man ALL DEPENDS ${man_outputs})
install(FILES ${man_outputs} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# Shell completions. zsh looks in vendor-completions for packages under /usr (Debian) and in
# site-functions elsewhere.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(default_zsh_dir ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
else()
  set(default_zsh_dir ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
endif()
set(MP_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
    CACHE PATH "Where bash completions are installed")
set(MP_ZSH_COMPLETION_DIR ${default_zsh_dir} CACHE PATH "Where zsh completions are installed")
set(MP_FISH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d
    CACHE PATH "Where fish completions are installed")
if(NOT WIN32)
  foreach(program ${programs})
    install(FILES ${CMAKE_SOURCE_DIR}/completions/${program}.bash
            DESTINATION ${MP_BASH_COMPLETION_DIR} RENAME ${program})
    install(FILES ${CMAKE_SOURCE_DIR}/completions/_${program} DESTINATION ${MP_ZSH_COMPLETION_DIR})
    install(FILES ${CMAKE_SOURCE_DIR}/completions/${program}.fish
            DESTINATION ${MP_FISH_COMPLETION_DIR})
  endforeach()
endif()

# Documentation, and the licence of what the program embeds (src/loader/stubs.cmake).
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/compatibility.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(MP_STUB_LICENSE_FILE)
  file(WRITE ${CMAKE_BINARY_DIR}/flasher-stubs.txt
"mp-image-tool-esp32 embeds the esp-flasher-stub binaries carried by the esptool-js 0.7.0
npm package (lib/targets/stub_flasher/<chip>.json). The package is licensed under the
Apache License 2.0, whose text is in LICENSE.esptool-js beside this file; the
esp-flasher-stub project publishes the stubs under Apache-2.0 OR MIT.
")
  install(FILES ${CMAKE_BINARY_DIR}/flasher-stubs.txt DESTINATION ${CMAKE_INSTALL_DOCDIR})
  install(FILES ${MP_STUB_LICENSE_FILE} DESTINATION ${CMAKE_INSTALL_DOCDIR}
          RENAME LICENSE.esptool-js)
endif()
