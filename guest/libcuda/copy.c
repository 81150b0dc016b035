/* SPDX-License-Identifier: MIT */
/*
 * copy.c - cuMemcpy* and cuMemset* in their synchronous, asynchronous and
 * per-thread-default-stream forms.
 *
 * A device address is looked up in the guest's table (memtab.c) and sent
 * as (dom0 memory handle, offset) on the vgpu_t of the context that owns
 * it: as with CUDA's unified addressing, a pointer of another live context
 * of this process works in a copy. A copy between two contexts' memory is
 * staged through the guest (synchronously). Host memory from
 * cuMemAllocHost/cuMemHostAlloc is the transport's, so that asynchronous
 * copies from and to it return before they are done (libvgpu decides:
 * vgpu_host_contains); from other memory they return once the host side
 * is done with, as CUDA's do for pageable memory.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The stream argument of a copy, in the context that owns the memory. */
static CUresult copy_stream(struct lcu_ctx *mc, CUstream s, bool ptds, uint64_t *h)
{
	return lcu_stream_resolve(mc, s, ptds, h);
}

static CUresult htod(CUdeviceptr dst, const void *src, size_t n, bool async, CUstream s,
		     bool ptds)
{
	struct lcu_ctx *c;
	struct lcu_mem m;
	uint64_t off, sh = 0;
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!n)
		return CUDA_SUCCESS;
	if (!src)
		return CUDA_ERROR_INVALID_VALUE;
	r = lcu_mem_range(dst, n, &m, &off);
	if (r != CUDA_SUCCESS)
		return r;
	v = lcu_ctx_vgpu(m.ctx, &r);
	if (!v)
		return r;
	if (async || ptds) {
		r = copy_stream(m.ctx, s, ptds, &sh);
		if (r != CUDA_SUCCESS)
			return r;
	}
	rc = sh || async ? vgpu_memcpy_h2d_async(v, sh, m.h, off, src, n)
			 : vgpu_memcpy_h2d(v, m.h, off, src, n);
	if (rc == 0 && sh && !async)
		/* The synchronous form on the per-thread stream: wait for it. */
		rc = vgpu_stream_sync(v, sh);
	return lcu_ctx_result(m.ctx, rc, LCU_OP_GENERIC);
}

static CUresult dtoh(void *dst, CUdeviceptr src, size_t n, bool async, CUstream s, bool ptds)
{
	struct lcu_ctx *c;
	struct lcu_mem m;
	uint64_t off, sh = 0;
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!n)
		return CUDA_SUCCESS;
	if (!dst)
		return CUDA_ERROR_INVALID_VALUE;
	r = lcu_mem_range(src, n, &m, &off);
	if (r != CUDA_SUCCESS)
		return r;
	v = lcu_ctx_vgpu(m.ctx, &r);
	if (!v)
		return r;
	if (async || ptds) {
		r = copy_stream(m.ctx, s, ptds, &sh);
		if (r != CUDA_SUCCESS)
			return r;
	}
	rc = sh || async ? vgpu_memcpy_d2h_async(v, sh, dst, m.h, off, n)
			 : vgpu_memcpy_d2h(v, dst, m.h, off, n);
	if (rc == 0 && sh && !async)
		rc = vgpu_stream_sync(v, sh);
	return lcu_ctx_result(m.ctx, rc, LCU_OP_GENERIC);
}

static CUresult dtod(CUdeviceptr dst, CUdeviceptr src, size_t n, bool async, CUstream s,
		     bool ptds)
{
	struct lcu_ctx *c;
	struct lcu_mem md, ms;
	uint64_t doff, soff, sh = 0;
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v, *vs;
	void *bounce;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!n)
		return CUDA_SUCCESS;
	r = lcu_mem_range(dst, n, &md, &doff);
	if (r == CUDA_SUCCESS)
		r = lcu_mem_range(src, n, &ms, &soff);
	if (r != CUDA_SUCCESS)
		return r;
	v = lcu_ctx_vgpu(md.ctx, &r);
	if (!v)
		return r;
	if (md.ctx != ms.ctx) {
		/* Two contexts in dom0: through the guest, synchronously. */
		vs = lcu_ctx_vgpu(ms.ctx, &r);
		if (!vs)
			return r;
		bounce = malloc(n);
		if (!bounce)
			return CUDA_ERROR_OUT_OF_MEMORY;
		rc = vgpu_sync(vs);
		if (rc == 0)
			rc = vgpu_memcpy_d2h(vs, bounce, ms.h, soff, n);
		r = lcu_ctx_result(ms.ctx, rc, LCU_OP_GENERIC);
		if (r == CUDA_SUCCESS)
			r = lcu_ctx_result(md.ctx, vgpu_memcpy_h2d(v, md.h, doff, bounce, n),
					   LCU_OP_GENERIC);
		free(bounce);
		return r;
	}
	if (async || ptds) {
		r = copy_stream(md.ctx, s, ptds, &sh);
		if (r != CUDA_SUCCESS)
			return r;
	}
	rc = sh || async ? vgpu_memcpy_d2d_async(v, sh, md.h, doff, ms.h, soff, n)
			 : vgpu_memcpy_d2d(v, md.h, doff, ms.h, soff, n);
	return lcu_ctx_result(md.ctx, rc, LCU_OP_GENERIC);
}

