/* SPDX-License-Identifier: MIT */
/*
 * vgpuif.h - the vgpu-xen wire protocol.
 *
 * One header, included unchanged by the guest kernel module (vgpu-front.ko),
 * by the dom0 backend (vgpu-backend) and by every userspace frontend. It is
 * modelled on Xen's public io/blkif.h. docs/protocol.md is the prose
 * specification of the same protocol; the two must agree.
 *
 * Layout rules: every struct has a fixed size, every 64-bit field sits on an
 * 8-byte offset and every struct size is a multiple of 8, so that a 32-bit
 * guest (where uint64_t is 4-byte aligned inside structs) and a 64-bit backend
 * see the same bytes. Compile-time asserts at the end check every size and
 * offset, in the kernel and in userspace.
 *
 * Xenbus state machine (both ends use the standard XenbusState values):
 *
 *   frontend                                  backend
 *   --------                                  -------
 *   Initialising (1)  <- toolstack            Initialising (1) <- toolstack
 *                                             writes features, -> InitWait (2)
 *   sees InitWait: allocates the ring,
 *   grants it, binds an event channel,
 *   writes ring-ref*, event-channel,
 *   protocol -> Initialised (3)
 *                                             sees Initialised (or Connected):
 *                                             reads and validates ring-ref*,
 *                                             event-channel, protocol; maps;
 *                                             -> Connected (4)
 *   sees Connected -> Connected (4)
 *
 *   either end -> Closing (5): the other end stops issuing work, fails or
 *   answers what is in flight, unmaps/ungrants, -> Closed (6).
 *   Backend seeing the frontend Closed (or its directory gone): unmaps,
 *   releases every GPU resource of the domain, -> InitWait again so that a new
 *   frontend instance (module reload, restore) can reconnect.
 *   Frontend seeing the backend Closing/Closed: fails every in-flight request
 *   with -EIO, wakes waiters, -> Closed; when the backend returns to InitWait
 *   it goes Initialising and reconnects from the top.
 *
 *                    +--------------+
 *          +-------->| Initialising |--- backend: features written ---+
 *          |         +--------------+                                 v
 *          |                                                    +----------+
 *          |   frontend: ring granted, keys written             | InitWait |
 *          |   +---------------------------------------------- +----------+
 *          |   v
 *   +--------------+   backend: ring mapped   +-----------+
 *   | Initialised  |------------------------->| Connected |
 *   +--------------+                          +-----------+
 *                                                   | either end closes
 *          +--------+        +---------+            v
 *          | Closed |<-------| Closing |<-----------+
 *          +--------+        +---------+
 *              | backend: resources released, back to InitWait
 *              +--------------------------------------------> (InitWait)
 */
#ifndef VGPUIF_H
#define VGPUIF_H

/* ---- include shim: the same ring macros in the kernel and in userspace ---- */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#include <xen/interface/io/ring.h>
#define VGPUIF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00 /* use xen_mb() and friends */
#endif
#ifndef xen_mb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#include <xen/io/ring.h>
#define VGPUIF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ---------------------------------------------------------------- version */

/*
 * Protocol version. The frontend writes VGPUIF_PROTOCOL into its "protocol"
 * key; the backend refuses any other string. A later, incompatible revision
 * gets a new number and a new string; compatible additions are negotiated
 * with feature-* keys instead.
 */
#define VGPUIF_PROTOCOL_VERSION 1
#define VGPUIF_PROTOCOL         "vgpuif-1"

/* ----------------------------------------------------------- XenStore keys */

/*
 * Frontend directory: device/vgpu/<devid>  (owner: the guest; dom0 may read)
 *   ring-ref               uint32  grant ref of the single ring page
 *                                  (written when ring-page-order is 0)
 *   ring-ref%u             uint32  grant ref of ring page %u, 0 .. 2^order-1
 *                                  (written when ring-page-order > 0)
 *   ring-page-order        uint32  log2 of ring pages; default 0; at most the
 *                                  backend's max-ring-page-order
 *   event-channel          uint32  the guest's port of the interdomain channel
 *   protocol               string  VGPUIF_PROTOCOL
 *   feature-persistent     0|1     the frontend reuses data grants; default 0
 *   state                  XenbusState
 *
 * Backend directory: backend/vgpu/<domid>/<devid>  (owner: dom0; guest reads)
 *   Written by the backend before it enters InitWait:
 *   max-ring-page-order            uint32  default 0 when absent
 *   feature-persistent             0|1     the backend keeps grants mapped
 *   feature-max-indirect-segments  uint32  0 = no indirect segments
 *   gpu-name                       string  e.g. "NVIDIA H100 80GB HBM3"
 *   gpu-memory                     uint64  bytes of device memory
 *   gpu-compute-capability         string  "major.minor", e.g. "9.0"
 *   executor                       string  "cuda" or "cpu"
 *   feature-ops                    uint32  opcodes 0 .. N-1 are served;
 *                                          default 16 (VGPUIF_OP_VECTOR_ADD
 *                                          + 1) when absent: a frontend
 *                                          sends op k only if k < N
 *   feature-inline                 0|1     VGPUIF_F_INLINE is accepted
 *   feature-host-mem               0|1     revision 3: HOST_REGISTER,
 *                                          HOST_UNREGISTER and
 *                                          VGPUIF_F_HOST_MEM copies are
 *                                          served (feature-ops >= 33)
 *   Written by the operator (vgpu-attach), read-only to the guest:
 *   priority                       string  high|medium|low; default medium
 *   pool                           uint32  GPU pool id; default 0
 *   mem-quota                      uint64  bytes; 0 = no quota; absent =
 *                                          the backend's host-wide default
 *   watchdog-ms                    uint32  the longest one kernel may run,
 *                                          1..3600000 ms; absent = the
 *                                          backend's host-wide default
 *                                          (10000)
 *   gpu-share                      uint32  percent of GPU time, 1..100;
 *                                          absent = no cap (arbiter)
 *   state                          XenbusState
 */
