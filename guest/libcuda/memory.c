/* SPDX-License-Identifier: MIT */
/*
 * memory.c - device memory (cuMemAlloc, cuMemFree, cuMemGetInfo,
 * cuMemGetAddressRange), host memory (cuMemAllocHost, cuMemHostAlloc,
 * cuMemHostRegister and friends) and pointer queries, over the guest's
 * tables (memtab.c).
 *
 * Host memory is the transport's (vgpu_host_alloc: pages dom0 reads and
 * writes without a copy in the guest, so copies from it are truly
 * asynchronous) where the transport has it, else page-aligned memory of
 * this process. It is never mapped into the device: cuMemHostGetDevicePointer
 * answers CUDA_ERROR_NOT_SUPPORTED, as on a device without
 * CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY. Registered memory is recorded,
 * and copies from it are as from any pageable memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static CUresult mem_alloc(CUdeviceptr *dptr, size_t bytesize)
{
	struct lcu_ctx *c;
	struct lcu_mem m = { 0 };
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!dptr || !bytesize)
		return CUDA_ERROR_INVALID_VALUE;
	v = lcu_ctx_vgpu(c, &r);
	if (!v)
		return r;
	rc = vgpu_mem_alloc(v, bytesize, &m.h, &m.base);
	if (rc)
		return lcu_ctx_result(c, rc, LCU_OP_ALLOC);
	m.size = bytesize;
	m.ctx = c;
	m.kind = LCU_MEM_DEVICE;
	rc = lcu_mem_add(&m);
	if (rc) {
		/* dom0 gave an address this process already knows: refuse it. */
		if (rc == -EEXIST)
			lcu_log("dom0 returned device address %#llx twice: refused",
				(unsigned long long)m.base);
		vgpu_mem_free(v, m.h);
		return rc == -ENOMEM ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN;
	}
	*dptr = (CUdeviceptr)m.base;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuMemAlloc(CUdeviceptr *dptr, size_t bytesize)
{
	CUresult r = mem_alloc(dptr, bytesize);

	return LCU_TRACE("cuMemAlloc_v2", r, "(%p, %zu) -> %#llx", (void *)dptr, bytesize,
			 r ? 0ull : (unsigned long long)*dptr);
}

LCU_API CUresult CUDAAPI cuMemAllocPitch(CUdeviceptr *dptr, size_t *pPitch, size_t WidthInBytes,
					 size_t Height, unsigned int ElementSizeBytes)
{
	CUresult r = CUDA_SUCCESS;
	size_t pitch = 0;

	if (!dptr || !pPitch || !WidthInBytes || !Height ||
	    (ElementSizeBytes != 4 && ElementSizeBytes != 8 && ElementSizeBytes != 16)) {
		r = lcu_init_check();
		if (r == CUDA_SUCCESS)
			r = CUDA_ERROR_INVALID_VALUE;
	} else {
		/* Rows aligned as the device's pitched memory wants them. */
		int align = 0;

		if (lcu_dev_attr(CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT, &align) || align < 512)
			align = 512;
		pitch = (WidthInBytes + (size_t)align - 1) / (size_t)align * (size_t)align;
		if (Height > SIZE_MAX / pitch)
			r = CUDA_ERROR_INVALID_VALUE;
		else
			r = mem_alloc(dptr, pitch * Height);
		if (r == CUDA_SUCCESS)
			*pPitch = pitch;
	}
	return LCU_TRACE("cuMemAllocPitch_v2", r, "(%p, %p, %zu, %zu, %u) -> %#llx pitch %zu",
			 (void *)dptr, (void *)pPitch, WidthInBytes, Height, ElementSizeBytes,
			 r ? 0ull : (unsigned long long)*dptr, pitch);
}

