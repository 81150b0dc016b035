// SPDX-License-Identifier: MIT
/*
 * libvgpu.c - the C API over /dev/vgpu_stub (see vgpu.h). Each call checks
 * its arguments, fills the ioctl struct of frontend-kmod/uapi/vgpu_stub.h and
 * maps errno to a negative return value.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "vgpu.h"
#include "vgpuif.h"
#include "uapi/vgpu_stub.h"

_Static_assert(VGPU_MAX_VECTOR_ADD_ELEMS == VGPUIF_MAX_VECTOR_ADD_ELEMS, "vadd limit");
_Static_assert(VGPU_MAX_PARAM_BYTES == VGPUIF_MAX_PARAM_BYTES, "param limit");
_Static_assert(VGPU_MAX_FUNC_NAME == VGPUIF_MAX_FUNC_NAME, "name limit");
_Static_assert(VGPU_MAX_MODULE_BYTES == VGPUIF_MAX_MODULE_BYTES, "module limit");
_Static_assert(VGPU_MAX_MODULE_LOG == VGPUIF_MAX_MODULE_LOG, "log limit");
_Static_assert(VGPU_MAX_BLOCK_THREADS == VGPUIF_MAX_BLOCK_THREADS, "block limit");
_Static_assert((int)VGPU_MODULE_FATBIN == (int)VGPUIF_MODULE_FATBIN, "formats");
_Static_assert((int)VGPU_PRIO_LOW == (int)VGPUIF_PRIO_LOW, "priorities");

struct vgpu {
	int fd;
};

static uint64_t ptr64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* One ioctl; a signal before the request was sent restarts it (SA_RESTART
 * aside, the module returns EINTR only once the request may have run). */
static int vgpu_ioctl(vgpu_t *v, unsigned long cmd, void *arg)
{
	if (ioctl(v->fd, cmd, arg) == 0)
		return 0;
	return errno ? -errno : -EIO;
}

int vgpu_open_fd(int fd, vgpu_t **out)
{
	vgpu_t *v;

	if (fd < 0 || !out)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->fd = fd;
	*out = v;
	return 0;
}