#define VGPUIF_XS_RING_REF               "ring-ref"
#define VGPUIF_XS_RING_REF_FMT           "ring-ref%u"
#define VGPUIF_XS_RING_PAGE_ORDER        "ring-page-order"
#define VGPUIF_XS_EVENT_CHANNEL          "event-channel"
#define VGPUIF_XS_PROTOCOL               "protocol"
#define VGPUIF_XS_FEATURE_PERSISTENT     "feature-persistent"
#define VGPUIF_XS_STATE                  "state"
#define VGPUIF_XS_MAX_RING_PAGE_ORDER    "max-ring-page-order"
#define VGPUIF_XS_FEATURE_MAX_INDIRECT   "feature-max-indirect-segments"
#define VGPUIF_XS_GPU_NAME               "gpu-name"
#define VGPUIF_XS_GPU_MEMORY             "gpu-memory"
#define VGPUIF_XS_GPU_CC                 "gpu-compute-capability"
#define VGPUIF_XS_EXECUTOR               "executor"
#define VGPUIF_XS_FEATURE_OPS            "feature-ops"
#define VGPUIF_XS_FEATURE_INLINE         "feature-inline"
#define VGPUIF_XS_FEATURE_HOST_MEM       "feature-host-mem"
#define VGPUIF_XS_PRIORITY               "priority"
#define VGPUIF_XS_POOL                   "pool"
#define VGPUIF_XS_MEM_QUOTA              "mem-quota"
#define VGPUIF_XS_GPU_SHARE              "gpu-share"
#define VGPUIF_XS_WATCHDOG_MS            "watchdog-ms"
#define VGPUIF_XS_DEVICE_TYPE            "vgpu"

/* ------------------------------------------------------------------ limits */

#define VGPUIF_PAGE_SIZE               4096u
/* Segments carried in the request itself. */
#define VGPUIF_MAX_DIRECT_SEGMENTS     8u
/* Grant refs of indirect pages one request may name. */
#define VGPUIF_MAX_INDIRECT_PAGES      16u
/* Segment descriptors in one indirect page. */
#define VGPUIF_SEGS_PER_INDIRECT_PAGE  (VGPUIF_PAGE_SIZE / sizeof(struct vgpuif_segment))
/* Most segments one request may carry (indirect): 8192, i.e. 32 MiB. */
#define VGPUIF_MAX_INDIRECT_SEGMENTS   (VGPUIF_MAX_INDIRECT_PAGES * 512u)
/* Most bytes of guest data one request may carry. */
#define VGPUIF_MAX_REQUEST_BYTES       (VGPUIF_MAX_INDIRECT_SEGMENTS * VGPUIF_PAGE_SIZE)
/* Largest ring the backend will map: 2^4 = 16 pages. */
#define VGPUIF_MAX_RING_PAGE_ORDER     4u
/* LAUNCH parameter blob (CUDA's classic 4 KiB parameter space). */
#define VGPUIF_MAX_PARAM_BYTES         4096u
/* FUNC_GET kernel name, without the terminating NUL. */
#define VGPUIF_MAX_FUNC_NAME           1024u
/* MODULE_LOAD image; the JIT log area is extra but shares the request. */
#define VGPUIF_MAX_MODULE_BYTES        (16u * 1024u * 1024u)
#define VGPUIF_MAX_MODULE_LOG          (64u * 1024u)
/* VECTOR_ADD element count (three float32 vectors in one request). */
#define VGPUIF_MAX_VECTOR_ADD_ELEMS    (1u << 20)
/* Handles (memory, modules, functions) one guest context may hold. */
#define VGPUIF_MAX_HANDLES_PER_CTX     4096u
/* Guest contexts one device may hold at once. */
#define VGPUIF_MAX_CTX_PER_DEVICE      256u
/* Inline data (VGPUIF_F_INLINE): bytes carried in req.u itself. */
#define VGPUIF_MAX_INLINE_BYTES        64u
/* Streams one guest context may hold (each is a real stream in dom0). */
#define VGPUIF_MAX_STREAMS_PER_CTX     256u
/* Events one guest context may hold. */
#define VGPUIF_MAX_EVENTS_PER_CTX      1024u
/* MODULE_GLOBAL variable name, without the terminating NUL. */
#define VGPUIF_MAX_GLOBAL_NAME         1024u
/*
 * Registered host regions (revision 3, HOST_REGISTER): per device, at most
 * this many at once, each at most one request's pages (the advertised
 * feature-max-indirect-segments, 32 MiB at most), all of them together at
 * most VGPUIF_MAX_HOST_PAGES pages (1 GiB: dom0 keeps them mapped).
 */
#define VGPUIF_MAX_HOST_REGIONS        256u
#define VGPUIF_MAX_HOST_PAGES          (1u << 18)
/* Entries of vgpuif_device_info.attr[] (indexed by CUdevice_attribute). */
#define VGPUIF_MAX_DEVICE_ATTRS        256u
/* Entries of vgpuif_func_info.attr[] (indexed by CUfunction_attribute). */
#define VGPUIF_MAX_FUNC_ATTRS          32u
/* Parameters vgpuif_func_info describes. */
#define VGPUIF_MAX_FUNC_PARAMS         480u
/* Grid and block dimensions. */
#define VGPUIF_MAX_BLOCK_THREADS       1024u
#define VGPUIF_MAX_GRID_DIM_X          0x7fffffffu
#define VGPUIF_MAX_GRID_DIM_YZ         65535u

/* --------------------------------------------------------------- opcodes */

