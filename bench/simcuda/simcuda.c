/* SPDX-License-Identifier: MIT */
/*
 * simcuda.c - libcuda.so.1 for machines without a GPU: the driver API calls
 * that the cuda executor's GPU worker and gpu-bench use, with a timing
 * model instead of a GPU. Not a CUDA implementation and not for tests of
 * what a GPU does: it exists so that the mediated path (backend, executor,
 * worker process, their hand-offs and waits) can be run, profiled and
 * benchmarked on the development machine, where the stalls between the
 * processes are the same as on the GPU machine. Every figure measured with
 * it is labelled "simulated" and never goes into docs/performance.md as a
 * GPU result.
 *
 * The model, per stream: work queued on a stream starts at most
 * SIMCUDA_LATENCY_NS after it was queued, in stream order, and takes
 * SIMCUDA_KERNEL_NS per kernel (vt_spin: its cycles at 1.5 GHz) or
 * 1 us + bytes / SIMCUDA_GBS for a copy or memset; each launch costs the
 * calling thread SIMCUDA_LAUNCH_NS of CPU. Events and synchronisation spin
 * until the stream's work is due to be over (the driver's default
 * spin-wait). Device memory is host memory; copies and the few known
 * kernels (vgpu_vector_add, vt_saxpy, vt_empty, vt_spin) compute their
 * results when they are queued, which keeps stream order for every
 * observer that synchronises first.
 *
 * Use: LD_LIBRARY_PATH=<build>/lib/simcuda (where libcuda.so.1 is built).
 */
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_EXPORT __attribute__((visibility("default")))

static uint64_t lat_ns = 3000, kern_ns = 2000, launch_ns = 2000;
static double gbs = 50.0;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void spin_until(uint64_t t)
{
	while (now_ns() < t)
		__builtin_ia32_pause();
}

static void env_u64(const char *name, uint64_t *v)
{
	const char *s = getenv(name);

	if (s && *s)
		*v = strtoull(s, NULL, 10);
}

static void sim_init(void)
{
	const char *s = getenv("SIMCUDA_GBS");

	env_u64("SIMCUDA_LATENCY_NS", &lat_ns);
	env_u64("SIMCUDA_KERNEL_NS", &kern_ns);
	env_u64("SIMCUDA_LAUNCH_NS", &launch_ns);
	if (s && atof(s) > 0)
		gbs = atof(s);
}

struct CUstream_st {
	pthread_mutex_t lock;           /* protects busy_until              */
	uint64_t busy_until;            /* when its queued work is over     */
};

struct CUevent_st { uint64_t due; };
struct CUctx_st { int dummy; };

struct CUfunc_st {
	char name[128];
	uint32_t nparams;
	uint32_t off[32], size[32];
};

struct CUmod_st {
	struct CUfunc_st *funcs;
	uint32_t nfuncs;
};

static struct CUstream_st null_stream = { PTHREAD_MUTEX_INITIALIZER, 0 };
static struct CUctx_st the_ctx;

static CUstream st_of(CUstream s)
{
	return s ? s : &null_stream;
}

/* Queue work of dur ns on s: returns when it is due to end. */
static uint64_t st_queue(CUstream s, uint64_t dur)
{
	uint64_t start, end;

	s = st_of(s);
	pthread_mutex_lock(&s->lock);
	start = now_ns() + lat_ns;
	if (s->busy_until > start)
		start = s->busy_until;
	end = start + dur;
	s->busy_until = end;
	pthread_mutex_unlock(&s->lock);
	return end;
}

static uint64_t st_due(CUstream s)
{
	uint64_t t;

	s = st_of(s);
	pthread_mutex_lock(&s->lock);
	t = s->busy_until;
	pthread_mutex_unlock(&s->lock);
	return t;
}

static uint64_t copy_ns(size_t n)
{
	return 1000 + (uint64_t)((double)n / gbs);
}

/* ------------------------------------------------------------ basics */