/* cuMemcpy: each side is device memory if the table knows it, else host. */
static CUresult unified(CUdeviceptr dst, CUdeviceptr src, size_t n, bool async, CUstream s,
			bool ptds)
{
	struct lcu_mem m;
	struct lcu_ctx *c;
	bool dd = lcu_mem_find(dst, &m) == 0, sd = lcu_mem_find(src, &m) == 0;
	CUresult r;

	if (dd && sd)
		return dtod(dst, src, n, async, s, ptds);
	if (dd)
		return htod(dst, (const void *)(uintptr_t)src, n, async, s, ptds);
	if (sd)
		return dtoh((void *)(uintptr_t)dst, src, n, async, s, ptds);
	r = lcu_ctx_current(&c);
	if (r != CUDA_SUCCESS)
		return r;
	if (!n)
		return CUDA_SUCCESS;
	if (!dst || !src)
		return CUDA_ERROR_INVALID_VALUE;
	/* Host to host: ordered after the stream's earlier work, as CUDA does. */
	if (async || ptds) {
		uint64_t sh;
		vgpu_t *v = lcu_ctx_vgpu(c, &r);

		if (!v)
			return r;
		r = lcu_stream_resolve(c, s, ptds, &sh);
		if (r == CUDA_SUCCESS)
			r = lcu_ctx_result(c, vgpu_stream_sync(v, sh), LCU_OP_GENERIC);
		if (r != CUDA_SUCCESS)
			return r;
	}
	memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
	return CUDA_SUCCESS;
}

static CUresult memset_dev(CUdeviceptr dst, uint32_t value, unsigned int esize, size_t count,
			   bool async, CUstream s, bool ptds)
{
	struct lcu_ctx *c;
	struct lcu_mem m;
	uint64_t off, sh = 0;
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (dst % esize)
		return CUDA_ERROR_INVALID_VALUE;
	if (!count)
		return CUDA_SUCCESS;
	if (count > SIZE_MAX / esize)
		return CUDA_ERROR_INVALID_VALUE;
	r = lcu_mem_range(dst, (uint64_t)count * esize, &m, &off);
	if (r != CUDA_SUCCESS)
		return r;
	v = lcu_ctx_vgpu(m.ctx, &r);
	if (!v)
		return r;
	if (async || ptds) {
		r = copy_stream(m.ctx, s, ptds, &sh);
		if (r != CUDA_SUCCESS)
			return r;
	}
	rc = sh || async ? vgpu_memset_async(v, sh, m.h, off, value, esize, (uint64_t)count * esize)
			 : vgpu_memset(v, m.h, off, value, esize, (uint64_t)count * esize);
	return lcu_ctx_result(m.ctx, rc, LCU_OP_GENERIC);
}

/* ------------------------------------------------------------- the API */

#define P(x) ((void *)(x))
#define U(x) ((unsigned long long)(x))

LCU_API CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
{
	return LCU_TRACE("cuMemcpyHtoD_v2", htod(dstDevice, srcHost, ByteCount, false, NULL, false),
			 "(%#llx, %p, %zu)", U(dstDevice), srcHost, ByteCount);
}

