#!/bin/sh
# shellcheck shell=dash
# Xen testbed: the guest agent, started by the guest's init. Runs the commands dom0's
# guest_run (lib.sh) puts in XenStore and writes the results back. All paths are relative
# to /local/domain/<this guest's domid>, where dom0 made vgpu-agent/ ours before
# unpausing us:
#   vgpu-agent/ready         1 once we are listening
#   vgpu-agent/req/<id>      "<timeout secs> <base64 of the shell command>" (from dom0)
#   vgpu-agent/res/<id>/oK   base64 of its output (stdout+stderr), in chunks K = 0..n-1
#   vgpu-agent/res/<id>/n    number of chunks
#   vgpu-agent/res/<id>/rc   exit status (written with the chunks and n, in one
#                            transaction; dom0 waits for it, then removes req and res)
# The command and its output are also printed on the guest's console.
A=vgpu-agent
MAX_OUT=49152
mkdir -p /run/agent

handle() {
    local id="$1" v t cmd out rc n line
    v=$(xenstore-read "$A/req/$id") || return
    t=${v%% *}
    cmd=$(printf '%s' "${v#* }" | base64 -d)
    out=/run/agent/$id.out
    echo "@@AGENT $id run: $cmd"
    echo "@@AGENT $id output:"
    timeout "$t" sh -c "$cmd" </dev/null >"$out" 2>&1
    rc=$?
    [ "$rc" = 143 ] && echo "agent: timed out after ${t}s" >>"$out"
    cat "$out"
    echo "@@AGENT $id exit $rc"
    if [ "$(wc -c <"$out")" -gt $MAX_OUT ]; then
        head -c $MAX_OUT "$out" >"$out.cut"
        echo "[agent: output cut to $MAX_OUT bytes; all of it is on the guest console]" >>"$out.cut"
        mv "$out.cut" "$out"
    fi
    set --
    n=0
    while read -r line; do
        set -- "$@" "$A/res/$id/o$n" "$line"
        n=$((n + 1))
    done <<EOT
$(base64 -w 1536 "$out")
EOT
    # One transaction: dom0 sees all of it or nothing. dom0 removes req and res.
    xenstore-write "$@" "$A/res/$id/n" "$n" "$A/res/$id/rc" "$rc" ||
        echo "agent: cannot write the result of $id"
    rm -f "$out"
}

if ! xenstore-write "$A/ready" 1; then
    echo "agent: cannot write /local/domain/<self>/$A/ready: no XenStore access"
    exit 1
fi
echo "agent: ready"
xenstore-watch "$A/req" | while read -r _; do
    for id in $(xenstore-list "$A/req" 2>/dev/null); do
        [ -e "/run/agent/$id.seen" ] && continue
        : >"/run/agent/$id.seen"
        handle "$id" &
    done
done
echo "agent: xenstore-watch ended"
