/* SPDX-License-Identifier: MIT */
/*
 * test_cu_context.c - primary and explicit contexts and the current-context
 * stack: per thread, across threads, destroyed contexts (in this thread's
 * stack and current to another thread), primary context retain/release/
 * reset/flags, and each call's answer for misuse.
 */
#include <pthread.h>

#include "cutest.h"

static void no_context(void)
{
	CUcontext c = (CUcontext)1;
	CUdevice d;
	unsigned int f;
	size_t free_b, total_b;
	CUdeviceptr p;

	CU_OK(cuCtxGetCurrent(&c));
	T_CHECK(c == NULL, "a context is current at start: %p", (void *)c);
	CU_EXPECT(cuCtxGetDevice(&d), CUDA_ERROR_INVALID_CONTEXT);
	CU_EXPECT(cuCtxGetFlags(&f), CUDA_ERROR_INVALID_CONTEXT);
	CU_EXPECT(cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
	CU_EXPECT(cuMemGetInfo(&free_b, &total_b), CUDA_ERROR_INVALID_CONTEXT);
	CU_EXPECT(cuMemAlloc(&p, 16), CUDA_ERROR_INVALID_CONTEXT);
	CU_EXPECT(cuCtxPopCurrent(&c), CUDA_ERROR_INVALID_CONTEXT);
	CU_EXPECT(cuCtxGetCurrent(NULL), CUDA_ERROR_INVALID_VALUE);
	CU_OK(cuCtxSetCurrent(NULL));   /* an empty stack: a no-op */
}

static void explicit_stack(void)
{
	CUcontext a, b, c, cur;
	CUdevice d;
	unsigned int flags, ver;
	unsigned long long ida, idb;

	CU_MUST(cuCtxCreate(&a, NULL, CU_CTX_SCHED_BLOCKING_SYNC, 0));
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == a, "a new context is current");
	CU_OK(cuCtxGetFlags(&flags));
	T_CHECK((flags & CU_CTX_SCHED_MASK) == CU_CTX_SCHED_BLOCKING_SYNC, "flags %#x", flags);
	CU_OK(cuCtxGetDevice(&d));
	T_CHECK(d == 0, "device %d", d);
	CU_OK(cuCtxGetApiVersion(a, &ver));
	T_CHECK(ver >= 3020, "api version %u", ver);
	CU_MUST(cuCtxCreate(&b, NULL, 0, 0));
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == b, "the second context is on top");
	CU_OK(cuCtxGetId(a, &ida));
	CU_OK(cuCtxGetId(b, &idb));
	T_CHECK(ida != idb, "two contexts, one id %llu", ida);
	CU_OK(cuCtxPopCurrent(&c));
	T_CHECK(c == b, "popped %p, pushed %p", (void *)c, (void *)b);
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == a, "a is current again");
	CU_OK(cuCtxPushCurrent(b));
	CU_OK(cuCtxSetCurrent(a));         /* replaces the top */
	CU_OK(cuCtxPopCurrent(&c));
	T_CHECK(c == a, "set replaced the top");
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == a, "below it: a (pushed by create)");
	CU_OK(cuCtxPopCurrent(NULL));
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == NULL, "the stack is empty");

	/* Destroy: popped when current; a handle of it is invalid after. */
	CU_OK(cuCtxPushCurrent(a));
	CU_OK(cuCtxDestroy(a));
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == NULL, "a destroyed current context is popped: %p", (void *)cur);
	/* Destroyed already: CONTEXT_IS_DESTROYED (NVIDIA's driver 580 agrees). */
	CU_EXPECT(cuCtxDestroy(a), CUDA_ERROR_CONTEXT_IS_DESTROYED);
	/*
	 * Not comparable natively: NVIDIA's driver 580 does not check the
	 * handle it is given to push or set (pushing a destroyed context is
	 * CUDA_SUCCESS there, and the process dies later in it).
	 */
	CU_EXPECT_GUEST(cuCtxPushCurrent(a), CUDA_ERROR_INVALID_CONTEXT);
	CU_EXPECT_GUEST(cuCtxSetCurrent(a), CUDA_ERROR_INVALID_CONTEXT);
	CU_EXPECT(cuCtxGetApiVersion(a, &ver), CUDA_ERROR_INVALID_CONTEXT);

	/* Destroyed below the top of this thread's stack: it stays there. */
	CU_OK(cuCtxPushCurrent(b));
	CU_MUST(cuCtxCreate(&c, NULL, 0, 0));    /* stack: b c */
	CU_OK(cuCtxDestroy(b));
	CU_OK(cuCtxPopCurrent(&cur));
	T_CHECK(cur == c, "top is c");
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == b, "the destroyed context is still in the stack");
	CU_EXPECT(cuCtxSynchronize(), CUDA_ERROR_CONTEXT_IS_DESTROYED);
	/* It keeps its device (NVIDIA's driver 580 too). */
	d = -1;
	CU_OK(cuCtxGetDevice(&d));
	T_CHECK(d == 0, "a destroyed context's device %d", d);
	CU_OK(cuCtxPopCurrent(NULL));
	CU_OK(cuCtxDestroy(c));

	CU_EXPECT(cuCtxCreate(NULL, NULL, 0, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuCtxCreate(&a, NULL, 0, 5), CUDA_ERROR_INVALID_DEVICE);
	CU_EXPECT(cuCtxCreate(&a, NULL, 0x7, 0), CUDA_ERROR_INVALID_VALUE);  /* two sched modes */
	CU_EXPECT(cuCtxDestroy(NULL), CUDA_ERROR_INVALID_VALUE);
	/* A forged handle: not comparable natively (the driver follows it). */
	CU_EXPECT_GUEST(cuCtxPushCurrent((CUcontext)&ver), CUDA_ERROR_INVALID_CONTEXT);
}