int vgpu_open(const char *path, vgpu_t **out)
{
	int fd, ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	fd = open(path ? path : VGPU_DEFAULT_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	ret = vgpu_open_fd(fd, out);
	if (ret)
		close(fd);
	return ret;
}

void vgpu_close(vgpu_t *v)
{
	if (!v)
		return;
	close(v->fd);
	free(v);
}

int vgpu_fd(const vgpu_t *v)
{
	return v ? v->fd : -1;
}

int vgpu_query(vgpu_t *v, struct vgpu_info *info)
{
	struct vgpu_stub_query q;
	int ret;

	if (!v || !info)
		return -EINVAL;
	memset(&q, 0, sizeof(q));
	ret = vgpu_ioctl(v, VGPU_STUB_IOC_QUERY, &q);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	info->protocol_version = q.protocol_version;
	info->executor = q.executor;
	memcpy(info->gpu_name, q.gpu_name, sizeof(info->gpu_name));
	info->gpu_name[sizeof(info->gpu_name) - 1] = '\0';
	info->total_mem = q.total_mem;
	info->free_mem = q.free_mem;
	info->mem_quota = q.mem_quota;
	info->mem_used = q.mem_used;
	info->cc_major = q.cc_major;
	info->cc_minor = q.cc_minor;
	info->sm_count = q.sm_count;
	info->copy_mode = q.copy_mode;
	info->priority = q.priority;
	info->pool = q.pool;
	info->domid = q.domid;
	info->max_segments = q.max_segments;
	info->max_param_bytes = q.max_param_bytes;
	info->max_handles = q.max_handles;
	info->ring_pages = q.ring_pages;
	info->ring_slots = q.ring_slots;
	info->devid = q.devid;
	info->generation = q.generation;
	info->ctx = q.ctx;
	return 0;
}

int vgpu_nop(vgpu_t *v, uint64_t *exec_ns)
{
	struct vgpu_stub_nop n = { 0 };
	int ret;

	if (!v)
		return -EINVAL;
	ret = vgpu_ioctl(v, VGPU_STUB_IOC_NOP, &n);
	if (!ret && exec_ns)
		*exec_ns = n.exec_ns;
	return ret;
}

int vgpu_vector_add(vgpu_t *v, const float *a, const float *b, float *c, uint32_t n)
{
	struct vgpu_stub_vector_add va;

	if (!v || !a || !b || !c || n == 0)
		return -EINVAL;
	if (n > VGPU_MAX_VECTOR_ADD_ELEMS)
		return -E2BIG;
	memset(&va, 0, sizeof(va));
	va.a = ptr64(a);
	va.b = ptr64(b);
	va.c = ptr64(c);
	va.n = n;
	return vgpu_ioctl(v, VGPU_STUB_IOC_VECTOR_ADD, &va);
}

int vgpu_mem_alloc(vgpu_t *v, uint64_t size, uint64_t *mem, uint64_t *dev_addr)
{
	struct vgpu_stub_mem_alloc m;
	int ret;

	if (!v || !mem || size == 0)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.size = size;
	ret = vgpu_ioctl(v, VGPU_STUB_IOC_MEM_ALLOC, &m);
	if (ret)
		return ret;
	*mem = m.handle;
	if (dev_addr)
		*dev_addr = m.dev_addr;
	return 0;
}

int vgpu_mem_free(vgpu_t *v, uint64_t mem)
{
	struct vgpu_stub_mem_free m = { .handle = mem };

	if (!v)
		return -EINVAL;
	return vgpu_ioctl(v, VGPU_STUB_IOC_MEM_FREE, &m);
}

static int vgpu_copy(vgpu_t *v, unsigned long cmd, uint64_t mem, uint64_t offset,
		     const void *host, uint64_t len)
{
	struct vgpu_stub_memcpy m;

	if (!v || !host || len == 0)
		return -EINVAL;
	if (offset + len < offset || ptr64(host) + len < ptr64(host))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.mem = mem;
	m.offset = offset;
	m.host = ptr64(host);
	m.length = len;
	return vgpu_ioctl(v, cmd, &m);
}

int vgpu_memcpy_h2d(vgpu_t *v, uint64_t mem, uint64_t offset, const void *src, uint64_t len)
{
	return vgpu_copy(v, VGPU_STUB_IOC_MEMCPY_H2D, mem, offset, src, len);
}

int vgpu_memcpy_d2h(vgpu_t *v, void *dst, uint64_t mem, uint64_t offset, uint64_t len)
{
	return vgpu_copy(v, VGPU_STUB_IOC_MEMCPY_D2H, mem, offset, dst, len);
}

int vgpu_memcpy_d2d(vgpu_t *v, uint64_t dst, uint64_t dst_offset, uint64_t src,
		    uint64_t src_offset, uint64_t len)
{
	struct vgpu_stub_memcpy_d2d m;

	if (!v || len == 0)
		return -EINVAL;
	if (dst_offset + len < dst_offset || src_offset + len < src_offset)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.dst_mem = dst;
	m.dst_offset = dst_offset;
	m.src_mem = src;
	m.src_offset = src_offset;
	m.length = len;
	return vgpu_ioctl(v, VGPU_STUB_IOC_MEMCPY_D2D, &m);
}

int vgpu_memset(vgpu_t *v, uint64_t mem, uint64_t offset, uint32_t value,
		uint32_t elem_size, uint64_t len)
{
	struct vgpu_stub_memset m;

	if (!v || len == 0)
		return -EINVAL;
	if (elem_size != 1 && elem_size != 2 && elem_size != 4)
		return -EINVAL;
	if (len % elem_size || offset % elem_size || offset + len < offset)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.mem = mem;
	m.offset = offset;
	m.length = len;
	m.value = value;
	m.elem_size = elem_size;
	return vgpu_ioctl(v, VGPU_STUB_IOC_MEMSET, &m);
}

int vgpu_module_load(vgpu_t *v, const void *image, size_t image_len,
		     enum vgpu_module_format format, char *log, size_t log_len,
		     uint64_t *module, size_t *log_written)
{
	struct vgpu_stub_module_load m;
	int ret;

	if (!v || !image || image_len == 0 || !module || (log_len && !log))
		return -EINVAL;
	if ((unsigned int)format > VGPU_MODULE_FATBIN)
		return -EINVAL;
	if (image_len > VGPU_MAX_MODULE_BYTES || log_len > VGPU_MAX_MODULE_LOG)
		return -E2BIG;
	memset(&m, 0, sizeof(m));
	m.image = ptr64(image);
	m.image_len = image_len;
	m.log = log_len ? ptr64(log) : 0;
	m.log_len = (uint32_t)log_len;
	m.format = format;
	ret = vgpu_ioctl(v, VGPU_STUB_IOC_MODULE_LOAD, &m);
	if (log && log_len)
		log[log_len - 1] = '\0';
	if (log_written)
		*log_written = ret && ret != -ENOEXEC ? 0 : (size_t)m.log_written;
	if (!ret)
		*module = m.module;
	return ret;
}

int vgpu_module_unload(vgpu_t *v, uint64_t module)
{
	struct vgpu_stub_module_unload m = { .module = module };

	if (!v)
		return -EINVAL;
	return vgpu_ioctl(v, VGPU_STUB_IOC_MODULE_UNLOAD, &m);
}

int vgpu_func_get(vgpu_t *v, uint64_t module, const char *name, uint64_t *func,
		  uint64_t *param_bytes)
{
	struct vgpu_stub_func_get g;
	size_t len;
	int ret;

	if (!v || !name || !func)
		return -EINVAL;
	len = strnlen(name, VGPU_MAX_FUNC_NAME + 1);
	if (len == 0)
		return -EINVAL;
	if (len > VGPU_MAX_FUNC_NAME)
		return -E2BIG;
	memset(&g, 0, sizeof(g));
	g.module = module;
	g.name = ptr64(name);
	g.name_len = (uint32_t)len;
	ret = vgpu_ioctl(v, VGPU_STUB_IOC_FUNC_GET, &g);
	if (ret)
		return ret;
	*func = g.func;
	if (param_bytes)
		*param_bytes = g.param_bytes;
	return 0;
}

int vgpu_launch(vgpu_t *v, uint64_t func, const uint32_t grid[3], const uint32_t block[3],
		uint32_t shared_mem, const void *params, size_t param_len)
{
	struct vgpu_stub_launch l;
	int i;

	if (!v || !grid || !block || (param_len && !params))
		return -EINVAL;
	for (i = 0; i < 3; i++)
		if (grid[i] == 0 || block[i] == 0)
			return -EINVAL;
	if ((uint64_t)block[0] * block[1] * block[2] > VGPU_MAX_BLOCK_THREADS)
		return -EINVAL;
	if (param_len > VGPU_MAX_PARAM_BYTES)
		return -E2BIG;
	memset(&l, 0, sizeof(l));
	l.func = func;
	memcpy(l.grid, grid, sizeof(l.grid));
	memcpy(l.block, block, sizeof(l.block));
	l.shared_mem = shared_mem;
	l.param_len = (uint32_t)param_len;
	l.params = param_len ? ptr64(params) : 0;
	return vgpu_ioctl(v, VGPU_STUB_IOC_LAUNCH, &l);
}

int vgpu_sync(vgpu_t *v)
{
	struct vgpu_stub_sync s = { 0 };

	if (!v)
		return -EINVAL;
	return vgpu_ioctl(v, VGPU_STUB_IOC_SYNC, &s);
}

const char *vgpu_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ENODEV:
		return "no vgpu device (is vgpu-front.ko loaded and a vgpu device attached to this guest?)";
	case -EACCES:
		return "permission denied opening the vgpu device";
	case -ENOTTY:
		return "invalid command (not a vgpu device, or an ioctl it does not know)";
	case -EINTR:
		return "interrupted by a signal";
	case -EFAULT:
		return "bad buffer address";
	case -ETIMEDOUT:
		return "timed out (a kernel exceeded the watchdog's time limit, or no answer in time)";
	case -ENOSPC:
		return "out of grant references in this guest";
	case -EIO:
		return "I/O error (the backend went away, restarted or broke the protocol, or the GPU failed)";
	case -ENOTCONN:
		return "the backend is not connected (it died, was detached or never started, and no backend connected in time)";
	default:
		break;
	}
	if (err < 0 && err > -4096) {
		const char *s = vgpuif_status_str(err);

		if (strcmp(s, "unknown status") != 0)
			return s;
		return strerror(-err);
	}
	return "unknown error";
}

const char *vgpu_priority_name(uint32_t priority)
{
	switch (priority) {
	case VGPU_PRIO_HIGH: return "high";
	case VGPU_PRIO_MEDIUM: return "medium";
	case VGPU_PRIO_LOW: return "low";
	default: return "?";
	}
}

const char *vgpu_executor_name(uint32_t executor)
{
	switch (executor) {
	case VGPU_EXECUTOR_CPU: return "cpu";
	case VGPU_EXECUTOR_CUDA: return "cuda";
	default: return "?";
	}
}
