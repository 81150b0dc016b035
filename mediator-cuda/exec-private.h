/* SPDX-License-Identifier: MIT */
/*
 * exec-private.h - what the executors share behind executor.h: the method
 * table each implementation fills, the common head of struct vgpu_exec, and
 * helpers over the op's data stream (an iov list in stream order).
 *
 * Not for the backend: it sees only executor.h.
 */
#ifndef VGPU_EXEC_PRIVATE_H
#define VGPU_EXEC_PRIVATE_H

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#include "executor.h"

struct vgpu_exec_impl {
	const char *name;
	/* 0 or -errno; on failure *why says why (static or in ex->why_buf). */
	int  (*open)(struct vgpu_exec **out, const struct vgpu_exec_config *cfg,
		     const char **why);
	void (*close)(struct vgpu_exec *ex);
	int  (*get_info)(struct vgpu_exec *ex, struct vgpu_exec_info *info);
	/* NULL: the executor keeps no device snapshot (-EOPNOTSUPP). */
	int  (*device_info)(struct vgpu_exec *ex, struct vgpuif_device_info *out);
	int  (*ctx_create)(struct vgpu_exec *ex, struct vgpu_exec_ctx **out);
	void (*ctx_destroy)(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx);
	int  (*submit)(struct vgpu_exec *ex, struct vgpu_exec_op *op);
	int  (*host_register)(struct vgpu_exec *ex,
			      const struct vgpu_exec_hostmem *hm,
			      struct vgpu_exec_hostreg **out, uint32_t *mode,
			      const char **why);
	void (*host_unregister)(struct vgpu_exec *ex, struct vgpu_exec_hostreg *r);
	int  (*mem_info)(struct vgpu_exec *ex, uint64_t *free_b, uint64_t *total_b);
	/* NULL: launches make the executor reserve nothing (0). */
	uint64_t (*launch_mem)(struct vgpu_exec *ex, struct vgpu_exec_func *func);
};

/* The first member of every implementation's executor. */
struct vgpu_exec {
	const struct vgpu_exec_impl *impl;
	struct vgpu_exec_config cfg;
	char why[256];          /* why this executor was chosen (auto)     */
};

extern const struct vgpu_exec_impl vgpu_exec_cpu_impl;
#ifdef VGPU_HAVE_CUDA
extern const struct vgpu_exec_impl vgpu_exec_cuda_impl;
#endif

/* Log levels (the backend's numbering: 0 error .. 3 debug). */
enum {
	VGPU_EXEC_LOG_ERROR = 0,
	VGPU_EXEC_LOG_WARN  = 1,
	VGPU_EXEC_LOG_INFO  = 2,
	VGPU_EXEC_LOG_DEBUG = 3
};

/*
 * A log line "<executor> dom<N>: <msg>" through cfg->log, or to stderr
 * (errors and warnings only) when the backend gave no log function.
 */
void vgpu_exec_log(const struct vgpu_exec_config *cfg, const char *exec_name,
		   int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline uint64_t vgpu_exec_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Total bytes of the stream (saturates at UINT64_MAX). */
uint64_t vgpu_exec_stream_len(const struct vgpu_exec_iov *iov, unsigned int niov);

/*
 * Copy stream bytes [off, off + len) to dst / from src. Return 0, or
 * VGPUIF_RSP_ERANGE when the stream is shorter (nothing is copied then).
 */
int vgpu_exec_stream_read(const struct vgpu_exec_iov *iov, unsigned int niov,
			  uint64_t off, void *dst, size_t len);
int vgpu_exec_stream_write(const struct vgpu_exec_iov *iov, unsigned int niov,
			   uint64_t off, const void *src, size_t len);

/*
 * Fill the executor-owned fields of a GET_INFO answer (protocol version,
 * executor, name, memory, compute capability, copy mode, limits); the
 * backend's fields (quota, use, priority, pool, domid, max_segments) stay 0.
 */
void vgpu_exec_fill_wire_info(const struct vgpu_exec_info *in,
			      struct vgpuif_info *out);

/* Sleep until CLOCK_MONOTONIC reaches t_ns (restarts after signals). */
void vgpu_exec_sleep_until(uint64_t t_ns);

#endif /* VGPU_EXEC_PRIVATE_H */
