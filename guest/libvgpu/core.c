// SPDX-License-Identifier: MIT
/*
 * core.c - libvgpu's public API (vgpu.h): the device string, the argument
 * checks, and every op's request (args, data regions and their direction),
 * built once here and carried by a transport (private.h). Large copies are
 * split here into requests one ring slot can carry, and sent together.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"
#include "vgpu-front-logic.h"

_Static_assert(VGPU_MAX_VECTOR_ADD_ELEMS == VGPUIF_MAX_VECTOR_ADD_ELEMS, "vadd limit");
_Static_assert(VGPU_MAX_PARAM_BYTES == VGPUIF_MAX_PARAM_BYTES, "param limit");
_Static_assert(VGPU_MAX_FUNC_NAME == VGPUIF_MAX_FUNC_NAME, "name limit");
_Static_assert(VGPU_MAX_MODULE_BYTES == VGPUIF_MAX_MODULE_BYTES, "module limit");
_Static_assert(VGPU_MAX_MODULE_LOG == VGPUIF_MAX_MODULE_LOG, "log limit");
_Static_assert(VGPU_MAX_BLOCK_THREADS == VGPUIF_MAX_BLOCK_THREADS, "block limit");
_Static_assert((int)VGPU_MODULE_FATBIN == (int)VGPUIF_MODULE_FATBIN, "formats");
_Static_assert((int)VGPU_PRIO_LOW == (int)VGPUIF_PRIO_LOW, "priorities");
_Static_assert(VGPU_STREAM_NON_BLOCKING == VGPUIF_STREAM_NON_BLOCKING, "stream flags");
_Static_assert(VGPU_EVENT_BLOCKING_SYNC == VGPUIF_EVENT_BLOCKING_SYNC &&
	       VGPU_EVENT_DISABLE_TIMING == VGPUIF_EVENT_DISABLE_TIMING, "event flags");
_Static_assert(VGPU_FUNC_ATTR_CACHE_CONFIG == VGPUIF_FUNC_ATTR_CACHE_CONFIG, "cache attr");
_Static_assert(sizeof(struct vgpu_device_info) == sizeof(struct vgpuif_device_info) &&
	       offsetof(struct vgpu_device_info, total_mem) ==
	       offsetof(struct vgpuif_device_info, total_mem) &&
	       offsetof(struct vgpu_device_info, attr) ==
	       offsetof(struct vgpuif_device_info, attr) &&
	       offsetof(struct vgpu_device_info, stream_priority_least) ==
	       offsetof(struct vgpuif_device_info, stream_priority_least) &&
	       offsetof(struct vgpu_device_info, stream_priority_greatest) ==
	       offsetof(struct vgpuif_device_info, stream_priority_greatest) &&
	       VGPU_MAX_DEVICE_ATTRS == VGPUIF_MAX_DEVICE_ATTRS, "device info layout");
_Static_assert(sizeof(struct vgpu_func_info) == sizeof(struct vgpuif_func_info) &&
	       offsetof(struct vgpu_func_info, param) ==
	       offsetof(struct vgpuif_func_info, param) &&
	       VGPU_MAX_FUNC_ATTRS == VGPUIF_MAX_FUNC_ATTRS &&
	       VGPU_MAX_FUNC_PARAMS == VGPUIF_MAX_FUNC_PARAMS, "func info layout");

/*
 * Pages one copy request spans at most (4 MiB), whatever the backend
 * would take: big enough to amortise a round trip, small enough that a
 * transport bouncing through guest memory keeps several in flight.
 */
#define VGPU_CHUNK_SEGS   1024u
/* Copy chunks handed to the transport at once. */
#define VGPU_CHUNK_BATCH  16u

/* ---------------------------------------------------------------- errors */

static __thread char open_err[256];
/* The calling thread's last failure, and the handle it was on. */
static __thread const vgpu_t *err_v;
static __thread char err_buf[256];

void vgpu_set_open_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_err, sizeof(open_err), fmt, ap);
	va_end(ap);
}

void vgpu_set_error(vgpu_t *v, const char *fmt, ...)
{
	va_list ap;

	err_v = v;
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
}