/* ------------------------------------------------------------ threads */

struct thr {
	CUcontext mine, other;
	pthread_barrier_t *bar;
	CUcontext seen_start;
	CUresult after_destroy;
	int ok;
};

static void *worker(void *arg)
{
	struct thr *t = arg;
	CUcontext cur;
	CUdeviceptr p;

	/* A new thread has an empty stack, whatever its creator has. */
	cuCtxGetCurrent(&t->seen_start);
	if (cuCtxSetCurrent(t->mine) != CUDA_SUCCESS)
		return NULL;
	if (cuMemAlloc(&p, 4096) == CUDA_SUCCESS && cuMemFree(p) == CUDA_SUCCESS &&
	    cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur == t->mine)
		t->ok = 1;
	pthread_barrier_wait(t->bar);   /* 1: the main thread destroys ours */
	pthread_barrier_wait(t->bar);   /* 2: destroyed */
	t->after_destroy = cuMemAlloc(&p, 16);
	return NULL;
}

static void threads(void)
{
	pthread_barrier_t bar;
	struct thr t[4];
	pthread_t th[4];
	CUcontext cur, mainctx;
	int i;

	CU_MUST(cuCtxCreate(&mainctx, NULL, 0, 0));
	pthread_barrier_init(&bar, NULL, 5);
	for (i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].bar = &bar;
		if (cuCtxCreate(&t[i].mine, NULL, 0, 0) != CUDA_SUCCESS)
			t_fail(__FILE__, __LINE__, "context %d", i);
		cuCtxPopCurrent(NULL);
		pthread_create(&th[i], NULL, worker, &t[i]);
	}
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == mainctx, "the main thread's context stays current");
	pthread_barrier_wait(&bar);
	/* Destroyed while current to the workers: they see it destroyed. */
	for (i = 0; i < 4; i++)
		CU_OK(cuCtxDestroy(t[i].mine));
	pthread_barrier_wait(&bar);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		T_CHECK(t[i].seen_start == NULL, "thread %d started with a context", i);
		T_CHECK(t[i].ok, "thread %d could not use its context", i);
		T_CHECK(t[i].after_destroy == CUDA_ERROR_CONTEXT_IS_DESTROYED,
			"thread %d after destroy: %s", i, t_name(t[i].after_destroy));
	}
	pthread_barrier_destroy(&bar);
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == mainctx, "still the main context");
	CU_OK(cuCtxDestroy(mainctx));
}

/* ---------------------------------------------------- primary context */

