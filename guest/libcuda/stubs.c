/* SPDX-License-Identifier: MIT */
/*
 * stubs.c - the driver functions this library exports but does not
 * implement (the S lines of exports.h): each logs its name once and
 * returns CUDA_ERROR_NOT_SUPPORTED, so that a program that calls one gets
 * an answer it can report instead of failing to load. docs/guest-libcuda.md
 * lists them with the reason.
 */
#include "internal.h"

#define E(sym, base, ver, mode)
#define S(sym, base, ver) \
	CUresult CUDAAPI lcu_stub_##sym(void) __asm__(#sym); \
	CUresult CUDAAPI lcu_stub_##sym(void) \
	{ \
		static atomic_flag once = ATOMIC_FLAG_INIT; \
		return lcu_unsupported(#sym, &once); \
	}
#include "exports.h"
#undef E
