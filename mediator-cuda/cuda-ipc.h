/* SPDX-License-Identifier: MIT */
/*
 * cuda-ipc.h - between the cuda executor (exec-cuda.c, in vgpu-backend) and
 * its GPU worker process (cuda-worker.c).
 *
 * Why a separate process: on the H100 (driver 580) a sticky CUDA error
 * (a guest kernel's illegal address) poisons every CUDA context of the
 * process, and no new context can be created in it; and cuCtxDestroy() of a
 * context whose kernel spins waits for the kernel to end. Killing the
 * process that owns the context frees the GPU in about 0.1 s and leaves
 * other processes' contexts running. So each executor (each guest domain)
 * runs its CUDA work in a worker process it can kill and restart: a fault or
 * a watchdog expiry costs that domain's context only, and the backend
 * process, its ring and its handles survive.
 *
 * The command set (this header) is separate from how it travels
 * (cw_send/cw_recv below): today an AF_UNIX SOCK_SEQPACKET socket pair, one
 * message per command or response, each a fixed header followed by
 * inline_len bytes of inline data (launch parameters, names, FUNC_INFO's
 * answer); bulk guest data travels through a shared memory arena (memfd)
 * that the worker registers with the driver (pinned), so copies are staged:
 * backend memcpy <-> arena <-> DMA. A shared-memory ring can replace the
 * socket without touching the commands.
 *
 * Completion order (executor.h's classes): the worker answers a
 * stream-ordered command when its work has completed, in order per stream;
 * a wait (SYNC, STREAM_SYNC, EVENT_SYNC, MEM_FREE, MODULE_UNLOAD,
 * STREAM_DESTROY, CTX_DESTROY) after the answers of the work it waits for;
 * everything else at once. So answers of different streams come in any
 * order and the executor matches them to commands by tag.
 */
#ifndef VGPU_CUDA_IPC_H
#define VGPU_CUDA_IPC_H

#include <errno.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "vgpuif.h"

/* The environment variable that turns a process into a worker. */
#define CW_ENV "VGPU_EXEC_CUDA_WORKER"

/* Most inline bytes one command or response carries. */
#define CW_MAX_INLINE 4096u

/*
 * cw_cmd.flags. CW_F_YIELD: a domain of a higher priority uses the GPU
 * (executor.h's op->yield): the worker puts a large copy or memset on the
 * GPU one slice at a time, waiting for each, and its threads sleep rather
 * than spin while they wait.
 */
#define CW_F_YIELD 0x1u
/*
 * CW_F_HOST (MEMCPY_H2D/D2H): the host side is registered guest memory,
 * obj[1] (a CW_OP_HOST_REGISTER answer's obj) at offset arg[2], not the
 * arena: the copy DMAs straight from (to) the guest's pages.
 */
#define CW_F_HOST  0x2u

/* Internal commands beside the VGPUIF_OP_* opcodes they share a field with. */
enum {
	CW_OP_MEMINFO = 100,    /* result[0] = free, [1] = total            */
	/*
	 * Guest memory, mapped by the worker itself and registered with the
	 * driver (zero copy): the message carries a file descriptor
	 * (SCM_RIGHTS) and inline {file offset, bytes} runs (16 bytes each,
	 * page-aligned, in order); arg[0] total bytes, arg[1] 1 = writable.
	 * -> obj; on failure result[0] the CUresult (0: not the driver's).
	 */
	CW_OP_HOST_REGISTER = 101,
	CW_OP_HOST_UNREGISTER = 102, /* obj[0]; after the copies naming it */
};

/*
 * A command. Object fields hold the worker's ids (its pointers, opaque to
 * the executor); 0 = none. Per op (arg[] unused are 0):
 *   CTX_CREATE/DESTROY  ctx
 *   MEM_ALLOC           arg[0] size -> obj, result[1] device address
 *   MEM_FREE            obj[0]
 *   MEMCPY_H2D/D2H      stream, obj[0], arg[0] offset, arg[1] length,
 *                       arena [stage_off, +length); with CW_F_HOST
 *                       obj[1] registered memory at arg[2] instead
 *   MEMCPY_D2D          stream, obj[0] dst, obj[1] src, arg[0] dst offset,
 *                       arg[1] src offset, arg[2] length
 *   MEMSET              stream, obj[0], arg[0] offset, arg[1] length,
 *                       arg[2] value, arg[3] element size
 *   MODULE_LOAD         arg[0] image length, arg[1] format, arg[2] log
 *                       length, arg[3] the most device memory it may hold
 *                       (UINT64_MAX: no quota); arena: image then log ->
 *                       obj, result[0] the device memory it holds (also
 *                       with EDQUOT: what it would), result[1] log bytes
 *   MODULE_UNLOAD       obj[0]
 *   FUNC_GET            obj[0] module, inline name -> obj, result[0] its
 *                       local bytes per thread, result[1] parameter bytes
 *   LAUNCH              stream, obj[0] func, dims[], inline parameters
 *   VECTOR_ADD          ctx (may be 0), arg[0] n, arena a, b, c
 *   STREAM_CREATE       arg[0] flags, arg[1] priority (int32) -> obj,
 *                       result[1] the priority it got
 *   STREAM_DESTROY/SYNC/QUERY  stream (0 = default for SYNC/QUERY);
 *                       QUERY: result[0] 1 idle, 0 busy
 *   STREAM_WAIT_EVENT   stream, event[0]
 *   EVENT_CREATE        arg[0] flags -> obj
 *   EVENT_DESTROY/SYNC/QUERY  event[0]; QUERY: result[0] 1 done, 0 not
 *   EVENT_RECORD        stream, event[0]
 *   EVENT_ELAPSED       event[0] start, event[1] end -> result[0] ms bits
 *   FUNC_INFO           obj[0] func -> inline struct vgpuif_func_info
 *   FUNC_SET_ATTR       obj[0] func, arg[0] attribute, arg[1] value (int32)
 *   MODULE_GLOBAL       obj[0] module, inline name -> obj (the same for the
 *                       same global), result[0] address, result[1] size
 *   NOP                 arg[0]: the status to answer (stale objects)
 */