enum vgpuif_op {
	VGPUIF_OP_NOP           = 0,  /* no effect; measures the round trip      */
	VGPUIF_OP_GET_INFO      = 1,  /* writes struct vgpuif_info to segments    */
	VGPUIF_OP_CTX_CREATE    = 2,  /* result[0] = new context handle          */
	VGPUIF_OP_CTX_DESTROY   = 3,  /* frees the context named in req.ctx      */
	VGPUIF_OP_MEM_ALLOC     = 4,  /* result[0] = handle, [1] = device address */
	VGPUIF_OP_MEM_FREE      = 5,
	VGPUIF_OP_MEMCPY_H2D    = 6,  /* segments -> device memory               */
	VGPUIF_OP_MEMCPY_D2H    = 7,  /* device memory -> segments               */
	VGPUIF_OP_MEMCPY_D2D    = 8,
	VGPUIF_OP_MEMSET        = 9,
	VGPUIF_OP_MODULE_LOAD   = 10, /* result[0] = module handle               */
	VGPUIF_OP_MODULE_UNLOAD = 11,
	VGPUIF_OP_FUNC_GET      = 12, /* result[0] = function handle             */
	VGPUIF_OP_LAUNCH        = 13,
	VGPUIF_OP_SYNC          = 14, /* completes after all earlier ops of ctx   */
	VGPUIF_OP_VECTOR_ADD    = 15, /* built-in c = a + b over float32          */
	/*
	 * Revision 2 (feature-ops >= 31): what a CUDA driver library needs.
	 * A frontend sends these only when the backend's feature-ops says it
	 * serves them; an older backend answers ENOSYS anyway. Ordering
	 * classes (stream-ordered, waits, at once): docs/protocol.md 6.
	 */
	VGPUIF_OP_DEVICE_INFO   = 16, /* ctx 0; writes vgpuif_device_info        */
	VGPUIF_OP_STREAM_CREATE = 17, /* result[0] = stream handle               */
	VGPUIF_OP_STREAM_DESTROY = 18,/* after the stream's earlier work         */
	VGPUIF_OP_STREAM_SYNC   = 19, /* completes after the stream's earlier work */
	VGPUIF_OP_STREAM_QUERY  = 20, /* at once: result[0] = 1 idle, 0 busy     */
	VGPUIF_OP_STREAM_WAIT_EVENT = 21, /* stream's later work waits for event */
	VGPUIF_OP_EVENT_CREATE  = 22, /* result[0] = event handle                */
	VGPUIF_OP_EVENT_DESTROY = 23,
	VGPUIF_OP_EVENT_RECORD  = 24, /* stream-ordered                          */
	VGPUIF_OP_EVENT_SYNC    = 25, /* after the event's latest record         */
	VGPUIF_OP_EVENT_QUERY   = 26, /* at once: result[0] = 1 done, 0 pending  */
	VGPUIF_OP_EVENT_ELAPSED = 27, /* at once: result[0] = float32 ms bits    */
	VGPUIF_OP_FUNC_INFO     = 28, /* writes struct vgpuif_func_info          */
	VGPUIF_OP_FUNC_SET_ATTR = 29,
	VGPUIF_OP_MODULE_GLOBAL = 30, /* result[0] = memory handle of a global   */
	/*
	 * Revision 3 (feature-ops >= 33, feature-host-mem = 1): guest memory
	 * a program pins is granted and registered once; copies then name
	 * the region (VGPUIF_F_HOST_MEM) instead of carrying segments.
	 */
	VGPUIF_OP_HOST_REGISTER = 31, /* ctx 0; result[0] = region handle,
				       * [1] = its enum vgpuif_copy_mode      */
	VGPUIF_OP_HOST_UNREGISTER = 32, /* ctx 0; after its copies completed  */
	VGPUIF_OP_COUNT         = 33
};

/* The ops a revision-2 backend serves (feature-ops 31). */
#define VGPUIF_OP_COUNT_V2 31u

/* The ops an old (revision 1) backend serves, when feature-ops is absent. */
#define VGPUIF_OP_COUNT_V1 16u

/* req.flags */
#define VGPUIF_F_INDIRECT  0x01u /* indirect_gref[] names pages of segments  */
/*
 * The data stream is inline: nr_segments is its length in bytes
 * (1 .. VGPUIF_MAX_INLINE_BYTES), the bytes are u.inline_data[0 ..
 * nr_segments), the rest of u is zero. Only for ops whose stream the
 * backend only reads (a written range needs a granted page). Only when the
 * backend advertised feature-inline. Not together with VGPUIF_F_INDIRECT.
 */
#define VGPUIF_F_INLINE    0x02u
/*
 * Revision 3 (feature-host-mem): a MEMCPY_H2D/D2H whose host side is a
 * registered region, memcpy.host_region at memcpy.host_offset; no
 * segments (nr_segments 0, u all zero).
 */
#define VGPUIF_F_HOST_MEM  0x04u
#define VGPUIF_F_ALL       (VGPUIF_F_INDIRECT | VGPUIF_F_INLINE | VGPUIF_F_HOST_MEM)

/* HOST_REGISTER flags */
#define VGPUIF_HOST_READ_ONLY 0x1u /* the backend only reads it (H2D only) */
#define VGPUIF_HOST_F_ALL     (VGPUIF_HOST_READ_ONLY)

/* STREAM_CREATE flags (as CUDA's CU_STREAM_*) */
#define VGPUIF_STREAM_NON_BLOCKING 0x1u /* no implicit sync with stream 0 */
#define VGPUIF_STREAM_F_ALL        (VGPUIF_STREAM_NON_BLOCKING)
/* EVENT_CREATE flags (as CUDA's CU_EVENT_*; INTERPROCESS is refused) */
#define VGPUIF_EVENT_BLOCKING_SYNC  0x1u
#define VGPUIF_EVENT_DISABLE_TIMING 0x2u
#define VGPUIF_EVENT_F_ALL (VGPUIF_EVENT_BLOCKING_SYNC | VGPUIF_EVENT_DISABLE_TIMING)
/* FUNC_SET_ATTR pseudo-attribute: cuFuncSetCacheConfig's CUfunc_cache. */
#define VGPUIF_FUNC_ATTR_CACHE_CONFIG 0x100u

