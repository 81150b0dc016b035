#!/bin/sh
# SPDX-License-Identifier: MIT
# decl-check.sh - compares cuda-api/cuda.h with the CUDA toolkit's cuda.h.
#
# usage: decl-check.sh [--dump-only] [--cuda DIR] [--work DIR]
#   --cuda DIR    the toolkit (DIR/include/cuda.h); default $CUDA_HOME, else
#                 /usr/local/cuda
#   --dump-only   only list our declarations and their values (no toolkit
#                 needed: what CI runs, so that the check cannot rot)
#   --work DIR    where the generated files go (default: a temporary folder)
#   --ours FILE   the header to check (default: cuda-api/cuda.h)
#
# Steps: decl-list.awk lists what our header declares; decl-dump.c, built
# against our header, prints each with its value (once for each default-stream
# mode); decl-check.c, built against NVIDIA's header, asserts every value at
# compile time and the versioned names when it runs; decl-protos.c declares
# our prototypes after NVIDIA's (a conflicting prototype is an error).
# Exit: 0 all equal, 1 a difference (each one printed), 77 SKIP (no toolkit
# header), 2 usage.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
ours="$root/cuda-api/cuda.h"
cuda=${CUDA_HOME:-/usr/local/cuda}
dump_only=0
work=""
while [ $# -gt 0 ]; do
	case "$1" in
	--dump-only) dump_only=1 ;;
	--cuda) cuda=$2; shift ;;
	--work) work=$2; shift ;;
	--ours) ours=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
	-h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "decl-check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
CC=${CC:-cc}
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/decl-check.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

awk -f "$here/decl-list.awk" "$ours" > "$work/decl-list.h"
sed -n 's/^R[BLP](\(cu[A-Za-z0-9_]*\),.*/#undef \1/p' "$work/decl-list.h" | sort -u > "$work/decl-undefs.h"
for mode in legacy ptds; do
	def=""
	[ $mode = ptds ] && def="-DCUDA_API_PER_THREAD_DEFAULT_STREAM"
	$CC -std=gnu11 -Wall -Wextra -Werror $def -DVGPU_OURS_H="\"$ours\"" \
	    -DDECL_LIST="\"$work/decl-list.h\"" -o "$work/decl-dump-$mode" "$here/decl-dump.c"
	"$work/decl-dump-$mode" > "$work/decl-expect-$mode.h"
done
nk=$(grep -c '^K(' "$work/decl-expect-legacy.h")
nt=$(grep -c '^T(' "$work/decl-expect-legacy.h")
no=$(grep -c '^O(' "$work/decl-expect-legacy.h")
nf=$(grep -c '^F(' "$work/decl-expect-legacy.h")
echo "cuda-api/cuda.h: $nk enum constants, $nt types, $no struct members, $nf functions"
# A header that lost its lists (a layout change the awk does not follow)
# must fail here, not pass with nothing compared.
if [ "$nk" -lt 300 ] || [ "$nt" -lt 50 ] || [ "$no" -lt 20 ] || [ "$nf" -lt 100 ]; then
	echo "FAIL: decl-list.awk found too few declarations in $ours" >&2
	exit 1
fi
[ $dump_only = 1 ] && exit 0

if [ ! -f "$cuda/include/cuda.h" ]; then
	echo "SKIP: no CUDA toolkit header at $cuda/include/cuda.h (set CUDA_HOME or --cuda)"
	exit 77
fi
rc=0
for mode in legacy ptds; do
	def=""
	[ $mode = ptds ] && def="-DCUDA_API_PER_THREAD_DEFAULT_STREAM"
	if ! $CC -std=gnu11 $def -isystem "$cuda/include" \
	     -DDECL_EXPECT="\"$work/decl-expect-$mode.h\"" \
	     -o "$work/decl-check-$mode" "$here/decl-check.c" 2> "$work/check-$mode.err"; then
		echo "FAIL ($mode): our declarations differ from $cuda/include/cuda.h:"
		grep -E 'error|static assertion' "$work/check-$mode.err" | sed 's/^/  /'
		rc=1
	else
		"$work/decl-check-$mode" || rc=1
	fi
	if ! $CC -std=gnu11 -Werror $def -isystem "$cuda/include" \
	     -DVGPU_OURS_H="\"$ours\"" -DDECL_UNDEFS="\"$work/decl-undefs.h\"" -o "$work/decl-protos-$mode" \
	     "$here/decl-protos.c" 2> "$work/protos-$mode.err"; then
		echo "FAIL ($mode): prototypes or versioned names differ:"
		grep -E 'error|warning|note: previous' "$work/protos-$mode.err" | sed 's/^/  /'
		rc=1
	else
		echo "decl-protos ($mode): every prototype and versioned name agrees"
	fi
done
[ $rc = 0 ] && echo "PASS: cuda-api/cuda.h agrees with $cuda/include/cuda.h"
exit $rc
