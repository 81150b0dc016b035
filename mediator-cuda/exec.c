/* SPDX-License-Identifier: MIT */
/*
 * exec.c - executor dispatch: "auto", "cuda" or "cpu" to an implementation,
 * the public entry points of executor.h, and helpers over the data stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-private.h"

void vgpu_exec_log(const struct vgpu_exec_config *cfg, const char *exec_name,
		   int level, const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "%s executor dom%u: ", exec_name,
		     cfg ? cfg->domid : 0);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (cfg && cfg->log)
		cfg->log(cfg->log_arg, level, msg);
	else if (level <= VGPU_EXEC_LOG_WARN)
		fprintf(stderr, "%s\n", msg);
}

uint64_t vgpu_exec_stream_len(const struct vgpu_exec_iov *iov, unsigned int niov)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < niov; i++) {
		if (total + iov[i].len < total)
			return UINT64_MAX;
		total += iov[i].len;
	}
	return total;
}

/* Walk [off, off+len) of the stream; dir 0 reads into buf, 1 writes it. */
static int stream_xfer(const struct vgpu_exec_iov *iov, unsigned int niov,
		       uint64_t off, void *buf, size_t len, int dir)
{
	uint64_t total = vgpu_exec_stream_len(iov, niov);
	unsigned char *p = buf;

	if (!vgpuif_range_ok(off, len, total))
		return VGPUIF_RSP_ERANGE;
	for (unsigned int i = 0; i < niov && len; i++) {
		size_t n;

		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		n = iov[i].len - (size_t)off;
		if (n > len)
			n = len;
		if (dir)
			memcpy((unsigned char *)iov[i].base + off, p, n);
		else
			memcpy(p, (unsigned char *)iov[i].base + off, n);
		p += n;
		len -= n;
		off = 0;
	}
	return 0;
}

int vgpu_exec_stream_read(const struct vgpu_exec_iov *iov, unsigned int niov,
			  uint64_t off, void *dst, size_t len)
{
	return stream_xfer(iov, niov, off, dst, len, 0);
}

int vgpu_exec_stream_write(const struct vgpu_exec_iov *iov, unsigned int niov,
			   uint64_t off, const void *src, size_t len)
{
	return stream_xfer(iov, niov, off, (void *)src, len, 1);
}

void vgpu_exec_fill_wire_info(const struct vgpu_exec_info *in,
			      struct vgpuif_info *out)
{
	memset(out, 0, sizeof(*out));
	out->protocol_version = VGPUIF_PROTOCOL_VERSION;
	out->executor = in->kind;
	memcpy(out->gpu_name, in->name, sizeof(out->gpu_name));
	out->gpu_name[sizeof(out->gpu_name) - 1] = '\0';
	out->total_mem = in->total_mem;
	out->free_mem = in->free_mem;
	out->cc_major = in->cc_major;
	out->cc_minor = in->cc_minor;
	out->sm_count = in->sm_count;
	out->copy_mode = in->copy_mode;
	out->ctx_overhead = in->ctx_overhead;
	out->max_param_bytes = VGPUIF_MAX_PARAM_BYTES;
	out->max_handles = VGPUIF_MAX_HANDLES_PER_CTX;
}

void vgpu_exec_sleep_until(uint64_t t_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t_ns / 1000000000ull),
		.tv_nsec = (long)(t_ns % 1000000000ull),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* ------------------------------------------------------------ dispatch */

static int open_impl(const struct vgpu_exec_impl *impl, struct vgpu_exec **out,
		     const struct vgpu_exec_config *cfg, const char **why)
{
	struct vgpu_exec *ex = NULL;
	int rc;

	rc = impl->open(&ex, cfg, why);
	if (rc < 0)
		return rc;
	ex->impl = impl;
	ex->cfg = *cfg;
	ex->cfg.name = impl->name;
	*out = ex;
	return 0;
}