static CUresult mem_free(CUdeviceptr dptr)
{
	CUresult r = lcu_init_check();
	struct lcu_mem m;
	vgpu_t *v;
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	/* A destroyed current context fails it first, as on NVIDIA's driver 580. */
	r = lcu_ctx_current_destroyed();
	if (r != CUDA_SUCCESS)
		return r;
	if (!dptr)
		return CUDA_SUCCESS;
	/* Only what cuMemAlloc returned, by its base address. */
	if (lcu_mem_find(dptr, &m) || m.base != dptr || m.kind != LCU_MEM_DEVICE)
		return CUDA_ERROR_INVALID_VALUE;
	v = lcu_ctx_vgpu(m.ctx, &r);
	if (!v)
		return r;
	if (lcu_mem_del(dptr, &m))
		return CUDA_ERROR_INVALID_VALUE;   /* freed by another thread */
	rc = vgpu_mem_free(v, m.h);
	return rc ? lcu_ctx_result(m.ctx, rc, LCU_OP_GENERIC) : CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuMemFree(CUdeviceptr dptr)
{
	return LCU_TRACE("cuMemFree_v2", mem_free(dptr), "(%#llx)", (unsigned long long)dptr);
}

LCU_API CUresult CUDAAPI cuMemGetInfo(size_t *free_b, size_t *total_b)
{
	struct lcu_ctx *c;
	CUresult r = lcu_ctx_current(&c);

	/* Either pointer may be NULL (that answer is not wanted), as on NVIDIA's. */
	if (r == CUDA_SUCCESS)
		r = lcu_mem_info(free_b, total_b);
	return LCU_TRACE("cuMemGetInfo_v2", r, "(%p, %p) -> %zu free of %zu", (void *)free_b,
			 (void *)total_b, r || !free_b ? 0 : *free_b, r || !total_b ? 0 : *total_b);
}

LCU_API CUresult CUDAAPI cuMemGetAddressRange(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr)
{
	struct lcu_ctx *c;
	struct lcu_mem m;
	CUresult r = lcu_ctx_current(&c);

	if (r == CUDA_SUCCESS && lcu_mem_find(dptr, &m))
		r = CUDA_ERROR_NOT_FOUND;
	if (r == CUDA_SUCCESS) {
		if (pbase)
			*pbase = m.base;
		if (psize)
			*psize = m.size;
	}
	return LCU_TRACE("cuMemGetAddressRange_v2", r, "(%p, %p, %#llx) -> %#llx + %llu",
			 (void *)pbase, (void *)psize, (unsigned long long)dptr,
			 r ? 0ull : (unsigned long long)m.base,
			 r ? 0ull : (unsigned long long)m.size);
}

/* ------------------------------------------------------------ host memory */

#define HOSTALLOC_FLAGS (CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | \
			 CU_MEMHOSTALLOC_WRITECOMBINED)

static CUresult host_alloc(void **pp, size_t bytesize, unsigned int flags)
{
	struct lcu_ctx *c;
	struct lcu_host h = { 0 };
	CUresult r = lcu_ctx_current(&c);
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!pp || (flags & ~HOSTALLOC_FLAGS))
		return CUDA_ERROR_INVALID_VALUE;
	/*
	 * 0 bytes is a success on NVIDIA's driver 580 too: here a pointer of
	 * its own (one byte behind it) that cuMemFreeHost takes back.
	 */
	if (!bytesize)
		bytesize = 1;
	rc = vgpu_host_alloc(lcu_dev->v, bytesize, &h.p);
	if (rc == 0) {
		h.vgpu = true;
		/*
		 * Registered with dom0 once, so its copies name it instead of
		 * carrying its pages (zero copy where dom0 can). A backend or
		 * transport without it (-EOPNOTSUPP): copies go as before.
		 * vgpu_host_free() unregisters it.
		 */
		(void)vgpu_host_register(lcu_dev->v, h.p, bytesize, 0);
	} else if (rc == -ENOSYS || rc == -EOPNOTSUPP) {
		/* No transport host memory: this process's own pages. */
		long page = sysconf(_SC_PAGESIZE);

		if (posix_memalign(&h.p, page > 0 ? (size_t)page : 4096, bytesize))
			return CUDA_ERROR_OUT_OF_MEMORY;
	} else {
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	h.size = bytesize;
	h.flags = flags;
	h.ctx = c;
	if (lcu_host_add(&h)) {
		if (h.vgpu)
			vgpu_host_free(lcu_dev->v, h.p);
		else
			free(h.p);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*pp = h.p;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuMemAllocHost(void **pp, size_t bytesize)
{
	CUresult r = host_alloc(pp, bytesize, 0);

	return LCU_TRACE("cuMemAllocHost_v2", r, "(%p, %zu) -> %p", (void *)pp, bytesize,
			 r ? NULL : *pp);
}

LCU_API CUresult CUDAAPI cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
	CUresult r = host_alloc(pp, bytesize, Flags);

	return LCU_TRACE("cuMemHostAlloc", r, "(%p, %zu, %#x) -> %p", (void *)pp, bytesize,
			 Flags, r ? NULL : *pp);
}

LCU_API CUresult CUDAAPI cuMemFreeHost(void *p)
{
	struct lcu_host h;
	CUresult r = lcu_init_check();

	if (r == CUDA_SUCCESS && (!p || lcu_host_del(p, false, &h)))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		if (h.vgpu)
			vgpu_host_free(lcu_dev->v, h.p);
		else
			free(h.p);
	}
	return LCU_TRACE("cuMemFreeHost", r, "(%p)", p);
}

