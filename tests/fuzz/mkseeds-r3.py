#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkseeds-r3.py - write the revision-3 seeds of the getparse fuzz target
(tests/fuzz/seeds/backend_getparse/r3-*): one valid request of each
registered-host-memory form, so that libFuzzer starts past the checks a
random guess never passes. Control bits as the top of fuzz_getparse.c says
(0x02 a live context, 0x04 the harness's memory handle at args[0] and its
registered region at memcpy.host_region, or at args[0] for
HOST_UNREGISTER). Run from anywhere; it writes next to itself."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
HOST_REGISTER, HOST_UNREGISTER, H2D, D2H = 31, 32, 6, 7
F_INDIRECT, F_HOST_MEM = 0x01, 0x04


def req(op, flags=0, nr=0, ctx=0, args=b"", u=b""):
    args = args.ljust(48, b"\0")
    u = u.ljust(64, b"\0")
    return struct.pack("<QBBHI", 7, op, flags, nr, ctx) + args + u


def seg(gref, length=4096, offset=0):
    return struct.pack("<IHH", gref, offset, length)


def write(name, data):
    d = os.path.join(HERE, "seeds", "backend_getparse")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


PAGE = b"\0" * 4096
# register two whole pages (refs 8, 9), read-only and writable
write("r3-host-register", bytes([0x00]) + req(HOST_REGISTER, nr=2,
      args=struct.pack("<QII", 8192, 0, 0), u=seg(8) + seg(9)))
write("r3-host-register-ro", bytes([0x00]) + req(HOST_REGISTER, nr=1,
      args=struct.pack("<QII", 4096, 1, 0), u=seg(10)))
# 600 pages through two indirect pages (refs 8, 9 hold the descriptors)
ind = b"".join(seg(1000 + i) for i in range(600)).ljust(2 * 4096, b"\0")
write("r3-host-register-indirect", bytes([0x01]) + req(HOST_REGISTER, F_INDIRECT, 600,
      args=struct.pack("<QII", 600 * 4096, 0, 0)) + ind)
# copies naming the harness's region (ctl 0x06: ctx, mem, region)
write("r3-h2d-host-mem", bytes([0x06]) + req(H2D, F_HOST_MEM,
      args=struct.pack("<QQQQQQ", 0, 0, 4096, 0, 0, 100)))
write("r3-d2h-host-mem", bytes([0x06]) + req(D2H, F_HOST_MEM,
      args=struct.pack("<QQQQQQ", 0, 64, 8192, 0, 0, 4096)))
write("r3-host-unregister", bytes([0x04]) + req(HOST_UNREGISTER))