/* MODULE_LOAD image formats */
enum vgpuif_module_format {
	VGPUIF_MODULE_AUTO   = 0, /* let the executor detect it              */
	VGPUIF_MODULE_PTX    = 1, /* NUL-terminated PTX text                 */
	VGPUIF_MODULE_CUBIN  = 2, /* ELF cubin                               */
	VGPUIF_MODULE_FATBIN = 3  /* fatbinary                               */
};

/* vgpuif_info.executor */
enum vgpuif_executor_kind {
	VGPUIF_EXECUTOR_CPU  = 1,
	VGPUIF_EXECUTOR_CUDA = 2
};

/* vgpuif_info.copy_mode: how guest pages reach the GPU */
enum vgpuif_copy_mode {
	VGPUIF_COPY_STAGED    = 1, /* through pinned bounce buffers          */
	VGPUIF_COPY_ZERO_COPY = 2, /* mapped guest pages registered directly */
	VGPUIF_COPY_HOST      = 3  /* cpu executor: plain host memcpy        */
};

/* Operator-set priority classes (vgpuif_info.priority) */
enum vgpuif_priority {
	VGPUIF_PRIO_HIGH   = 0,
	VGPUIF_PRIO_MEDIUM = 1,
	VGPUIF_PRIO_LOW    = 2
};

/* ----------------------------------------------------------- status codes */

/*
 * Response status: 0 or a negative code. The values are Linux errno values so
 * that the guest module can hand them straight to user space.
 */
#define VGPUIF_RSP_OK         0
#define VGPUIF_RSP_EPERM     (-1)   /* operation not allowed for this domain */
#define VGPUIF_RSP_ENOENT    (-2)   /* no such function name in the module   */
#define VGPUIF_RSP_EIO       (-5)   /* executor or device failure            */
#define VGPUIF_RSP_E2BIG     (-7)   /* too many segments / bytes / params    */
#define VGPUIF_RSP_ENOEXEC   (-8)   /* module image rejected (log returned)  */
#define VGPUIF_RSP_EBADF     (-9)   /* handle unknown to this context        */
#define VGPUIF_RSP_EAGAIN    (-11)  /* too many requests in flight           */
#define VGPUIF_RSP_EBUSY     (-16)  /* not ready yet (EVENT_ELAPSED on an
				     * event that has not completed)         */
#define VGPUIF_RSP_ENOMEM    (-12)  /* device or host memory exhausted       */
#define VGPUIF_RSP_EFAULT    (-14)  /* a grant could not be mapped, or a
				     * segment lies outside its page         */
#define VGPUIF_RSP_EINVAL    (-22)  /* malformed request                     */
#define VGPUIF_RSP_EMFILE    (-24)  /* handle or context table full          */
#define VGPUIF_RSP_ERANGE    (-34)  /* access beyond the end of an allocation */
#define VGPUIF_RSP_ENOSYS    (-38)  /* unknown opcode                        */
#define VGPUIF_RSP_EOPNOTSUPP (-95) /* op not supported by this executor     */
#define VGPUIF_RSP_ESHUTDOWN (-108) /* backend is shutting down              */
#define VGPUIF_RSP_ETIMEDOUT (-110) /* kernel stopped by the watchdog        */
#define VGPUIF_RSP_EREMOTEIO (-121) /* GPU fault in this context; its state
				     * is lost, later requests get a new one */
#define VGPUIF_RSP_EDQUOT    (-122) /* allocation beyond mem-quota           */

/* ------------------------------------------------------------ wire structs */

/*
 * A data segment: a byte range inside one granted guest page. The segments of
 * a request, concatenated in order, form the request's data stream; each op
 * below says which bytes of the stream the backend reads and which it
 * writes. A page the backend writes must be granted writable.
 */
struct vgpuif_segment {
	uint32_t gref;    /* grant reference of the page                      */
	uint16_t offset;  /* first byte in the page; offset < VGPUIF_PAGE_SIZE */
	uint16_t length;  /* bytes; 1 <= length, offset + length <= PAGE_SIZE  */
};

