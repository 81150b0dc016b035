/* SPDX-License-Identifier: MIT */
/*
 * decl-protos.c - NVIDIA's cuda.h first, then cuda-api/cuda.h's prototypes
 * alone (VGPU_CUDA_PROTOTYPES_ONLY: NVIDIA's types): a prototype of ours
 * that differs from NVIDIA's is a "conflicting types" error. NVIDIA's
 * versioned-name macros are undefined first (DECL_UNDEFS) so that ours take
 * their place without a redefinition warning (NVIDIA spells some through
 * helper macros; decl-check.c compares what each name binds to).
 * VGPU_OURS_H is the path of our header.
 */
#include <cuda.h>
#include <cudaProfiler.h>
#include DECL_UNDEFS

#define VGPU_CUDA_PROTOTYPES_ONLY
#include VGPU_OURS_H

int main(void)
{
	return 0;
}
