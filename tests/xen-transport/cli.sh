#!/bin/sh
# The dom0 tools' command lines without Xen: bad usage exits 2 with a message
# naming the mistake; every --help works; where no Xen runs, each tool says
# XenStore is unreachable (exit 1); vgpu-attach names a missing backend.
# usage: cli.sh BINDIR
set -u
B=$1
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect STATUS PATTERN CMD...: CMD exits STATUS and its stderr+stdout matches PATTERN.
expect() {
    want=$1 pat=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    rc=$?
    if [ "$rc" != "$want" ] || ! grep -q -e "$pat" "$tmp/out"; then
        echo "FAIL: $* -> status $rc (want $want), output:"
        sed 's/^/    /' "$tmp/out"
        echo "    (wanted a line matching: $pat)"
        fails=$((fails + 1))
    else
        echo "ok: $* -> $rc"
    fi
}

for t in vgpu-attach vgpu-detach vgpu-list vgpu-xl-create; do
    expect 0 "Usage: $t" "$B/$t" --help
done
expect 2 "missing DOMID" "$B/vgpu-attach"
expect 2 "missing DOMID" "$B/vgpu-detach"
expect 2 "'abc' is not a domain id" "$B/vgpu-attach" abc
expect 2 "'32752' is not a domain id" "$B/vgpu-attach" 32752
expect 2 "'-1' is not a domain id" "$B/vgpu-detach" -- -1
expect 2 "unexpected argument '6'" "$B/vgpu-attach" 5 6
expect 2 "--priority: 'urgent' is not high, medium or low" "$B/vgpu-attach" 5 --priority urgent
expect 2 "--devid: '65536' is not a device id" "$B/vgpu-attach" 5 --devid 65536
expect 2 "--pool: '-3' is not a pool id" "$B/vgpu-attach" 5 --pool -3
expect 2 "--mem-quota: '8X' is not a size" "$B/vgpu-attach" 5 --mem-quota 8X
expect 2 "--executor: 'gpu' is not auto, cuda or cpu" "$B/vgpu-attach" 5 --executor gpu
expect 2 "--wait: '1h' is not a number" "$B/vgpu-attach" 5 --wait 1h
expect 2 "--timeout: 'x' is not a number" "$B/vgpu-detach" 5 --timeout x
expect 2 "unrecognized option" "$B/vgpu-list" --yaml
expect 2 "'dom1' is not a domain id" "$B/vgpu-list" dom1
expect 2 "missing CFG" "$B/vgpu-xl-create"
expect 1 "cannot read the xl config" "$B/vgpu-xl-create" "$tmp/nonexistent.cfg"
expect 1 "domain 0 is where the backend runs" "$B/vgpu-attach" 0
expect 1 "no backend binary: $tmp/nope" "$B/vgpu-attach" 5 --backend "$tmp/nope"
VGPU_BACKEND=$tmp expect 1 "no backend binary: $tmp (from \$VGPU_BACKEND)" "$B/vgpu-attach" 5

if [ ! -e /proc/xen/capabilities ] && [ ! -e /dev/xen ]; then
    expect 1 "XenStore unreachable" "$B/vgpu-attach" 5 --no-start
    expect 1 "XenStore unreachable" "$B/vgpu-detach" 5
    expect 1 "XenStore unreachable" "$B/vgpu-list"
    expect 1 "XenStore unreachable" "$B/vgpu-list" --json
else
    echo "note: Xen is present here; the unreachable-XenStore cases run on the testbed only"
fi

if [ "$fails" -gt 0 ]; then echo "$fails case(s) failed"; exit 1; fi
echo "all cases passed"
