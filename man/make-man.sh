#!/bin/sh
# make-man.sh PROGRAM NAME SECTION DESCRIPTION VERSION EXTRA OUT
# Runs PROGRAM --help and turns its text into the man page OUT with
# help2roff.awk (beside this script). EXTRA: roff written alongside (FILES,
# SEE ALSO, ...), or "" for none. The page's date is SOURCE_DATE_EPOCH's
# when it is set (reproducible package builds), else today's.
set -eu
[ $# -eq 7 ] || { echo "usage: make-man.sh PROGRAM NAME SECTION DESCRIPTION VERSION EXTRA OUT" >&2; exit 2; }
prog=$1 name=$2 section=$3 desc=$4 version=$5 extra=$6 out=$7
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
else
	date=$(date -u +%Y-%m-%d)
fi
tmp=$out.tmp.$$
trap 'rm -f "$tmp" "$tmp.help"' EXIT
if ! "$prog" --help >"$tmp.help" 2>&1; then
	echo "make-man: $prog --help failed:" >&2
	cat "$tmp.help" >&2
	exit 1
fi
if ! grep -q '^[Uu]sage: ' "$tmp.help"; then
	echo "make-man: $prog --help printed no 'Usage:' line" >&2
	exit 1
fi
awk -v prog="$name" -v section="$section" -v desc="$desc" -v version="$version" \
    -v date="$date" -v extra="$extra" -f "$here/help2roff.awk" <"$tmp.help" >"$tmp"
mv "$tmp" "$out"
