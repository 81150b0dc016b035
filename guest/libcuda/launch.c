/* SPDX-License-Identifier: MIT */
/*
 * launch.c - cuLaunchKernel, cuLaunchKernelEx and the occupancy calculator.
 *
 * The parameter buffer is packed here: kernelParams[i] is copied to the
 * offset and size dom0's driver reported for parameter i (FUNC_INFO,
 * cached with the function), or the program's own buffer is taken from
 * `extra` (CU_LAUNCH_PARAM_BUFFER_POINTER / _SIZE) and checked against the
 * kernel's size. The launch is queued on the stream; its errors come back
 * from the next synchronisation, as CUDA's do.
 *
 * Occupancy is computed in the guest from the function's attributes and
 * the device snapshot the way CUDA's occupancy calculator reasons (warps,
 * registers per warp, shared memory, blocks per multiprocessor).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int dev_attr_or(CUdevice_attribute a, int dflt)
{
	int v;

	return lcu_dev_attr(a, &v) == 0 ? v : dflt;
}

static int func_attr_or(const struct lcu_func *f, CUfunction_attribute a, int dflt)
{
	unsigned int i = (unsigned int)a;

	if (f->info_ok && i < VGPU_MAX_FUNC_ATTRS && (f->info->attr_valid & (1u << i)))
		return f->info->attr[i];
	return dflt;
}

static int func_max_threads(const struct lcu_func *f)
{
	int dev = dev_attr_or(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, VGPU_MAX_BLOCK_THREADS);
	int fn = func_attr_or(f, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev);

	return fn < dev ? fn : dev;
}

/* Dynamic shared memory a launch of f may ask for. */
static long func_dyn_shared_limit(const struct lcu_func *f)
{
	long stat = func_attr_or(f, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, 0);
	long dflt = dev_attr_or(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, 48 * 1024) - stat;

	if (f->max_dyn_shared >= 0)
		return f->max_dyn_shared;
	return func_attr_or(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
			    (int)(dflt > 0 ? dflt : 0));
}

struct launch {
	struct lcu_func *f;
	unsigned int grid[3], block[3];
	unsigned int shared;
	CUstream stream;
	bool ptds;
};

/* Packs the parameters into buf (VGPU_MAX_PARAM_BYTES); *len their bytes. */
static CUresult pack_params(struct lcu_func *f, void **kp, void **extra, uint8_t *buf,
			    size_t *len)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;
	uint32_t i, n;

	if (kp && extra)
		return CUDA_ERROR_INVALID_VALUE;
	if (extra) {
		void *p = NULL;
		size_t *sz = NULL, want;

		for (i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
			if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
				p = extra[i + 1];
			else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
				sz = extra[i + 1];
			else
				return CUDA_ERROR_INVALID_VALUE;
		}
		if (!sz || (!p && *sz))
			return CUDA_ERROR_INVALID_VALUE;
		/*
		 * The kernel's size (when dom0 said it): a longer buffer is
		 * refused; a shorter one is taken, as NVIDIA's driver 580 takes
		 * it (CUDA_SUCCESS), the parameters past its end zero here
		 * (there: whatever its parameter memory held).
		 */
		want = f->info_ok ? f->info->param_bytes : f->param_bytes;
		if (*sz > VGPU_MAX_PARAM_BYTES || (want && *sz > want))
			return CUDA_ERROR_INVALID_VALUE;
		if (want > VGPU_MAX_PARAM_BYTES)
			return CUDA_ERROR_INVALID_VALUE;
		if (*sz)
			memcpy(buf, p, *sz);
		if (want > *sz) {
			memset(buf + *sz, 0, want - *sz);
			*len = want;
		} else {
			*len = *sz;
		}
		return CUDA_SUCCESS;
	}
	if (!f->info_ok) {
		/* Without dom0's layout only a parameterless kernel can run. */
		if (f->param_bytes == 0) {
			*len = 0;
			return CUDA_SUCCESS;
		}
		if (!atomic_flag_test_and_set(&once))
			lcu_log("cuLaunchKernel: the backend does not report parameter layouts "
				"(FUNC_INFO): kernelParams cannot be packed; pass `extra`");
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	n = f->info->nr_params;
	if (f->info->param_bytes > VGPU_MAX_PARAM_BYTES || n > VGPU_MAX_FUNC_PARAMS)
		return CUDA_ERROR_INVALID_VALUE;
	if (n && !kp)
		return CUDA_ERROR_INVALID_VALUE;
	memset(buf, 0, f->info->param_bytes);
	for (i = 0; i < n; i++) {
		uint32_t off = f->info->param[i].offset, size = f->info->param[i].size;

		if (!kp[i] || off > f->info->param_bytes || size > f->info->param_bytes - off)
			return CUDA_ERROR_INVALID_VALUE;
		memcpy(buf + off, kp[i], size);
	}
	*len = f->info->param_bytes;
	return CUDA_SUCCESS;
}

