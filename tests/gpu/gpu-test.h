/* SPDX-License-Identifier: MIT */
/*
 * gpu-test.h - what the GPU suite's files share (test_gpu_exec.c: the
 * executor, modules and kernels, faults, leaks; gpu-r2.c: revision 2).
 */
#ifndef VGPU_GPU_TEST_H
#define VGPU_GPU_TEST_H

#include <stdbool.h>
#include <sys/types.h>

#include "exec-test.h"

/* The executor and guest context of the running test (setup/teardown). */
extern struct vgpu_exec *ex;
extern struct vgpu_exec_ctx *ctx;

/* Against tests/gpu/fake-cuda (VGPU_TEST_FAKE_CUDA=1), not a GPU. */
bool fake_cuda(void);

struct vgpu_exec *open_cuda(uint32_t watchdog_ms);
/* With the context limits fixed (0: the executor's defaults). */
struct vgpu_exec *open_cuda_limits(uint32_t watchdog_ms, uint64_t heap,
				   uint64_t printf_fifo, uint32_t stack);
void setup(void);
void teardown(void);

/* The quota a MODULE_LOAD or LAUNCH runs under, and what it reported. */
struct et_quota {
	bool limited;
	uint64_t limit;
	uint64_t result0;       /* MODULE_LOAD's result[0]                 */
	uint64_t charged;       /* the op's mem_charged                    */
};

/* Through ex; each returns the status. */
int load_module_q(struct vgpu_exec_ctx *c, const void *image, size_t len,
		  uint32_t format, char *log, uint32_t log_len,
		  struct vgpu_exec_mod **mod, uint64_t *log_written,
		  struct et_quota *q);
int launch_q(struct vgpu_exec_ctx *c, struct vgpu_exec_stream *st,
	     struct vgpu_exec_func *f, uint32_t grid, uint32_t block,
	     void *params, uint32_t plen, struct et_quota *q);
int load_module(struct vgpu_exec_ctx *c, const void *image, size_t len,
		uint32_t format, char *log, uint32_t log_len,
		struct vgpu_exec_mod **mod, uint64_t *log_written);
int func_get(struct vgpu_exec_ctx *c, struct vgpu_exec_mod *mod,
	     const char *name, struct vgpu_exec_func **f, uint64_t *pbytes);
/* A 1-D launch on st (NULL: the default stream). */
int launch_on(struct vgpu_exec_ctx *c, struct vgpu_exec_stream *st,
	      struct vgpu_exec_func *f, uint32_t grid, uint32_t block,
	      void *params, uint32_t plen);

/* A kernel of gpu-kernels.h (vt_saxpy, vt_fault, vt_spin, vt_empty), its
 * module loaded into ctx. */
struct vgpu_exec_func *guest_kernel(const char *name);

/*
 * Another domain (a process with an executor of its own) working until
 * stop_bystander(): vector adds, or with streams kernels and copies on a
 * stream. stop_bystander() fails the test unless it worked correctly
 * throughout, also after this domain's fault.
 */
pid_t start_bystander(int *stop_fd, int *ready_fd, bool streams);
void stop_bystander(pid_t pid, int stop_fd);
/* After a fault or a watchdog: old objects are gone, new work runs. */
void check_recovered(struct vgpu_exec_mem *old);

Suite *gpu_r2_suite(void);
Suite *gpu_quota_suite(void);      /* gpu-quota.c: #15's GPU memory */
/* The log lines of ex (open_cuda's), kept for tests to search. */
bool log_has(const char *needle);
void log_clear(void);

#endif