/* Op-specific arguments (48 bytes). Unused fields must be zero. */
union vgpuif_args {
	/* MEM_ALLOC */
	struct {
		uint64_t size;        /* bytes, 1 .. quota                    */
	} mem_alloc;
	/* MEM_FREE */
	struct {
		uint64_t mem;         /* memory handle                        */
	} mem_free;
	/*
	 * MEMCPY_H2D: stream bytes [0, length) are read into mem+offset.
	 * MEMCPY_D2H: mem+offset is written to stream bytes [0, length).
	 * The segments must cover exactly length bytes.
	 * stream (revision 2; 0 before): the stream handle it is ordered on,
	 * 0 = the context's default stream. Likewise in memcpy_d2d, memset
	 * and launch.
	 * host_region, host_offset (revision 3): with VGPUIF_F_HOST_MEM the
	 * host side is [host_offset, host_offset + length) of a registered
	 * region instead of segments; else both 0.
	 */
	struct {
		uint64_t mem;         /* device memory handle                 */
		uint64_t offset;      /* byte offset in the allocation        */
		uint64_t length;      /* bytes, 1 .. VGPUIF_MAX_REQUEST_BYTES */
		uint64_t stream;      /* stream handle, 0 = default stream    */
		uint64_t host_region; /* F_HOST_MEM: region handle            */
		uint64_t host_offset; /* F_HOST_MEM: byte offset in it        */
	} memcpy;
	/* MEMCPY_D2D: no segments. */
	struct {
		uint64_t dst_mem;
		uint64_t dst_offset;
		uint64_t src_mem;
		uint64_t src_offset;
		uint64_t length;      /* bytes, >= 1                          */
		uint64_t stream;
	} memcpy_d2d;
	/* MEMSET: no segments. length is a multiple of elem_size. */
	struct {
		uint64_t mem;
		uint64_t offset;      /* a multiple of elem_size              */
		uint64_t length;      /* bytes                                */
		uint32_t value;       /* the low elem_size bytes are used     */
		uint32_t elem_size;   /* 1, 2 or 4                            */
		uint64_t stream;
	} memset;
	/*
	 * MODULE_LOAD: stream bytes [0, image_len) are the image (read);
	 * bytes [image_len, image_len + log_len) receive the JIT/loader log as
	 * NUL-terminated text (written); result[1] = log bytes written.
	 */
	struct {
		uint64_t image_len;   /* 1 .. VGPUIF_MAX_MODULE_BYTES          */
		uint32_t format;      /* enum vgpuif_module_format            */
		uint32_t log_len;     /* 0 .. VGPUIF_MAX_MODULE_LOG           */
	} module_load;
	/* MODULE_UNLOAD: its functions become invalid. */
	struct {
		uint64_t module;
	} module_unload;
	/*
	 * FUNC_GET: stream bytes [0, name_len) are the kernel's (mangled)
	 * name, without NUL (read). result[0] = function handle,
	 * result[1] = parameter bytes the kernel expects (0 when unknown).
	 */
	struct {
		uint64_t module;
		uint32_t name_len;    /* 1 .. VGPUIF_MAX_FUNC_NAME            */
		uint32_t _pad0;
	} func_get;
	/*
	 * LAUNCH: stream bytes [0, param_len) are the parameter buffer, laid
	 * out as the kernel's ABI wants (each parameter at its natural
	 * alignment), as for CU_LAUNCH_PARAM_BUFFER_POINTER (read).
	 */
	struct {
		uint64_t func;        /* function handle                      */
		uint32_t grid[3];     /* 1.. each                             */
		uint32_t block[3];    /* 1.. each, product <= 1024            */
		uint32_t shared_mem;  /* dynamic shared memory bytes          */
		uint32_t param_len;   /* 0 .. VGPUIF_MAX_PARAM_BYTES          */
		uint64_t stream;
	} launch;
	/*
	 * VECTOR_ADD: stream bytes [0, 4n) = a, [4n, 8n) = b (read);
	 * [8n, 12n) = c = a + b (written). float32.
	 */
	struct {
		uint32_t n;           /* 1 .. VGPUIF_MAX_VECTOR_ADD_ELEMS     */
		uint32_t _pad0;
	} vector_add;
	/*
	 * DEVICE_INFO (ctx 0): writes struct vgpuif_device_info to stream
	 * bytes [0, sizeof) (segments must cover exactly that, writable). No
	 * args. EOPNOTSUPP from an executor that keeps no snapshot.
	 * STREAM_CREATE: flags VGPUIF_STREAM_*; priority as CUDA's (lower
	 * number = higher priority), clamped by the executor to the device's
	 * range. result[0] = stream handle.
	 */
	struct {
		uint32_t flags;
		int32_t  priority;
	} stream_create;
	/*
	 * STREAM_DESTROY, STREAM_SYNC, STREAM_QUERY: stream (nonzero for
	 * DESTROY; 0 = the default stream for SYNC and QUERY).
	 * STREAM_WAIT_EVENT: work queued on stream after this op starts only
	 * after the event's most recent EVENT_RECORD (before this op) is done;
	 * an event never recorded is done.
	 */
	struct {
		uint64_t stream;
		uint64_t event;       /* STREAM_WAIT_EVENT only, else 0       */
	} stream;
	/* EVENT_CREATE: flags VGPUIF_EVENT_*; result[0] = event handle. */
	struct {
		uint32_t flags;
		uint32_t _pad0;
	} event_create;
	/*
	 * EVENT_DESTROY, EVENT_SYNC, EVENT_QUERY: event.
	 * EVENT_RECORD: event captures the work queued on stream so far.
	 * EVENT_ELAPSED: event = start, end = end; result[0] = the elapsed
	 * time in ms as IEEE-754 binary32 bits (low 32 bits), as
	 * cuEventElapsedTime; EBUSY while either is pending, EINVAL for an
	 * event created with DISABLE_TIMING or never recorded.
	 */
	struct {
		uint64_t event;
		uint64_t stream;      /* EVENT_RECORD only, else 0            */
		uint64_t end;         /* EVENT_ELAPSED only, else 0           */
	} event;
	/*
	 * FUNC_INFO: writes struct vgpuif_func_info of func to stream bytes
	 * [0, sizeof) (writable). FUNC_SET_ATTR: attr is a CUfunction_attribute
	 * the driver lets a program set (MAX_DYNAMIC_SHARED_SIZE_BYTES,
	 * PREFERRED_SHARED_MEMORY_CARVEOUT, ...) or
	 * VGPUIF_FUNC_ATTR_CACHE_CONFIG; value as the driver takes it.
	 */
	struct {
		uint64_t func;
		uint32_t attr;        /* FUNC_SET_ATTR only, else 0           */
		int32_t  value;       /* FUNC_SET_ATTR only, else 0           */
	} func;
	/*
	 * MODULE_GLOBAL: stream bytes [0, name_len) are the variable's name
	 * (read, no NUL); bytes [name_len, name_len + 16) receive two
	 * uint64: its device address and its size in bytes (written).
	 * result[0] = a memory handle naming the variable (usable in copies
	 * and memsets, not in MEM_FREE: it lives as long as its module).
	 * result[1] = its size. Asking twice gives the same handle.
	 */
	struct {
		uint64_t module;
		uint32_t name_len;    /* 1 .. VGPUIF_MAX_GLOBAL_NAME          */
		uint32_t _pad0;
	} module_global;
	/*
	 * HOST_REGISTER (revision 3, ctx 0): the segments are whole pages
	 * (offset 0, length 4096 each, no grant twice, none already in a
	 * live region), length = 4096 * nr_segments; writable unless
	 * VGPUIF_HOST_READ_ONLY. dom0 maps them until HOST_UNREGISTER (or
	 * the disconnect), and where it can registers them with the GPU
	 * (zero copy). result[0] = region handle, result[1] = the copy mode
	 * the region got (VGPUIF_COPY_*).
	 */
	struct {
		uint64_t length;      /* bytes, a multiple of 4096            */
		uint32_t flags;       /* VGPUIF_HOST_*                        */
		uint32_t _pad0;
	} host_register;
	/*
	 * HOST_UNREGISTER (ctx 0): the handle is invalid for later requests
	 * at once; the answer comes after the copies naming it completed,
	 * and then dom0 holds no mapping of its pages.
	 */
	struct {
		uint64_t region;
	} host_unregister;
	uint8_t raw[48];
};