LCU_API CUresult CUDAAPI cuMemcpyDtoH(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
{
	return LCU_TRACE("cuMemcpyDtoH_v2", dtoh(dstHost, srcDevice, ByteCount, false, NULL, false),
			 "(%p, %#llx, %zu)", dstHost, U(srcDevice), ByteCount);
}

LCU_API CUresult CUDAAPI cuMemcpyDtoD(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
{
	return LCU_TRACE("cuMemcpyDtoD_v2", dtod(dstDevice, srcDevice, ByteCount, false, NULL, false),
			 "(%#llx, %#llx, %zu)", U(dstDevice), U(srcDevice), ByteCount);
}

LCU_API CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr dstDevice, const void *srcHost,
					   size_t ByteCount, CUstream hStream)
{
	return LCU_TRACE("cuMemcpyHtoDAsync_v2",
			 htod(dstDevice, srcHost, ByteCount, true, hStream, false),
			 "(%#llx, %p, %zu, %p)", U(dstDevice), srcHost, ByteCount, P(hStream));
}

LCU_API CUresult CUDAAPI cuMemcpyDtoHAsync(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount,
					   CUstream hStream)
{
	return LCU_TRACE("cuMemcpyDtoHAsync_v2",
			 dtoh(dstHost, srcDevice, ByteCount, true, hStream, false),
			 "(%p, %#llx, %zu, %p)", dstHost, U(srcDevice), ByteCount, P(hStream));
}

LCU_API CUresult CUDAAPI cuMemcpyDtoDAsync(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
					   size_t ByteCount, CUstream hStream)
{
	return LCU_TRACE("cuMemcpyDtoDAsync_v2",
			 dtod(dstDevice, srcDevice, ByteCount, true, hStream, false),
			 "(%#llx, %#llx, %zu, %p)", U(dstDevice), U(srcDevice), ByteCount,
			 P(hStream));
}

LCU_API CUresult CUDAAPI cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{
	return LCU_TRACE("cuMemcpy", unified(dst, src, ByteCount, false, NULL, false),
			 "(%#llx, %#llx, %zu)", U(dst), U(src), ByteCount);
}

LCU_API CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount,
				       CUstream hStream)
{
	return LCU_TRACE("cuMemcpyAsync", unified(dst, src, ByteCount, true, hStream, false),
			 "(%#llx, %#llx, %zu, %p)", U(dst), U(src), ByteCount, P(hStream));
}

LCU_API CUresult CUDAAPI cuMemsetD8(CUdeviceptr dstDevice, unsigned char uc, size_t N)
{
	return LCU_TRACE("cuMemsetD8_v2", memset_dev(dstDevice, uc, 1, N, false, NULL, false),
			 "(%#llx, %#x, %zu)", U(dstDevice), uc, N);
}

LCU_API CUresult CUDAAPI cuMemsetD16(CUdeviceptr dstDevice, unsigned short us, size_t N)
{
	return LCU_TRACE("cuMemsetD16_v2", memset_dev(dstDevice, us, 2, N, false, NULL, false),
			 "(%#llx, %#x, %zu)", U(dstDevice), us, N);
}

LCU_API CUresult CUDAAPI cuMemsetD32(CUdeviceptr dstDevice, unsigned int ui, size_t N)
{
	return LCU_TRACE("cuMemsetD32_v2", memset_dev(dstDevice, ui, 4, N, false, NULL, false),
			 "(%#llx, %#x, %zu)", U(dstDevice), ui, N);
}

LCU_API CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N,
					 CUstream hStream)
{
	return LCU_TRACE("cuMemsetD8Async", memset_dev(dstDevice, uc, 1, N, true, hStream, false),
			 "(%#llx, %#x, %zu, %p)", U(dstDevice), uc, N, P(hStream));
}

LCU_API CUresult CUDAAPI cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us, size_t N,
					  CUstream hStream)
{
	return LCU_TRACE("cuMemsetD16Async", memset_dev(dstDevice, us, 2, N, true, hStream, false),
			 "(%#llx, %#x, %zu, %p)", U(dstDevice), us, N, P(hStream));
}

LCU_API CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N,
					  CUstream hStream)
{
	return LCU_TRACE("cuMemsetD32Async", memset_dev(dstDevice, ui, 4, N, true, hStream, false),
			 "(%#llx, %#x, %zu, %p)", U(dstDevice), ui, N, P(hStream));
}

/*
 * The per-thread-default-stream entry points (_ptds: the synchronous ones,
 * _ptsz: the asynchronous ones): stream 0 means the calling thread's
 * per-thread default stream.
 */
