#!/usr/bin/env bash
# Install what building and testing need on Debian 12 (run as root, or with sudo available).
set -euo pipefail
pkgs=(build-essential cmake pkg-config zlib1g-dev libssl-dev libcmocka-dev clang libclang-rt-14-dev
      clang-format git)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