int vgpu_exec_open(struct vgpu_exec **out, const struct vgpu_exec_config *cfg,
		   const char **why)
{
	static const char *dummy;
	const char *name;
	int rc;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!out || !cfg) {
		*why = "no config given";
		return -EINVAL;
	}
	*out = NULL;
	name = cfg->name ? cfg->name : "auto";

	if (!strcmp(name, "cpu")) {
		rc = open_impl(&vgpu_exec_cpu_impl, out, cfg, why);
		if (!rc)
			snprintf((*out)->why, sizeof((*out)->why),
				 "cpu executor requested");
		return rc;
	}
	if (!strcmp(name, "cuda")) {
#ifdef VGPU_HAVE_CUDA
		rc = open_impl(&vgpu_exec_cuda_impl, out, cfg, why);
		if (!rc)
			snprintf((*out)->why, sizeof((*out)->why),
				 "cuda executor requested");
		return rc;
#else
		*why = "this build has no cuda executor (configured with VGPU_CUDA=OFF)";
		return -ENODEV;
#endif
	}
	if (!strcmp(name, "auto")) {
		const char *cuda_why =
			"this build has no cuda executor (configured with VGPU_CUDA=OFF)";
#ifdef VGPU_HAVE_CUDA
		rc = open_impl(&vgpu_exec_cuda_impl, out, cfg, &cuda_why);
		if (!rc) {
			snprintf((*out)->why, sizeof((*out)->why),
				 "auto: a usable CUDA device was found");
			vgpu_exec_log(cfg, "auto", VGPU_EXEC_LOG_INFO,
				      "using the cuda executor");
			return 0;
		}
		if (!cuda_why)
			cuda_why = "cuda executor failed to open";
#endif
		rc = open_impl(&vgpu_exec_cpu_impl, out, cfg, why);
		if (rc < 0)
			return rc;
		snprintf((*out)->why, sizeof((*out)->why), "auto: no usable GPU (%s)",
			 cuda_why);
		vgpu_exec_log(cfg, "auto", VGPU_EXEC_LOG_INFO,
			      "using the cpu executor: no usable GPU (%s)", cuda_why);
		return 0;
	}
	*why = "unknown executor name (expected auto, cuda or cpu)";
	return -EINVAL;
}

void vgpu_exec_close(struct vgpu_exec *ex)
{
	if (ex)
		ex->impl->close(ex);
}

const char *vgpu_exec_name(const struct vgpu_exec *ex)
{
	return ex ? ex->impl->name : "none";
}

const char *vgpu_exec_why(const struct vgpu_exec *ex)
{
	return ex ? ex->why : "no executor";
}

int vgpu_exec_get_info(struct vgpu_exec *ex, struct vgpu_exec_info *info)
{
	if (!ex || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	return ex->impl->get_info(ex, info);
}

int vgpu_exec_device_info(struct vgpu_exec *ex, struct vgpuif_device_info *out)
{
	if (!ex || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!ex->impl->device_info)
		return -EOPNOTSUPP;
	return ex->impl->device_info(ex, out);
}

int vgpu_exec_ctx_create(struct vgpu_exec *ex, struct vgpu_exec_ctx **out)
{
	if (!ex || !out)
		return -EINVAL;
	*out = NULL;
	return ex->impl->ctx_create(ex, out);
}

void vgpu_exec_ctx_destroy(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx)
{
	if (ex && ctx)
		ex->impl->ctx_destroy(ex, ctx);
}

int vgpu_exec_submit(struct vgpu_exec *ex, struct vgpu_exec_op *op)
{
	if (!ex || !op || !op->done)
		return VGPUIF_RSP_EINVAL;
	if (op->niov && !op->iov)
		return VGPUIF_RSP_EINVAL;
	op->result[0] = op->result[1] = 0;
	op->object = NULL;
	op->exec_ns = 0;
	return ex->impl->submit(ex, op);
}

int vgpu_exec_host_register(struct vgpu_exec *ex,
			    const struct vgpu_exec_hostmem *hm,
			    struct vgpu_exec_hostreg **out, uint32_t *mode,
			    const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = "invalid arguments";
	if (!ex || !hm || !hm->addr || !hm->len || hm->len % VGPUIF_PAGE_SIZE ||
	    !out || !mode)
		return -EINVAL;
	*out = NULL;
	*mode = VGPUIF_COPY_STAGED;
	*why = "";
	return ex->impl->host_register(ex, hm, out, mode, why);
}

void vgpu_exec_host_unregister(struct vgpu_exec *ex, struct vgpu_exec_hostreg *r)
{
	if (ex && r)
		ex->impl->host_unregister(ex, r);
}

int vgpu_exec_mem_info(struct vgpu_exec *ex, uint64_t *free_b, uint64_t *total_b)
{
	uint64_t f, t;
	int rc;

	if (!ex)
		return -EINVAL;
	rc = ex->impl->mem_info(ex, &f, &t);
	if (rc < 0)
		return rc;
	if (free_b)
		*free_b = f;
	if (total_b)
		*total_b = t;
	return 0;
}

uint64_t vgpu_exec_launch_mem(struct vgpu_exec *ex, struct vgpu_exec_func *func)
{
	if (!ex || !func || !ex->impl->launch_mem)
		return 0;
	return ex->impl->launch_mem(ex, func);
}