static CUresult launch(const struct launch *l, void **kp, void **extra)
{
	struct lcu_ctx *c;
	struct lcu_func *f = l->f;
	struct vgpu_launch_cfg cfg = { 0 };
	uint8_t buf[VGPU_MAX_PARAM_BYTES];
	uint64_t threads;
	size_t len = 0;
	CUresult r = lcu_ctx_current(&c);
	vgpu_t *v;
	int i;

	if (r != CUDA_SUCCESS)
		return r;
	if (f->module->ctx != c)
		return CUDA_ERROR_INVALID_HANDLE;
	v = lcu_ctx_vgpu(c, &r);
	if (!v)
		return r;
	static const CUdevice_attribute gmax[3] = {
		CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y,
		CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z,
	};
	static const CUdevice_attribute bmax[3] = {
		CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y,
		CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z,
	};
	threads = 1;
	for (i = 0; i < 3; i++) {
		int gm = dev_attr_or(gmax[i], i ? 65535 : 0x7fffffff);
		int bm = dev_attr_or(bmax[i], i == 2 ? 64 : 1024);

		if (!l->grid[i] || !l->block[i] || l->grid[i] > (unsigned int)gm ||
		    l->block[i] > (unsigned int)bm)
			return CUDA_ERROR_INVALID_VALUE;
		threads *= l->block[i];
	}
	if (threads > (uint64_t)func_max_threads(f))
		return CUDA_ERROR_INVALID_VALUE;
	if (f->info_ok && (long)l->shared > func_dyn_shared_limit(f))
		return CUDA_ERROR_INVALID_VALUE;
	r = pack_params(f, kp, extra, buf, &len);
	if (r != CUDA_SUCCESS)
		return r;
	r = lcu_stream_resolve(c, l->stream, l->ptds, &cfg.stream);
	if (r != CUDA_SUCCESS)
		return r;
	cfg.func = f->h;
	memcpy(cfg.grid, l->grid, sizeof(cfg.grid));
	memcpy(cfg.block, l->block, sizeof(cfg.block));
	cfg.shared_mem = l->shared;
	cfg.params = buf;
	cfg.param_len = len;
	return lcu_ctx_result(c, vgpu_launch_async(v, &cfg), LCU_OP_LAUNCH);
}

static CUresult launch_kernel(CUfunction fn, unsigned int gx, unsigned int gy, unsigned int gz,
			      unsigned int bx, unsigned int by, unsigned int bz,
			      unsigned int shared, CUstream s, void **kp, void **extra, bool ptds)
{
	struct launch l = {
		.grid = { gx, gy, gz }, .block = { bx, by, bz }, .shared = shared,
		.stream = s, .ptds = ptds,
	};
	CUresult r = lcu_func_get(fn, &l.f);

	return r ? r : launch(&l, kp, extra);
}

LCU_API CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
					unsigned int gridDimZ, unsigned int blockDimX,
					unsigned int blockDimY, unsigned int blockDimZ,
					unsigned int sharedMemBytes, CUstream hStream,
					void **kernelParams, void **extra)
{
	return LCU_TRACE("cuLaunchKernel",
			 launch_kernel(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY,
				       blockDimZ, sharedMemBytes, hStream, kernelParams, extra,
				       false),
			 "(%p, %u,%u,%u, %u,%u,%u, %u, %p, %p, %p)", (void *)f, gridDimX,
			 gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes,
			 (void *)hStream, (void *)kernelParams, (void *)extra);
}

