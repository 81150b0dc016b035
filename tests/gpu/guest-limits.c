/* SPDX-License-Identifier: MIT */
/*
 * guest-limits.c - a hostile guest program for #15 on the GPU machine
 * (tests/gpu/e2e-limits.sh runs it through a real vgpu-backend with the
 * cuda executor and its DEFAULT settings):
 *
 *   gpu-limits-guest spin       launches a kernel that spins for about two
 *                               minutes: the backend's default watchdog must
 *                               stop it, the guest gets ETIMEDOUT
 *   gpu-limits-guest module     under a 1 GiB mem-quota: a module with a
 *                               2 GiB __device__ array is refused (EDQUOT),
 *                               one with 256 MiB loads and is charged
 *                               (GET_INFO's mem_used), unloading gives it
 *                               back
 *   gpu-limits-guest local      under a 1 GiB mem-quota: a kernel with
 *                               16 KiB of local memory per thread (4.4 GB
 *                               reserved on an H200) is refused (EDQUOT)
 *
 * Each prints PASS: or FAIL: lines and exits 0 when all passed, 1 if one
 * failed, 2 when it could not start. The device is $VGPU_DEVICE.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vgpu.h"
#include "gpu-kernels.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static int failed;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failed = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *array_ptx(uint64_t bytes)
{
	static char p[2048];

	snprintf(p, sizeof(p),
		 ".version 7.0\n.target sm_75\n.address_size 64\n\n"
		 ".global .align 4 .b8 g_var[%" PRIu64 "];\n\n"
		 ".visible .entry g_touch(\n\t.param .u64 g_touch_param_0\n)\n{\n"
		 "\t.reg .b32 \t%%r<2>;\n\t.reg .b64 \t%%rd<4>;\n\n"
		 "\tld.param.u64 \t%%rd1, [g_touch_param_0];\n"
		 "\tcvta.to.global.u64 \t%%rd2, %%rd1;\n"
		 "\tmov.u64 \t%%rd3, g_var;\n"
		 "\tld.global.u32 \t%%r1, [%%rd3];\n"
		 "\tst.global.u32 \t[%%rd2], %%r1;\n"
		 "\tret;\n\n}\n", bytes);
	return p;
}

static const char local_ptx[] =
	".version 7.0\n.target sm_75\n.address_size 64\n\n"
	".visible .entry g_local(\n\t.param .u64 g_local_param_0,\n"
	"\t.param .u32 g_local_param_1\n)\n{\n"
	"\t.local .align 4 .b8 \t__local_depot0[16384];\n"
	"\t.reg .b64 \t%SPL;\n\t.reg .b32 \t%r<4>;\n\t.reg .b64 \t%rd<5>;\n\n"
	"\tmov.u64 \t%SPL, __local_depot0;\n"
	"\tld.param.u64 \t%rd1, [g_local_param_0];\n"
	"\tld.param.u32 \t%r1, [g_local_param_1];\n"
	"\tand.b32 \t%r2, %r1, 4095;\n"
	"\tmul.wide.u32 \t%rd2, %r2, 4;\n"
	"\tadd.s64 \t%rd3, %SPL, %rd2;\n"
	"\tst.local.u32 \t[%rd3], %r1;\n"
	"\tld.local.u32 \t%r3, [%SPL+4];\n"
	"\tcvta.to.global.u64 \t%rd4, %rd1;\n"
	"\tst.global.u32 \t[%rd4], %r3;\n"
	"\tret;\n\n}\n";

static uint64_t mem_used(vgpu_t *v)
{
	struct vgpu_info info;

	if (vgpu_query(v, &info))
		return UINT64_MAX;
	return info.mem_used;
}

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: the spinning kernel was not stopped "
				  "within 100 s (no watchdog by default?)\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void spin(vgpu_t *v)
{
	/* about 2 minutes at 2 GHz: far past any default watchdog */
	uint64_t cycles = 240ull * 1000000000ull, module, func;
	const uint32_t one[3] = { 1, 1, 1 };
	double t0, dt;
	char log[512];
	int rc;

	rc = vgpu_module_load(v, vt_kernels_ptx, sizeof(vt_kernels_ptx),
			      VGPU_MODULE_PTX, log, sizeof(log), &module, NULL);
	if (rc || vgpu_func_get(v, module, "vt_spin", &func, NULL)) {
		check(0, "load vt_spin: %s (%s)", vgpu_strerror(rc), log);
		return;
	}
	t0 = now_s();
	signal(SIGALRM, on_alarm);
	alarm(100);     /* no watchdog at all: do not wait the whole spin */
	rc = vgpu_launch(v, func, one, one, 0, &cycles, sizeof(cycles));
	if (!rc)
		rc = vgpu_sync(v);
	alarm(0);
	dt = now_s() - t0;
	/* libvgpu gives up on a call after 60 s with ETIMEDOUT too: sooner */
	check(rc == -ETIMEDOUT && dt < 50, "a spinning kernel under the "
	      "backend's default settings: %s after %.1f s (want ETIMEDOUT from "
	      "the watchdog, well before libvgpu's own 60 s)", vgpu_strerror(rc), dt);
	if (rc == -ETIMEDOUT && dt >= 50)
		return;         /* still spinning: nothing more to see here */
	/* the domain goes on: its next work runs on a new context */
	{
		float a[256], b[256], c[256];
		int bad = 0;

		for (int i = 0; i < 256; i++) {
			a[i] = (float)i;
			b[i] = 2.0f * (float)i;
		}
		rc = vgpu_vector_add(v, a, b, c, 256);
		for (int i = 0; i < 256 && !rc; i++)
			bad += c[i] != 3.0f * (float)i;
		check(rc == 0 && !bad, "after the watchdog, a vector add: %s, %d wrong",
		      vgpu_strerror(rc), bad);
	}
}