/*
 * A request (128 bytes). Slots on the ring are written by the frontend only;
 * the backend copies each one (RING_COPY_REQUEST) before reading any field.
 */
struct vgpuif_request {
	uint64_t id;          /* any value; echoed in the response               */
	uint8_t  op;          /* enum vgpuif_op                                  */
	uint8_t  flags;       /* VGPUIF_F_*                                      */
	uint16_t nr_segments; /* direct: 0 .. VGPUIF_MAX_DIRECT_SEGMENTS, in
			       * seg[]; indirect: 1 .. the backend's
			       * feature-max-indirect-segments, spread over
			       * ceil(nr / 512) pages named in indirect_gref[]  */
	uint32_t ctx;         /* guest context handle; 0 for NOP, GET_INFO,
			       * CTX_CREATE, DEVICE_INFO                         */
	union vgpuif_args args;
	union {
		struct vgpuif_segment seg[VGPUIF_MAX_DIRECT_SEGMENTS];
		uint32_t indirect_gref[VGPUIF_MAX_INDIRECT_PAGES];
		uint8_t  inline_data[VGPUIF_MAX_INLINE_BYTES]; /* F_INLINE */
	} u;
};

/* A response (40 bytes). Written by the backend only. */
struct vgpuif_response {
	uint64_t id;          /* the request's id                                */
	int32_t  status;      /* VGPUIF_RSP_*                                    */
	uint8_t  op;          /* the request's op, for diagnostics               */
	uint8_t  _pad0[3];
	uint64_t result[2];   /* op-specific, see enum vgpuif_op                 */
	uint64_t exec_ns;     /* time the op spent executing in dom0, in ns      */
};

/*
 * GET_INFO writes this into the first sizeof(struct vgpuif_info) bytes of its
 * stream (the segments must cover exactly that many bytes, writable).
 */
struct vgpuif_info {
	uint32_t protocol_version; /* VGPUIF_PROTOCOL_VERSION                  */
	uint32_t executor;         /* enum vgpuif_executor_kind                */
	char     gpu_name[64];     /* NUL-terminated                           */
	uint64_t total_mem;        /* device memory, bytes                     */
	uint64_t free_mem;         /* device memory free now, bytes            */
	uint64_t mem_quota;        /* this domain's quota, 0 = none            */
	uint64_t mem_used;         /* this domain's allocations, bytes         */
	uint32_t cc_major;         /* compute capability                       */
	uint32_t cc_minor;
	uint32_t sm_count;         /* multiprocessors                          */
	uint32_t copy_mode;        /* enum vgpuif_copy_mode                    */
	uint32_t max_segments;     /* feature-max-indirect-segments            */
	uint32_t max_param_bytes;  /* VGPUIF_MAX_PARAM_BYTES                   */
	uint32_t max_handles;      /* per context                              */
	uint32_t priority;         /* enum vgpuif_priority                     */
	uint32_t pool;             /* operator-set pool id                     */
	uint32_t domid;            /* the guest's domain id, as dom0 sees it   */
	uint32_t gpu;              /* dom0's GPU ordinal serving this domain
				    * (placed by the arbiter within its pool;
				    * 0 from a backend before this field)    */
	uint8_t  reserved0[4];     /* zero                                     */
	uint64_t ctx_overhead;     /* device memory the domain's own GPU
				    * context takes in dom0 (CUDA context,
				    * its heap, stack, printf reservations),
				    * not counted in mem_used; 0 = none or
				    * not measured (cpu executor)             */
	uint8_t  reserved[48];     /* zero                                     */
};

/*
 * DEVICE_INFO writes this (revision 2): one snapshot of dom0's device, taken
 * by the executor when it opened, so that a guest's CUDA library can answer
 * every device query locally and the same way each time.
 */
struct vgpuif_device_info {
	uint32_t version;          /* 1                                        */
	uint32_t driver_version;   /* dom0's cuDriverGetVersion, e.g. 13000;
				    * 0 for the cpu executor                   */
	uint32_t nr_attrs;         /* attr[0 .. nr_attrs) are meaningful       */
	uint32_t ordinal;          /* dom0's device ordinal                    */
	uint8_t  uuid[16];         /* cuDeviceGetUuid                          */
	char     name[256];        /* cuDeviceGetName, NUL-terminated          */
	uint64_t total_mem;        /* cuDeviceTotalMem                         */
	/*
	 * attr[i] = cuDeviceGetAttribute(i) for each CUdevice_attribute value
	 * i; bit i of attr_valid set when the driver answered it (an attribute
	 * the driver refused, or i = 0, has its bit clear and attr[i] 0).
	 */
	uint32_t attr_valid[VGPUIF_MAX_DEVICE_ATTRS / 32];
	int32_t  attr[VGPUIF_MAX_DEVICE_ATTRS];
	/*
	 * cuCtxGetStreamPriorityRange: STREAM_CREATE priorities are clamped to
	 * [greatest, least] (greatest is the numerically lower); 0 and 0 when
	 * the device has no stream priorities.
	 */
	int32_t  stream_priority_least;
	int32_t  stream_priority_greatest;
	uint8_t  reserved[24];     /* zero                                     */
};