LCU_API CUresult CUDAAPI cuMemHostGetFlags(unsigned int *pFlags, void *p)
{
	struct lcu_host h;
	CUresult r = lcu_init_check();

	if (r == CUDA_SUCCESS && (!pFlags || lcu_host_find(p, &h) || h.registered))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS)
		*pFlags = h.flags;
	return LCU_TRACE("cuMemHostGetFlags", r, "(%p, %p) -> %#x", (void *)pFlags, p,
			 r ? 0 : *pFlags);
}

LCU_API CUresult CUDAAPI cuMemHostGetDevicePointer(CUdeviceptr *pdptr, void *p, unsigned int Flags)
{
	struct lcu_ctx *c;
	struct lcu_host h;
	CUresult r = lcu_ctx_current(&c);

	if (r == CUDA_SUCCESS && (!pdptr || !p || Flags != 0 || lcu_host_find(p, &h)))
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS)
		/* Host memory is never mapped into a guest's device. */
		r = CUDA_ERROR_NOT_SUPPORTED;
	return LCU_TRACE("cuMemHostGetDevicePointer_v2", r, "(%p, %p, %#x)", (void *)pdptr, p,
			 Flags);
}

#define HOSTREGISTER_FLAGS (CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP | \
			    CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY)

static CUresult host_register(void *p, size_t bytesize, unsigned int flags)
{
	struct lcu_ctx *c;
	struct lcu_host h = { 0 };
	CUresult r = lcu_ctx_current(&c);
	int rc;

	if (r != CUDA_SUCCESS)
		return r;
	if (!p || !bytesize || (flags & ~HOSTREGISTER_FLAGS) ||
	    (uintptr_t)p + bytesize < (uintptr_t)p)
		return CUDA_ERROR_INVALID_VALUE;
	if (flags & (CU_MEMHOSTREGISTER_DEVICEMAP | CU_MEMHOSTREGISTER_IOMEMORY))
		return CUDA_ERROR_NOT_SUPPORTED;
	h.p = p;
	h.size = bytesize;
	h.flags = flags;
	h.registered = true;
	h.ctx = c;
	rc = lcu_host_add(&h);
	if (rc == -EEXIST)
		return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
	if (rc)
		return CUDA_ERROR_OUT_OF_MEMORY;
	/*
	 * Registered with dom0 too where the transport can grant these pages
	 * for good (on loopback: memory of a vgpu_host_alloc block); else
	 * (-EOPNOTSUPP, -EINVAL) copies go as before.
	 */
	(void)vgpu_host_register(lcu_dev->v, p, bytesize,
				 (flags & CU_MEMHOSTREGISTER_READ_ONLY) ?
				 VGPU_HOST_READ_ONLY : 0);
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuMemHostRegister(void *p, size_t bytesize, unsigned int Flags)
{
	return LCU_TRACE("cuMemHostRegister_v2", host_register(p, bytesize, Flags),
			 "(%p, %zu, %#x)", p, bytesize, Flags);
}

CUresult CUDAAPI lcu_cuMemHostRegister_v1(void *p, size_t bytesize, unsigned int Flags)
	__asm__("cuMemHostRegister");
CUresult CUDAAPI lcu_cuMemHostRegister_v1(void *p, size_t bytesize, unsigned int Flags)
{
	return LCU_TRACE("cuMemHostRegister", host_register(p, bytesize, Flags),
			 "(%p, %zu, %#x)", p, bytesize, Flags);
}

LCU_API CUresult CUDAAPI cuMemHostUnregister(void *p)
{
	CUresult r = lcu_init_check();

	if (r == CUDA_SUCCESS && !p)
		r = CUDA_ERROR_INVALID_VALUE;
	else if (r == CUDA_SUCCESS && lcu_host_del(p, true, NULL))
		r = CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
	if (r == CUDA_SUCCESS)  /* what cuMemHostRegister registered, if any */
		(void)vgpu_host_unregister(lcu_dev->v, p);
	return LCU_TRACE("cuMemHostUnregister", r, "(%p)", p);
}

/* ------------------------------------------------------- pointer queries */

/* What the tables know of ptr: 0 device, 1 host, -1 nothing. */
static int ptr_lookup(CUdeviceptr ptr, struct lcu_mem *m, struct lcu_host *h)
{
	if (lcu_mem_find(ptr, m) == 0)
		return 0;
	if (lcu_host_find((const void *)(uintptr_t)ptr, h) == 0)
		return 1;
	return -1;
}

/* One attribute; "kind" is what ptr_lookup said. */
static CUresult ptr_attr(void *data, CUpointer_attribute a, CUdeviceptr ptr, int kind,
			 const struct lcu_mem *m, const struct lcu_host *h)
{
	bool dev = kind == 0;

	switch (a) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		*(CUcontext *)data = (CUcontext)(dev ? m->ctx : h->ctx);
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		*(unsigned int *)data = dev ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		if (!dev)
			return CUDA_ERROR_INVALID_VALUE;  /* not mapped */
		*(CUdeviceptr *)data = ptr;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		if (dev)
			return CUDA_ERROR_INVALID_VALUE;
		*(void **)data = (void *)(uintptr_t)ptr;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_BUFFER_ID:
	case CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID:
		if (!dev)
			return CUDA_ERROR_INVALID_VALUE;
		*(unsigned long long *)data = m->buffer_id;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
	case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
	case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE:
		*(unsigned int *)data = 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_MAPPED:
		*(unsigned int *)data = dev ? 1 : 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
	case CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR:
		*(CUdeviceptr *)data = dev ? m->base : (CUdeviceptr)(uintptr_t)h->p;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
	case CU_POINTER_ATTRIBUTE_MAPPING_SIZE:
		*(size_t *)data = dev ? (size_t)m->size : h->size;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
		*(unsigned long long *)data = 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
		*(void **)data = NULL;
		return CUDA_SUCCESS;
	default:
		/* P2P tokens, sync memops, access flags: not kept here. */
		return CUDA_ERROR_INVALID_VALUE;
	}
}

