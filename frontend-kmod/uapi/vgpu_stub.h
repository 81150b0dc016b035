/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * vgpu_stub.h - the ioctl ABI of /dev/vgpu_stub (vgpu-front.ko).
 *
 * One open file is one guest GPU context: the first ioctl that needs one
 * creates it in the backend (CTX_CREATE; open() itself never waits for the
 * backend), close() (or the process's death) destroys it with every GPU
 * resource it holds (CTX_DESTROY). Every ioctl maps onto one op of the wire
 * protocol (ring/vgpuif.h); handles (memory, modules, functions) are the
 * backend's opaque 64-bit handles and are valid only in the file that made
 * them.
 *
 * Return values: 0, or -1 with errno set. errno is a Linux errno value; the
 * ones the backend returns are listed in ring/vgpuif.h (VGPUIF_RSP_*), the
 * module adds:
 *   ENODEV     no vgpu device bound, or it went away
 *   EIO        the backend went away or restarted while the request was in
 *              flight, or it broke the protocol (device marked broken)
 *   EINTR      a signal arrived while waiting for the answer; the request may
 *              still run (the pages stay pinned and granted until it ends)
 *   ERESTARTSYS (seen as EINTR) a signal arrived before the request was sent
 *   EFAULT     a user pointer is bad
 *   EINVAL     a reserved or padding field is not zero, or a bad argument
 *   E2BIG      the request needs more segments than the backend accepts
 *   ENOTCONN   no backend connected within the module's connect_timeout_ms
 *              (default 10 s): none was started, or it died (its supervisor
 *              marks the device closed) and no new one came
 *   ETIMEDOUT  (from the backend) a kernel ran past the watchdog's limit
 *   ENOTTY     unknown ioctl
 *
 * Completion: QUERY, NOP, VECTOR_ADD, MEM_*, MEMCPY_H2D/D2H, MODULE_*,
 * FUNC_GET and SYNC return when the backend has answered. LAUNCH, MEMSET and
 * MEMCPY_D2D return as soon as the request is on the ring; their errors are
 * reported by the next SYNC of the same file (the first one, then cleared),
 * as CUDA reports asynchronous errors.
 *
 * CALL (ABI 2) carries any op of the wire protocol, revision 2 included:
 * the op, its args exactly as union vgpuif_args lays them out, and up to
 * VGPU_STUB_MAX_REGIONS user regions that, in order, form the request's
 * data stream. The module fills in the context, pins and grants the
 * regions (writable when the backend writes them), or sends them inline
 * when the backend offers feature-inline and they fit, and splits nothing:
 * a request too large for the ring is E2BIG (QUERY's max_segments says how
 * many pages one request may span). With VGPU_STUB_CALL_ASYNC it returns
 * once the request is on the ring and the answer's status comes back from
 * the next SYNC, STREAM_SYNC or EVENT_SYNC of the same file, as for
 * LAUNCH. Only CTX_CREATE and CTX_DESTROY are refused (EPERM): the module
 * owns the file's context. An op the backend does not know gets its
 * answer (ENOSYS) like any other.
 *
 * All structs use fixed-width fields, explicit padding (which must be zero on
 * input) and sizes that are multiples of 8, so that 32-bit and 64-bit
 * programs share the same layout. User pointers travel as __u64.
 */
#ifndef VGPU_STUB_UAPI_H
#define VGPU_STUB_UAPI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <linux/types.h>
#include <sys/ioctl.h>
#endif

#define VGPU_STUB_DEVICE      "/dev/vgpu_stub"
#define VGPU_STUB_NAME        "vgpu_stub"
#define VGPU_STUB_IOC_MAGIC   'V'
#define VGPU_STUB_ABI_VERSION 2      /* 2: CALL, QUERY's ops and inline_bytes */

/* QUERY: device information, the backend's and the operator's settings. */
struct vgpu_stub_query {
	__u32 abi_version;       /* out: VGPU_STUB_ABI_VERSION               */
	__u32 protocol_version;  /* out: the backend's wire protocol version */
	__u32 executor;          /* out: 1 cpu, 2 cuda (vgpuif_executor_kind) */
	__u32 copy_mode;         /* out: vgpuif_copy_mode                    */
	char  gpu_name[64];      /* out: NUL-terminated                      */
	__u64 total_mem;         /* out: device memory, bytes                */
	__u64 free_mem;          /* out: free now, bytes                     */
	__u64 mem_quota;         /* out: this domain's quota, 0 = none       */
	__u64 mem_used;          /* out: this domain's allocations, bytes    */
	__u32 cc_major;          /* out: compute capability                  */
	__u32 cc_minor;
	__u32 sm_count;          /* out: multiprocessors                     */
	__u32 priority;          /* out: operator-set, 0 high 1 medium 2 low */
	__u32 pool;              /* out: operator-set GPU pool id            */
	__u32 domid;             /* out: this guest's domid as dom0 sees it  */
	__u32 max_segments;      /* out: segments per request (negotiated)   */
	__u32 max_param_bytes;   /* out: LAUNCH parameter bytes              */
	__u32 max_handles;       /* out: handles per context                 */
	__u32 ring_pages;        /* out: pages of the shared ring            */
	__u32 ring_slots;        /* out: requests the ring holds             */
	__u32 devid;             /* out: the xenbus device id (vgpu-<devid>) */
	__u64 generation;        /* out: connections made so far (resets)    */
	__u64 ctx;               /* out: this file's context handle; 0 until
				  * the first op that needs a context       */
	__u32 ops;               /* out: the backend's feature-ops: opcodes
				  * 0 .. ops-1 are served (16 when absent)  */
	__u32 inline_bytes;      /* out: inline bytes per request, 0 = the
				  * backend has no feature-inline (ABI 2)  */
	__u64 reserved[3];       /* out: zero                                */
};

/* NOP: a round trip through the ring and the backend. */
struct vgpu_stub_nop {
	__u64 exec_ns;           /* out: time the backend spent, ns          */
};

/* VECTOR_ADD: c[i] = a[i] + b[i], float32, n elements. */
struct vgpu_stub_vector_add {
	__u64 a;                 /* in: user pointer, 4n bytes, read         */
	__u64 b;                 /* in: user pointer, 4n bytes, read         */
	__u64 c;                 /* in: user pointer, 4n bytes, written      */
	__u32 n;                 /* in: 1 .. VGPUIF_MAX_VECTOR_ADD_ELEMS     */
	__u32 _pad0;             /* in: zero                                 */
	__u64 exec_ns;           /* out                                      */
};

struct vgpu_stub_mem_alloc {
	__u64 size;              /* in: bytes, >= 1                          */
	__u64 handle;            /* out: memory handle                       */
	__u64 dev_addr;          /* out: device address, for kernel params   */
};

struct vgpu_stub_mem_free {
	__u64 handle;            /* in                                       */
};

/* MEMCPY_H2D (host -> mem+offset) and MEMCPY_D2H (mem+offset -> host). */
struct vgpu_stub_memcpy {
	__u64 mem;               /* in: memory handle                        */
	__u64 offset;            /* in: byte offset in the allocation        */
	__u64 host;              /* in: user pointer, any alignment          */
	__u64 length;            /* in: bytes, >= 1, any size                */
};

struct vgpu_stub_memcpy_d2d {
	__u64 dst_mem;
	__u64 dst_offset;
	__u64 src_mem;
	__u64 src_offset;
	__u64 length;            /* bytes, >= 1                              */
};

struct vgpu_stub_memset {
	__u64 mem;
	__u64 offset;            /* a multiple of elem_size                  */
	__u64 length;            /* bytes, a multiple of elem_size           */
	__u32 value;             /* the low elem_size bytes are used         */
	__u32 elem_size;         /* 1, 2 or 4                                */
};

struct vgpu_stub_module_load {
	__u64 image;             /* in: user pointer to the image            */
	__u64 image_len;         /* in: 1 .. VGPUIF_MAX_MODULE_BYTES         */
	__u64 log;               /* in: user pointer for the loader log, or 0 */
	__u32 log_len;           /* in: 0 .. VGPUIF_MAX_MODULE_LOG           */
	__u32 format;            /* in: vgpuif_module_format                 */
	__u64 module;            /* out: module handle                       */
	__u64 log_written;       /* out: log bytes written                   */
};

struct vgpu_stub_module_unload {
	__u64 module;
};

struct vgpu_stub_func_get {
	__u64 module;            /* in                                       */
	__u64 name;              /* in: user pointer, the (mangled) name     */
	__u32 name_len;          /* in: 1 .. VGPUIF_MAX_FUNC_NAME, no NUL    */
	__u32 _pad0;             /* in: zero                                 */
	__u64 func;              /* out: function handle                     */
	__u64 param_bytes;       /* out: parameter bytes, 0 when unknown     */
};

struct vgpu_stub_launch {
	__u64 func;              /* in: function handle                      */
	__u32 grid[3];           /* in: >= 1 each                            */
	__u32 block[3];          /* in: >= 1 each, product <= 1024           */
	__u32 shared_mem;        /* in: dynamic shared memory bytes          */
	__u32 param_len;         /* in: 0 .. VGPUIF_MAX_PARAM_BYTES          */
	__u64 params;            /* in: user pointer to the parameter buffer */
};

struct vgpu_stub_sync {
	__u64 exec_ns;           /* out                                      */
};

/*
 * CALL: one request of any op (ABI 2). A region is a user buffer of any
 * alignment; the regions' bytes, in order, are the op's data stream
 * (ring/vgpuif.h says per op which bytes the backend reads and which it
 * writes).
 */
#define VGPU_STUB_MAX_REGIONS   4
#define VGPU_STUB_REGION_WRITE  0x1u /* the backend writes it: pinned writable */
/*
 * The module copies the bytes when the call is made (a kernel page, or
 * inline), so the caller may reuse the buffer as soon as the call returns,
 * ASYNC included (launch parameters, names). Read-only, at most one page.
 */
#define VGPU_STUB_REGION_COPY   0x2u
#define VGPU_STUB_REGION_F_ALL  (VGPU_STUB_REGION_WRITE | VGPU_STUB_REGION_COPY)

struct vgpu_stub_region {
	__u64 addr;              /* in: user pointer                         */
	__u64 len;               /* in: bytes, >= 1                          */
	__u32 flags;             /* in: VGPU_STUB_REGION_*                   */
	__u32 _pad0;             /* in: zero                                 */
};

/* Return once the request is on the ring (errors at the next sync). */
#define VGPU_STUB_CALL_ASYNC    0x1u
#define VGPU_STUB_CALL_F_ALL    (VGPU_STUB_CALL_ASYNC)

struct vgpu_stub_call {
	__u32 op;                /* in: enum vgpuif_op, 0 .. 255             */
	__u32 flags;             /* in: VGPU_STUB_CALL_*                     */
	__u32 nr_regions;        /* in: 0 .. VGPU_STUB_MAX_REGIONS           */
	__s32 status;            /* out: the answer's status (0 or -errno),
				  * set whenever an answer came back         */
	__u64 args[6];           /* in: union vgpuif_args, unused bytes zero */
	struct vgpu_stub_region regions[VGPU_STUB_MAX_REGIONS]; /* in        */
	__u64 result[2];         /* out: the answer's results                */
	__u64 exec_ns;           /* out: time the backend spent, ns          */
	__u64 reserved[2];       /* in: zero                                 */
};

#define VGPU_STUB_IOC_QUERY        _IOR(VGPU_STUB_IOC_MAGIC, 0x00, struct vgpu_stub_query)
#define VGPU_STUB_IOC_NOP          _IOR(VGPU_STUB_IOC_MAGIC, 0x01, struct vgpu_stub_nop)
#define VGPU_STUB_IOC_VECTOR_ADD   _IOWR(VGPU_STUB_IOC_MAGIC, 0x02, struct vgpu_stub_vector_add)
#define VGPU_STUB_IOC_MEM_ALLOC    _IOWR(VGPU_STUB_IOC_MAGIC, 0x03, struct vgpu_stub_mem_alloc)
#define VGPU_STUB_IOC_MEM_FREE     _IOW(VGPU_STUB_IOC_MAGIC, 0x04, struct vgpu_stub_mem_free)
#define VGPU_STUB_IOC_MEMCPY_H2D   _IOW(VGPU_STUB_IOC_MAGIC, 0x05, struct vgpu_stub_memcpy)
#define VGPU_STUB_IOC_MEMCPY_D2H   _IOW(VGPU_STUB_IOC_MAGIC, 0x06, struct vgpu_stub_memcpy)
#define VGPU_STUB_IOC_MEMCPY_D2D   _IOW(VGPU_STUB_IOC_MAGIC, 0x07, struct vgpu_stub_memcpy_d2d)
#define VGPU_STUB_IOC_MEMSET       _IOW(VGPU_STUB_IOC_MAGIC, 0x08, struct vgpu_stub_memset)
#define VGPU_STUB_IOC_MODULE_LOAD  _IOWR(VGPU_STUB_IOC_MAGIC, 0x09, struct vgpu_stub_module_load)
#define VGPU_STUB_IOC_MODULE_UNLOAD _IOW(VGPU_STUB_IOC_MAGIC, 0x0a, struct vgpu_stub_module_unload)
#define VGPU_STUB_IOC_FUNC_GET     _IOWR(VGPU_STUB_IOC_MAGIC, 0x0b, struct vgpu_stub_func_get)
#define VGPU_STUB_IOC_LAUNCH       _IOW(VGPU_STUB_IOC_MAGIC, 0x0c, struct vgpu_stub_launch)
#define VGPU_STUB_IOC_SYNC         _IOR(VGPU_STUB_IOC_MAGIC, 0x0d, struct vgpu_stub_sync)
#define VGPU_STUB_IOC_CALL         _IOWR(VGPU_STUB_IOC_MAGIC, 0x0e, struct vgpu_stub_call)

/* Layout checks: the same in the kernel, in 32-bit and in 64-bit programs. */
#define VGPU_STUB_ASSERT(c, m) _Static_assert(c, m)
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_query) == 208, "query size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_query, total_mem) == 80, "query.total_mem");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_query, generation) == 160, "query.generation");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_nop) == 8, "nop size");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_vector_add) == 40, "vector_add size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_vector_add, exec_ns) == 32, "vadd.exec_ns");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_mem_alloc) == 24, "mem_alloc size");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_mem_free) == 8, "mem_free size");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_memcpy) == 32, "memcpy size");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_memcpy_d2d) == 40, "d2d size");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_memset) == 32, "memset size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_memset, elem_size) == 28, "memset.elem_size");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_module_load) == 48, "module_load size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_module_load, module) == 32, "ml.module");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_module_unload) == 8, "module_unload size");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_func_get) == 40, "func_get size");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_launch) == 48, "launch size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_launch, params) == 40, "launch.params");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_sync) == 8, "sync size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_query, ops) == 176, "query.ops");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_query, inline_bytes) == 180, "query.inline");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_region) == 24, "region size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_region, flags) == 16, "region.flags");
VGPU_STUB_ASSERT(sizeof(struct vgpu_stub_call) == 200, "call size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_call, status) == 12, "call.status");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_call, args) == 16, "call.args");
VGPU_STUB_ASSERT(sizeof(((struct vgpu_stub_call *)0)->args) == 48, "call.args size");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_call, regions) == 64, "call.regions");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_call, result) == 160, "call.result");
VGPU_STUB_ASSERT(__builtin_offsetof(struct vgpu_stub_call, exec_ns) == 176, "call.exec_ns");

#endif /* VGPU_STUB_UAPI_H */