/*
 * FUNC_INFO writes this (revision 2): what the driver reports of one kernel,
 * so that the guest lays out cuLaunchKernel's kernelParams itself and
 * answers cuFuncGetAttribute / cuFuncGetParamInfo without a round trip.
 */
struct vgpuif_func_info {
	uint32_t nr_params;        /* kernel parameters (cuFuncGetParamInfo);
				    * at most VGPUIF_MAX_FUNC_PARAMS          */
	uint32_t param_bytes;      /* bytes of the parameter buffer           */
	uint32_t attr_valid;       /* bit i: attr[i] answered                 */
	uint32_t _pad0;
	int32_t  attr[VGPUIF_MAX_FUNC_ATTRS]; /* cuFuncGetAttribute(i)        */
	struct {
		uint32_t offset;   /* in the parameter buffer                 */
		uint32_t size;     /* bytes                                   */
	} param[VGPUIF_MAX_FUNC_PARAMS];
};

DEFINE_RING_TYPES(vgpuif, struct vgpuif_request, struct vgpuif_response);

/* Entries of a ring of 2^order pages (the sring header is 64 bytes). */
#define VGPUIF_RING_SIZE(order) \
	__CONST_RING_SIZE(vgpuif, VGPUIF_PAGE_SIZE << (order))

/* --------------------------------------------------------------- helpers */

/* Is a segment well-formed on its own? (the backend checks the copy) */
static inline int vgpuif_segment_valid(const struct vgpuif_segment *s)
{
	return s->length != 0 && s->offset < VGPUIF_PAGE_SIZE &&
	       (uint32_t)s->offset + s->length <= VGPUIF_PAGE_SIZE;
}

/* Indirect pages needed for nr segments. */
static inline uint32_t vgpuif_indirect_pages(uint32_t nr_segments)
{
	return (nr_segments + VGPUIF_SEGS_PER_INDIRECT_PAGE - 1) /
	       VGPUIF_SEGS_PER_INDIRECT_PAGE;
}

/*
 * May a request carry nr segments (F_INLINE: nr inline bytes) with these
 * flags, given the backend's advertised maximum of indirect segments?
 * Returns 0 or VGPUIF_RSP_E2BIG / VGPUIF_RSP_EINVAL. (Whether the backend
 * accepts F_INLINE or F_HOST_MEM at all is the caller's check:
 * feature-inline, feature-host-mem.) F_HOST_MEM: alone, 0 segments.
 */
static inline int vgpuif_check_nr_segments(uint8_t flags, uint32_t nr,
					   uint32_t max_indirect)
{
	if (flags & ~VGPUIF_F_ALL)
		return VGPUIF_RSP_EINVAL;
	if (flags & VGPUIF_F_HOST_MEM)   /* a registered region: no segments */
		return flags == VGPUIF_F_HOST_MEM && nr == 0 ? 0 : VGPUIF_RSP_EINVAL;
	if (flags & VGPUIF_F_INLINE) {
		if (flags & VGPUIF_F_INDIRECT || nr == 0)
			return VGPUIF_RSP_EINVAL;
		return nr <= VGPUIF_MAX_INLINE_BYTES ? 0 : VGPUIF_RSP_E2BIG;
	}
	if (!(flags & VGPUIF_F_INDIRECT))
		return nr <= VGPUIF_MAX_DIRECT_SEGMENTS ? 0 : VGPUIF_RSP_E2BIG;
	if (nr == 0)
		return VGPUIF_RSP_EINVAL;
	if (max_indirect > VGPUIF_MAX_INDIRECT_SEGMENTS)
		max_indirect = VGPUIF_MAX_INDIRECT_SEGMENTS;
	return nr <= max_indirect ? 0 : VGPUIF_RSP_E2BIG;
}

/* Pages a buffer of len bytes starting at page offset off spans. */
static inline uint32_t vgpuif_pages_spanned(uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	return (uint32_t)(((off & (VGPUIF_PAGE_SIZE - 1)) + len +
			   VGPUIF_PAGE_SIZE - 1) / VGPUIF_PAGE_SIZE);
}

/* Is [off, off+len) inside an allocation of size bytes, without overflow? */
static inline int vgpuif_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return len <= size && off <= size - len;
}

/* A short English name of an op, for logs; "?" when unknown. */
static inline const char *vgpuif_op_name(unsigned int op)
{
	static const char *const names[VGPUIF_OP_COUNT] = {
		"NOP", "GET_INFO", "CTX_CREATE", "CTX_DESTROY", "MEM_ALLOC",
		"MEM_FREE", "MEMCPY_H2D", "MEMCPY_D2H", "MEMCPY_D2D", "MEMSET",
		"MODULE_LOAD", "MODULE_UNLOAD", "FUNC_GET", "LAUNCH", "SYNC",
		"VECTOR_ADD", "DEVICE_INFO", "STREAM_CREATE", "STREAM_DESTROY",
		"STREAM_SYNC", "STREAM_QUERY", "STREAM_WAIT_EVENT",
		"EVENT_CREATE", "EVENT_DESTROY", "EVENT_RECORD", "EVENT_SYNC",
		"EVENT_QUERY", "EVENT_ELAPSED", "FUNC_INFO", "FUNC_SET_ATTR",
		"MODULE_GLOBAL", "HOST_REGISTER", "HOST_UNREGISTER",
	};
	return op < VGPUIF_OP_COUNT ? names[op] : "?";
}

