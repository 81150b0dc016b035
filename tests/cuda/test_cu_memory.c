/* SPDX-License-Identifier: MIT */
/*
 * test_cu_memory.c - device memory, copies at many sizes and offsets in
 * every direction and form (sync, async, unified cuMemcpy, from pageable
 * and from cuMemAllocHost memory), memsets of each width, the domain's
 * quota, address ranges, pointer attributes and host memory, with the
 * answer for misuse (freed pointers, pointers past an allocation, a
 * destroyed context's memory).
 */
#include <stdint.h>

#include "cutest.h"

static unsigned char pattern(size_t i, unsigned int seed)
{
	return (unsigned char)(i * 131u + seed * 7u + (i >> 8));
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = pattern(i, seed);
}

static size_t mismatch(const unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pattern(i, seed))
			return i;
	return (size_t)-1;
}

static void alloc_free(void)
{
	CUdeviceptr a, b, base;
	size_t size, free_b, total_b, free2;

	CU_MUST(cuMemGetInfo(&free_b, &total_b));
	T_CHECK(free_b <= total_b && total_b > 0, "free %zu total %zu", free_b, total_b);
	CU_MUST(cuMemAlloc(&a, 1000));
	CU_MUST(cuMemAlloc(&b, 1 << 20));
	T_CHECK(a != b && a && b, "two allocations %#llx %#llx", (unsigned long long)a,
		(unsigned long long)b);
	T_CHECK(a + 1000 <= b || b + (1 << 20) <= a, "allocations overlap");
	CU_OK(cuMemGetInfo(&free2, &total_b));
	T_CHECK(free2 <= free_b, "free memory grew after allocating: %zu > %zu", free2, free_b);
	CU_OK(cuMemGetAddressRange(&base, &size, a + 999));
	T_CHECK(base == a && size == 1000, "range %#llx + %zu", (unsigned long long)base, size);
	CU_OK(cuMemGetAddressRange(NULL, &size, b + 12345));
	T_CHECK(size == 1 << 20, "size %zu", size);
	CU_EXPECT(cuMemGetAddressRange(&base, &size, a + 1000 + (b == a + 1000 ? (1 << 20) : 0)),
		  CUDA_ERROR_NOT_FOUND);
	CU_EXPECT(cuMemFree(a + 1), CUDA_ERROR_INVALID_VALUE);   /* not the base */
	CU_OK(cuMemFree(a));
	CU_EXPECT(cuMemFree(a), CUDA_ERROR_INVALID_VALUE);       /* freed */
	CU_EXPECT(cuMemGetAddressRange(&base, &size, a), CUDA_ERROR_NOT_FOUND);
	CU_OK(cuMemFree(b));
	CU_EXPECT(cuMemAlloc(&a, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemAlloc(NULL, 16), CUDA_ERROR_INVALID_VALUE);
	/* Either answer may be left out (NVIDIA's driver 580 agrees). */
	total_b = 0;
	CU_OK(cuMemGetInfo(NULL, &total_b));
	T_CHECK(total_b > 0, "total %zu without free", total_b);
	free_b = 0;
	CU_OK(cuMemGetInfo(&free_b, NULL));
	T_CHECK(free_b > 0, "free %zu without total", free_b);
}

/* cuMemGetInfo and cuMemAlloc are honest about the domain's quota. */
static void quota(void)
{
	const char *q = getenv("VGPU_TEST_QUOTA");
	unsigned long long quota = q ? strtoull(q, NULL, 0) : 0;
	size_t free_b, total_b, dtotal;
	CUdeviceptr p, small;

	if (!quota)
		return;
	CU_OK(cuMemGetInfo(&free_b, &total_b));
	CU_OK(cuDeviceTotalMem(&dtotal, 0));
	T_CHECK(total_b == quota && dtotal == quota, "total %zu / %zu, quota %llu", total_b,
		dtotal, quota);
	T_CHECK(free_b <= quota, "free %zu above the quota %llu", free_b, quota);
	CU_EXPECT(cuMemAlloc(&p, (size_t)quota + 1), CUDA_ERROR_OUT_OF_MEMORY);
	CU_MUST(cuMemAlloc(&small, (size_t)quota / 2));
	CU_EXPECT(cuMemAlloc(&p, (size_t)quota / 2 + 4096), CUDA_ERROR_OUT_OF_MEMORY);
	CU_OK(cuMemGetInfo(&free_b, &total_b));
	T_CHECK(free_b <= quota - quota / 2, "free %zu after taking half of %llu", free_b, quota);
	CU_OK(cuMemFree(small));
}

/*
 * Host -> device -> device -> host at a size and offsets, in each form.
 * Form 2's stream must be a blocking one: cuMemcpy from pageable memory
 * may return before its DMA is done (CUDA's rule, and NVIDIA's driver does
 * so past 1 MiB), and only a blocking stream waits for the legacy stream.
 */
static void one_copy(size_t n, size_t hoff, size_t doff, int form, unsigned char *h1,
		     unsigned char *h2, CUstream s)
{
	CUdeviceptr a, b;
	size_t bad;
	unsigned int seed = (unsigned int)(n + hoff * 3 + doff * 5 + (size_t)form);

	if (cuMemAlloc(&a, n + doff + 7) || cuMemAlloc(&b, n + doff + 7)) {
		t_fail(__FILE__, __LINE__, "alloc %zu", n + doff);
		return;
	}
	fill(h1 + hoff, n, seed);
	memset(h2, 0xee, n + hoff + 16);
	switch (form) {
	case 0:
		CU_OK(cuMemcpyHtoD(a + doff, h1 + hoff, n));
		CU_OK(cuMemcpyDtoD(b + doff, a + doff, n));
		CU_OK(cuMemcpyDtoH(h2 + hoff, b + doff, n));
		break;
	case 1:
		CU_OK(cuMemcpyHtoDAsync(a + doff, h1 + hoff, n, s));
		CU_OK(cuMemcpyDtoDAsync(b + doff, a + doff, n, s));
		CU_OK(cuMemcpyDtoHAsync(h2 + hoff, b + doff, n, s));
		CU_OK(cuStreamSynchronize(s));
		break;
	default:
		CU_OK(cuMemcpy(a + doff, (CUdeviceptr)(uintptr_t)(h1 + hoff), n));
		CU_OK(cuMemcpyAsync(b + doff, a + doff, n, s));
		CU_OK(cuMemcpyAsync((CUdeviceptr)(uintptr_t)(h2 + hoff), b + doff, n, s));
		CU_OK(cuStreamSynchronize(s));
		break;
	}
	bad = mismatch(h2 + hoff, n, seed);
	T_CHECK(bad == (size_t)-1, "form %d, %zu bytes, host +%zu, device +%zu: byte %zu differs",
		form, n, hoff, doff, bad);
	T_CHECK(h2[hoff + n] == 0xee && (!hoff || h2[hoff - 1] == 0xee),
		"form %d, %zu bytes: written outside the range", form, n);
	cuMemFree(a);
	cuMemFree(b);
}

static void copies(void)
{
	static const size_t sizes[] = {
		1, 2, 3, 7, 8, 63, 64, 65, 511, 4095, 4096, 4097, 65536 + 3,
		(1 << 20) + 5, (4 << 20) - 1, 17 << 20,
	};
	static const size_t offs[][2] = { { 0, 0 }, { 1, 3 }, { 4095, 17 }, { 13, 4096 } };
	size_t max = (17 << 20) + 8192 + 64;
	unsigned char *h1 = malloc(max), *h2 = malloc(max), *p1, *p2;
	CUstream s, sb;
	size_t i, j;
	int form;

	if (!h1 || !h2) {
		t_fail(__FILE__, __LINE__, "host memory");
		return;
	}
	CU_MUST(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CU_MUST(cuStreamCreate(&sb, CU_STREAM_DEFAULT));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (j = 0; j < sizeof(offs) / sizeof(offs[0]); j++)
			for (form = 0; form < 3; form++)
				one_copy(sizes[i], offs[j][0], offs[j][1], form, h1, h2,
					 form == 2 ? sb : form == 1 && j == 1 ? NULL : s);
	/* From and to pinned host memory (the transport's: truly async). */
	CU_MUST(cuMemAllocHost((void **)&p1, 1 << 21));
	CU_MUST(cuMemHostAlloc((void **)&p2, 1 << 21, CU_MEMHOSTALLOC_PORTABLE));
	for (form = 0; form < 3; form++) {
		one_copy(1 << 20, 0, 0, form, p1, p2, form == 2 ? sb : s);
		one_copy(100003, 5, 9, form, p1, p2, form == 2 ? sb : s);
	}
	CU_OK(cuMemFreeHost(p1));
	CU_OK(cuMemFreeHost(p2));
	CU_OK(cuStreamDestroy(s));
	CU_OK(cuStreamDestroy(sb));
	free(h1);
	free(h2);
}

static void copy_misuse(void)
{
	CUdeviceptr a, gone;
	unsigned char buf[64];

	CU_MUST(cuMemAlloc(&a, 64));
	CU_MUST(cuMemAlloc(&gone, 64));
	CU_OK(cuMemFree(gone));
	CU_EXPECT(cuMemcpyHtoD(a, NULL, 8), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemcpyDtoH(NULL, a, 8), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemcpyHtoD(a + 60, buf, 8), CUDA_ERROR_INVALID_VALUE);   /* past its end */
	CU_EXPECT(cuMemcpyDtoH(buf, a + 32, 33), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemcpyHtoD(gone, buf, 8), CUDA_ERROR_INVALID_VALUE);      /* freed */
	CU_EXPECT(cuMemcpyDtoH(buf, gone, 8), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemcpyDtoD(a, gone, 8), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemcpyHtoD((CUdeviceptr)(uintptr_t)buf, buf, 8), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemsetD8(gone, 1, 8), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemsetD32(a + 60, 1, 2), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemsetD16(a + 1, 1, 2), CUDA_ERROR_INVALID_VALUE);       /* misaligned */
	CU_EXPECT(cuMemsetD32(a + 2, 1, 2), CUDA_ERROR_INVALID_VALUE);
	CU_OK(cuMemcpyHtoD(a, buf, 0));                                      /* nothing */
	CU_OK(cuMemFree(a));
}

static void memsets(void)
{
	static const size_t counts[] = { 1, 2, 3, 255, 4096, 100001 };
	uint32_t *h = malloc(100001 * 4 + 64);
	CUdeviceptr d;
	CUstream s;
	size_t i, k;
	int w;

	if (!h)
		return;
	CU_MUST(cuStreamCreate(&s, 0));
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		for (w = 1; w <= 4; w *= 2) {
			size_t bytes = counts[i] * (size_t)w, bad = (size_t)-1;
			unsigned char *b = (unsigned char *)h;

			CU_MUST(cuMemAlloc(&d, bytes + 8));
			CU_OK(cuMemsetD8(d, 0x5a, bytes + 8));
			if (w == 1)
				CU_OK(i & 1 ? cuMemsetD8Async(d + 4, 0xa7, counts[i], s)
					    : cuMemsetD8(d + 4, 0xa7, counts[i]));
			else if (w == 2)
				CU_OK(i & 1 ? cuMemsetD16Async(d + 4, 0xa7b8, counts[i], s)
					    : cuMemsetD16(d + 4, 0xa7b8, counts[i]));
			else
				CU_OK(i & 1 ? cuMemsetD32Async(d + 4, 0xa7b8c9d0u, counts[i], s)
					    : cuMemsetD32(d + 4, 0xa7b8c9d0u, counts[i]));
			CU_OK(cuStreamSynchronize(s));
			CU_OK(cuMemcpyDtoH(b, d, bytes + 8));
			for (k = 0; k < bytes + 8 && bad == (size_t)-1; k++) {
				unsigned char want;

				if (k < 4 || k >= bytes + 4)
					want = 0x5a;
				else if (w == 1)
					want = 0xa7;
				else if (w == 2)
					want = (unsigned char)(0xa7b8 >> (8 * ((k - 4) % 2)));
				else
					want = (unsigned char)(0xa7b8c9d0u >> (8 * ((k - 4) % 4)));
				if (b[k] != want)
					bad = k;
			}
			T_CHECK(bad == (size_t)-1, "memset width %d count %zu: byte %zu wrong", w,
				counts[i], bad);
			cuMemFree(d);
		}
	}
	CU_OK(cuStreamDestroy(s));
	free(h);
}

static void pointers(void)
{
	CUdeviceptr d, dp, start;
	CUcontext ctx, cur;
	unsigned int type, mapped;
	unsigned long long id1, id2;
	size_t size;
	void *h, *hp;
	int ord;
	CUpointer_attribute attrs[] = {
		CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_CONTEXT,
		CU_POINTER_ATTRIBUTE_RANGE_SIZE,
	};
	void *data[3];
	char local[16];

	CU_OK(cuCtxGetCurrent(&cur));
	CU_MUST(cuMemAlloc(&d, 3000));
	CU_OK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 10));
	T_CHECK(type == CU_MEMORYTYPE_DEVICE, "type %u", type);
	CU_OK(cuPointerGetAttribute(&ctx, CU_POINTER_ATTRIBUTE_CONTEXT, d));
	T_CHECK(ctx == cur, "context %p", (void *)ctx);
	CU_OK(cuPointerGetAttribute(&dp, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, d + 5));
	T_CHECK(dp == d + 5, "device pointer");
	CU_OK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, d + 2999));
	CU_OK(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, d + 2999));
	T_CHECK(start == d && size == 3000, "range");
	CU_OK(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, d));
	T_CHECK(ord == 0, "ordinal %d", ord);
	CU_OK(cuPointerGetAttribute(&mapped, CU_POINTER_ATTRIBUTE_IS_MANAGED, d));
	T_CHECK(mapped == 0, "managed");
	CU_OK(cuPointerGetAttribute(&id1, CU_POINTER_ATTRIBUTE_BUFFER_ID, d));
	CU_MUST(cuMemAllocHost(&h, 8192));
	CU_OK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
				    (CUdeviceptr)(uintptr_t)h + 100));
	T_CHECK(type == CU_MEMORYTYPE_HOST, "host type %u", type);
	CU_OK(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER,
				    (CUdeviceptr)(uintptr_t)h));
	T_CHECK(hp == h, "host pointer");
	CU_EXPECT(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					(CUdeviceptr)(uintptr_t)local), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuPointerGetAttribute(NULL, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d),
		  CUDA_ERROR_INVALID_VALUE);
	/* The plural form gives defaults for memory it does not know. */
	data[0] = &type;
	data[1] = &ctx;
	data[2] = &size;
	CU_OK(cuPointerGetAttributes(3, attrs, data, d));
	T_CHECK(type == CU_MEMORYTYPE_DEVICE && ctx == cur && size == 3000, "attributes");
	CU_OK(cuPointerGetAttributes(3, attrs, data, (CUdeviceptr)(uintptr_t)local));
	T_CHECK(type == 0 && ctx == NULL, "unknown memory: type %u ctx %p", type, (void *)ctx);
	CU_OK(cuMemFree(d));
	CU_MUST(cuMemAlloc(&d, 16));
	CU_OK(cuPointerGetAttribute(&id2, CU_POINTER_ATTRIBUTE_BUFFER_ID, d));
	T_CHECK(id1 != id2, "buffer ids are not reused");
	CU_OK(cuMemFree(d));
	CU_OK(cuMemFreeHost(h));
}

