/* SPDX-License-Identifier: MIT */
/*
 * vgpu.h - libvgpu, the C API of a vgpu-xen guest.
 *
 * One API over two transports (chosen at run time, never at build time):
 *   kmod      ioctls on /dev/vgpu_stub (vgpu-front.ko, inside a Xen guest)
 *   loopback  a userspace frontend in this process speaking the same wire
 *             protocol over the loopback world (loopback-xen/), acting as
 *             guest domain N: for machines without Xen
 * A vgpu_t is one GPU context in the backend: its memory, modules,
 * functions, streams and events are freed when it is closed, or when the
 * process dies. One vgpu_t may be used by several threads at once.
 *
 * Errno contract: every call returning int returns 0 on success or a negative
 * errno value; vgpu_strerror() turns it into a message. Arguments are checked
 * before anything is sent (-EINVAL for a NULL pointer, a zero size or a bad
 * flag, -E2BIG for a size above the protocol's limits); the errors of the
 * backend are listed in ring/vgpuif.h (VGPUIF_RSP_*), and the module's in
 * frontend-kmod/uapi/vgpu_stub.h. vgpu_launch(), vgpu_memset() and
 * vgpu_memcpy_d2d() return once the work is queued; their errors come back
 * from the next vgpu_sync().
 */
#ifndef VGPU_H
#define VGPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VGPU_DEFAULT_DEVICE       "/dev/vgpu_stub"
#define VGPU_MAX_VECTOR_ADD_ELEMS (1u << 20)
#define VGPU_MAX_PARAM_BYTES      4096u
#define VGPU_MAX_FUNC_NAME        1024u
#define VGPU_MAX_MODULE_BYTES     (16u * 1024u * 1024u)
#define VGPU_MAX_MODULE_LOG       (64u * 1024u)
#define VGPU_MAX_BLOCK_THREADS    1024u

typedef struct vgpu vgpu_t;

enum vgpu_executor { VGPU_EXECUTOR_CPU = 1, VGPU_EXECUTOR_CUDA = 2 };
enum vgpu_priority { VGPU_PRIO_HIGH = 0, VGPU_PRIO_MEDIUM = 1, VGPU_PRIO_LOW = 2 };
enum vgpu_module_format {
	VGPU_MODULE_AUTO = 0, VGPU_MODULE_PTX = 1, VGPU_MODULE_CUBIN = 2,
	VGPU_MODULE_FATBIN = 3
};

/* What vgpu_query() reports. */
struct vgpu_info {
	uint32_t protocol_version;
	uint32_t executor;          /* enum vgpu_executor               */
	char     gpu_name[64];
	uint64_t total_mem;         /* bytes                            */
	uint64_t free_mem;
	uint64_t mem_quota;         /* this domain's quota, 0 = none    */
	uint64_t mem_used;
	uint32_t cc_major, cc_minor;
	uint32_t sm_count;
	uint32_t copy_mode;         /* 1 staged, 2 zero-copy, 3 host    */
	uint32_t priority;          /* enum vgpu_priority, set by dom0  */
	uint32_t pool;              /* GPU pool, set by dom0            */
	uint32_t domid;
	uint32_t max_segments;      /* pages per request                */
	uint32_t max_param_bytes;
	uint32_t max_handles;
	uint32_t ring_pages;
	uint32_t ring_slots;
	uint32_t devid;
	uint64_t generation;        /* connections made (backend resets) */
	uint64_t ctx;               /* this handle's context in dom0    */
	uint32_t ops;               /* feature-ops: opcodes served (16 for
				     * a revision-1 backend)            */
	uint32_t inline_bytes;      /* VGPUIF_F_INLINE bytes, 0 = none  */
	uint32_t gpu;               /* dom0's GPU ordinal serving this
				     * domain, placed by dom0 within its
				     * pool (0 from an older backend)   */
};