/* A message for a status, for logs and for libvgpu. */
static inline const char *vgpuif_status_str(int status)
{
	switch (status) {
	case VGPUIF_RSP_OK:         return "success";
	case VGPUIF_RSP_EPERM:      return "operation not permitted for this domain";
	case VGPUIF_RSP_ENOENT:     return "no such kernel in the module";
	case VGPUIF_RSP_EIO:        return "GPU or backend I/O error";
	case VGPUIF_RSP_E2BIG:      return "request too large (segments, bytes or parameters)";
	case VGPUIF_RSP_ENOEXEC:    return "module image rejected by the loader";
	case VGPUIF_RSP_EBADF:      return "unknown or stale handle";
	case VGPUIF_RSP_EAGAIN:     return "too many requests in flight";
	case VGPUIF_RSP_EBUSY:      return "not ready yet";
	case VGPUIF_RSP_ENOMEM:     return "out of memory";
	case VGPUIF_RSP_EFAULT:     return "bad grant or segment";
	case VGPUIF_RSP_EINVAL:     return "invalid request";
	case VGPUIF_RSP_EMFILE:     return "handle or context table full";
	case VGPUIF_RSP_ERANGE:     return "access beyond the end of the allocation";
	case VGPUIF_RSP_ENOSYS:     return "unknown operation";
	case VGPUIF_RSP_EOPNOTSUPP: return "operation not supported by this executor";
	case VGPUIF_RSP_ESHUTDOWN:  return "backend shutting down";
	case VGPUIF_RSP_ETIMEDOUT:  return "kernel exceeded the time limit";
	case VGPUIF_RSP_EREMOTEIO:  return "GPU fault in this context; state lost";
	case VGPUIF_RSP_EDQUOT:     return "allocation beyond the memory quota";
	default:                    return "unknown status";
	}
}

/* ------------------------------------------------------- layout asserts */

VGPUIF_STATIC_ASSERT(sizeof(struct vgpuif_segment) == 8, "segment size");
VGPUIF_STATIC_ASSERT(sizeof(union vgpuif_args) == 48, "args size");
VGPUIF_STATIC_ASSERT(sizeof(struct vgpuif_request) == 128, "request size");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_request, id) == 0, "req.id");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_request, op) == 8, "req.op");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_request, flags) == 9, "req.flags");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_request, nr_segments) == 10, "req.nr");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_request, ctx) == 12, "req.ctx");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_request, args) == 16, "req.args");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_request, u) == 64, "req.u");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, memcpy_d2d.length) == 32, "d2d.length");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, memset.value) == 24, "memset.value");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, memset.elem_size) == 28, "memset.elem");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, module_load.format) == 8, "ml.format");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, module_load.log_len) == 12, "ml.log");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, func_get.name_len) == 8, "fg.name_len");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, launch.grid) == 8, "launch.grid");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, launch.block) == 20, "launch.block");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, launch.shared_mem) == 32, "launch.shm");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, launch.param_len) == 36, "launch.plen");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, memcpy.stream) == 24, "memcpy.stream");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, memcpy_d2d.stream) == 40, "d2d.stream");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, memset.stream) == 32, "memset.stream");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, launch.stream) == 40, "launch.stream");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, stream.event) == 8, "stream.event");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, event.end) == 16, "event.end");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, func.value) == 12, "func.value");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, module_global.name_len) == 8, "mg.name_len");
VGPUIF_STATIC_ASSERT(sizeof(struct vgpuif_device_info) == 1384, "device info size");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_device_info, total_mem) == 288, "devinfo.total");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_device_info, attr) == 328, "devinfo.attr");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_device_info, stream_priority_least) == 1352,
		     "devinfo.prio");
VGPUIF_STATIC_ASSERT(sizeof(struct vgpuif_device_info) <= VGPUIF_PAGE_SIZE, "devinfo page");
VGPUIF_STATIC_ASSERT(sizeof(struct vgpuif_func_info) == 16 + 4 * 32 + 8 * 480, "func info size");
VGPUIF_STATIC_ASSERT(sizeof(struct vgpuif_func_info) <= VGPUIF_PAGE_SIZE, "func info page");
VGPUIF_STATIC_ASSERT(VGPUIF_OP_COUNT == 33, "op count");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, memcpy.host_region) == 32, "memcpy.host_region");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, memcpy.host_offset) == 40, "memcpy.host_offset");
VGPUIF_STATIC_ASSERT(offsetof(union vgpuif_args, host_register.flags) == 8, "hr.flags");
VGPUIF_STATIC_ASSERT(sizeof(struct vgpuif_response) == 40, "response size");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_response, status) == 8, "rsp.status");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_response, op) == 12, "rsp.op");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_response, result) == 16, "rsp.result");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_response, exec_ns) == 32, "rsp.exec_ns");
VGPUIF_STATIC_ASSERT(sizeof(struct vgpuif_info) == 208, "info size");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_info, total_mem) == 72, "info.total");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_info, cc_major) == 104, "info.cc");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_info, gpu) == 144, "info.gpu");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_info, reserved0) == 148, "info.reserved0");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_info, ctx_overhead) == 152, "info.ctx_overhead");
VGPUIF_STATIC_ASSERT(offsetof(struct vgpuif_info, reserved) == 160, "info.reserved");
VGPUIF_STATIC_ASSERT(VGPUIF_SEGS_PER_INDIRECT_PAGE == 512, "segs per page");
VGPUIF_STATIC_ASSERT(VGPUIF_MAX_FUNC_NAME <= VGPUIF_MAX_REQUEST_BYTES, "name fits");
VGPUIF_STATIC_ASSERT(VGPUIF_MAX_MODULE_BYTES + VGPUIF_MAX_MODULE_LOG <=
		     VGPUIF_MAX_REQUEST_BYTES, "module fits one request");
VGPUIF_STATIC_ASSERT(3ull * 4 * VGPUIF_MAX_VECTOR_ADD_ELEMS <=
		     VGPUIF_MAX_REQUEST_BYTES, "vector add fits one request");

#endif /* VGPUIF_H */
