#!/bin/sh
# Runs the Python esptool interoperability suite (esptool_py.py); exit 77 (ctest SKIP) when no
# Python esptool is available, saying why. Picks a Python that has pyserial for an esptool
# source tree: $ESPTOOL_PYTHON, else python3, else /usr/bin/python3.
cd "$(dirname "$0")" || exit 1
if [ -z "${ESPTOOL:-}" ] && ! command -v esptool.py >/dev/null 2>&1 &&
   ! command -v esptool >/dev/null 2>&1; then
    echo "SKIP: no Python esptool: set ESPTOOL to an esptool source tree (or its esptool.py)," \
         "or put esptool.py on PATH; see tests/interop/README.md"
    exit 77
fi
for py in ${ESPTOOL_PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import serial' 2>/dev/null; then
        exec "$py" esptool_py.py
    fi
done
if [ -n "${ESPTOOL:-}" ] && [ -d "$ESPTOOL" -o "${ESPTOOL%.py}" != "$ESPTOOL" ]; then
    echo "SKIP: esptool's source needs pyserial (Debian: apt-get install python3-serial" \
         "python3-click python3-rich-click python3-bitstring python3-intelhex python3-yaml" \
         "python3-cryptography); none of ${ESPTOOL_PYTHON:-} python3 /usr/bin/python3 has it"
    exit 77
fi
exec python3 esptool_py.py
