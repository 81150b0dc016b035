/* SPDX-License-Identifier: MIT */
/*
 * test_cu_proc.c - cuGetProcAddress (both versions) for every exported
 * symbol of the guest libcuda (guest/libcuda/exports.h, the table the
 * library's exports are made from): each base name at each version and
 * stream mode gives that variant, the newest names give what cuda.h binds
 * them to, the per-thread flag gives the _ptds/_ptsz variants, and the
 * misuses get their answers. Runs before cuInit too, as the CUDA runtime
 * does. The stubs answer CUDA_ERROR_NOT_SUPPORTED.
 */
#include <dlfcn.h>

#include "cutest.h"

struct ent {
	const char *sym, *base;
	int ver;
	char mode;
	int supported;
};

static const struct ent ents[] = {
#define E(sym, base, ver, mode) { #sym, #base, ver, #mode[0], 1 },
#define S(sym, base, ver) { #sym, #base, ver, 'B', 0 },
#include "exports.h"
#undef E
};
#define NENTS (sizeof(ents) / sizeof(ents[0]))

static void *lib;

typedef CUresult (*gpa_v1_t)(const char *, void **, int, cuuint64_t);

static void every_symbol(void)
{
	size_t i;

	for (i = 0; i < NENTS; i++) {
		const struct ent *e = &ents[i];
		void *want = dlsym(lib, e->sym), *got = NULL;
		CUdriverProcAddressQueryResult st = (CUdriverProcAddressQueryResult)-1;
		cuuint64_t flags = e->mode == 'P' ? CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
			: e->mode == 'L' ? CU_GET_PROC_ADDRESS_LEGACY_STREAM
			: CU_GET_PROC_ADDRESS_DEFAULT;

		T_CHECK(want != NULL, "%s is not exported", e->sym);
		CU_OK(cuGetProcAddress(e->base, &got, e->ver, flags, &st));
		T_CHECK(got == want && st == CU_GET_PROC_ADDRESS_SUCCESS,
			"cuGetProcAddress(\"%s\", %d, %#llx) gave %p (status %d), %s is %p",
			e->base, e->ver, (unsigned long long)flags, got, (int)st, e->sym, want);
		if (e->mode == 'B') {
			/* The only variant: whatever the stream flag. */
			got = NULL;
			CU_OK(cuGetProcAddress(e->base, &got, e->ver,
					       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st));
			T_CHECK(got == want, "%s with the per-thread flag", e->sym);
		}
		if (!e->supported) {
			CUresult (*stub)(void) = (CUresult (*)(void))(uintptr_t)want;

			CU_EXPECT(stub(), CUDA_ERROR_NOT_SUPPORTED);
		}
	}
}

/* The newest variant of a name is what a CUDA 13.0 program calls. */
static void newest(void)
{
	static const struct { const char *base; void *fn; } t[] = {
		{ "cuInit", (void *)(uintptr_t)cuInit },
		{ "cuMemAlloc", (void *)(uintptr_t)cuMemAlloc },
		{ "cuMemFree", (void *)(uintptr_t)cuMemFree },
		{ "cuCtxCreate", (void *)(uintptr_t)cuCtxCreate },
		{ "cuCtxDestroy", (void *)(uintptr_t)cuCtxDestroy },
		{ "cuCtxPushCurrent", (void *)(uintptr_t)cuCtxPushCurrent },
		{ "cuCtxPopCurrent", (void *)(uintptr_t)cuCtxPopCurrent },
		{ "cuMemcpyHtoD", (void *)(uintptr_t)cuMemcpyHtoD },
		{ "cuMemcpyDtoHAsync", (void *)(uintptr_t)cuMemcpyDtoHAsync },
		{ "cuMemsetD32", (void *)(uintptr_t)cuMemsetD32 },
		{ "cuStreamDestroy", (void *)(uintptr_t)cuStreamDestroy },
		{ "cuEventDestroy", (void *)(uintptr_t)cuEventDestroy },
		{ "cuEventElapsedTime", (void *)(uintptr_t)cuEventElapsedTime },
		{ "cuDeviceTotalMem", (void *)(uintptr_t)cuDeviceTotalMem },
		{ "cuDeviceGetUuid", (void *)(uintptr_t)cuDeviceGetUuid },
		{ "cuDevicePrimaryCtxRelease", (void *)(uintptr_t)cuDevicePrimaryCtxRelease },
		{ "cuModuleGetGlobal", (void *)(uintptr_t)cuModuleGetGlobal },
		{ "cuMemHostRegister", (void *)(uintptr_t)cuMemHostRegister },
		{ "cuLaunchKernel", (void *)(uintptr_t)cuLaunchKernel },
		{ "cuGetProcAddress", (void *)(uintptr_t)cuGetProcAddress },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		void *got = NULL;

		CU_OK(cuGetProcAddress(t[i].base, &got, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT,
				       NULL));
		T_CHECK(got == t[i].fn, "%s at %d: %p, cuda.h binds %p", t[i].base, CUDA_VERSION,
			got, t[i].fn);
	}
}