/*
 * Opens a device. device names the transport:
 *   NULL                      $VGPU_DEVICE if set, else VGPU_DEFAULT_DEVICE
 *   "/dev/..." or "kmod:PATH" the kmod transport on that device node
 *   "loopback:DIR?domid=N[&devid=M][&timeout_ms=T]"
 *                             the loopback transport, as guest domain N of
 *                             the world in DIR ("loopback:?domid=N": the
 *                             default world, $VGPU_LOOPBACK_DIR)
 * A missing device is -ENODEV, a string that names no transport -EINVAL;
 * vgpu_open_error() says why in words, naming the transport ("loopback: no
 * loopback world at /x", "loopback: domain 3 has no vgpu device",
 * "loopback: backend not connected (state 2) after 5000 ms").
 */
int vgpu_open(const char *device, vgpu_t **out);
/* Why the calling thread's last vgpu_open() failed ("" after a success). */
const char *vgpu_open_error(void);
/* "kmod" or "loopback"; "?" for NULL. */
const char *vgpu_transport_name(const vgpu_t *v);
/*
 * A line about the calling thread's last failure on this handle, naming
 * the transport, the op and the reason ("" when its last call on v
 * succeeded or it made none). Per thread, like errno.
 */
const char *vgpu_error(const vgpu_t *v);
/* Wraps an open /dev/vgpu_stub descriptor (kmod transport; closed by
 * vgpu_close()). */
int vgpu_open_fd(int fd, vgpu_t **out);
/* Closes; NULL is allowed. Everything the context held is freed in dom0. */
void vgpu_close(vgpu_t *v);
/* The kmod transport's file descriptor, for tests; -1 for NULL or loopback. */
int vgpu_fd(const vgpu_t *v);

int vgpu_query(vgpu_t *v, struct vgpu_info *info);
/* A round trip; *exec_ns (may be NULL) is the backend's time. */
int vgpu_nop(vgpu_t *v, uint64_t *exec_ns);
/* c[i] = a[i] + b[i], 1 <= n <= VGPU_MAX_VECTOR_ADD_ELEMS. */
int vgpu_vector_add(vgpu_t *v, const float *a, const float *b, float *c, uint32_t n);

int vgpu_mem_alloc(vgpu_t *v, uint64_t size, uint64_t *mem, uint64_t *dev_addr);
int vgpu_mem_free(vgpu_t *v, uint64_t mem);
/* Copies of any size and alignment; they return when done. */
int vgpu_memcpy_h2d(vgpu_t *v, uint64_t mem, uint64_t offset, const void *src, uint64_t len);
int vgpu_memcpy_d2h(vgpu_t *v, void *dst, uint64_t mem, uint64_t offset, uint64_t len);
/* Queued: errors at the next vgpu_sync(). */
int vgpu_memcpy_d2d(vgpu_t *v, uint64_t dst, uint64_t dst_offset, uint64_t src,
		    uint64_t src_offset, uint64_t len);
int vgpu_memset(vgpu_t *v, uint64_t mem, uint64_t offset, uint32_t value,
		uint32_t elem_size, uint64_t len);

/*
 * Loads a module image (PTX text including its NUL, cubin or fatbin). log
 * (may be NULL with log_len 0) receives the loader's log; *log_written (may
 * be NULL) its length.
 */
int vgpu_module_load(vgpu_t *v, const void *image, size_t image_len,
		     enum vgpu_module_format format, char *log, size_t log_len,
		     uint64_t *module, size_t *log_written);
int vgpu_module_unload(vgpu_t *v, uint64_t module);
/* A kernel by its (mangled) name; *param_bytes (may be NULL) 0 if unknown. */
int vgpu_func_get(vgpu_t *v, uint64_t module, const char *name, uint64_t *func,
		  uint64_t *param_bytes);
/* Queued: errors at the next vgpu_sync(). */
int vgpu_launch(vgpu_t *v, uint64_t func, const uint32_t grid[3], const uint32_t block[3],
		uint32_t shared_mem, const void *params, size_t param_len);
/* Waits for all work of this handle; returns the first queued error, if any. */
int vgpu_sync(vgpu_t *v);
/*
 * Sends opcode op (0..255) with zero arguments and no data, and returns
 * the backend's answer: the original prototype's "invalid command" test
 * (an op the backend does not serve must come back -ENOSYS, and the handle
 * stays usable). CTX_CREATE and CTX_DESTROY are the transport's: -EPERM.
 */