static void primary(void)
{
	CUcontext p1, p2, cur;
	unsigned int flags;
	int active;
	CUdeviceptr mem;

	CU_OK(cuDevicePrimaryCtxGetState(0, &flags, &active));
	T_CHECK(!active, "primary context active before any retain");
	CU_OK(cuDevicePrimaryCtxSetFlags(0, CU_CTX_SCHED_SPIN));
	CU_OK(cuDevicePrimaryCtxGetState(0, &flags, &active));
	T_CHECK(flags == CU_CTX_SCHED_SPIN, "flags %#x", flags);
	CU_MUST(cuDevicePrimaryCtxRetain(&p1, 0));
	CU_MUST(cuDevicePrimaryCtxRetain(&p2, 0));
	T_CHECK(p1 == p2, "one primary context per device");
	CU_OK(cuDevicePrimaryCtxGetState(0, &flags, &active));
	T_CHECK(active, "active after retain");
	CU_OK(cuCtxSetCurrent(p1));
	CU_OK(cuCtxGetFlags(&flags));
	T_CHECK((flags & CU_CTX_SCHED_MASK) == CU_CTX_SCHED_SPIN, "flags %#x", flags);
	CU_OK(cuMemAlloc(&mem, 1024));
	CU_EXPECT(cuCtxDestroy(p1), CUDA_ERROR_INVALID_CONTEXT);   /* not by cuCtxDestroy */
	CU_OK(cuDevicePrimaryCtxRelease(0));
	CU_OK(cuCtxSynchronize());                  /* one retain left */
	CU_OK(cuDevicePrimaryCtxRelease(0));
	CU_OK(cuDevicePrimaryCtxGetState(0, &flags, &active));
	T_CHECK(!active, "inactive after the last release");
	/*
	 * Still current, but gone: its memory too; freeing it fails on the
	 * destroyed current context first (NVIDIA's driver 580 agrees).
	 */
	CU_EXPECT(cuCtxSynchronize(), CUDA_ERROR_CONTEXT_IS_DESTROYED);
	CU_EXPECT(cuMemFree(mem), CUDA_ERROR_CONTEXT_IS_DESTROYED);
	CU_EXPECT(cuDevicePrimaryCtxRelease(0), CUDA_ERROR_INVALID_CONTEXT);
	/* Retained again: the same handle, a fresh context. */
	CU_MUST(cuDevicePrimaryCtxRetain(&p2, 0));
	T_CHECK(p1 == p2, "the primary context keeps its handle");
	CU_OK(cuCtxGetCurrent(&cur));
	T_CHECK(cur == p1, "current again");
	CU_OK(cuCtxSynchronize());
	CU_OK(cuMemAlloc(&mem, 64));
	CU_OK(cuDevicePrimaryCtxReset(0));
	CU_OK(cuDevicePrimaryCtxGetState(0, &flags, &active));
	T_CHECK(!active && flags == 0, "after reset: active %d flags %#x", active, flags);
	CU_EXPECT(cuMemFree(mem), CUDA_ERROR_CONTEXT_IS_DESTROYED);
	CU_OK(cuCtxSetCurrent(NULL));
	CU_EXPECT(cuDevicePrimaryCtxRetain(NULL, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDevicePrimaryCtxRetain(&p1, 9), CUDA_ERROR_INVALID_DEVICE);
	CU_EXPECT(cuDevicePrimaryCtxSetFlags(0, 0x7), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDevicePrimaryCtxGetState(0, NULL, &active), CUDA_ERROR_INVALID_VALUE);
}

static void limits(void)
{
	CUcontext c;
	size_t v;
	CUfunc_cache cc;
	int lo, hi;

	CU_MUST(cuCtxCreate(&c, NULL, 0, 0));
	CU_OK(cuCtxGetLimit(&v, CU_LIMIT_STACK_SIZE));
	T_CHECK(v > 0, "stack size %zu", v);
	CU_OK(cuCtxGetLimit(&v, CU_LIMIT_MALLOC_HEAP_SIZE));
	CU_OK(cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, v));
	CU_EXPECT(cuCtxGetLimit(NULL, CU_LIMIT_STACK_SIZE), CUDA_ERROR_INVALID_VALUE);
	/* No such limit: INVALID_VALUE (NVIDIA's driver 580 agrees). */
	CU_EXPECT(cuCtxGetLimit(&v, (CUlimit)0x1000), CUDA_ERROR_INVALID_VALUE);
	CU_OK(cuCtxSetCacheConfig(CU_FUNC_CACHE_PREFER_L1));
	CU_OK(cuCtxGetCacheConfig(&cc));
	T_CHECK(cc == CU_FUNC_CACHE_PREFER_L1, "cache config %d", (int)cc);
	CU_OK(cuCtxGetStreamPriorityRange(&lo, &hi));
	T_CHECK(hi <= lo, "priorities [%d, %d]", hi, lo);
	CU_OK(cuCtxDestroy(c));
}

int main(void)
{
	CU_EXPECT(cuCtxGetCurrent(NULL), CUDA_ERROR_NOT_INITIALIZED);
	if (cuInit(0) != CUDA_SUCCESS)
		t_skip("cuInit failed: no device");
	T_RUN(no_context);
	T_RUN(explicit_stack);
	T_RUN(threads);
	T_RUN(primary);
	T_RUN(limits);
	return t_done("test_cu_context");
}