static void variants(void)
{
	void *p = NULL, *q;
	CUdriverProcAddressQueryResult st;
	gpa_v1_t v1 = (gpa_v1_t)(uintptr_t)dlsym(lib, "cuGetProcAddress");

	/* A version between two variants gives the older one. */
	CU_OK(cuGetProcAddress("cuMemAlloc", &p, 3010, 0, &st));
	T_CHECK(p == dlsym(lib, "cuMemAlloc"), "cuMemAlloc at 3010");
	CU_OK(cuGetProcAddress("cuCtxCreate", &p, 12040, 0, &st));
	T_CHECK(p == dlsym(lib, "cuCtxCreate_v3"), "cuCtxCreate at 12040");
	/* The per-thread flag. */
	CU_OK(cuGetProcAddress("cuMemcpyHtoD", &p, 13000,
			       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st));
	T_CHECK(p == dlsym(lib, "cuMemcpyHtoD_v2_ptds"), "per-thread cuMemcpyHtoD");
	CU_OK(cuGetProcAddress("cuLaunchKernel", &p, 13000, CU_GET_PROC_ADDRESS_LEGACY_STREAM,
			       &st));
	T_CHECK(p == dlsym(lib, "cuLaunchKernel"), "legacy cuLaunchKernel");
	/*
	 * Older than the name: not sufficient; unknown: not found. The call
	 * itself succeeds with pfn NULL (NVIDIA's documentation, and what its
	 * driver 580 answers); the status says why.
	 */
	p = (void *)1;
	CU_OK(cuGetProcAddress("cuCtxCreate", &p, 1000, 0, &st));
	T_CHECK(st == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT && p == NULL, "status %d", (int)st);
	p = (void *)1;
	CU_OK(cuGetProcAddress("cuNoSuchThing", &p, 13000, 0, &st));
	T_CHECK(st == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND && p == NULL, "status %d", (int)st);
	p = (void *)1;
	CU_OK(cuGetProcAddress("cuMemAlloc_v2", &p, 13000, 0, &st));
	T_CHECK(st == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND && p == NULL, "status %d", (int)st);
	/* Not comparable natively: NVIDIA's driver 580 reads through the NULL name. */
	CU_EXPECT_GUEST(cuGetProcAddress(NULL, &p, 13000, 0, &st), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuGetProcAddress("cuInit", NULL, 13000, 0, &st), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuGetProcAddress("cuInit", &p, 13000, 4, &st), CUDA_ERROR_INVALID_VALUE);
	CU_OK(cuGetProcAddress("cuInit", &p, 13000, 0, NULL));
	/* The CUDA 11.3 entry point: no status argument. */
	T_CHECK(v1 != NULL, "cuGetProcAddress (v1) is exported");
	if (v1) {
		q = NULL;
		CU_OK(v1("cuStreamSynchronize", &q, 11030, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM));
		T_CHECK(q == dlsym(lib, "cuStreamSynchronize_ptsz"), "v1 per-thread");
		CU_EXPECT(v1("cuNoSuchThing", &q, 11030, 0), CUDA_ERROR_NOT_FOUND);
	}
}

int main(void)
{
	/* The library this program runs on, whatever its path. */
	lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (!lib)
		t_skip("libcuda.so.1 is not loaded: %s", dlerror());
	T_RUN(variants);          /* before cuInit, as the CUDA runtime does */
	T_RUN(every_symbol);
	T_RUN(newest);
	CU_OK(cuInit(0));
	T_RUN(variants);
	return t_done("test_cu_proc");
}