CUresult CUDAAPI lcu_cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy,
					 unsigned int gz, unsigned int bx, unsigned int by,
					 unsigned int bz, unsigned int shared, CUstream s,
					 void **kp, void **extra) __asm__("cuLaunchKernel_ptsz");
CUresult CUDAAPI lcu_cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy,
					 unsigned int gz, unsigned int bx, unsigned int by,
					 unsigned int bz, unsigned int shared, CUstream s,
					 void **kp, void **extra)
{
	return LCU_TRACE("cuLaunchKernel_ptsz",
			 launch_kernel(f, gx, gy, gz, bx, by, bz, shared, s, kp, extra, true),
			 "(%p, %u,%u,%u, %u,%u,%u, %u, %p, %p, %p)", (void *)f, gx, gy, gz, bx,
			 by, bz, shared, (void *)s, (void *)kp, (void *)extra);
}

/* The attributes cuLaunchKernelEx honours (or may ignore as hints). */
static CUresult launch_attrs(const CUlaunchConfig *cfg)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;
	unsigned int i;

	if (cfg->numAttrs && !cfg->attrs)
		return CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < cfg->numAttrs; i++) {
		const CUlaunchAttribute *a = &cfg->attrs[i];

		switch (a->id) {
		case CU_LAUNCH_ATTRIBUTE_IGNORE:
		case CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW:
		case CU_LAUNCH_ATTRIBUTE_SYNCHRONIZATION_POLICY:
		case CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
		case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION:
		case CU_LAUNCH_ATTRIBUTE_PRIORITY:
		case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN_MAP:
		case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN:
		case CU_LAUNCH_ATTRIBUTE_PREFERRED_CLUSTER_DIMENSION:
		case CU_LAUNCH_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
			/* Hints and permissions: the launch is correct without them. */
			break;
		case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
			if (a->value.cooperative)
				goto unsupported;
			break;
		case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
			if (a->value.clusterDim.x > 1 || a->value.clusterDim.y > 1 ||
			    a->value.clusterDim.z > 1)
				goto unsupported;
			break;
		case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_EVENT:
		case CU_LAUNCH_ATTRIBUTE_LAUNCH_COMPLETION_EVENT:
		case CU_LAUNCH_ATTRIBUTE_DEVICE_UPDATABLE_KERNEL_NODE:
			goto unsupported;
		default:
			return CUDA_ERROR_INVALID_VALUE;
		}
	}
	return CUDA_SUCCESS;

unsupported:
	if (!atomic_flag_test_and_set(&once))
		lcu_log("cuLaunchKernelEx: launch attribute %d is not supported here "
			"(cooperative and cluster launches, launch events)",
			(int)cfg->attrs[i].id);
	return CUDA_ERROR_NOT_SUPPORTED;
}

static CUresult launch_ex(const CUlaunchConfig *cfg, CUfunction fn, void **kp, void **extra,
			  bool ptds)
{
	struct launch l;
	CUresult r = lcu_init_check();

	if (r != CUDA_SUCCESS)
		return r;
	if (!cfg)
		return CUDA_ERROR_INVALID_VALUE;
	r = lcu_func_get(fn, &l.f);
	if (r == CUDA_SUCCESS)
		r = launch_attrs(cfg);
	if (r != CUDA_SUCCESS)
		return r;
	l.grid[0] = cfg->gridDimX;
	l.grid[1] = cfg->gridDimY;
	l.grid[2] = cfg->gridDimZ;
	l.block[0] = cfg->blockDimX;
	l.block[1] = cfg->blockDimY;
	l.block[2] = cfg->blockDimZ;
	l.shared = cfg->sharedMemBytes;
	l.stream = cfg->hStream;
	l.ptds = ptds;
	return launch(&l, kp, extra);
}

LCU_API CUresult CUDAAPI cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f,
					  void **kernelParams, void **extra)
{
	return LCU_TRACE("cuLaunchKernelEx", launch_ex(config, f, kernelParams, extra, false),
			 "(%p, %p, %p, %p)", (void *)config, (void *)f, (void *)kernelParams,
			 (void *)extra);
}

