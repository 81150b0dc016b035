/* SPDX-License-Identifier: MIT */
/*
 * test_cu_stream.c - streams and events: order on one stream, the legacy
 * default stream against blocking streams, waits on events across
 * streams, queries that see pending work (the harness gives the cpu
 * executor a time per op, so queued work is still pending when queried),
 * elapsed times, per-thread default streams, host functions, and the
 * answers for misuse (destroyed streams and events, flags).
 */
#include <pthread.h>
#include <stdint.h>

#include "cutest.h"

/*
 * Work just queued is still pending when each op takes the cpu executor's
 * delay (run-loopback.sh --delay-us, exported as VGPU_TEST_DELAY_US); on a
 * GPU or without the delay it may be done already, and either answer holds.
 */
static int pending_expected(void)
{
	const char *d = getenv("VGPU_TEST_DELAY_US");

	return d && atoi(d) > 0;
}

#define CU_PENDING(call) do { \
	CUresult t_p_ = (call); \
	t_checks++; \
	if (t_p_ != CUDA_ERROR_NOT_READY && (pending_expected() || t_p_ != CUDA_SUCCESS)) \
		t_fail(__FILE__, __LINE__, "%s = %s, expected CUDA_ERROR_NOT_READY%s", #call, \
		       t_name(t_p_), pending_expected() ? "" : " or CUDA_SUCCESS"); \
} while (0)

static uint32_t read_word(CUdeviceptr p)
{
	uint32_t v = 0xdeadbeef;

	if (cuMemcpyDtoH(&v, p, 4) != CUDA_SUCCESS)
		t_fail(__FILE__, __LINE__, "read back");
	return v;
}

