#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkseeds-r2.py - write the revision-2 seeds of the backend fuzz targets
(tests/fuzz/seeds/backend_getparse/r2-*, backend_ring/r2-*): one valid
request of each new op (and inline data) for getparse, and one session that
walks every new op for ring, so that libFuzzer starts past the checks a
random guess never passes. Layouts as ring/vgpuif.h; control bits as the
tops of fuzz_getparse.c and fuzz_ring.c say. Run from anywhere; it writes
next to itself."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

OP = dict(NOP=0, GET_INFO=1, CTX_CREATE=2, CTX_DESTROY=3, MEM_ALLOC=4,
          MEM_FREE=5, H2D=6, D2H=7, D2D=8, MEMSET=9, MODULE_LOAD=10,
          MODULE_UNLOAD=11, FUNC_GET=12, LAUNCH=13, SYNC=14, VECTOR_ADD=15,
          DEVICE_INFO=16, STREAM_CREATE=17, STREAM_DESTROY=18,
          STREAM_SYNC=19, STREAM_QUERY=20, STREAM_WAIT_EVENT=21,
          EVENT_CREATE=22, EVENT_DESTROY=23, EVENT_RECORD=24,
          EVENT_SYNC=25, EVENT_QUERY=26, EVENT_ELAPSED=27, FUNC_INFO=28,
          FUNC_SET_ATTR=29, MODULE_GLOBAL=30)
F_INLINE = 0x02
DEVINFO = 1384
FUNCINFO = 16 + 4 * 32 + 8 * 480


def req(op, flags=0, nr=0, ctx=0, args=b"", u=b""):
    """A 128-byte request."""
    args = args.ljust(48, b"\0")
    u = u.ljust(64, b"\0")
    assert len(args) == 48 and len(u) == 64
    return struct.pack("<QBBHI", 7, OP[op], flags, nr, ctx) + args + u


def seg(gref, length, offset=0):
    return struct.pack("<IHH", gref, offset, length)


def inline(op, data, ctx=0, args=b""):
    return req(op, F_INLINE, len(data), ctx, args, data)


def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


PAGE = b"\0" * 4096

# ---- getparse: ctl byte, request, pages granted as refs 8, 9, ...
gp = {
    # ctl 0x00: no ctx; one writable page
    "r2-device-info": (0x00, req("DEVICE_INFO", nr=1, u=seg(8, DEVINFO)), 1),
    # ctl 0x02 live ctx
    "r2-stream-create": (0x02, req("STREAM_CREATE", args=struct.pack("<Ii", 1, -1)), 0),
    "r2-event-create": (0x02, req("EVENT_CREATE", args=struct.pack("<II", 3, 0)), 0),
    # ctl 0x82: live ctx, stream and event handles placed by the harness
    "r2-stream-sync": (0x82, req("STREAM_SYNC"), 0),
    "r2-stream-destroy": (0x82, req("STREAM_DESTROY"), 0),
    "r2-stream-query": (0x82, req("STREAM_QUERY"), 0),
    "r2-wait-event": (0x82, req("STREAM_WAIT_EVENT"), 0),
    "r2-event-record": (0x82, req("EVENT_RECORD"), 0),
    "r2-event-elapsed": (0x82, req("EVENT_ELAPSED"), 0),
    "r2-event-query": (0x82, req("EVENT_QUERY"), 0),
    # ctl 0x86: live ctx, mem (first handle), stream in the stream field
    "r2-memset-on-stream": (0x86, req("MEMSET", args=struct.pack(
        "<QQQIIQ", 0, 0, 64, 0x5a, 1, 0)), 0),
    # ctl 0x06: live ctx + mem; 64 inline bytes into it
    "r2-inline-h2d-64": (0x06, inline("H2D", bytes(range(64)), args=struct.pack(
        "<QQQQ", 0, 0, 64, 0)), 0),
    # ctl 0x42: live ctx + function; inline parameters
    "r2-inline-launch": (0x42, inline("LAUNCH", bytes(range(24)), args=struct.pack(
        "<Q3I3IIIQ", 0, 1, 1, 1, 32, 1, 1, 0, 24, 0)), 0),
    "r2-func-info": (0x42, req("FUNC_INFO", nr=1, u=seg(8, FUNCINFO)), 1),
    "r2-func-set-attr": (0x42, req("FUNC_SET_ATTR", args=struct.pack(
        "<QIi", 0, 8, 49152)), 0),
    # ctl 0x46: live ctx + module; name "counter" then 16 answer bytes
    "r2-module-global": (0x46, req("MODULE_GLOBAL", nr=1, args=struct.pack(
        "<QII", 0, 7, 0), u=seg(8, 7 + 16)), 1),
}
for name, (ctl, r, npages) in gp.items():
    write("backend_getparse", name, bytes([ctl]) + r + PAGE * npages)