SIM_EXPORT CUresult cuInit(unsigned int flags)
{
	(void)flags;
	pthread_once(&once, sim_init);
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDriverGetVersion(int *v)
{
	*v = 13000;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDeviceGetCount(int *n)
{
	*n = 1;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDeviceGet(CUdevice *d, int ordinal)
{
	if (ordinal != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*d = 0;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDeviceGetName(char *name, int len, CUdevice d)
{
	(void)d;
	strncpy(name, "simcuda (no GPU: a timing model)", (size_t)len);
	if (len > 0)
		name[len - 1] = '\0';
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDeviceTotalMem(size_t *b, CUdevice d)
{
	(void)d;
	*b = 80ull << 30;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d)
{
	(void)d;
	switch (a) {
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 132; break;
	default: *v = 0; break;
	}
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuGetErrorName(CUresult r, const char **s)
{
	*s = r ? "SIMCUDA_ERROR" : "CUDA_SUCCESS";
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuCtxCreate_v4(CUcontext *c, CUctxCreateParams *p,
				   unsigned int flags, CUdevice d)
{
	(void)p; (void)flags; (void)d;
	pthread_once(&once, sim_init);
	*c = &the_ctx;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuCtxCreate_v2(CUcontext *c, unsigned int flags, CUdevice d)
{
	return cuCtxCreate_v4(c, NULL, flags, d);
}

SIM_EXPORT CUresult cuCtxDestroy(CUcontext c)
{
	(void)c;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuCtxSetCurrent(CUcontext c)
{
	(void)c;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemGetInfo(size_t *f, size_t *t)
{
	*f = 79ull << 30;
	*t = 80ull << 30;
	return CUDA_SUCCESS;
}

/* ------------------------------------------------------------ memory */

SIM_EXPORT CUresult cuMemAlloc(CUdeviceptr *p, size_t n)
{
	void *m = calloc(1, n ? n : 1);

	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*p = (CUdeviceptr)(uintptr_t)m;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemFree(CUdeviceptr p)
{
	free((void *)(uintptr_t)p);
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemAllocHost(void **p, size_t n)
{
	*p = malloc(n ? n : 1);
	return *p ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

SIM_EXPORT CUresult cuMemFreeHost(void *p)
{
	free(p);
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemHostRegister(void *p, size_t n, unsigned int flags)
{
	(void)p; (void)n; (void)flags;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemHostUnregister(void *p)
{
	(void)p;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemcpyHtoDAsync(CUdeviceptr d, const void *h, size_t n,
				      CUstream s)
{
	memcpy((void *)(uintptr_t)d, h, n);
	st_queue(s, copy_ns(n));
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemcpyDtoHAsync(void *h, CUdeviceptr d, size_t n,
				      CUstream s)
{
	memcpy(h, (const void *)(uintptr_t)d, n);
	st_queue(s, copy_ns(n));
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr sr, size_t n,
				      CUstream s)
{
	memmove((void *)(uintptr_t)d, (const void *)(uintptr_t)sr, n);
	st_queue(s, copy_ns(n) / 4);
	return CUDA_SUCCESS;
}

/* Pageable copies are synchronous: staged and waited for. */
SIM_EXPORT CUresult cuMemcpyHtoD(CUdeviceptr d, const void *h, size_t n)
{
	memcpy((void *)(uintptr_t)d, h, n);
	spin_until(st_queue(NULL, 2 * copy_ns(n)));
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemcpyDtoH(void *h, CUdeviceptr d, size_t n)
{
	spin_until(st_due(NULL));
	memcpy(h, (const void *)(uintptr_t)d, n);
	spin_until(st_queue(NULL, 2 * copy_ns(n)));
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n,
				    CUstream s)
{
	memset((void *)(uintptr_t)d, v, n);
	st_queue(s, copy_ns(n) / 4);
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n,
				     CUstream s)
{
	unsigned short *p = (unsigned short *)(uintptr_t)d;

	for (size_t i = 0; i < n; i++)
		p[i] = v;
	st_queue(s, copy_ns(2 * n) / 4);
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n,
				     CUstream s)
{
	unsigned int *p = (unsigned int *)(uintptr_t)d;

	for (size_t i = 0; i < n; i++)
		p[i] = v;
	st_queue(s, copy_ns(4 * n) / 4);
	return CUDA_SUCCESS;
}

/* ----------------------------------------------------- streams, events */

SIM_EXPORT CUresult cuStreamCreate(CUstream *s, unsigned int flags)
{
	(void)flags;
	*s = calloc(1, sizeof(**s));
	if (!*s)
		return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_init(&(*s)->lock, NULL);
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuStreamDestroy(CUstream s)
{
	if (s) {
		pthread_mutex_destroy(&s->lock);
		free(s);
	}
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuStreamSynchronize(CUstream s)
{
	spin_until(st_due(s));
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuEventCreate(CUevent *e, unsigned int flags)
{
	(void)flags;
	*e = calloc(1, sizeof(**e));
	return *e ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

SIM_EXPORT CUresult cuEventDestroy(CUevent e)
{
	free(e);
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuEventRecord(CUevent e, CUstream s)
{
	__atomic_store_n(&e->due, st_due(s), __ATOMIC_RELEASE);
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuEventSynchronize(CUevent e)
{
	spin_until(__atomic_load_n(&e->due, __ATOMIC_ACQUIRE));
	return CUDA_SUCCESS;
}

/* ---------------------------------------------------------- modules */

/* The kernels' parameter layouts, read from PTX ".entry name(.param ...)". */
static void parse_ptx(struct CUmod_st *m, const char *ptx)
{
	const char *p = ptx;

	while ((p = strstr(p, ".entry ")) != NULL) {
		struct CUfunc_st *f, *nf;
		const char *q = p + 7, *end;
		size_t nl;
		uint32_t off = 0;

		while (*q == ' ')
			q++;
		nl = strcspn(q, " (\n\t");
		nf = realloc(m->funcs, (m->nfuncs + 1) * sizeof(*nf));
		if (!nf)
			return;
		m->funcs = nf;
		f = &m->funcs[m->nfuncs++];
		memset(f, 0, sizeof(*f));
		memcpy(f->name, q, nl < sizeof(f->name) - 1 ? nl : sizeof(f->name) - 1);
		q += nl;
		end = strchr(q, ')');
		if (!end)
			return;
		while ((q = strstr(q, ".param")) != NULL && q < end &&
		       f->nparams < 32) {
			uint32_t sz = 4;

			q += 6;
			if (!strncmp(q, " .u64", 5) || !strncmp(q, " .b64", 5) ||
			    !strncmp(q, " .s64", 5) || !strncmp(q, " .f64", 5))
				sz = 8;
			off = (off + sz - 1) & ~(sz - 1);
			f->off[f->nparams] = off;
			f->size[f->nparams] = sz;
			f->nparams++;
			off += sz;
		}
		p = end;
	}
}

SIM_EXPORT CUresult cuModuleLoadDataEx(CUmodule *mod, const void *image,
				       unsigned int n, CUjit_option *o, void **v)
{
	struct CUmod_st *m = calloc(1, sizeof(*m));

	(void)n; (void)o; (void)v;
	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	parse_ptx(m, image);
	*mod = m;
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuModuleLoadData(CUmodule *mod, const void *image)
{
	return cuModuleLoadDataEx(mod, image, 0, NULL, NULL);
}

SIM_EXPORT CUresult cuModuleUnload(CUmodule m)
{
	if (m) {
		free(m->funcs);
		free(m);
	}
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name)
{
	for (uint32_t i = 0; i < m->nfuncs; i++)
		if (!strcmp(m->funcs[i].name, name)) {
			*f = &m->funcs[i];
			return CUDA_SUCCESS;
		}
	return CUDA_ERROR_NOT_FOUND;
}

SIM_EXPORT CUresult cuFuncGetParamInfo(CUfunction f, size_t i, size_t *off,
				       size_t *size)
{
	if (i >= f->nparams)
		return CUDA_ERROR_INVALID_VALUE;
	*off = f->off[i];
	*size = f->size[i];
	return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v)
{
	(void)f; (void)a; (void)v;
	return CUDA_SUCCESS;
}

/* Parameter i of a launch, from kernelParams or the extra buffer. */
static const void *param(CUfunction f, void **kp, void **extra, uint32_t i)
{
	if (kp)
		return kp[i];
	for (; extra && extra[0] != CU_LAUNCH_PARAM_END; extra += 2)
		if (extra[0] == CU_LAUNCH_PARAM_BUFFER_POINTER)
			return (const char *)extra[1] + f->off[i];
	return NULL;
}

SIM_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy,
				   unsigned int gz, unsigned int bx, unsigned int by,
				   unsigned int bz, unsigned int shared, CUstream s,
				   void **kp, void **extra)
{
	uint64_t t0 = now_ns(), dur = kern_ns;

	(void)gy; (void)gz; (void)by; (void)bz; (void)shared;
	if (f->nparams && !kp && !extra)
		return CUDA_ERROR_INVALID_VALUE;
	if (!strcmp(f->name, "vgpu_vector_add") && f->nparams == 4) {
		float *a = *(float *const *)param(f, kp, extra, 0);
		float *b = *(float *const *)param(f, kp, extra, 1);
		float *c = *(float *const *)param(f, kp, extra, 2);
		uint32_t n = *(const uint32_t *)param(f, kp, extra, 3);

		for (uint32_t i = 0; i < n && i < gx * bx; i++)
			c[i] = a[i] + b[i];
	} else if (!strcmp(f->name, "vt_saxpy") && f->nparams == 4) {
		float *y = *(float *const *)param(f, kp, extra, 0);
		const float *x = *(const float *const *)param(f, kp, extra, 1);
		float a = *(const float *)param(f, kp, extra, 2);
		uint32_t n = *(const uint32_t *)param(f, kp, extra, 3);

		for (uint32_t i = 0; i < n && i < gx * bx; i++)
			y[i] = a * x[i] + y[i];
	} else if (!strcmp(f->name, "vt_spin") && f->nparams == 1) {
		dur = *(const uint64_t *)param(f, kp, extra, 0) * 2 / 3;
	}
	st_queue(s, dur);
	spin_until(t0 + launch_ns);
	return CUDA_SUCCESS;
}