const char *vgpu_open_error(void)
{
	return open_err;
}

const char *vgpu_error(const vgpu_t *v)
{
	return v && v == err_v ? err_buf : "";
}

const char *vgpu_transport_name(const vgpu_t *v)
{
	return v ? v->t->name : "?";
}

/* ---------------------------------------------------------------- open */

static vgpu_t *vgpu_new(const struct vgpu_transport *t)
{
	vgpu_t *v = calloc(1, sizeof(*v));

	if (v)
		v->t = t;
	return v;
}

int vgpu_open(const char *device, vgpu_t **out)
{
	const struct vgpu_transport *t;
	const char *spec;
	vgpu_t *v;
	int ret;

	if (!out) {
		vgpu_set_open_error("no place for the handle (out is NULL)");
		return -EINVAL;
	}
	*out = NULL;
	open_err[0] = '\0';
	if (!device)
		device = getenv("VGPU_DEVICE");
	if (!device || !*device)
		device = VGPU_DEFAULT_DEVICE;
	if (!strncmp(device, "loopback:", 9)) {
		t = &vgpu_transport_loopback;
		spec = device + 9;
	} else if (!strncmp(device, "kmod:", 5)) {
		t = &vgpu_transport_kmod;
		spec = device + 5;
	} else if (device[0] == '/') {
		t = &vgpu_transport_kmod;
		spec = device;
	} else {
		vgpu_set_open_error("'%s' names no transport (want /dev/..., "
				    "kmod:PATH or loopback:DIR?domid=N)", device);
		return -EINVAL;
	}
	v = vgpu_new(t);
	if (!v)
		return -ENOMEM;
	ret = t->open(v, spec);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

int vgpu_open_fd(int fd, vgpu_t **out)
{
	vgpu_t *v;
	int ret;

	if (fd < 0 || !out)
		return -EINVAL;
	v = vgpu_new(&vgpu_transport_kmod);
	if (!v)
		return -ENOMEM;
	ret = v->t->open_fd(v, fd);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

void vgpu_close(vgpu_t *v)
{
	if (!v)
		return;
	if (err_v == v)
		err_v = NULL;
	v->t->close(v);
	free(v);
}

int vgpu_fd(const vgpu_t *v)
{
	return v ? v->t->fd(v) : -1;
}

/* The transport's limits, fetched once (again after a failure). */
static int vgpu_limits(vgpu_t *v, struct vgpu_limits *l)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int st = 0;

	pthread_mutex_lock(&lock);
	if (!v->lim_valid) {
		st = v->t->limits(v, &v->lim);
		v->lim_valid = !st;
	}
	if (!st)
		*l = v->lim;
	pthread_mutex_unlock(&lock);
	return st;
}

/* ---------------------------------------------------------------- calls */

static void req_init(struct vgpu_req *r, uint32_t op)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
}

static void req_region(struct vgpu_req *r, const void *addr, uint64_t len,
		       uint32_t flags)
{
	struct vgpu_region *g = &r->regions[r->nr_regions++];

	g->addr = vgpu_ptr64(addr);
	g->len = len;
	g->flags = flags;
}

/* Records why a request failed, for vgpu_error(). */
static int req_failed(vgpu_t *v, const struct vgpu_req *r, int st)
{
	if (st)
		vgpu_set_error(v, "%s: %s: %s", v->t->name,
			       vgpuif_op_name(r->op), vgpu_strerror(st));
	return st;
}

/* Carries n requests; the first failure (local or the backend's). */
static int vgpu_call_n(vgpu_t *v, struct vgpu_req *r, unsigned int n)
{
	unsigned int i;
	int st;

	err_v = NULL;
	st = v->t->call(v, r, n);
	if (st) {
		/* The transport's own reason, when it gave one, says more. */
		if (err_v != v)
			req_failed(v, r, st);
		return st;
	}
	for (i = 0; i < n; i++)
		if (r[i].status)
			return req_failed(v, &r[i], r[i].status);
	return 0;
}

static int vgpu_call(vgpu_t *v, struct vgpu_req *r)
{
	return vgpu_call_n(v, r, 1);
}