static void one_stream_order(void)
{
	CUstream s;
	CUdeviceptr a, b;

	CU_MUST(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CU_MUST(cuMemAlloc(&a, 64));
	CU_MUST(cuMemAlloc(&b, 64));
	CU_OK(cuMemsetD32Async(a, 1, 16, s));
	CU_OK(cuMemcpyDtoDAsync(b, a, 64, s));
	CU_OK(cuMemsetD32Async(a, 2, 16, s));
	CU_PENDING(cuStreamQuery(s));
	CU_OK(cuStreamSynchronize(s));
	CU_OK(cuStreamQuery(s));
	T_CHECK(read_word(b) == 1, "the copy did not run between the two memsets");
	T_CHECK(read_word(a) == 2, "the last memset");
	cuMemFree(a);
	cuMemFree(b);
	CU_OK(cuStreamDestroy(s));
}

/* A blocking stream's work is done before later legacy-stream work. */
static void legacy_stream(void)
{
	CUstream s;
	CUdeviceptr a, b;
	unsigned int flags;
	int prio;

	CU_MUST(cuStreamCreate(&s, CU_STREAM_DEFAULT));
	CU_OK(cuStreamGetFlags(s, &flags));
	T_CHECK(flags == CU_STREAM_DEFAULT, "flags %#x", flags);
	CU_OK(cuStreamGetPriority(s, &prio));
	CU_MUST(cuMemAlloc(&a, 64));
	CU_MUST(cuMemAlloc(&b, 64));
	CU_OK(cuMemsetD32(b, 0, 16));
	CU_OK(cuMemsetD32Async(a, 7, 16, s));
	CU_OK(cuMemcpyDtoDAsync(b, a, 64, NULL));
	CU_OK(cuStreamSynchronize(NULL));
	T_CHECK(read_word(b) == 7, "legacy stream work ran before the blocking stream's");
	CU_OK(cuMemsetD32Async(a, 8, 16, CU_STREAM_LEGACY));
	CU_OK(cuStreamSynchronize(CU_STREAM_LEGACY));
	T_CHECK(read_word(a) == 8, "CU_STREAM_LEGACY");
	cuMemFree(a);
	cuMemFree(b);
	CU_OK(cuStreamDestroy(s));
}

static void events(void)
{
	CUstream s1, s2;
	CUevent e, start, stop, never, notime, bad;
	CUstream bads;
	CUdeviceptr x, y;
	float ms = -1;

	CU_MUST(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
	CU_MUST(cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
	CU_MUST(cuEventCreate(&e, CU_EVENT_DISABLE_TIMING));
	CU_MUST(cuEventCreate(&start, CU_EVENT_DEFAULT));
	CU_MUST(cuEventCreate(&stop, CU_EVENT_BLOCKING_SYNC));
	CU_MUST(cuEventCreate(&never, 0));
	CU_MUST(cuEventCreate(&notime, CU_EVENT_DISABLE_TIMING));
	CU_MUST(cuMemAlloc(&x, 64));
	CU_MUST(cuMemAlloc(&y, 64));
	/* s2 waits for s1's memset through e. */
	CU_OK(cuEventRecord(start, s1));
	CU_OK(cuMemsetD32Async(x, 0x1234, 16, s1));
	CU_OK(cuEventRecord(e, s1));
	CU_OK(cuStreamWaitEvent(s2, e, 0));
	CU_OK(cuMemcpyDtoDAsync(y, x, 64, s2));
	CU_OK(cuEventRecord(stop, s2));
	CU_PENDING(cuEventQuery(stop));
	CU_PENDING(cuEventElapsedTime(&ms, start, stop));
	CU_OK(cuEventSynchronize(stop));
	CU_OK(cuEventQuery(stop));
	CU_OK(cuEventQuery(e));
	T_CHECK(read_word(y) == 0x1234, "the wait did not order s2 after s1");
	CU_OK(cuEventElapsedTime(&ms, start, stop));
	T_CHECK(ms >= 0.0f, "elapsed %f ms", (double)ms);
	/* Never recorded: done at once, but no time. */
	CU_OK(cuEventQuery(never));
	CU_OK(cuEventSynchronize(never));
	CU_EXPECT(cuEventElapsedTime(&ms, start, never), CUDA_ERROR_INVALID_HANDLE);
	CU_OK(cuEventRecord(notime, s1));
	CU_OK(cuEventSynchronize(notime));
	CU_EXPECT(cuEventElapsedTime(&ms, start, notime), CUDA_ERROR_INVALID_HANDLE);
	/* No place for the time: CUDA_ERROR_INVALID_HANDLE, as NVIDIA's driver 580 says. */
	CU_EXPECT(cuEventElapsedTime(NULL, start, stop), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT(cuEventCreate(&bad, 0x80), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuEventCreate(NULL, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuStreamWaitEvent(s2, e, 0x40), CUDA_ERROR_INVALID_VALUE);
	/*
	 * Destroyed events: not comparable natively (NVIDIA's driver reads the
	 * freed event: CUDA_ERROR_INVALID_CONTEXT, or worse).
	 */
	CU_OK(cuEventDestroy(never));
	CU_EXPECT_GUEST(cuEventRecord(never, s1), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT_GUEST(cuEventQuery(never), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT_GUEST(cuEventSynchronize(never), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT_GUEST(cuStreamWaitEvent(s2, never, 0), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT_GUEST(cuEventDestroy(never), CUDA_ERROR_INVALID_HANDLE);
	cuEventDestroy(e);
	cuEventDestroy(start);
	cuEventDestroy(stop);
	cuEventDestroy(notime);
	cuMemFree(x);
	cuMemFree(y);
	CU_OK(cuStreamDestroy(s1));
	/* Destroyed streams: not comparable natively (NVIDIA's driver crashes). */
	CU_EXPECT_GUEST(cuStreamSynchronize(s1), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT_GUEST(cuStreamQuery(s1), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT_GUEST(cuStreamDestroy(s1), CUDA_ERROR_INVALID_HANDLE);
	CU_EXPECT_GUEST(cuMemsetD8Async(y, 0, 1, s1), CUDA_ERROR_INVALID_VALUE);  /* y freed too */
	CU_OK(cuStreamDestroy(s2));
	CU_EXPECT(cuStreamCreate(&bads, 0x10), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuStreamCreate(NULL, 0), CUDA_ERROR_INVALID_VALUE);
}

static void destroyed_stream_work(void)
{
	CUstream s;
	CUdeviceptr a;

	CU_MUST(cuMemAlloc(&a, 64));
	CU_MUST(cuStreamCreate(&s, 0));
	CU_OK(cuMemsetD8Async(a, 3, 64, s));
	/* Returns at once; the work queued before still completes. */
	CU_OK(cuStreamDestroy(s));
	/* Not comparable natively: NVIDIA's driver crashes on a destroyed stream. */
	CU_EXPECT_GUEST(cuMemsetD8Async(a, 4, 64, s), CUDA_ERROR_INVALID_HANDLE);
	CU_OK(cuCtxSynchronize());
	T_CHECK(read_word(a) == 0x03030303u, "work queued before cuStreamDestroy was lost");
	cuMemFree(a);
}

/* dom0's range as lcu-devinfo printed it (VGPU_TEST_DEVINFO); 0 without one. */
static int snapshot_priorities(int *least, int *greatest)
{
	const char *path = getenv("VGPU_TEST_DEVINFO");
	char line[512];
	int found = 0;
	FILE *f;

	if (!path || !(f = fopen(path, "r")))
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "priorities %d %d", least, greatest) == 2;
	fclose(f);
	return found;
}

static void priorities(void)
{
	CUstream s;
	int lo, hi, p, want_lo, want_hi;

	CU_OK(cuCtxGetStreamPriorityRange(&lo, &hi));
	T_CHECK(hi <= lo, "range [%d, %d]", hi, lo);
	/* The guest library reports dom0's range. */
	if (snapshot_priorities(&want_lo, &want_hi))
		T_CHECK(lo == want_lo && hi == want_hi, "range least %d greatest %d, dom0 says "
			"%d %d", lo, hi, want_lo, want_hi);
	CU_MUST(cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, hi - 100));
	CU_OK(cuStreamGetPriority(s, &p));
	T_CHECK(p == hi, "priority %d clamped to %d", p, hi);
	CU_OK(cuStreamDestroy(s));
	CU_MUST(cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, lo + 100));
	CU_OK(cuStreamGetPriority(s, &p));
	T_CHECK(p == lo, "priority %d clamped to %d", p, lo);
	CU_OK(cuStreamDestroy(s));
	/* Every priority of the range is kept as given (and works). */
	for (int q = hi; q <= lo; q++) {
		CUdeviceptr a;

		CU_MUST(cuStreamCreateWithPriority(&s, 0, q));
		CU_OK(cuStreamGetPriority(s, &p));
		T_CHECK(p == q, "priority %d came back as %d", q, p);
		CU_MUST(cuMemAlloc(&a, 64));
		CU_OK(cuMemsetD32Async(a, (unsigned int)(q + 1000), 16, s));
		CU_OK(cuStreamSynchronize(s));
		T_CHECK(read_word(a) == (uint32_t)(q + 1000), "work on the stream of priority %d", q);
		cuMemFree(a);
		CU_OK(cuStreamDestroy(s));
	}
}

static int host_fn_ran;

static void CUDAAPI host_fn(void *arg)
{
	host_fn_ran = *(int *)arg;
}

static void host_functions(void)
{
	CUstream s;
	CUdeviceptr a;
	int v = 42;

	CU_MUST(cuStreamCreate(&s, 0));
	CU_MUST(cuMemAlloc(&a, 16));
	CU_OK(cuMemsetD8Async(a, 1, 16, s));
	CU_OK(cuLaunchHostFunc(s, host_fn, &v));
	CU_OK(cuStreamSynchronize(s));
	T_CHECK(host_fn_ran == 42, "the host function did not run");
	CU_EXPECT(cuLaunchHostFunc(s, NULL, &v), CUDA_ERROR_INVALID_VALUE);
	cuMemFree(a);
	CU_OK(cuStreamDestroy(s));
}

struct pt {
	CUcontext ctx;
	CUdeviceptr mem;
	unsigned char val;
	int ok;
};

static void *pt_worker(void *arg)
{
	struct pt *p = arg;
	unsigned char b[32];

	if (cuCtxSetCurrent(p->ctx))
		return NULL;
	if (cuMemsetD8Async(p->mem, p->val, 32, CU_STREAM_PER_THREAD) ||
	    cuStreamSynchronize(CU_STREAM_PER_THREAD) || cuMemcpyDtoH(b, p->mem, 32))
		return NULL;
	p->ok = b[0] == p->val && b[31] == p->val;
	return NULL;
}

static void per_thread_streams(void)
{
	struct pt p[3];
	pthread_t t[3];
	CUcontext cur;
	unsigned long long id1, id2;
	int i;

	CU_OK(cuCtxGetCurrent(&cur));
	for (i = 0; i < 3; i++) {
		p[i].ctx = cur;
		p[i].val = (unsigned char)(10 + i);
		p[i].ok = 0;
		if (cuMemAlloc(&p[i].mem, 32))
			return;
		pthread_create(&t[i], NULL, pt_worker, &p[i]);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		T_CHECK(p[i].ok, "thread %d on its per-thread stream", i);
		cuMemFree(p[i].mem);
	}
	CU_OK(cuStreamGetId(CU_STREAM_PER_THREAD, &id1));
	CU_OK(cuStreamGetId(CU_STREAM_LEGACY, &id2));
	T_CHECK(id1 != id2, "per-thread and legacy streams share id %llu", id1);
}

int main(void)
{
	CUcontext c;

	if (cuInit(0) != CUDA_SUCCESS)
		t_skip("cuInit failed: no device");
	if (cuCtxCreate(&c, NULL, 0, 0) != CUDA_SUCCESS)
		t_skip("no context");
	T_RUN(one_stream_order);
	T_RUN(legacy_stream);
	T_RUN(events);
	T_RUN(destroyed_stream_work);
	T_RUN(priorities);
	T_RUN(host_functions);
	T_RUN(per_thread_streams);
	cuCtxDestroy(c);
	return t_done("test_cu_stream");
}