int vgpu_send_op(vgpu_t *v, uint32_t op);

/* ------------------------------------------------ revision 2 (CUDA) */
/*
 * What a CUDA driver library needs. Each returns -ENOSYS when the backend
 * does not serve the op (vgpu_info.ops). Streams and events are handles of
 * this vgpu_t, like memory; stream 0 is the context's default stream, with
 * CUDA's legacy semantics against the context's blocking streams.
 *
 * Asynchronous calls (the *_async copies, vgpu_launch_async, memsets,
 * event records, stream waits) return once the request is queued; their
 * errors come back, in order, from the next vgpu_stream_sync() of that
 * stream, vgpu_event_sync() of a later event, or vgpu_sync(). A copy's host
 * side is truly asynchronous only for host memory from vgpu_host_alloc();
 * from any other memory the call returns when the host side is done with
 * (as CUDA does for pageable memory).
 */

/* One snapshot of dom0's device (ring/vgpuif.h, struct vgpuif_device_info). */
#define VGPU_MAX_DEVICE_ATTRS 256u
struct vgpu_device_info {
	uint32_t version;
	uint32_t driver_version;    /* dom0's CUDA driver, e.g. 13000; 0 cpu */
	uint32_t nr_attrs;
	uint32_t ordinal;
	uint8_t  uuid[16];
	char     name[256];
	uint64_t total_mem;
	uint32_t attr_valid[VGPU_MAX_DEVICE_ATTRS / 32];
	int32_t  attr[VGPU_MAX_DEVICE_ATTRS]; /* by CUdevice_attribute   */
	/* cuCtxGetStreamPriorityRange of dom0's device (greatest <= least);
	 * 0 and 0 from a backend that does not fill them (reserved then). */
	int32_t  stream_priority_least;
	int32_t  stream_priority_greatest;
	uint8_t  reserved[24];
};
int vgpu_device_info(vgpu_t *v, struct vgpu_device_info *info);

/* flags: VGPU_STREAM_NON_BLOCKING; priority as CUDA's. */
#define VGPU_STREAM_NON_BLOCKING 0x1u
int vgpu_stream_create(vgpu_t *v, uint32_t flags, int32_t priority, uint64_t *stream);
int vgpu_stream_destroy(vgpu_t *v, uint64_t stream);
int vgpu_stream_sync(vgpu_t *v, uint64_t stream);
/* 0 when all work queued on stream is done, -EBUSY while some is not. */
int vgpu_stream_query(vgpu_t *v, uint64_t stream);
int vgpu_stream_wait_event(vgpu_t *v, uint64_t stream, uint64_t event);

#define VGPU_EVENT_BLOCKING_SYNC  0x1u
#define VGPU_EVENT_DISABLE_TIMING 0x2u
int vgpu_event_create(vgpu_t *v, uint32_t flags, uint64_t *event);
int vgpu_event_destroy(vgpu_t *v, uint64_t event);
int vgpu_event_record(vgpu_t *v, uint64_t event, uint64_t stream);
int vgpu_event_sync(vgpu_t *v, uint64_t event);
/* 0 when done, -EBUSY while pending. */
int vgpu_event_query(vgpu_t *v, uint64_t event);
/* -EBUSY while either is pending. */
int vgpu_event_elapsed(vgpu_t *v, uint64_t start, uint64_t end, float *ms);

int vgpu_memcpy_h2d_async(vgpu_t *v, uint64_t stream, uint64_t mem, uint64_t offset,
			  const void *src, uint64_t len);
int vgpu_memcpy_d2h_async(vgpu_t *v, uint64_t stream, void *dst, uint64_t mem,
			  uint64_t offset, uint64_t len);
int vgpu_memcpy_d2d_async(vgpu_t *v, uint64_t stream, uint64_t dst, uint64_t dst_offset,
			  uint64_t src, uint64_t src_offset, uint64_t len);
