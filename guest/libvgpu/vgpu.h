/* SPDX-License-Identifier: MIT */
/*
 * vgpu.h - libvgpu, the C API of a vgpu-xen guest over /dev/vgpu_stub.
 *
 * A vgpu_t is one open device file, i.e. one GPU context in the backend: its
 * memory, modules and functions are freed when it is closed, or when the
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
};

/* Opens path (NULL: VGPU_DEFAULT_DEVICE). A missing device is -ENODEV. */
int vgpu_open(const char *path, vgpu_t **out);
/* Wraps an open file descriptor (it is closed by vgpu_close()). */
int vgpu_open_fd(int fd, vgpu_t **out);
/* Closes; NULL is allowed. Everything the context held is freed in dom0. */
void vgpu_close(vgpu_t *v);
/* The file descriptor, for poll-free integrations and tests; -1 for NULL. */
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

/* A message for a return value of this library (never NULL). */
const char *vgpu_strerror(int err);
/* "high", "medium", "low" or "?"; "cpu", "cuda" or "?". */
const char *vgpu_priority_name(uint32_t priority);
const char *vgpu_executor_name(uint32_t executor);

#ifdef __cplusplus
}
#endif

#endif /* VGPU_H */