static void host_memory(void)
{
	void *h;
	unsigned int flags;
	CUdeviceptr dp;
	char *reg = malloc(1 << 16);

	CU_MUST(cuMemHostAlloc(&h, 5000, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_WRITECOMBINED));
	T_CHECK(((uintptr_t)h & 4095) == 0, "host memory %p not page-aligned", h);
	memset(h, 1, 5000);
	CU_OK(cuMemHostGetFlags(&flags, (char *)h + 10));
	/*
	 * The intended difference of a guest (docs/guest-programming.md):
	 * its host memory is never mapped into the device (CAN_MAP_HOST_MEMORY
	 * 0), so no DEVICEMAP in the flags and no device pointer; NVIDIA's
	 * driver maps every allocation on a unified-addressing system.
	 */
	if (t_native()) {
		T_CHECK((flags & ~(unsigned int)CU_MEMHOSTALLOC_DEVICEMAP) ==
			(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_WRITECOMBINED), "flags %#x", flags);
		CU_OK(cuMemHostGetDevicePointer(&dp, h, 0));
	} else {
		T_CHECK(flags == (CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_WRITECOMBINED),
			"flags %#x", flags);
		CU_EXPECT(cuMemHostGetDevicePointer(&dp, h, 0), CUDA_ERROR_NOT_SUPPORTED);
	}
	CU_EXPECT(cuMemHostGetDevicePointer(&dp, h, 1), CUDA_ERROR_INVALID_VALUE);
	CU_OK(cuMemFreeHost(h));
	CU_EXPECT(cuMemFreeHost(h), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemHostAlloc(&h, 16, 0x100), CUDA_ERROR_INVALID_VALUE);
	/* 0 bytes: a success (NVIDIA's driver 580 too); freed like any other. */
	h = NULL;
	CU_OK(cuMemAllocHost(&h, 0));
	if (h)
		CU_OK(cuMemFreeHost(h));
	CU_EXPECT(cuMemAllocHost(NULL, 16), CUDA_ERROR_INVALID_VALUE);

	CU_OK(cuMemHostRegister(reg, 1 << 16, 0));
	CU_EXPECT(cuMemHostRegister(reg + 4096, 4096, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
	CU_OK(cuMemHostUnregister(reg));
	CU_EXPECT(cuMemHostUnregister(reg), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	CU_EXPECT(cuMemHostRegister(NULL, 16, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemHostRegister(reg, 0, 0), CUDA_ERROR_INVALID_VALUE);
	free(reg);
}

/* Memory of another (live, then destroyed) context. */
static void other_context(void)
{
	CUcontext a, b;
	CUdeviceptr pa, pb;
	unsigned char in[256], out[256];

	fill(in, sizeof(in), 9);
	CU_MUST(cuCtxCreate(&a, NULL, 0, 0));
	CU_MUST(cuMemAlloc(&pa, 256));
	CU_MUST(cuCtxCreate(&b, NULL, 0, 0));
	CU_MUST(cuMemAlloc(&pb, 256));
	/* One address space (unified addressing): a's memory from b works. */
	CU_OK(cuMemcpyHtoD(pa, in, 256));
	CU_OK(cuMemcpyDtoD(pb, pa, 256));
	CU_OK(cuMemcpyDtoH(out, pb, 256));
	T_CHECK(!memcmp(in, out, 256), "copy between two contexts' memory");
	CU_OK(cuCtxDestroy(b));
	/* a's memory is still there; b's went with b. */
	CU_OK(cuMemcpyDtoH(out, pa, 256));
	CU_EXPECT(cuMemcpyDtoH(out, pb, 16), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuMemFree(pb), CUDA_ERROR_INVALID_VALUE);
	CU_OK(cuCtxDestroy(a));
}

int main(void)
{
	CUcontext c;

	if (cuInit(0) != CUDA_SUCCESS)
		t_skip("cuInit failed: no device");
	if (cuCtxCreate(&c, NULL, 0, 0) != CUDA_SUCCESS)
		t_skip("no context");
	T_RUN(alloc_free);
	T_RUN(quota);
	T_RUN(copies);
	T_RUN(copy_misuse);
	T_RUN(memsets);
	T_RUN(pointers);
	T_RUN(host_memory);
	T_RUN(other_context);
	cuCtxDestroy(c);
	return t_done("test_cu_memory");
}