/*
 * May op go to this backend? A revision-2 op (or a nonzero stream) to a
 * backend whose feature-ops does not cover it is -ENOSYS, here.
 */
static int need_op(vgpu_t *v, uint32_t op)
{
	struct vgpu_limits l;
	int st;

	if (op < VGPUIF_OP_COUNT_V1)
		return 0;
	st = vgpu_limits(v, &l);
	if (st)
		return st;
	if (op < l.ops)
		return 0;
	vgpu_set_error(v, "%s: %s: the backend serves ops 0..%u only "
		       "(revision 1)", v->t->name, vgpuif_op_name(op),
		       l.ops ? l.ops - 1 : 0);
	return -ENOSYS;
}

static int need_stream(vgpu_t *v, uint64_t stream)
{
	return stream ? need_op(v, VGPUIF_OP_STREAM_CREATE) : 0;
}

int vgpu_query(vgpu_t *v, struct vgpu_info *info)
{
	int st;

	if (!v || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	st = v->t->query(v, info);
	if (st)
		vgpu_set_error(v, "%s: GET_INFO: %s", v->t->name, vgpu_strerror(st));
	return st;
}

void vgpu_info_from_wire(struct vgpu_info *info, const struct vgpuif_info *w)
{
	info->protocol_version = w->protocol_version;
	info->executor = w->executor;
	memcpy(info->gpu_name, w->gpu_name, sizeof(info->gpu_name));
	info->gpu_name[sizeof(info->gpu_name) - 1] = '\0';
	info->total_mem = w->total_mem;
	info->free_mem = w->free_mem;
	info->mem_quota = w->mem_quota;
	info->mem_used = w->mem_used;
	info->cc_major = w->cc_major;
	info->cc_minor = w->cc_minor;
	info->sm_count = w->sm_count;
	info->copy_mode = w->copy_mode;
	info->priority = w->priority;
	info->pool = w->pool;
	info->gpu = w->gpu;
	info->domid = w->domid;
	info->max_param_bytes = w->max_param_bytes;
	info->max_handles = w->max_handles;
}

int vgpu_nop(vgpu_t *v, uint64_t *exec_ns)
{
	struct vgpu_req r;
	int st;

	if (!v)
		return -EINVAL;
	req_init(&r, VGPUIF_OP_NOP);
	st = vgpu_call(v, &r);
	if (!st && exec_ns)
		*exec_ns = r.exec_ns;
	return st;
}

int vgpu_send_op(vgpu_t *v, uint32_t op)
{
	struct vgpu_req r;

	if (!v || op > 255)
		return -EINVAL;
	if (op == VGPUIF_OP_CTX_CREATE || op == VGPUIF_OP_CTX_DESTROY)
		return -EPERM;
	req_init(&r, op);
	return vgpu_call(v, &r);
}

int vgpu_vector_add(vgpu_t *v, const float *a, const float *b, float *c, uint32_t n)
{
	struct vgpu_req r;
	uint64_t bytes = (uint64_t)n * sizeof(float);

	if (!v || !a || !b || !c || n == 0)
		return -EINVAL;
	if (n > VGPU_MAX_VECTOR_ADD_ELEMS)
		return -E2BIG;
	req_init(&r, VGPUIF_OP_VECTOR_ADD);
	r.args.vector_add.n = n;
	req_region(&r, a, bytes, 0);
	req_region(&r, b, bytes, 0);
	req_region(&r, c, bytes, VGPU_REGION_WRITE);
	return vgpu_call(v, &r);
}

int vgpu_mem_alloc(vgpu_t *v, uint64_t size, uint64_t *mem, uint64_t *dev_addr)
{
	struct vgpu_req r;
	int st;

	if (!v || !mem || size == 0)
		return -EINVAL;
	req_init(&r, VGPUIF_OP_MEM_ALLOC);
	r.args.mem_alloc.size = size;
	st = vgpu_call(v, &r);
	if (st)
		return st;
	*mem = r.result[0];
	if (dev_addr)
		*dev_addr = r.result[1];
	return 0;
}

/* An op whose args are one handle in the first word, with no data. */
static int handle_op(vgpu_t *v, uint32_t op, uint64_t handle, bool async)
{
	struct vgpu_req r;
	int st;

	if (!v)
		return -EINVAL;
	st = need_op(v, op);
	if (st)
		return st;
	req_init(&r, op);
	memcpy(&r.args, &handle, sizeof(handle));
	if (async)
		r.flags = VGPU_REQ_ASYNC;
	return vgpu_call(v, &r);
}

int vgpu_mem_free(vgpu_t *v, uint64_t mem)
{
	return handle_op(v, VGPUIF_OP_MEM_FREE, mem, false);
}

/*
 * H2D / D2H of any size, split into requests of at most VGPU_CHUNK_SEGS
 * pages, sent VGPU_CHUNK_BATCH at a time so that they travel together.
 * Async only from host memory (vgpu_host_alloc): from any other memory the
 * call returns when the host side is done with, as CUDA does for pageable
 * memory.
 */
static int copy_op(vgpu_t *v, uint32_t op, uint64_t stream, uint64_t mem,
		   uint64_t offset, const void *host, uint64_t len, bool async)
{
	uint64_t addr = vgpu_ptr64(host), done = 0;
	struct vgpu_req r[VGPU_CHUNK_BATCH];
	struct vgpu_limits l;
	int st;

	if (!v || !host || len == 0)
		return -EINVAL;
	if (offset + len < offset || addr + len < addr)
		return -EINVAL;
	st = need_stream(v, stream);
	if (!st)
		st = vgpu_limits(v, &l);
	if (st)
		return st;
	if (async && v->t->host_contains(v, host, len) != 1)
		async = false;
	while (done < len) {
		unsigned int n;

		for (n = 0; n < VGPU_CHUNK_BATCH && done < len; n++) {
			uint32_t segs = l.max_segs < VGPU_CHUNK_SEGS ? l.max_segs :
					VGPU_CHUNK_SEGS;
			uint64_t chunk = vgpufront_chunk_len(addr + done, len - done,
							     segs);
			/* registered memory: no segments, cut at region ends */
			uint64_t span = v->t->host_reg_span ?
					v->t->host_reg_span(v, (const void *)(uintptr_t)
							    (addr + done), len - done) : 0;

			if (span)
				chunk = span < VGPUIF_MAX_REQUEST_BYTES ? span :
					VGPUIF_MAX_REQUEST_BYTES;

			req_init(&r[n], op);
			r[n].flags = async ? VGPU_REQ_ASYNC : 0;
			r[n].args.memcpy.mem = mem;
			r[n].args.memcpy.offset = offset + done;
			r[n].args.memcpy.length = chunk;
			r[n].args.memcpy.stream = stream;
			req_region(&r[n], (const void *)(uintptr_t)(addr + done), chunk,
				   op == VGPUIF_OP_MEMCPY_D2H ? VGPU_REGION_WRITE : 0);
			done += chunk;
		}
		st = vgpu_call_n(v, r, n);
		if (st)
			return st;
	}
	return 0;
}

int vgpu_memcpy_h2d(vgpu_t *v, uint64_t mem, uint64_t offset, const void *src, uint64_t len)
{
	return copy_op(v, VGPUIF_OP_MEMCPY_H2D, 0, mem, offset, src, len, false);
}

int vgpu_memcpy_d2h(vgpu_t *v, void *dst, uint64_t mem, uint64_t offset, uint64_t len)
{
	return copy_op(v, VGPUIF_OP_MEMCPY_D2H, 0, mem, offset, dst, len, false);
}

int vgpu_memcpy_h2d_async(vgpu_t *v, uint64_t stream, uint64_t mem, uint64_t offset,
			  const void *src, uint64_t len)
{
	return copy_op(v, VGPUIF_OP_MEMCPY_H2D, stream, mem, offset, src, len, true);
}

int vgpu_memcpy_d2h_async(vgpu_t *v, uint64_t stream, void *dst, uint64_t mem,
			  uint64_t offset, uint64_t len)
{
	return copy_op(v, VGPUIF_OP_MEMCPY_D2H, stream, mem, offset, dst, len, true);
}

int vgpu_memcpy_d2d_async(vgpu_t *v, uint64_t stream, uint64_t dst, uint64_t dst_offset,
			  uint64_t src, uint64_t src_offset, uint64_t len)
{
	struct vgpu_req r;
	int st;

	if (!v || len == 0)
		return -EINVAL;
	if (dst_offset + len < dst_offset || src_offset + len < src_offset)
		return -EINVAL;
	st = need_stream(v, stream);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_MEMCPY_D2D);
	r.flags = VGPU_REQ_ASYNC;
	r.args.memcpy_d2d.dst_mem = dst;
	r.args.memcpy_d2d.dst_offset = dst_offset;
	r.args.memcpy_d2d.src_mem = src;
	r.args.memcpy_d2d.src_offset = src_offset;
	r.args.memcpy_d2d.length = len;
	r.args.memcpy_d2d.stream = stream;
	return vgpu_call(v, &r);
}

