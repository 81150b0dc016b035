/* SPDX-License-Identifier: MIT */
/*
 * cutest.h - the small test harness of the CUDA driver-API programs in
 * tests/cuda. They are written against cuda-api/cuda.h and link only
 * libcuda (no Check: the same sources build on the GPU machine against
 * NVIDIA's cuda.h and run on NVIDIA's driver, to confirm that each
 * expected CUresult is the one a real driver gives).
 *
 *   CU_EXPECT(call, result)  the call must return that CUresult
 *   T_CHECK(cond, fmt, ...)  a condition, with a message when it fails
 *   t_done()                 the summary line; the exit status (0, 1)
 * A program that cannot run prints "SKIP: reason" and exits 77 (t_skip).
 */
#ifndef CUTEST_H
#define CUTEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

static int t_checks, t_failed;
static const char *t_case = "";

static inline const char *t_name(CUresult r)
{
	const char *s = NULL;
	static char buf[32];

	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || !s) {
		snprintf(buf, sizeof(buf), "CUresult %d", (int)r);
		return buf;
	}
	return s;
}

static inline void t_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	t_failed++;
	fprintf(stderr, "FAIL %s:%d [%s]: ", file, line, t_case);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define T_CHECK(cond, ...) do { \
	t_checks++; \
	if (!(cond)) \
		t_fail(__FILE__, __LINE__, __VA_ARGS__); \
} while (0)

#define CU_EXPECT(call, want) do { \
	CUresult t_r_ = (call); \
	t_checks++; \
	if (t_r_ != (want)) \
		t_fail(__FILE__, __LINE__, "%s = %s, expected %s", #call, t_name(t_r_), \
		       t_name(want)); \
} while (0)

#define CU_OK(call) CU_EXPECT(call, CUDA_SUCCESS)

/* A step the rest of a case needs: on failure the case stops. */
#define CU_MUST(call) do { \
	CUresult t_r_ = (call); \
	t_checks++; \
	if (t_r_ != CUDA_SUCCESS) { \
		t_fail(__FILE__, __LINE__, "%s = %s (needed by what follows)", #call, \
		       t_name(t_r_)); \
		return; \
	} \
} while (0)

static inline void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void t_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(77);
}

static inline int t_done(const char *prog)
{
	printf("%s: %d checks, %d failed\n", prog, t_checks, t_failed);
	return t_failed ? 1 : 0;
}

#define T_RUN(fn) do { t_case = #fn; fn(); } while (0)

#endif /* CUTEST_H */
