# Packages made by CPack from the install rules (cmake/install.cmake):
#   Linux:   cpack -G DEB  -> mp-image-tool-esp32_<version>_<arch>.deb (configure with
#            -DCMAKE_INSTALL_PREFIX=/usr; scripts/package.sh does it all)
#   Windows: cpack -G ZIP  -> mp-image-tool-esp32-<version>-win64.zip
set(CPACK_PACKAGE_NAME mp-image-tool-esp32)
set(CPACK_PACKAGE_VENDOR "mp-image-tool-esp32")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "edit MicroPython ESP32 firmware files and boards (partition table, flash size, littlefs)")
set(CPACK_PACKAGE_DESCRIPTION
"A fast native tool for MicroPython ESP32 firmware files and boards on a serial port:
show and edit the partition table, change the flash size, read, write and erase
partitions, extract and check apps, flash firmware, update apps over the air, and
work with the littlefs filesystem inside a partition. Command-line compatible with
the Python mp-image-tool-esp32. Also ships esp-virtual-chip, a virtual ESP chip on
a pty or RFC 2217 port for testing serial clients.")
set(MP_PACKAGE_MAINTAINER "mp-image-tool-esp32 developers" CACHE STRING
    "Maintainer field of the packages (\"Name <address>\")")
set(CPACK_PACKAGE_CONTACT ${MP_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_HOMEPAGE_URL ${PROJECT_HOMEPAGE_URL})
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/;/build[^/]*/;/node_modules/")

# Debian
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION electronics)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # zlib and libcrypto are linked in: libc6 only
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")

if(WIN32)
  set(CPACK_GENERATOR ZIP)
  set(CPACK_SYSTEM_NAME win64)
else()
  set(CPACK_GENERATOR DEB)
endif()
include(CPack)
