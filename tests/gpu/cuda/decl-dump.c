/* SPDX-License-Identifier: MIT */
/*
 * decl-dump.c - prints what cuda-api/cuda.h declares (the list made by
 * decl-list.awk, included as DECL_LIST) with the values our header (VGPU_OURS_H) gives
 * them: the "expected" file that decl-check.c then asserts against NVIDIA's
 * cuda.h. Built with our header only; runs anywhere.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include VGPU_OURS_H

#define XSTR(x) STR(x)
#define STR(x) #x

int main(void)
{
#define K(n) printf("K(%s, %lldLL)\n", #n, (long long)(n));
#define M(n) K(n)
#define P(n) printf("P(%s, %lluULL)\n", #n, (unsigned long long)(uintptr_t)(n));
#define T(t) printf("T(%s, %zu)\n", #t, sizeof(t));
#define O(t, f) printf("O(%s, %s, %zu, %zu)\n", #t, #f, offsetof(t, f), \
			sizeof(((t *)0)->f));
#define F(n) printf("F(%s, \"%s\")\n", #n, XSTR(n));
#define RB(b, t) printf("R(%s, %s)\n", #b, #t);
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
#define RP(b, t) RB(b, t)
#define RL(b, t)
#else
#define RP(b, t)
#define RL(b, t) RB(b, t)
#endif
#include DECL_LIST
	return 0;
}