int vgpu_memcpy_d2d(vgpu_t *v, uint64_t dst, uint64_t dst_offset, uint64_t src,
		    uint64_t src_offset, uint64_t len)
{
	return vgpu_memcpy_d2d_async(v, 0, dst, dst_offset, src, src_offset, len);
}

int vgpu_memset_async(vgpu_t *v, uint64_t stream, uint64_t mem, uint64_t offset,
		      uint32_t value, uint32_t elem_size, uint64_t len)
{
	struct vgpu_req r;
	int st;

	if (!v || len == 0)
		return -EINVAL;
	if (elem_size != 1 && elem_size != 2 && elem_size != 4)
		return -EINVAL;
	if (len % elem_size || offset % elem_size || offset + len < offset)
		return -EINVAL;
	st = need_stream(v, stream);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_MEMSET);
	r.flags = VGPU_REQ_ASYNC;
	r.args.memset.mem = mem;
	r.args.memset.offset = offset;
	r.args.memset.length = len;
	r.args.memset.value = value;
	r.args.memset.elem_size = elem_size;
	r.args.memset.stream = stream;
	return vgpu_call(v, &r);
}

int vgpu_memset(vgpu_t *v, uint64_t mem, uint64_t offset, uint32_t value,
		uint32_t elem_size, uint64_t len)
{
	return vgpu_memset_async(v, 0, mem, offset, value, elem_size, len);
}

