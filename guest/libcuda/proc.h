/* SPDX-License-Identifier: MIT */
/*
 * proc.h - the export table as data (proc.c, from exports.h): what
 * cuGetProcAddress answers from. Private to libcuda.
 */
#ifndef VGPU_LIBCUDA_PROC_H
#define VGPU_LIBCUDA_PROC_H

#include <stddef.h>

#include "cuda.h"

struct lcu_proc {
	const char *sym;        /* the exported symbol                     */
	const char *base;       /* the name cuGetProcAddress is asked for  */
	int version;            /* the CUDA version that binds base to sym */
	int mode;               /* 0 only variant, 1 legacy, 2 per-thread  */
	void *fn;
	int supported;          /* 0: a stub (CUDA_ERROR_NOT_SUPPORTED)    */
};

extern const struct lcu_proc lcu_procs[];
extern const size_t lcu_nprocs;

CUresult lcu_proc_lookup(const char *symbol, int version, unsigned long long flags,
			 void **pfn, CUdriverProcAddressQueryResult *status);

#endif /* VGPU_LIBCUDA_PROC_H */