struct cw_cmd {
	uint64_t tag;
	uint32_t op;            /* VGPUIF_OP_* or CW_OP_*                    */
	uint32_t inline_len;    /* bytes after this header                  */
	uint32_t dims[8];       /* LAUNCH: grid[3], block[3], shared, plen  */
	uint32_t flags;         /* CW_F_*                                   */
	uint32_t _pad0;
	uint64_t ctx;           /* the executor's context id; 0 = none      */
	uint64_t stream;        /* worker stream; 0 = the context's default */
	uint64_t obj[2];        /* worker object ids                        */
	uint64_t event[2];      /* worker event ids                         */
	uint64_t arg[4];
	uint64_t stage_off;     /* arena range of the op's data             */
	uint64_t stage_len;
};

struct cw_rsp {
	uint64_t tag;
	int32_t  status;        /* VGPUIF_RSP_*                              */
	uint32_t lost;          /* the context is poisoned: restart me      */
	uint64_t result[2];
	uint64_t obj;           /* new worker object id                     */
	uint64_t exec_ns;
	uint32_t inline_len;    /* bytes after this header                  */
	uint32_t _pad0;
};

/* First message of a worker: ready, or why not. */
struct cw_hello {
	int32_t  status;        /* 0 or -errno                               */
	uint32_t driver_version;
	char     why[256];
	char     name[64];
	uint64_t total_mem, free_mem;
	uint32_t cc_major, cc_minor, sm_count;
	uint32_t param_info;    /* cuFuncGetParamInfo available             */
	uint32_t pid;
	int32_t  prio_least;    /* cuCtxGetStreamPriorityRange              */
	int32_t  prio_greatest;
	uint32_t overhead_measured; /* 1: ctx_overhead measured (NVML), 0:
				 * computed from the limits below         */
	/*
	 * Device memory the context itself takes: what the device's use grew
	 * by from before cuCtxCreate to after the limits were set, the
	 * built-in kernel loaded, its buffer allocated and one launch made
	 * (the driver reserves local memory at the first launch).
	 */
	uint64_t ctx_overhead;
	uint64_t lim_heap, lim_printf, lim_stack; /* cuCtxGetLimit after set */
	uint64_t resident_threads;  /* threads per SM x SMs                 */
	char     overhead_why[96];  /* why not measured                     */
	struct vgpuif_device_info dev; /* the snapshot DEVICE_INFO answers  */
};

/*
 * The worker's start (CW_ENV's value): socket fd, arena memfd, arena size,
 * device ordinal, then the limits fixed for its context (heap, printf
 * buffer, stack per thread; 0 = CUDA's defaults).
 */
#define CW_SPEC_FMT "%d:%d:%llu:%d:%llu:%llu:%llu"

/* ------------------------------------------------------------ transport */

/*
 * One message: hdr then data. 0, or -errno (-EAGAIN only with
 * MSG_DONTWAIT in flags; -EPIPE when the peer is gone).
 */
static inline int cw_send(int fd, const void *hdr, size_t hlen,
			  const void *data, size_t dlen, int flags)
{
	struct iovec iov[2] = {
		{ (void *)hdr, hlen },
		{ (void *)data, dlen },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = dlen ? 2 : 1 };
	ssize_t n;

	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(hlen + dlen) ? 0 : -EIO;
}

/* cw_send with a file descriptor attached (SCM_RIGHTS). */
static inline int cw_send_fd(int fd, const void *hdr, size_t hlen,
			     const void *data, size_t dlen, int pass_fd)
{
	struct iovec iov[2] = {
		{ (void *)hdr, hlen },
		{ (void *)data, dlen },
	};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = dlen ? 2 : 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	memset(&ctl, 0, sizeof(ctl));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(hlen + dlen) ? 0 : -EIO;
}

/*
 * cw_recv that also takes a file descriptor sent with the message
 * (*rfd, -1 when none; the caller closes it).
 */
static inline ssize_t cw_recv_fd(int fd, void *buf, size_t len, int flags,
				 int *rfd)
{
	struct iovec iov = { buf, len };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	*rfd = -1;
	n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(rfd, CMSG_DATA(cm), sizeof(int));
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	return n;
}

/*
 * One message into buf (len bytes at most): its length, 0 at EOF, or
 * -errno (-EAGAIN with MSG_DONTWAIT; -EMSGSIZE when it did not fit).
 */
static inline ssize_t cw_recv(int fd, void *buf, size_t len, int flags)
{
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	n = recvmsg(fd, &mh, flags);
	if (n < 0)
		return -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	return n;
}

/* The worker's entry (cuda-worker.c); exec-cuda.c references it so that
 * the static library links the worker's constructor into every program. */
int vgpu_exec_cuda_worker_main(const char *spec);

#endif /* VGPU_CUDA_IPC_H */
