#!/usr/bin/env bash
# Install every Debian package vgpu-xen needs to build and test, and nothing
# when they are all present already (so it is cheap to call before every
# build). Both README commands run it first.
#
# Usage: scripts/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is
set -euo pipefail

# Build: userspace (CMake, Check, libxen*), the module (Debian's headers),
# 32-bit layout checks (multilib), fuzzing and sanitizers (clang + runtime).
# Test: the real-Xen testbed under QEMU, valgrind.
# Packages (make deb): debhelper with DKMS support, dkms itself (the module
# is built once from its package), lintian; man-db to check the man pages.
PKGS=(
  build-essential cmake pkg-config check
  libxen-dev
  linux-headers-amd64
  gcc-multilib
  clang libclang-rt-14-dev
  valgrind
  qemu-system-x86 busybox-static cpio kmod xz-utils
  debhelper dh-dkms dkms lintian man-db
)
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/tests/xen/packages.txt" ]; then
  while read -r p; do
    case "$p" in ''|\#*) ;; *) PKGS+=("$p") ;; esac
  done < "$here/tests/xen/packages.txt"
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "install-deps: missing: ${missing[*]}"
[ "${1:-}" = "--check" ] && exit 1

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    cat >&2 <<MSG
install-deps: these Debian packages are needed and only root can install them:
  ${missing[*]}
Run this script as root once (sudo scripts/install-deps.sh), or install them
with: apt-get install ${missing[*]}
MSG
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${#missing[@]} packages"