int vgpu_module_load(vgpu_t *v, const void *image, size_t image_len,
		     enum vgpu_module_format format, char *log, size_t log_len,
		     uint64_t *module, size_t *log_written)
{
	struct vgpu_req r;
	int st;

	if (!v || !image || image_len == 0 || !module || (log_len && !log))
		return -EINVAL;
	if ((unsigned int)format > VGPU_MODULE_FATBIN)
		return -EINVAL;
	if (image_len > VGPU_MAX_MODULE_BYTES || log_len > VGPU_MAX_MODULE_LOG)
		return -E2BIG;
	req_init(&r, VGPUIF_OP_MODULE_LOAD);
	r.args.module_load.image_len = image_len;
	r.args.module_load.format = format;
	r.args.module_load.log_len = (uint32_t)log_len;
	req_region(&r, image, image_len, 0);
	if (log_len)
		req_region(&r, log, log_len, VGPU_REGION_WRITE);
	st = vgpu_call(v, &r);
	if (log && log_len)
		log[log_len - 1] = '\0';
	if (log_written)
		*log_written = st && st != -ENOEXEC ? 0 :
			       (size_t)(r.result[1] < log_len ? r.result[1] : log_len);
	if (!st)
		*module = r.result[0];
	return st;
}

int vgpu_module_unload(vgpu_t *v, uint64_t module)
{
	return handle_op(v, VGPUIF_OP_MODULE_UNLOAD, module, false);
}

/* A name's length, checked against limit: -EINVAL empty, -E2BIG too long. */
static int name_len(const char *name, size_t limit, uint32_t *len)
{
	size_t n = strnlen(name, limit + 1);

	if (n == 0)
		return -EINVAL;
	if (n > limit)
		return -E2BIG;
	*len = (uint32_t)n;
	return 0;
}

