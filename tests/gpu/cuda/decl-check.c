/* SPDX-License-Identifier: MIT */
/*
 * decl-check.c - built against NVIDIA's cuda.h (the toolkit's), never ours:
 * every enum constant, integer macro, typedef size and struct member offset
 * and size that cuda-api/cuda.h declares must have the same value here
 * (_Static_assert, so one compile lists every difference), every function
 * it declares must be declared here, and each name must bind to the same
 * symbol (cuMemAlloc -> cuMemAlloc_v2; checked when the program runs, with
 * the pointer-valued macros). DECL_EXPECT is decl-dump's output.
 */
#include <cuda.h>
#include <cudaProfiler.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define XSTR(x) STR(x)
#define STR(x) #x

#define K(n, v) _Static_assert((long long)(n) == (v), \
	"the value of " #n " differs from cuda-api/cuda.h's " #v);
#define P(n, v)
#define T(t, s) _Static_assert(sizeof(t) == (s), \
	"sizeof(" #t ") differs from cuda-api/cuda.h's " #s);
#define O(t, f, o, s) _Static_assert(offsetof(t, f) == (o), \
	"offsetof(" #t ", " #f ") differs from cuda-api/cuda.h's " #o); \
	_Static_assert(sizeof(((t *)0)->f) == (s), \
	"the size of " #t "." #f " differs from cuda-api/cuda.h's " #s);
#define F(n, e) _Static_assert(sizeof(&n) != 0, "");
#define R(b, t)
#include DECL_EXPECT
#undef K
#undef P
#undef T
#undef O
#undef F
#undef R

int main(void)
{
	unsigned int n = 0, bad = 0;

#define K(n_, v) n++;
#define T(t, s) n++;
#define O(t, f, o, s) n++;
#define P(n_, v) n++; \
	if ((unsigned long long)(uintptr_t)(n_) != (v)) { \
		printf("DIFF: %s is %#llx, cuda-api/cuda.h has %#llx\n", #n_, \
		       (unsigned long long)(uintptr_t)(n_), (unsigned long long)(v)); \
		bad++; \
	}
#define F(n_, e) n++; \
	if (strcmp(XSTR(n_), e)) { \
		printf("DIFF: %s binds to %s, in cuda-api/cuda.h to %s\n", #n_, XSTR(n_), e); \
		bad++; \
	}
#define R(b, t) n++; \
	if (strcmp(XSTR(b), #t)) { \
		printf("DIFF: %s binds to %s, in cuda-api/cuda.h to %s\n", #b, XSTR(b), #t); \
		bad++; \
	}
#include DECL_EXPECT
	printf("decl-check%s: %u declarations compared with CUDA %d's cuda.h, %u differ\n",
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
	       " (per-thread default stream)",
#else
	       "",
#endif
	       n, CUDA_VERSION, bad);
	return bad ? 1 : 0;
}
