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
 * Transport: an AF_UNIX SOCK_SEQPACKET socket pair carries fixed-size
 * commands and responses (one message each); guest data travels through a
 * shared memory arena (memfd) that the worker registers with the driver
 * (pinned), so copies are staged: backend memcpy <-> arena <-> DMA.
 *
 * The worker executes commands in order and answers them in the same order
 * (a completion FIFO), so the executor matches responses to its in-flight
 * list by position; tag is a check.
 */
#ifndef VGPU_CUDA_IPC_H
#define VGPU_CUDA_IPC_H

#include <stdint.h>

/* The environment variable that turns a process into a worker. */
#define CW_ENV "VGPU_EXEC_CUDA_WORKER"

/* Internal commands beside the VGPUIF_OP_* opcodes they share a field with. */
enum {
	CW_OP_MEMINFO = 100,    /* result[0] = free, [1] = total            */
};

struct cw_cmd {
	uint64_t tag;
	uint32_t op;            /* VGPUIF_OP_* or CW_OP_*                    */
	uint32_t dims[8];       /* LAUNCH: grid[3], block[3], shared, plen  */
	uint32_t _pad0;
	uint64_t ctx;           /* the executor's context id; 0 = none      */
	uint64_t obj[2];        /* worker object ids                        */
	uint64_t arg[4];        /* op-specific, see exec-cuda.c             */
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
	uint32_t _pad0;
};

/* The worker's entry (cuda-worker.c); exec-cuda.c references it so that
 * the static library links the worker's constructor into every program. */
int vgpu_exec_cuda_worker_main(const char *spec);

#endif /* VGPU_CUDA_IPC_H */