static void module(vgpu_t *v)
{
	uint64_t mod, before, with, after;
	char log[1024] = "";
	int rc;

	before = mem_used(v);
	rc = vgpu_module_load(v, array_ptx(2 * GIB), strlen(array_ptx(2 * GIB)) + 1,
			      VGPU_MODULE_PTX, log, sizeof(log), &mod, NULL);
	check(rc == -EDQUOT, "a module with a 2 GiB __device__ array under a "
	      "1 GiB quota: %s (want EDQUOT); log: %s", vgpu_strerror(rc), log);
	if (!rc)
		vgpu_module_unload(v, mod);
	check(mem_used(v) == before, "usage unchanged by the refusal: %" PRIu64
	      " bytes", mem_used(v));
	rc = vgpu_module_load(v, array_ptx(256 * MIB), strlen(array_ptx(256 * MIB)) + 1,
			      VGPU_MODULE_PTX, log, sizeof(log), &mod, NULL);
	with = mem_used(v);
	check(rc == 0 && with >= before + 256 * MIB && with <= before + 257 * MIB,
	      "a module with 256 MiB of variables: %s, usage %" PRIu64 " -> %"
	      PRIu64 " bytes (charged %" PRIu64 ")", vgpu_strerror(rc), before,
	      with, with - before);
	if (!rc) {
		vgpu_module_unload(v, mod);
		after = mem_used(v);
		check(after == before, "unloaded: usage back to %" PRIu64 " bytes",
		      after);
	}
}

static void local(vgpu_t *v)
{
	uint64_t mod, func, mem, addr;
	const uint32_t grid[3] = { 1, 1, 1 }, block[3] = { 64, 1, 1 };
	struct { uint64_t out; uint32_t i, pad; } p;
	char log[512] = "";
	int rc;

	rc = vgpu_module_load(v, local_ptx, sizeof(local_ptx), VGPU_MODULE_PTX,
			      log, sizeof(log), &mod, NULL);
	if (!rc)
		rc = vgpu_func_get(v, mod, "g_local", &func, NULL);
	if (!rc)
		rc = vgpu_mem_alloc(v, 4096, &mem, &addr);
	if (rc) {
		check(0, "set up the local-memory kernel: %s (%s)", vgpu_strerror(rc), log);
		return;
	}
	p.out = addr;
	p.i = 3;
	p.pad = 0;
	rc = vgpu_launch(v, func, grid, block, 0, &p, 12);
	if (!rc)
		rc = vgpu_sync(v);
	check(rc == -EDQUOT, "a kernel with 16 KiB of local memory per thread "
	      "under a 1 GiB quota: %s (want EDQUOT)", vgpu_strerror(rc));
}

int main(int argc, char **argv)
{
	vgpu_t *v;
	int rc;

	if (argc != 2 || (strcmp(argv[1], "spin") && strcmp(argv[1], "module") &&
			  strcmp(argv[1], "local"))) {
		fprintf(stderr, "usage: gpu-limits-guest spin|module|local\n");
		return 2;
	}
	rc = vgpu_open(NULL, &v);
	if (rc) {
		fprintf(stderr, "gpu-limits-guest: %s\n", vgpu_open_error());
		return 2;
	}
	if (!strcmp(argv[1], "spin"))
		spin(v);
	else if (!strcmp(argv[1], "module"))
		module(v);
	else
		local(v);
	vgpu_close(v);
	return failed;
}