int vgpu_func_get(vgpu_t *v, uint64_t module, const char *name, uint64_t *func,
		  uint64_t *param_bytes)
{
	struct vgpu_req r;
	uint32_t len;
	int st;

	if (!v || !name || !func)
		return -EINVAL;
	st = name_len(name, VGPU_MAX_FUNC_NAME, &len);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_FUNC_GET);
	r.args.func_get.module = module;
	r.args.func_get.name_len = len;
	req_region(&r, name, len, VGPU_REGION_COPY);
	st = vgpu_call(v, &r);
	if (st)
		return st;
	*func = r.result[0];
	if (param_bytes)
		*param_bytes = r.result[1];
	return 0;
}

int vgpu_launch_async(vgpu_t *v, const struct vgpu_launch_cfg *c)
{
	struct vgpu_req r;
	int i, st;

	if (!v || !c || (c->param_len && !c->params))
		return -EINVAL;
	for (i = 0; i < 3; i++)
		if (c->grid[i] == 0 || c->block[i] == 0)
			return -EINVAL;
	if ((uint64_t)c->block[0] * c->block[1] * c->block[2] > VGPU_MAX_BLOCK_THREADS)
		return -EINVAL;
	if (c->param_len > VGPU_MAX_PARAM_BYTES)
		return -E2BIG;
	st = need_stream(v, c->stream);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_LAUNCH);
	r.flags = VGPU_REQ_ASYNC;
	r.args.launch.func = c->func;
	memcpy(r.args.launch.grid, c->grid, sizeof(r.args.launch.grid));
	memcpy(r.args.launch.block, c->block, sizeof(r.args.launch.block));
	r.args.launch.shared_mem = c->shared_mem;
	r.args.launch.param_len = (uint32_t)c->param_len;
	r.args.launch.stream = c->stream;
	if (c->param_len)
		req_region(&r, c->params, c->param_len, VGPU_REGION_COPY);
	return vgpu_call(v, &r);
}

int vgpu_launch(vgpu_t *v, uint64_t func, const uint32_t grid[3], const uint32_t block[3],
		uint32_t shared_mem, const void *params, size_t param_len)
{
	struct vgpu_launch_cfg c = {
		.func = func, .shared_mem = shared_mem,
		.params = params, .param_len = param_len,
	};

	if (!grid || !block)
		return -EINVAL;
	memcpy(c.grid, grid, sizeof(c.grid));
	memcpy(c.block, block, sizeof(c.block));
	return vgpu_launch_async(v, &c);
}

int vgpu_sync(vgpu_t *v)
{
	struct vgpu_req r;

	if (!v)
		return -EINVAL;
	req_init(&r, VGPUIF_OP_SYNC);
	return vgpu_call(v, &r);
}

/* ------------------------------------------------------------ revision 2 */

int vgpu_device_info(vgpu_t *v, struct vgpu_device_info *info)
{
	struct vgpuif_device_info w;
	struct vgpu_req r;
	int st;

	if (!v || !info)
		return -EINVAL;
	st = need_op(v, VGPUIF_OP_DEVICE_INFO);
	if (st)
		return st;
	memset(&w, 0, sizeof(w));
	req_init(&r, VGPUIF_OP_DEVICE_INFO);
	req_region(&r, &w, sizeof(w), VGPU_REGION_WRITE);
	st = vgpu_call(v, &r);
	if (st)
		return st;
	memcpy(info, &w, sizeof(*info));
	info->name[sizeof(info->name) - 1] = '\0';
	if (info->nr_attrs > VGPU_MAX_DEVICE_ATTRS)
		info->nr_attrs = VGPU_MAX_DEVICE_ATTRS;
	return 0;
}

/* A creating op: result[0] is the new handle, never 0. */
static int create_op(vgpu_t *v, struct vgpu_req *r, uint64_t *out)
{
	int st = need_op(v, r->op);

	if (!st)
		st = vgpu_call(v, r);
	if (st)
		return st;
	if (r->result[0] == 0) {
		vgpu_set_error(v, "%s: %s: the backend returned handle 0",
			       v->t->name, vgpuif_op_name(r->op));
		return -EIO;
	}
	*out = r->result[0];
	return 0;
}