# ---- ring: ctl byte, then records of flags byte + request.
# flags: 0x01 ctx := last, 0x02 first handle := last of its kind,
# 0x04 second handle / 0x06 stream field := last stream, 0x08 segments into
# granted pages 16.. (writable below 48).
recs = [
    (0x00, req("CTX_CREATE")),
    (0x01, req("MEM_ALLOC", args=struct.pack("<Q", 4096))),
    (0x01, req("STREAM_CREATE")),
    (0x01, req("STREAM_CREATE", args=struct.pack("<Ii", 1, 0))),
    (0x01, req("EVENT_CREATE", args=struct.pack("<II", 2, 0))),
    (0x01, req("EVENT_CREATE")),
    (0x07, req("MEMSET", args=struct.pack("<QQQIIQ", 0, 0, 128, 7, 1, 0))),
    (0x03, req("EVENT_RECORD")),
    (0x03, req("STREAM_QUERY")),
    (0x03, req("EVENT_QUERY")),
    (0x07, req("STREAM_WAIT_EVENT")),
    (0x07, req("EVENT_ELAPSED")),
    (0x03, req("EVENT_SYNC")),
    (0x03, req("STREAM_SYNC")),
    (0x03, inline("H2D", b"0123456789abcdef", args=struct.pack("<QQQQ", 0, 8, 16, 0))),
    (0x08, req("DEVICE_INFO", nr=1, u=seg(16, DEVINFO))),
    (0x01, inline("MODULE_LOAD", b".version 8.0\n", args=struct.pack("<QII", 13, 1, 0))),
    (0x03, inline("FUNC_GET", b"kernel", args=struct.pack("<QII", 0, 6, 0))),
    (0x03, inline("LAUNCH", bytes(16), args=struct.pack(
        "<Q3I3IIIQ", 0, 1, 1, 1, 1, 1, 1, 0, 16, 0))),
    (0x0b, req("FUNC_INFO", nr=1, u=seg(17, FUNCINFO))),
    (0x03, req("FUNC_SET_ATTR", args=struct.pack("<QIi", 0, 9, 50))),
    (0x0b, req("MODULE_GLOBAL", nr=1, args=struct.pack("<QII", 0, 7, 0),
               u=seg(18, 23))),
    (0x0b, req("MODULE_GLOBAL", nr=1, args=struct.pack("<QII", 0, 7, 0),
               u=seg(18, 23))),
    (0x03, req("MEM_FREE")),
    (0x03, req("MODULE_UNLOAD")),
    (0x03, req("STREAM_DESTROY")),
    (0x03, req("EVENT_DESTROY")),
    (0x01, req("CTX_DESTROY")),
]
write("backend_ring", "r2-every-op",
      b"\x00" + b"".join(bytes([f]) + r for f, r in recs))
# the same held back and released from another thread (ctl 0x04; the
# flags' high nibble releases that many)
write("backend_ring", "r2-every-op-held",
      b"\x04" + b"".join(bytes([f | 0x10]) + r for f, r in recs))
