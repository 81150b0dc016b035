#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""numba_axpy.py - a numba-cuda kernel (1-D axpy over 1 Mi float32) whose result
is checked on the CPU, with the launch time; run by tests/gpu/cuda/run.sh
natively and through the guest libcuda.so.1.

How numba-cuda 0.30 finds the driver (read in numba-cuda's and cuda-bindings'
source): every driver call goes through cuda-bindings, whose cydriver dlopens
"libcuda.so.1" by soname (on Linux outside WSL) and then takes each function
from cuGetProcAddress_v2; numba's own probe ctypes-loads "libcuda.so" first.
NUMBA_CUDA_DRIVER is not read any more. The first library with the soname
libcuda.so.1 in the process wins, so the guest library is chosen with
LD_LIBRARY_PATH naming a folder that holds both libcuda.so and libcuda.so.1
(and, to be sure, LD_PRELOAD of it). VGPU_EXPECT_LIBCUDA names the file that
must be the only libcuda mapped in this process; the check reads
/proc/self/maps, so a run that silently used another driver fails.

Output: "PASS numba: ..." or "FAIL numba: ...", "bench numba_launch+sync_us ...".
"""
import os
import sys
import time

import numpy as np

if not hasattr(np, "row_stack"):   # numba 0.68 still calls it; numpy 2.5 dropped it
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402


@cuda.jit
def axpy(r, a, x, y):
    i = cuda.grid(1)
    if i < r.size:
        r[i] = a * x[i] + y[i]


def mapped_libcuda():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and os.path.basename(parts[5]).startswith("libcuda.so"):
                libs.add(os.path.realpath(parts[5]))
    return sorted(libs)


def main():
    n = 1 << 20
    a = np.float32(3.0)
    x = (np.arange(n, dtype=np.float32) % 1000)
    y = (np.arange(n, dtype=np.float32) % 7)
    dx, dy = cuda.to_device(x), cuda.to_device(y)
    dr = cuda.device_array_like(x)
    blocks = (n + 255) // 256
    axpy[blocks, 256](dr, a, dx, dy)
    r = dr.copy_to_host()
    wrong = int(np.count_nonzero(r != a * x + y))
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        axpy[blocks, 256](dr, a, dx, dy)
        cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    libs = mapped_libcuda()
    want = os.environ.get("VGPU_EXPECT_LIBCUDA")
    which_ok = True
    if want:
        which_ok = libs == [os.path.realpath(want)]
    dev = cuda.get_current_device()
    print("bench numba_axpy_1M_launch+sync_us p50=%.1f p99=%.1f" %
          (times[len(times) // 2], times[int(len(times) * 0.99)]))
    ok = wrong == 0 and which_ok
    print("%s numba: axpy of %d float32 on %s, %d wrong; libcuda mapped: %s%s" %
          ("PASS" if ok else "FAIL", n, dev.name.decode() if isinstance(dev.name, bytes)
           else dev.name, wrong, ", ".join(libs) or "none",
           "" if which_ok else " (expected only %s)" % want))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
