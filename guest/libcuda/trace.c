/* SPDX-License-Identifier: MIT */
/*
 * trace.c - the call trace (VGPU_CUDA_TRACE=1: every call, its arguments
 * and its result, one line each on stderr) and the library's log lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

int lcu_trace_on;

/* Before main(): the trace must see the very first call (cuGetProcAddress). */
__attribute__((constructor)) static void trace_init(void)
{
	const char *e = getenv("VGPU_CUDA_TRACE");

	lcu_trace_on = e && *e && strcmp(e, "0") != 0;
}

void lcu_trace(const char *fn, CUresult r, const char *fmt, ...)
{
	char args[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* One write per line, so that threads' lines do not interleave. */
	fprintf(stderr, "libcuda[%d:%ld] %s%s = %s\n", (int)getpid(),
		(long)syscall(SYS_gettid), fn, args, lcu_result_name(r));
}

void lcu_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "libcuda: %s\n", line);
}

CUresult lcu_unsupported(const char *name, atomic_flag *once)
{
	if (!atomic_flag_test_and_set(once))
		lcu_log("%s is not supported by vgpu-xen's libcuda.so.1 "
			"(returns CUDA_ERROR_NOT_SUPPORTED)", name);
	return LCU_TRACE(name, CUDA_ERROR_NOT_SUPPORTED, "(...)");
}
