/* SPDX-License-Identifier: MIT */
/*
 * ptx-exec.h - between the cpu executor (exec-cpu.c) and its PTX modules
 * (ptx-exec.c on ptx.h): the module ops, and the few things of the
 * executor's memory the modules need. Not for the backend.
 *
 * Lock order: ptx_exec's lock, then the cpu executor's; exec-cpu.c calls
 * in here without holding its own.
 */
#ifndef VGPU_PTX_EXEC_H
#define VGPU_PTX_EXEC_H

#include "exec-private.h"
#include "ptx.h"

struct ptx_exec;         /* the modules of one cpu executor */

/* ---- ptx-exec.c, called by exec-cpu.c ------------------------------ */

struct ptx_exec *ptx_exec_new(struct vgpu_exec *ex);
void ptx_exec_free(struct ptx_exec *pe);
/* Close: a kernel still running stops (its LAUNCH gets ESHUTDOWN). */
void ptx_exec_cancel(struct ptx_exec *pe);
/*
 * MODULE_LOAD, MODULE_UNLOAD, FUNC_GET, MODULE_GLOBAL, LAUNCH, run in the
 * executor's order (on its worker); FUNC_INFO and FUNC_SET_ATTR, answered
 * at once. Returns the op's status.
 */
int  ptx_exec_op(struct ptx_exec *pe, struct vgpu_exec_op *op);
/* ctx is being destroyed: its modules go (their memory goes with ctx). */
void ptx_exec_ctx_gone(struct ptx_exec *pe, struct vgpu_exec_ctx *ctx);
/*
 * The threads the stand-in device holds at once (exec-cpu.c's snapshot:
 * one multiprocessor of VGPUIF_MAX_BLOCK_THREADS), for local memory.
 */
#define PTX_EXEC_RESIDENT_THREADS VGPUIF_MAX_BLOCK_THREADS
/* executor.h's vgpu_exec_launch_mem for the cpu executor. */
uint64_t ptx_exec_launch_mem(struct ptx_exec *pe, struct vgpu_exec_func *f);
/*
 * At LAUNCH's submit: charge the local memory a launch of op's function
 * makes the device reserve (op->mem_charged), or VGPUIF_RSP_EDQUOT past
 * op->mem_limit (logged); 0 otherwise.
 */
int  ptx_exec_local_charge(struct ptx_exec *pe, struct vgpu_exec_op *op);

/* ---- exec-cpu.c, called by ptx-exec.c ------------------------------ */

/*
 * A module variable of ctx: zeroed memory in the context's address space
 * (copies, memsets and kernels reach it), owned by the module (MEM_FREE
 * refuses it). Returns 0 or a status (ENOMEM past the executor's memory).
 */
int  vgpu_exec_cpu_var_new(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
			   uint64_t size, bool is_const,
			   struct vgpu_exec_mem **out, uint64_t *addr,
			   unsigned char **host);
void vgpu_exec_cpu_var_free(struct vgpu_exec *ex, struct vgpu_exec_mem *m);
uint64_t vgpu_exec_cpu_var_addr(const struct vgpu_exec_mem *m);
/* The memory a kernel of ctx may touch, sorted by address (free *out). */
int  vgpu_exec_cpu_regions(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx,
			   struct ptx_region **out, size_t *n);
/*
 * A kernel faulted or ran out of time: the domain's device state is lost,
 * as the GPU's is. Every allocation of every context is lost (ops naming
 * one get EREMOTEIO; MEM_FREE still frees it).
 */
void vgpu_exec_cpu_lose_state(struct vgpu_exec *ex);

#endif /* VGPU_PTX_EXEC_H */