int vgpu_stream_create(vgpu_t *v, uint32_t flags, int32_t priority, uint64_t *stream)
{
	struct vgpu_req r;

	if (!v || !stream || (flags & ~VGPU_STREAM_NON_BLOCKING))
		return -EINVAL;
	req_init(&r, VGPUIF_OP_STREAM_CREATE);
	r.args.stream_create.flags = flags;
	r.args.stream_create.priority = priority;
	return create_op(v, &r, stream);
}

int vgpu_stream_destroy(vgpu_t *v, uint64_t stream)
{
	if (stream == 0)
		return -EINVAL;
	return handle_op(v, VGPUIF_OP_STREAM_DESTROY, stream, false);
}

int vgpu_stream_sync(vgpu_t *v, uint64_t stream)
{
	return handle_op(v, VGPUIF_OP_STREAM_SYNC, stream, false);
}

/* An op answering at once with result[0] = 1 done, 0 busy. */
static int query_op(vgpu_t *v, uint32_t op, uint64_t handle)
{
	struct vgpu_req r;
	int st;

	if (!v)
		return -EINVAL;
	st = need_op(v, op);
	if (st)
		return st;
	req_init(&r, op);
	memcpy(&r.args, &handle, sizeof(handle));
	st = vgpu_call(v, &r);
	if (st)
		return st;
	return r.result[0] ? 0 : -EBUSY;
}

int vgpu_stream_query(vgpu_t *v, uint64_t stream)
{
	return query_op(v, VGPUIF_OP_STREAM_QUERY, stream);
}

int vgpu_stream_wait_event(vgpu_t *v, uint64_t stream, uint64_t event)
{
	struct vgpu_req r;
	int st;

	if (!v || event == 0)
		return -EINVAL;
	st = need_op(v, VGPUIF_OP_STREAM_WAIT_EVENT);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_STREAM_WAIT_EVENT);
	r.flags = VGPU_REQ_ASYNC;
	r.args.stream.stream = stream;
	r.args.stream.event = event;
	return vgpu_call(v, &r);
}

int vgpu_event_create(vgpu_t *v, uint32_t flags, uint64_t *event)
{
	struct vgpu_req r;

	if (!v || !event || (flags & ~(uint32_t)VGPUIF_EVENT_F_ALL))
		return -EINVAL;
	req_init(&r, VGPUIF_OP_EVENT_CREATE);
	r.args.event_create.flags = flags;
	return create_op(v, &r, event);
}

int vgpu_event_destroy(vgpu_t *v, uint64_t event)
{
	if (event == 0)
		return -EINVAL;
	return handle_op(v, VGPUIF_OP_EVENT_DESTROY, event, false);
}

int vgpu_event_record(vgpu_t *v, uint64_t event, uint64_t stream)
{
	struct vgpu_req r;
	int st;

	if (!v || event == 0)
		return -EINVAL;
	st = need_op(v, VGPUIF_OP_EVENT_RECORD);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_EVENT_RECORD);
	r.flags = VGPU_REQ_ASYNC;
	r.args.event.event = event;
	r.args.event.stream = stream;
	return vgpu_call(v, &r);
}

int vgpu_event_sync(vgpu_t *v, uint64_t event)
{
	if (event == 0)
		return -EINVAL;
	return handle_op(v, VGPUIF_OP_EVENT_SYNC, event, false);
}

int vgpu_event_query(vgpu_t *v, uint64_t event)
{
	if (event == 0)
		return -EINVAL;
	return query_op(v, VGPUIF_OP_EVENT_QUERY, event);
}

int vgpu_event_elapsed(vgpu_t *v, uint64_t start, uint64_t end, float *ms)
{
	struct vgpu_req r;
	uint32_t bits;
	int st;

	if (!v || !ms || start == 0 || end == 0)
		return -EINVAL;
	st = need_op(v, VGPUIF_OP_EVENT_ELAPSED);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_EVENT_ELAPSED);
	r.args.event.event = start;
	r.args.event.end = end;
	st = vgpu_call(v, &r);
	if (st)
		return st;
	bits = (uint32_t)r.result[0];
	memcpy(ms, &bits, sizeof(*ms));
	return 0;
}