int vgpu_memset_async(vgpu_t *v, uint64_t stream, uint64_t mem, uint64_t offset,
		      uint32_t value, uint32_t elem_size, uint64_t len);

struct vgpu_launch_cfg {
	uint64_t    func;
	uint32_t    grid[3];
	uint32_t    block[3];
	uint32_t    shared_mem;
	uint64_t    stream;
	const void *params;         /* the packed parameter buffer        */
	size_t      param_len;      /* small ones travel inline            */
};
int vgpu_launch_async(vgpu_t *v, const struct vgpu_launch_cfg *cfg);

/* What dom0's driver reports of a kernel (struct vgpuif_func_info). */
#define VGPU_MAX_FUNC_ATTRS  32u
#define VGPU_MAX_FUNC_PARAMS 480u
struct vgpu_func_info {
	uint32_t nr_params;
	uint32_t param_bytes;
	uint32_t attr_valid;
	uint32_t _pad0;
	int32_t  attr[VGPU_MAX_FUNC_ATTRS];   /* by CUfunction_attribute  */
	struct { uint32_t offset, size; } param[VGPU_MAX_FUNC_PARAMS];
};
int vgpu_func_info(vgpu_t *v, uint64_t func, struct vgpu_func_info *info);
/* attr: a CUfunction_attribute, or VGPU_FUNC_ATTR_CACHE_CONFIG. */
#define VGPU_FUNC_ATTR_CACHE_CONFIG 0x100u
int vgpu_func_set_attr(vgpu_t *v, uint64_t func, uint32_t attr, int32_t value);
/*
 * A module's __device__/__constant__ variable by name: *mem (a memory
 * handle for copies and memsets, freed with its module), *dev_addr, *size
 * (each may be NULL). -ENOENT when there is none.
 */
int vgpu_module_global(vgpu_t *v, uint64_t module, const char *name, uint64_t *mem,
		       uint64_t *dev_addr, uint64_t *size);

/*
 * Host memory the transport hands to dom0 without a copy in the guest
 * (pinned; page-aligned): copies from and to it are truly asynchronous and,
 * where dom0 allows, DMA straight from these pages. Usable with every
 * vgpu_t of the same device in this process; valid until vgpu_host_free().
 */
int vgpu_host_alloc(vgpu_t *v, size_t size, void **ptr);
int vgpu_host_free(vgpu_t *v, void *ptr);
/* 1 when [p, p + len) lies inside one vgpu_host_alloc() block, else 0. */
int vgpu_host_contains(vgpu_t *v, const void *p, size_t len);
/*
 * Register pinned host memory with dom0 once (protocol revision 3, the
 * backend's feature-host-mem): its pages are granted and mapped for as
 * long as it stays registered, and copies from and to it name the
 * registration instead of carrying its pages each time; where dom0's
 * executor can, they DMA straight from these pages (vgpu_info.copy_mode
 * says zero-copy). [p, p + len) is taken in whole pages. Returns 0, or
 * -EOPNOTSUPP (a backend without the feature, the kmod transport: the
 * module has no ioctl for it; copies then go as before), -EINVAL (memory
 * the transport cannot grant for good: on the loopback transport only
 * vgpu_host_alloc() memory), -EEXIST (overlaps a registration), or the
 * backend's status. vgpu_host_free() unregisters what lies in its block.
 * VGPU_HOST_READ_ONLY: dom0 only reads it (copies to the device only).
 */
#define VGPU_HOST_READ_ONLY 0x1u
int vgpu_host_register(vgpu_t *v, void *p, size_t len, uint32_t flags);
/* Unregister what vgpu_host_register(p, ...) registered; -EINVAL if none. */
int vgpu_host_unregister(vgpu_t *v, void *p);

/* A message for a return value of this library (never NULL). */
const char *vgpu_strerror(int err);
/* "high", "medium", "low" or "?"; "cpu", "cuda" or "?". */
const char *vgpu_priority_name(uint32_t priority);
const char *vgpu_executor_name(uint32_t executor);

#ifdef __cplusplus
}
#endif

#endif /* VGPU_H */
