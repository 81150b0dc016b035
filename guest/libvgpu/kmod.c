// SPDX-License-Identifier: MIT
/*
 * kmod.c - libvgpu's kmod transport: ioctls on /dev/vgpu_stub
 * (frontend-kmod/uapi/vgpu_stub.h). The module does the frontend's work
 * (context, grants, inline data, ring, async errors); here a request
 * becomes one CALL ioctl, field for field. Host memory is page-aligned
 * locked memory the module pins.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "private.h"
#include "uapi/vgpu_stub.h"

struct kmod {
	int fd;
};

static struct kmod *K(const vgpu_t *v)
{
	return v->priv;
}

static int kmod_open_fd(vgpu_t *v, int fd)
{
	struct kmod *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->fd = fd;
	v->priv = k;
	return 0;
}

static int kmod_open(vgpu_t *v, const char *path)
{
	int fd, ret;

	if (!*path) {
		vgpu_set_open_error("kmod: no device path");
		return -EINVAL;
	}
	/* open() creates the context: it waits for the backend to connect. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? -ENODEV : -errno;
		vgpu_set_open_error("kmod: cannot open %s: %s", path,
				    vgpu_strerror(ret));
		return ret;
	}
	ret = kmod_open_fd(v, fd);
	if (ret)
		close(fd);
	return ret;
}

static void kmod_close(vgpu_t *v)
{
	close(K(v)->fd);
	free(K(v));
}

static int kmod_fd(const vgpu_t *v)
{
	return K(v)->fd;
}

/* One ioctl: 0 or -errno. */
static int kmod_ioctl(vgpu_t *v, unsigned long cmd, void *arg)
{
	if (ioctl(K(v)->fd, cmd, arg) == 0)
		return 0;
	return errno ? -errno : -EIO;
}

static int kmod_query_raw(vgpu_t *v, struct vgpu_stub_query *q)
{
	memset(q, 0, sizeof(*q));
	return kmod_ioctl(v, VGPU_STUB_IOC_QUERY, q);
}

static int kmod_query(vgpu_t *v, struct vgpu_info *info)
{
	struct vgpu_stub_query q;
	struct vgpuif_info w;
	int ret = kmod_query_raw(v, &q);

	if (ret)
		return ret;
	memset(&w, 0, sizeof(w));
	w.protocol_version = q.protocol_version;
	w.executor = q.executor;
	memcpy(w.gpu_name, q.gpu_name, sizeof(w.gpu_name));
	w.total_mem = q.total_mem;
	w.free_mem = q.free_mem;
	w.mem_quota = q.mem_quota;
	w.mem_used = q.mem_used;
	w.cc_major = q.cc_major;
	w.cc_minor = q.cc_minor;
	w.sm_count = q.sm_count;
	w.copy_mode = q.copy_mode;
	w.priority = q.priority;
	w.pool = q.pool;
	w.gpu = q.gpu;
	w.domid = q.domid;
	w.max_param_bytes = q.max_param_bytes;
	w.max_handles = q.max_handles;
	vgpu_info_from_wire(info, &w);
	info->max_segments = q.max_segments;
	info->ring_pages = q.ring_pages;
	info->ring_slots = q.ring_slots;
	info->devid = q.devid;
	info->generation = q.generation;
	info->ctx = q.ctx;
	info->ops = q.abi_version >= 2 ? q.ops : VGPUIF_OP_COUNT_V1;
	info->inline_bytes = q.abi_version >= 2 ? q.inline_bytes : 0;
	return 0;
}

static int kmod_limits(vgpu_t *v, struct vgpu_limits *l)
{
	struct vgpu_stub_query q;
	int ret = kmod_query_raw(v, &q);

	if (ret)
		return ret;
	l->max_segs = q.max_segments ? q.max_segments : VGPUIF_MAX_DIRECT_SEGMENTS;
	l->ops = q.abi_version >= 2 ? q.ops : VGPUIF_OP_COUNT_V1;
	l->inline_bytes = q.abi_version >= 2 ? q.inline_bytes : 0;
	return 0;
}

_Static_assert(VGPU_REQ_MAX_REGIONS == VGPU_STUB_MAX_REGIONS, "regions");
_Static_assert(VGPU_REGION_WRITE == VGPU_STUB_REGION_WRITE &&
	       VGPU_REGION_COPY == VGPU_STUB_REGION_COPY, "region flags");
