/* SPDX-License-Identifier: MIT */
/*
 * cutest.h - the small test harness of the CUDA driver-API programs in
 * tests/cuda. They are written against cuda-api/cuda.h and link only
 * libcuda (no Check: the same sources build on the GPU machine against
 * NVIDIA's cuda.h and run on NVIDIA's driver, to confirm that each
 * expected CUresult is the one a real driver gives).
 *
 *   CU_EXPECT(call, result)  the call must return that CUresult
 *   CU_EXPECT_GUEST(call, result)  the same, but not comparable natively
 *                            (not run on NVIDIA's driver: it crashes there,
 *                            or answers from freed memory); the reason is
 *                            a comment at each use
 *   T_CHECK(cond, fmt, ...)  a condition, with a message when it fails
 *   t_done()                 the summary line; the exit status (0, 1)
 * A program that cannot run prints "SKIP: reason" and exits 77 (t_skip).
 *
 * Natively (VGPU_DEVICE unset: NVIDIA's driver), a call that kills the
 * process is named on stderr ("CRASH file:line [case]: call: signal N")
 * and VGPU_TEST_NATIVE_SKIP="file:line ..." leaves such a call, and the
 * rest of its case, out (a failure, not made), so that
 * tests/gpu/cuda/run.sh can run the other cases.
 */
#ifndef CUTEST_H
#define CUTEST_H

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* NVIDIA's driver, not the guest library (which always has VGPU_DEVICE). */
static inline int t_native(void)
{
	static int n = -1;

	if (n < 0)
		n = getenv("VGPU_DEVICE") == NULL;
	return n;
}

/* The call being made, for the crash report. */
static const char *volatile t_at_file, *volatile t_at_call;
static volatile int t_at_line;

static inline void t_crash(int sig)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "CRASH %s:%d [%s]: %s: signal %d\n",
			 t_at_file ? t_at_file : "?", t_at_line, t_case,
			 t_at_call ? t_at_call : "?", sig);

	if (n > 0 && write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		n = 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The case running (T_RUN), for leaving it early. */
static jmp_buf t_case_env;
static int t_case_active;

static inline void t_leave_case(void) __attribute__((noreturn));
static inline void t_leave_case(void)
{
	if (t_case_active)
		longjmp(t_case_env, 1);
	fprintf(stderr, "FAIL [%s]: left out outside a case: the program ends here\n", t_case);
	exit(1);
}

/*
 * Before a call: 1 to make it; 0 (a failure reported) when it is in
 * VGPU_TEST_NATIVE_SKIP, natively, as one that crashed an earlier run.
 */
static inline int t_before(const char *file, int line, const char *call)
{
	static int armed;
	const char *skip;
	const char *base = strrchr(file, '/');
	char key[256];

	t_at_file = file;
	t_at_line = line;
	t_at_call = call;
	if (!t_native())
		return 1;
	if (!armed) {
		armed = 1;
		signal(SIGSEGV, t_crash);
		signal(SIGBUS, t_crash);
		signal(SIGABRT, t_crash);
	}
	skip = getenv("VGPU_TEST_NATIVE_SKIP");
	if (!skip || !*skip)
		return 1;
	snprintf(key, sizeof(key), "%s:%d", base ? base + 1 : file, line);
	for (const char *p = strstr(skip, key); p; p = strstr(p + 1, key)) {
		char end = p[strlen(key)];

		if ((p == skip || p[-1] == ' ') && (end == ' ' || end == '\0')) {
			t_fail(file, line, "%s: not made, nor the rest of the case (it crashed "
			       "NVIDIA's driver in an earlier run)", call);
			return 0;
		}
	}
	return 1;
}

/* (A call left out leaves its case: no later check sees what it did not set.) */
#define CU_EXPECT(call, want) do { \
	CUresult t_r_; \
	if (!t_before(__FILE__, __LINE__, #call)) \
		t_leave_case(); \
	t_r_ = (call); \
	t_checks++; \
	if (t_r_ != (want)) \
		t_fail(__FILE__, __LINE__, "%s = %s, expected %s", #call, t_name(t_r_), \
		       t_name(want)); \
} while (0)

/* Not comparable natively: the guest library's clean answer only. */
static int t_guest_only;
#define CU_EXPECT_GUEST(call, want) do { \
	if (t_native()) \
		t_guest_only++; \
	else \
		CU_EXPECT(call, want); \
} while (0)

#define CU_OK(call) CU_EXPECT(call, CUDA_SUCCESS)

/* A step the rest of a case needs: on failure the case stops. */
#define CU_MUST(call) do { \
	CUresult t_r_; \
	if (!t_before(__FILE__, __LINE__, #call)) \
		t_leave_case(); \
	t_r_ = (call); \
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
	if (t_guest_only)
		printf("%s: %d checks, %d failed (%d for the guest library only, not run "
		       "natively)\n", prog, t_checks, t_failed, t_guest_only);
	else
		printf("%s: %d checks, %d failed\n", prog, t_checks, t_failed);
	return t_failed ? 1 : 0;
}

static inline void t_run(void (*fn)(void), const char *name)
{
	void (*volatile f)(void) = fn;

	t_case = name;
	t_case_active = 1;
	if (!setjmp(t_case_env))
		f();
	t_case_active = 0;
}

#define T_RUN(fn) t_run(fn, #fn)

#endif /* CUTEST_H */