CUresult CUDAAPI lcu_cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f,
					   void **kp, void **extra)
	__asm__("cuLaunchKernelEx_ptsz");
CUresult CUDAAPI lcu_cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f,
					   void **kp, void **extra)
{
	return LCU_TRACE("cuLaunchKernelEx_ptsz", launch_ex(config, f, kp, extra, true),
			 "(%p, %p, %p, %p)", (void *)config, (void *)f, (void *)kp, (void *)extra);
}

/* ---------------------------------------------------------- occupancy */

static int div_up(int a, int b)
{
	return (a + b - 1) / b;
}

/* Resident blocks of f per multiprocessor at this block size and dynamic shared. */
static int blocks_per_sm(const struct lcu_func *f, int bs, size_t dyn)
{
	int warp = dev_attr_or(CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32);
	int max_thr = dev_attr_or(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, 2048);
	int max_blk = dev_attr_or(CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR, 32);
	int regs_sm = dev_attr_or(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR, 65536);
	long smem_sm = dev_attr_or(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR,
				   64 * 1024);
	long reserved = dev_attr_or(CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK, 0);
	int regs = func_attr_or(f, CU_FUNC_ATTRIBUTE_NUM_REGS, 0);
	long stat = func_attr_or(f, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, 0);
	int warps, n, lim;

	if (bs <= 0 || warp <= 0)
		return 0;
	warps = div_up(bs, warp);
	n = max_thr / (warps * warp);
	if (max_blk < n)
		n = max_blk;
	if (regs > 0) {
		/* Registers go to warps in units of 256. */
		int per_warp = div_up(regs * warp, 256) * 256;

		lim = (regs_sm / per_warp) / warps;
		if (lim < n)
			n = lim;
	}
	if (stat + (long)dyn > 0) {
		long per_block = stat + (long)dyn + reserved;

		lim = (int)(smem_sm / per_block);
		if (lim < n)
			n = lim;
	}
	return n > 0 ? n : 0;
}

static CUresult occ_blocks(int *nb, CUfunction fn, int bs, size_t dyn, unsigned int flags)
{
	struct lcu_func *f;
	CUresult r = lcu_func_get(fn, &f);

	if (r != CUDA_SUCCESS)
		return r;
	if (!nb || bs <= 0 || (flags & ~(unsigned int)CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE))
		return CUDA_ERROR_INVALID_VALUE;
	if (bs > func_max_threads(f) || (long)dyn > func_dyn_shared_limit(f)) {
		*nb = 0;
		return CUDA_SUCCESS;
	}
	*nb = blocks_per_sm(f, bs, dyn);
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, CUfunction func,
								     int blockSize,
								     size_t dynamicSMemSize)
{
	CUresult r = occ_blocks(numBlocks, func, blockSize, dynamicSMemSize, 0);

	return LCU_TRACE("cuOccupancyMaxActiveBlocksPerMultiprocessor", r, "(%p, %p, %d, %zu) -> %d",
			 (void *)numBlocks, (void *)func, blockSize, dynamicSMemSize,
			 r ? 0 : *numBlocks);
}

LCU_API CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(
	int *numBlocks, CUfunction func, int blockSize, size_t dynamicSMemSize, unsigned int flags)
{
	CUresult r = occ_blocks(numBlocks, func, blockSize, dynamicSMemSize, flags);

	return LCU_TRACE("cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags", r,
			 "(%p, %p, %d, %zu, %#x) -> %d", (void *)numBlocks, (void *)func,
			 blockSize, dynamicSMemSize, flags, r ? 0 : *numBlocks);
}

