#!/usr/bin/env bash
# Build vgpu-front.ko against Debian's linux-headers-amd64 with W=1; any
# warning is an error. KDIR overrides the headers' location.
#
# Usage: scripts/build-module.sh [clean]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${KDIR:-}" ]; then
  KDIR=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "${KDIR:-}" ] || [ ! -f "$KDIR/Makefile" ]; then
  echo "build-module: no kernel headers found (install linux-headers-amd64, or set KDIR)" >&2
  exit 1
fi
if [ "${1:-}" = "clean" ]; then
  exec make -C "$KDIR" M="$top" clean
fi
echo "build-module: building against $KDIR"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
make -C "$KDIR" M="$top" W=1 modules 2>&1 | tee "$log"
if grep -q "warning:" "$log"; then
  echo "build-module: the module build printed warnings; warnings are errors" >&2
  exit 1
fi
ls -l "$top"/frontend-kmod/*.ko