int vgpu_func_info(vgpu_t *v, uint64_t func, struct vgpu_func_info *info)
{
	struct vgpuif_func_info w;
	struct vgpu_req r;
	int st;

	if (!v || !info)
		return -EINVAL;
	st = need_op(v, VGPUIF_OP_FUNC_INFO);
	if (st)
		return st;
	memset(&w, 0, sizeof(w));
	req_init(&r, VGPUIF_OP_FUNC_INFO);
	r.args.func.func = func;
	req_region(&r, &w, sizeof(w), VGPU_REGION_WRITE);
	st = vgpu_call(v, &r);
	if (st)
		return st;
	if (w.nr_params > VGPU_MAX_FUNC_PARAMS)
		w.nr_params = VGPU_MAX_FUNC_PARAMS;
	memcpy(info, &w, sizeof(*info));
	return 0;
}

int vgpu_func_set_attr(vgpu_t *v, uint64_t func, uint32_t attr, int32_t value)
{
	struct vgpu_req r;
	int st;

	if (!v)
		return -EINVAL;
	st = need_op(v, VGPUIF_OP_FUNC_SET_ATTR);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_FUNC_SET_ATTR);
	r.args.func.func = func;
	r.args.func.attr = attr;
	r.args.func.value = value;
	return vgpu_call(v, &r);
}

int vgpu_module_global(vgpu_t *v, uint64_t module, const char *name, uint64_t *mem,
		       uint64_t *dev_addr, uint64_t *size)
{
	uint64_t out[2] = { 0, 0 };
	struct vgpu_req r;
	uint32_t len;
	int st;

	if (!v || !name)
		return -EINVAL;
	st = name_len(name, VGPUIF_MAX_GLOBAL_NAME, &len);
	if (!st)
		st = need_op(v, VGPUIF_OP_MODULE_GLOBAL);
	if (st)
		return st;
	req_init(&r, VGPUIF_OP_MODULE_GLOBAL);
	r.args.module_global.module = module;
	r.args.module_global.name_len = len;
	req_region(&r, name, len, VGPU_REGION_COPY);
	req_region(&r, out, sizeof(out), VGPU_REGION_WRITE);
	st = vgpu_call(v, &r);
	if (st)
		return st;
	if (mem)
		*mem = r.result[0];
	if (dev_addr)
		*dev_addr = out[0];
	if (size)
		*size = out[1];
	return 0;
}

/* ---------------------------------------------------------- host memory */

int vgpu_host_alloc(vgpu_t *v, size_t size, void **ptr)
{
	int st;

	if (!v || !ptr || size == 0)
		return -EINVAL;
	*ptr = NULL;
	st = v->t->host_alloc(v, size, ptr);
	if (st)
		vgpu_set_error(v, "%s: host memory of %zu bytes: %s", v->t->name,
			       size, vgpu_strerror(st));
	return st;
}

int vgpu_host_free(vgpu_t *v, void *ptr)
{
	if (!v)
		return -EINVAL;
	if (!ptr)
		return 0;
	return v->t->host_free(v, ptr);
}

int vgpu_host_contains(vgpu_t *v, const void *p, size_t len)
{
	if (!v || !p || len == 0)
		return 0;
	return v->t->host_contains(v, p, len) == 1;
}

int vgpu_host_register(vgpu_t *v, void *p, size_t len, uint32_t flags)
{
	int st;

	if (!v || !p || len == 0 || (flags & ~VGPU_HOST_READ_ONLY) ||
	    (uintptr_t)p + len < (uintptr_t)p)
		return -EINVAL;
	if (!v->t->host_register)
		return -EOPNOTSUPP;
	st = v->t->host_register(v, p, len, flags);
	if (st && st != -EOPNOTSUPP)
		vgpu_set_error(v, "%s: registering %zu bytes of host memory: %s",
			       v->t->name, len, vgpu_strerror(st));
	return st;
}

int vgpu_host_unregister(vgpu_t *v, void *p)
{
	if (!v || !p)
		return -EINVAL;
	if (!v->t->host_unregister)
		return -EOPNOTSUPP;
	return v->t->host_unregister(v, p);
}

/* --------------------------------------------------------------- strings */

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
	case -ECONNREFUSED:
		return "the backend refused the connection (see its log)";
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