static CUresult occ_block_size(int *min_grid, int *block, CUfunction fn, CUoccupancyB2DSize b2d,
			       size_t dyn, int limit, unsigned int flags)
{
	struct lcu_func *f;
	CUresult r = lcu_func_get(fn, &f);
	int warp = dev_attr_or(CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32);
	int sms = dev_attr_or(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 1);
	int max_bs, bs, best_bs = 0, best_blocks = 0, best_occ = -1;

	if (r != CUDA_SUCCESS)
		return r;
	if (!min_grid || !block || limit < 0 ||
	    (flags & ~(unsigned int)CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE))
		return CUDA_ERROR_INVALID_VALUE;
	max_bs = func_max_threads(f);
	if (limit > 0 && limit < max_bs)
		max_bs = limit;
	/* Largest block first: a tie goes to the bigger block, as CUDA's does. */
	for (bs = (max_bs / warp) * warp; bs > 0; bs -= warp) {
		size_t d = b2d ? b2d(bs) : dyn;
		int nb, occ;

		if ((long)d > func_dyn_shared_limit(f))
			continue;
		nb = blocks_per_sm(f, bs, d);
		occ = nb * bs;
		if (occ > best_occ) {
			best_occ = occ;
			best_bs = bs;
			best_blocks = nb;
		}
	}
	if (best_bs == 0 && max_bs > 0 && max_bs < warp) {
		best_bs = max_bs;
		best_blocks = blocks_per_sm(f, max_bs, b2d ? b2d(max_bs) : dyn);
	}
	*block = best_bs;
	*min_grid = best_blocks * sms;
	return CUDA_SUCCESS;
}

LCU_API CUresult CUDAAPI cuOccupancyMaxPotentialBlockSize(int *minGridSize, int *blockSize,
							  CUfunction func,
							  CUoccupancyB2DSize blockSizeToDynamicSMemSize,
							  size_t dynamicSMemSize, int blockSizeLimit)
{
	CUresult r = occ_block_size(minGridSize, blockSize, func, blockSizeToDynamicSMemSize,
				    dynamicSMemSize, blockSizeLimit, 0);

	return LCU_TRACE("cuOccupancyMaxPotentialBlockSize", r, "(%p, %p, %p, %p, %zu, %d) -> %d, %d",
			 (void *)minGridSize, (void *)blockSize, (void *)func,
			 (void *)(uintptr_t)blockSizeToDynamicSMemSize, dynamicSMemSize,
			 blockSizeLimit, r ? 0 : *minGridSize, r ? 0 : *blockSize);
}

LCU_API CUresult CUDAAPI cuOccupancyMaxPotentialBlockSizeWithFlags(
	int *minGridSize, int *blockSize, CUfunction func,
	CUoccupancyB2DSize blockSizeToDynamicSMemSize, size_t dynamicSMemSize, int blockSizeLimit,
	unsigned int flags)
{
	CUresult r = occ_block_size(minGridSize, blockSize, func, blockSizeToDynamicSMemSize,
				    dynamicSMemSize, blockSizeLimit, flags);

	return LCU_TRACE("cuOccupancyMaxPotentialBlockSizeWithFlags", r,
			 "(%p, %p, %p, %p, %zu, %d, %#x) -> %d, %d", (void *)minGridSize,
			 (void *)blockSize, (void *)func,
			 (void *)(uintptr_t)blockSizeToDynamicSMemSize, dynamicSMemSize,
			 blockSizeLimit, flags, r ? 0 : *minGridSize, r ? 0 : *blockSize);
}

LCU_API CUresult CUDAAPI cuOccupancyAvailableDynamicSMemPerBlock(size_t *dynamicSmemSize,
								 CUfunction func, int numBlocks,
								 int blockSize)
{
	struct lcu_func *f;
	CUresult r = lcu_func_get(func, &f);

	if (r == CUDA_SUCCESS && (!dynamicSmemSize || numBlocks <= 0 || blockSize <= 0))
		r = CUDA_ERROR_INVALID_VALUE;
	if (r == CUDA_SUCCESS) {
		long smem_sm = dev_attr_or(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR,
					   64 * 1024);
		long reserved = dev_attr_or(CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK, 0);
		long stat = func_attr_or(f, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, 0);
		long avail = smem_sm / numBlocks - stat - reserved;
		long lim = func_dyn_shared_limit(f);

		if (blocks_per_sm(f, blockSize, 0) < numBlocks)
			avail = 0;
		if (avail > lim)
			avail = lim;
		*dynamicSmemSize = avail > 0 ? (size_t)avail : 0;
	}
	return LCU_TRACE("cuOccupancyAvailableDynamicSMemPerBlock", r, "(%p, %p, %d, %d)",
			 (void *)dynamicSmemSize, (void *)func, numBlocks, blockSize);
}
