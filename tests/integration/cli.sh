#!/bin/sh
# cli.sh - vgpu-backend's command line: --help, --version, usage errors
# (exit 2 with a message), the config file (a malformed line is named;
# flags override the file), and a transport that cannot open (exit 1 with
# the reason). Usage: cli.sh PATH-TO-vgpu-backend
set -u
B=${1:?usage: cli.sh vgpu-backend}
[ -x "$B" ] || { echo "SKIP: $B not built"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-cli-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fail=0
check() { # name expected-rc grep-pattern command...
	name=$1 want=$2 pat=$3; shift 3
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $name: exit $rc, want $want"; echo "$out" | head -5; fail=1; return
	fi
	if [ -n "$pat" ] && ! printf '%s\n' "$out" | grep -q -- "$pat"; then
		echo "FAIL: $name: output lacks '$pat'"; echo "$out" | head -5; fail=1; return
	fi
	echo "ok: $name"
}
: > "$T/empty.conf"
check "--help"            0 "SIGTERM"            "$B" --help
check "--help options"    0 "--max-inflight"     "$B" --help
check "--help config"     0 "names the line"     "$B" --help
check "--version"         0 "vgpuif-1"           "$B" --version
check "no --domid"        2 "--domid N is required" "$B" --config "$T/empty.conf" --foreground
check "bad --domid"       2 "--domid wants"      "$B" --domid abc --config "$T/empty.conf"
check "--domid too big"   2 "--domid wants"      "$B" --domid 99999 --config "$T/empty.conf"
check "unknown option"    2 "unknown option"     "$B" --domid 1 --frobnicate
check "bad --executor"    2 "executor must be"   "$B" --domid 1 --executor gpu --config "$T/empty.conf"
check "bad --log-level"   2 "log level must be"  "$B" --domid 1 --log-level loud --config "$T/empty.conf"
check "stray argument"    2 "unexpected argument" "$B" --domid 1 extra
check "missing --config"  2 "No such file"       "$B" --domid 1 --config "$T/nope.conf"
printf 'executor = cpu\n\nmax-contexts = 999\n' > "$T/bad.conf"
check "malformed config"  2 "bad.conf:3:"        "$B" --domid 1 --config "$T/bad.conf"
printf 'executor = cpu\nlog-level = warn\nmem-quota = 1G\n' > "$T/good.conf"
check "config applies"    0 "mem-quota = 1073741824" "$B" --config "$T/good.conf" --print-config
check "flag overrides"    0 "log-level = debug"  "$B" --config "$T/good.conf" --log-level debug --print-config
check "context limits"    0 "ctx-heap = 67108864" "$B" --config "$T/good.conf" --ctx-heap 64M --ctx-stack 4K --print-config
check "context stack"     0 "ctx-stack = 4096"   "$B" --config "$T/good.conf" --ctx-stack 4K --print-config
check "ctx-stack too big" 2 "ctx-stack must be"  "$B" --domid 1 --ctx-stack 1M --config "$T/empty.conf"
check "ctx-heap malformed" 2 "ctx-heap must be"  "$B" --domid 1 --ctx-heap lots --config "$T/empty.conf"
printf 'ctx-printf = 2G\n' > "$T/ctx.conf"
check "ctx-printf in file" 2 "ctx.conf:1:"       "$B" --domid 1 --config "$T/ctx.conf"
check "no loopback world" 1 "cannot open the loopback transport" \
	"$B" --domid 1 --transport loopback --loopback-dir "$T/none" --config "$T/empty.conf" --foreground
exit $fail
