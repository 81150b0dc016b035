/* SPDX-License-Identifier: MIT */
/*
 * proc.c - cuGetProcAddress (both versions), answered from exports.h, the
 * same table the linker exports; the profiler calls; and the aliases of the
 * unversioned primary-context names.
 *
 * cuGetProcAddress(name, &pfn, cudaVersion, flags, &status): among the
 * table's variants of the base name, the newest whose version is not
 * newer than cudaVersion; with CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
 * the per-thread-default-stream variant where the name has one, else (and
 * with _DEFAULT or _LEGACY_STREAM) the legacy one. A name not in the table
 * gets CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND, a name whose oldest variant is
 * newer than cudaVersion CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT, and
 * *pfn NULL; the result is then CUDA_SUCCESS from cuGetProcAddress_v2 (as
 * NVIDIA documents it and its driver 580 answers) and CUDA_ERROR_NOT_FOUND
 * from the CUDA 11 cuGetProcAddress, which has no status to say it. It
 * works before cuInit (the CUDA runtime finds cuInit this way).
 */
#include <string.h>

#include "internal.h"
#include "proc.h"

/* Every exported symbol, by its exported name (the C names may differ). */
#define E(sym, base, ver, mode) extern char lcu_sym_##sym[] __asm__(#sym);
#define S(sym, base, ver) extern char lcu_sym_##sym[] __asm__(#sym);
#include "exports.h"
#undef E

#define LCU_MODE_B 0
#define LCU_MODE_L 1
#define LCU_MODE_P 2

const struct lcu_proc lcu_procs[] = {
#define E(sym, base, ver, mode) { #sym, #base, ver, LCU_MODE_##mode, lcu_sym_##sym, 1 },
#define S(sym, base, ver) { #sym, #base, ver, LCU_MODE_B, lcu_sym_##sym, 0 },
#include "exports.h"
#undef E
};
const size_t lcu_nprocs = sizeof(lcu_procs) / sizeof(lcu_procs[0]);

CUresult lcu_proc_lookup(const char *symbol, int version, unsigned long long flags,
			 void **pfn, CUdriverProcAddressQueryResult *status)
{
	const struct lcu_proc *best = NULL, *best_ptds = NULL;
	bool known = false;
	size_t i;

	for (i = 0; i < lcu_nprocs; i++) {
		const struct lcu_proc *p = &lcu_procs[i];

		if (strcmp(p->base, symbol))
			continue;
		known = true;
		if (p->version > version)
			continue;
		if (p->mode == LCU_MODE_P) {
			if (!best_ptds || p->version > best_ptds->version)
				best_ptds = p;
		} else if (!best || p->version > best->version) {
			best = p;
		}
	}
	if ((flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) && best_ptds)
		best = best_ptds;
	if (!best) {
		*pfn = NULL;
		if (status)
			*status = known ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
					: CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
		return CUDA_ERROR_NOT_FOUND;
	}
	*pfn = best->fn;
	if (status)
		*status = CU_GET_PROC_ADDRESS_SUCCESS;
	return CUDA_SUCCESS;
}

static CUresult get_proc(const char *symbol, void **pfn, int version, cuuint64_t flags,
			 CUdriverProcAddressQueryResult *status, bool ptsz)
{
	if (!symbol || !pfn)
		return CUDA_ERROR_INVALID_VALUE;
	if (flags & ~(cuuint64_t)(CU_GET_PROC_ADDRESS_LEGACY_STREAM |
				  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM))
		return CUDA_ERROR_INVALID_VALUE;
	/* The _ptsz entry's default is the per-thread stream. */
	if (ptsz && flags == CU_GET_PROC_ADDRESS_DEFAULT)
		flags = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
	return lcu_proc_lookup(symbol, version, flags, pfn, status);
}

/* cuGetProcAddress_v2: a symbol not found is a success with the status set. */
static CUresult get_proc_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
			    CUdriverProcAddressQueryResult *status, bool ptsz)
{
	CUresult r = get_proc(symbol, pfn, version, flags, status, ptsz);

	return r == CUDA_ERROR_NOT_FOUND ? CUDA_SUCCESS : r;
}

LCU_API CUresult CUDAAPI cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion,
					  cuuint64_t flags,
					  CUdriverProcAddressQueryResult *symbolStatus)
{
	CUresult r = get_proc_v2(symbol, pfn, cudaVersion, flags, symbolStatus, false);

	return LCU_TRACE("cuGetProcAddress_v2", r, "(\"%s\", %p, %d, %#llx, %p) -> %p",
			 symbol ? symbol : "(null)", (void *)pfn, cudaVersion,
			 (unsigned long long)flags, (void *)symbolStatus, r || !pfn ? NULL : *pfn);
}

CUresult CUDAAPI lcu_cuGetProcAddress_v2_ptsz(const char *symbol, void **pfn, int cudaVersion,
					      cuuint64_t flags,
					      CUdriverProcAddressQueryResult *symbolStatus)
	__asm__("cuGetProcAddress_v2_ptsz");
CUresult CUDAAPI lcu_cuGetProcAddress_v2_ptsz(const char *symbol, void **pfn, int cudaVersion,
					      cuuint64_t flags,
					      CUdriverProcAddressQueryResult *symbolStatus)
{
	CUresult r = get_proc_v2(symbol, pfn, cudaVersion, flags, symbolStatus, true);

	return LCU_TRACE("cuGetProcAddress_v2_ptsz", r, "(\"%s\", %p, %d, %#llx, %p) -> %p",
			 symbol ? symbol : "(null)", (void *)pfn, cudaVersion,
			 (unsigned long long)flags, (void *)symbolStatus, r || !pfn ? NULL : *pfn);
}

/* CUDA 11.3 - 11.8: no status argument. */
CUresult CUDAAPI lcu_cuGetProcAddress_v1(const char *symbol, void **pfn, int cudaVersion,
					 cuuint64_t flags) __asm__("cuGetProcAddress");
CUresult CUDAAPI lcu_cuGetProcAddress_v1(const char *symbol, void **pfn, int cudaVersion,
					 cuuint64_t flags)
{
	CUresult r = get_proc(symbol, pfn, cudaVersion, flags, NULL, false);

	return LCU_TRACE("cuGetProcAddress", r, "(\"%s\", %p, %d, %#llx) -> %p",
			 symbol ? symbol : "(null)", (void *)pfn, cudaVersion,
			 (unsigned long long)flags, r ? NULL : *pfn);
}

/* ------------------------------------------------------------ profiler */

LCU_API CUresult CUDAAPI cuProfilerStart(void)
{
	struct lcu_ctx *c;

	/* No profiler is attached in a guest: nothing to start. */
	return LCU_TRACE("cuProfilerStart", lcu_ctx_current(&c), "()");
}

LCU_API CUresult CUDAAPI cuProfilerStop(void)
{
	struct lcu_ctx *c;

	return LCU_TRACE("cuProfilerStop", lcu_ctx_current(&c), "()");
}