_Static_assert(VGPU_REQ_ASYNC == VGPU_STUB_CALL_ASYNC, "async flag");
_Static_assert(sizeof(union vgpuif_args) == sizeof(((struct vgpu_stub_call *)0)->args),
	       "args");

/* One request: the CALL ioctl (the module answers for itself). */
static int kmod_call_one(vgpu_t *v, struct vgpu_req *r)
{
	struct vgpu_stub_call c;
	unsigned int i;
	int ret;

	memset(&c, 0, sizeof(c));
	c.op = r->op;
	c.flags = r->flags;
	c.nr_regions = r->nr_regions;
	memcpy(c.args, &r->args, sizeof(c.args));
	for (i = 0; i < r->nr_regions && i < VGPU_STUB_MAX_REGIONS; i++) {
		c.regions[i].addr = r->regions[i].addr;
		c.regions[i].len = r->regions[i].len;
		c.regions[i].flags = r->regions[i].flags;
	}
	ret = kmod_ioctl(v, VGPU_STUB_IOC_CALL, &c);
	if (ret == -ENOTTY) {
		vgpu_set_error(v, "kmod: %s: vgpu-front.ko has no CALL ioctl (ABI 1): "
			       "load the module of this release", vgpuif_op_name(r->op));
		return ret;
	}
	r->result[0] = c.result[0];
	r->result[1] = c.result[1];
	r->exec_ns = c.exec_ns;
	return ret;
}

static int kmod_call(vgpu_t *v, struct vgpu_req *reqs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		reqs[i].status = kmod_call_one(v, &reqs[i]);
	return 0;
}

/* ---------------------------------------------------------- host memory */

/* Blocks of this process, for every handle (one device). */
struct kmod_block {
	struct kmod_block *next;
	void *ptr;
	size_t size;
};
static struct kmod_block *kmod_blocks;
static pthread_mutex_t kmod_blocks_lock = PTHREAD_MUTEX_INITIALIZER; /* the list */

static int kmod_host_alloc(vgpu_t *v, size_t size, void **ptr)
{
	struct kmod_block *b = calloc(1, sizeof(*b));
	size_t len = (size + 4095) & ~(size_t)4095;
	void *p;

	(void)v;
	if (!b)
		return -ENOMEM;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		free(b);
		return -ENOMEM;
	}
	/* Locked when RLIMIT_MEMLOCK allows; the module pins it either way. */
	(void)mlock(p, len);
	b->ptr = p;
	b->size = len;
	pthread_mutex_lock(&kmod_blocks_lock);
	b->next = kmod_blocks;
	kmod_blocks = b;
	pthread_mutex_unlock(&kmod_blocks_lock);
	*ptr = p;
	return 0;
}

static int kmod_host_free(vgpu_t *v, void *ptr)
{
	struct kmod_block **pp, *b = NULL;

	(void)v;
	pthread_mutex_lock(&kmod_blocks_lock);
	for (pp = &kmod_blocks; *pp; pp = &(*pp)->next)
		if ((*pp)->ptr == ptr) {
			b = *pp;
			*pp = b->next;
			break;
		}
	pthread_mutex_unlock(&kmod_blocks_lock);
	if (!b)
		return -EINVAL;
	munmap(b->ptr, b->size);
	free(b);
	return 0;
}

static int kmod_host_contains(vgpu_t *v, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	struct kmod_block *b;
	int in = 0;

	(void)v;
	pthread_mutex_lock(&kmod_blocks_lock);
	for (b = kmod_blocks; b && !in; b = b->next) {
		uintptr_t s = (uintptr_t)b->ptr;

		in = a >= s && a - s <= b->size && len <= b->size - (a - s);
	}
	pthread_mutex_unlock(&kmod_blocks_lock);
	return in;
}

const struct vgpu_transport vgpu_transport_kmod = {
	.name = "kmod",
	.open = kmod_open,
	.open_fd = kmod_open_fd,
	.close = kmod_close,
	.call = kmod_call,
	.query = kmod_query,
	.limits = kmod_limits,
	.host_alloc = kmod_host_alloc,
	.host_free = kmod_host_free,
	.host_contains = kmod_host_contains,
	/*
	 * No host_register: the module ends a CALL's grants with its answer
	 * and has no ioctl that keeps them (registered host memory would
	 * need one: not done), so vgpu_host_register() is -EOPNOTSUPP here
	 * and copies go as before.
	 */
	.fd = kmod_fd,
};