#define PTDS(sym, decl, call, fmt, ...) \
	CUresult CUDAAPI lcu_##sym decl __asm__(#sym); \
	CUresult CUDAAPI lcu_##sym decl \
	{ \
		return LCU_TRACE(#sym, call, fmt, __VA_ARGS__); \
	}

PTDS(cuMemcpyHtoD_v2_ptds, (CUdeviceptr d, const void *s, size_t n),
     htod(d, s, n, false, NULL, true), "(%#llx, %p, %zu)", U(d), s, n)
PTDS(cuMemcpyDtoH_v2_ptds, (void *d, CUdeviceptr s, size_t n),
     dtoh(d, s, n, false, NULL, true), "(%p, %#llx, %zu)", d, U(s), n)
PTDS(cuMemcpyDtoD_v2_ptds, (CUdeviceptr d, CUdeviceptr s, size_t n),
     dtod(d, s, n, false, NULL, true), "(%#llx, %#llx, %zu)", U(d), U(s), n)
PTDS(cuMemcpyHtoDAsync_v2_ptsz, (CUdeviceptr d, const void *s, size_t n, CUstream st),
     htod(d, s, n, true, st, true), "(%#llx, %p, %zu, %p)", U(d), s, n, P(st))
PTDS(cuMemcpyDtoHAsync_v2_ptsz, (void *d, CUdeviceptr s, size_t n, CUstream st),
     dtoh(d, s, n, true, st, true), "(%p, %#llx, %zu, %p)", d, U(s), n, P(st))
PTDS(cuMemcpyDtoDAsync_v2_ptsz, (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st),
     dtod(d, s, n, true, st, true), "(%#llx, %#llx, %zu, %p)", U(d), U(s), n, P(st))
PTDS(cuMemcpy_ptds, (CUdeviceptr d, CUdeviceptr s, size_t n),
     unified(d, s, n, false, NULL, true), "(%#llx, %#llx, %zu)", U(d), U(s), n)
PTDS(cuMemcpyAsync_ptsz, (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st),
     unified(d, s, n, true, st, true), "(%#llx, %#llx, %zu, %p)", U(d), U(s), n, P(st))
PTDS(cuMemsetD8_v2_ptds, (CUdeviceptr d, unsigned char v, size_t n),
     memset_dev(d, v, 1, n, false, NULL, true), "(%#llx, %#x, %zu)", U(d), v, n)
PTDS(cuMemsetD16_v2_ptds, (CUdeviceptr d, unsigned short v, size_t n),
     memset_dev(d, v, 2, n, false, NULL, true), "(%#llx, %#x, %zu)", U(d), v, n)
PTDS(cuMemsetD32_v2_ptds, (CUdeviceptr d, unsigned int v, size_t n),
     memset_dev(d, v, 4, n, false, NULL, true), "(%#llx, %#x, %zu)", U(d), v, n)
PTDS(cuMemsetD8Async_ptsz, (CUdeviceptr d, unsigned char v, size_t n, CUstream st),
     memset_dev(d, v, 1, n, true, st, true), "(%#llx, %#x, %zu, %p)", U(d), v, n, P(st))
PTDS(cuMemsetD16Async_ptsz, (CUdeviceptr d, unsigned short v, size_t n, CUstream st),
     memset_dev(d, v, 2, n, true, st, true), "(%#llx, %#x, %zu, %p)", U(d), v, n, P(st))
PTDS(cuMemsetD32Async_ptsz, (CUdeviceptr d, unsigned int v, size_t n, CUstream st),
     memset_dev(d, v, 4, n, true, st, true), "(%#llx, %#x, %zu, %p)", U(d), v, n, P(st))

/*
 * The unversioned names of CUDA before 3.2 took 32-bit device pointers and
 * sizes: not served (a 64-bit address does not fit), but answered.
 */
#define OLD32(sym) \
	CUresult CUDAAPI lcu_old_##sym(void) __asm__(#sym); \
	CUresult CUDAAPI lcu_old_##sym(void) \
	{ \
		static atomic_flag once = ATOMIC_FLAG_INIT; \
		return lcu_unsupported(#sym " (the 32-bit-pointer API of CUDA < 3.2)", &once); \
	}

OLD32(cuMemcpyHtoD)
OLD32(cuMemcpyDtoH)
OLD32(cuMemcpyDtoD)
OLD32(cuMemcpyHtoDAsync)
OLD32(cuMemcpyDtoHAsync)
OLD32(cuMemcpyDtoDAsync)
OLD32(cuMemsetD8)
OLD32(cuMemsetD16)
OLD32(cuMemsetD32)
OLD32(cuMemAlloc)
OLD32(cuMemFree)
OLD32(cuMemGetInfo)
OLD32(cuMemGetAddressRange)
OLD32(cuMemAllocPitch)
OLD32(cuMemAllocHost)
OLD32(cuMemHostGetDevicePointer)
OLD32(cuModuleGetGlobal)
OLD32(cuDeviceTotalMem)