LCU_API CUresult CUDAAPI cuPointerGetAttribute(void *data, CUpointer_attribute attribute,
					       CUdeviceptr ptr)
{
	struct lcu_mem m;
	struct lcu_host h;
	CUresult r = lcu_init_check();
	int kind = -1;

	if (r == CUDA_SUCCESS && !data)
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		kind = ptr_lookup(ptr, &m, &h);
		r = kind < 0 ? CUDA_ERROR_INVALID_VALUE
			     : ptr_attr(data, attribute, ptr, kind, &m, &h);
	}
	return LCU_TRACE("cuPointerGetAttribute", r, "(%p, %d, %#llx)", data, (int)attribute,
			 (unsigned long long)ptr);
}

/* What cuPointerGetAttributes gives for memory it does not know. */
static void ptr_attr_default(void *data, CUpointer_attribute a)
{
	switch (a) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
	case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
		*(void **)data = NULL;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
	case CU_POINTER_ATTRIBUTE_BUFFER_ID:
	case CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID:
	case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
	case CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR:
		*(unsigned long long *)data = 0;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
	case CU_POINTER_ATTRIBUTE_MAPPING_SIZE:
		*(size_t *)data = 0;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = -2;
		break;
	default:
		*(unsigned int *)data = 0;
		break;
	}
}

LCU_API CUresult CUDAAPI cuPointerGetAttributes(unsigned int numAttributes,
						CUpointer_attribute *attributes, void **data,
						CUdeviceptr ptr)
{
	struct lcu_mem m;
	struct lcu_host h;
	CUresult r = lcu_init_check();
	unsigned int i;
	int kind;

	if (r == CUDA_SUCCESS && (!numAttributes || !attributes || !data))
		r = CUDA_ERROR_INVALID_VALUE;
	for (i = 0; r == CUDA_SUCCESS && i < numAttributes; i++)
		if (!data[i])
			r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		kind = ptr_lookup(ptr, &m, &h);
		for (i = 0; i < numAttributes; i++) {
			/*
			 * Unknown memory, or an attribute it lacks: the defaults,
			 * not an error (unlike cuPointerGetAttribute).
			 */
			if (kind < 0 || ptr_attr(data[i], attributes[i], ptr, kind, &m, &h))
				ptr_attr_default(data[i], attributes[i]);
		}
	}
	return LCU_TRACE("cuPointerGetAttributes", r, "(%u, %p, %p, %#llx)", numAttributes,
			 (void *)attributes, (void *)data, (unsigned long long)ptr);
}
