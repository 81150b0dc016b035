/* SPDX-License-Identifier: MIT */
/*
 * ptx-exec.c - the cpu executor's modules: MODULE_LOAD (PTX, or the PTX of
 * a fat binary) with the loader's log returned as a GPU driver returns its
 * JIT log, module variables placed in the context's memory, FUNC_GET,
 * FUNC_INFO, FUNC_SET_ATTR, MODULE_GLOBAL, MODULE_UNLOAD, and LAUNCH on the
 * interpreter (ptx-interp.c) with the watchdog as an instruction budget.
 *
 * A fault or a watchdog expiry loses the domain's device state, as on the
 * GPU (and as the cuda executor answers it): every module, function and
 * allocation made before is gone for later ops (EREMOTEIO), MODULE_UNLOAD
 * and MEM_FREE of them still succeed so the backend can clean up, and new
 * objects work as usual.
 *
 * Threading: the executor runs every op here on one order (its worker, or
 * inline when nothing is queued), except FUNC_INFO and FUNC_SET_ATTR,
 * answered at once from the ring thread: pe->lock protects the module list,
 * the generation and each function's settable attributes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx-exec.h"

#define MOD_MAGIC  0x444f4d50u   /* "PMOD" */
#define FUNC_MAGIC 0x434e5550u   /* "PUNC" */
#define DEAD_MAGIC 0xdeadbeefu
/* A guest can fault at will: one log line per 10 s at most. */
#define FAULT_LOG_NS 10000000000ull

/* CUfunction_attribute values a program may set (FUNC_SET_ATTR) */
enum {
	FA_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
	FA_PREFERRED_SHARED_MEMORY_CARVEOUT = 9,
};

struct vgpu_exec_func {
	uint32_t magic;
	struct vgpu_exec_mod *mod;
	const struct ptx_kernel *k;
	uint32_t max_dyn_shared;         /* 0: the default               */
	int32_t  carveout;               /* -1: the default              */
	struct vgpu_exec_func *next;     /* mod->funcs                   */
};

struct vgpu_exec_mod {
	uint32_t magic;
	uint32_t gen;                    /* of pe: stale when it differs */
	struct vgpu_exec_ctx *ctx;
	struct ptx_module *pm;
	struct vgpu_exec_mem **vars;     /* per module variable          */
	unsigned int nvars;
	struct vgpu_exec_func *funcs;
	struct vgpu_exec_mod *prev, *next;
};

struct ptx_exec {
	struct vgpu_exec *ex;
	pthread_mutex_t lock;            /* protects everything below    */
	struct vgpu_exec_mod *mods;
	uint32_t gen;                    /* bumped when state is lost    */
	uint64_t fault_log_ns;
	uint64_t refusal_log_ns;         /* rate limit of EDQUOT lines   */
	uint32_t refusals_quiet;         /* refusals since the last line */
	uint64_t lmem_per_thread;        /* local bytes reserved per thread,
					  * the most any launch asked      */
	volatile int cancel;             /* read by running kernels      */
};


#define PLOG(pe, lvl, ...) \
	vgpu_exec_log(&(pe)->ex->cfg, "cpu", (lvl), __VA_ARGS__)

/* A refusal line, at most one per FAULT_LOG_NS (the rest are counted). */
static void refusal_log(struct ptx_exec *pe, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void refusal_log(struct ptx_exec *pe, const char *fmt, ...)
{
	uint64_t now = vgpu_exec_now_ns();
	uint32_t quiet;
	char msg[400];
	va_list ap;

	pthread_mutex_lock(&pe->lock);
	if (pe->refusal_log_ns && now - pe->refusal_log_ns < FAULT_LOG_NS) {
		pe->refusals_quiet++;
		pthread_mutex_unlock(&pe->lock);
		return;
	}
	pe->refusal_log_ns = now;
	quiet = pe->refusals_quiet;
	pe->refusals_quiet = 0;
	pthread_mutex_unlock(&pe->lock);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (quiet)
		PLOG(pe, VGPU_EXEC_LOG_WARN, "%s (and %u refusals since the last "
		     "line)", msg, quiet);
	else
		PLOG(pe, VGPU_EXEC_LOG_WARN, "%s", msg);
}

struct ptx_exec *ptx_exec_new(struct vgpu_exec *ex)
{
	struct ptx_exec *pe = calloc(1, sizeof(*pe));

	if (!pe)
		return NULL;
	pe->ex = ex;
	pthread_mutex_init(&pe->lock, NULL);
	return pe;
}

static void mod_destroy(struct ptx_exec *pe, struct vgpu_exec_mod *m,
			bool free_vars)
{
	/* caller holds pe->lock and has unlinked m */
	while (m->funcs) {
		struct vgpu_exec_func *f = m->funcs;

		m->funcs = f->next;
		f->magic = DEAD_MAGIC;
		free(f);
	}
	if (free_vars)
		for (unsigned int i = 0; i < m->nvars; i++)
			if (m->vars[i])
				vgpu_exec_cpu_var_free(pe->ex, m->vars[i]);
	free(m->vars);
	ptx_module_free(m->pm);
	m->magic = DEAD_MAGIC;
	free(m);
}

static void mod_unlink(struct ptx_exec *pe, struct vgpu_exec_mod *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		pe->mods = m->next;
	if (m->next)
		m->next->prev = m->prev;
}

void ptx_exec_free(struct ptx_exec *pe)
{
	if (!pe)
		return;
	/* the contexts went first, and their modules with them */
	while (pe->mods) {
		struct vgpu_exec_mod *m = pe->mods;

		mod_unlink(pe, m);
		mod_destroy(pe, m, false);
	}
	pthread_mutex_destroy(&pe->lock);
	free(pe);
}

void ptx_exec_cancel(struct ptx_exec *pe)
{
	__atomic_store_n(&pe->cancel, 1, __ATOMIC_SEQ_CST);
}

void ptx_exec_ctx_gone(struct ptx_exec *pe, struct vgpu_exec_ctx *ctx)
{
	struct vgpu_exec_mod *m, *next;

	pthread_mutex_lock(&pe->lock);
	for (m = pe->mods; m; m = next) {
		next = m->next;
		if (m->ctx != ctx)
			continue;
		mod_unlink(pe, m);
		/* its variables are the context's memory: ctx_release frees them */
		mod_destroy(pe, m, false);
	}
	pthread_mutex_unlock(&pe->lock);
}

/* 0, EBADF (not a live module of ctx) or EREMOTEIO (of lost state). */
static int mod_check(struct ptx_exec *pe, const struct vgpu_exec_op *op,
		     const struct vgpu_exec_mod *m)
{
	int rc = 0;

	pthread_mutex_lock(&pe->lock);
	if (!m || m->magic != MOD_MAGIC || m->ctx != op->ctx)
		rc = VGPUIF_RSP_EBADF;
	else if (m->gen != pe->gen)
		rc = VGPUIF_RSP_EREMOTEIO;
	pthread_mutex_unlock(&pe->lock);
	return rc;
}

static int func_check(struct ptx_exec *pe, const struct vgpu_exec_op *op,
		      const struct vgpu_exec_func *f)
{
	if (!f || f->magic != FUNC_MAGIC)
		return VGPUIF_RSP_EBADF;
	return mod_check(pe, op, f->mod);
}

/* ------------------------------------------------------- MODULE_LOAD */

/* The log into stream [image_len, image_len + log_len), NUL-terminated. */
static void write_log(struct vgpu_exec_op *op, const char *log)
{
	uint64_t cap = op->u.module_load.log_len;
	size_t n;

	op->result[1] = 0;
	if (!cap)
		return;
	n = strlen(log) + 1;
	if (n > cap)
		n = (size_t)cap;
	if (vgpu_exec_stream_write(op->iov, op->niov, op->u.module_load.image_len,
				   log, n - 1) ||
	    vgpu_exec_stream_write(op->iov, op->niov,
				   op->u.module_load.image_len + n - 1, "", 1))
		return;
	op->result[1] = n;
}

/* Place the module's variables in the context's memory, initialized. */
static int place_vars(struct ptx_exec *pe, struct vgpu_exec_op *op,
		      struct vgpu_exec_mod *m)
{
	m->nvars = ptx_module_nglobals(m->pm);
	m->vars = calloc(m->nvars ? m->nvars : 1, sizeof(*m->vars));
	if (!m->vars)
		return VGPUIF_RSP_ENOMEM;
	for (unsigned int i = 0; i < m->nvars; i++) {
		struct ptx_global_info gi;
		unsigned char *host;
		uint64_t addr;
		int rc;

		ptx_module_global(m->pm, i, &gi);
		rc = vgpu_exec_cpu_var_new(pe->ex, op->ctx, gi.size, gi.is_const,
					   &m->vars[i], &addr, &host);
		if (rc)
			return rc;
		if (gi.init_len)
			memcpy(host, gi.init, (size_t)gi.init_len);
		ptx_module_bind_global(m->pm, i, addr);
	}
	return 0;
}

static int op_module_load(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	uint64_t len = op->u.module_load.image_len;
	uint32_t cap = op->u.module_load.log_len;
	struct vgpu_exec_mod *m = NULL;
	char *image = NULL, *log = NULL;
	int rc;

	if (len == 0 || op->u.module_load.format > VGPUIF_MODULE_FATBIN)
		return VGPUIF_RSP_EINVAL;
	if (len > VGPUIF_MAX_MODULE_BYTES || cap > VGPUIF_MAX_MODULE_LOG)
		return VGPUIF_RSP_E2BIG;
	if (vgpu_exec_stream_len(op->iov, op->niov) < len + cap)
		return VGPUIF_RSP_ERANGE;
	/* a private copy: the guest may rewrite its pages while we parse */
	image = malloc((size_t)len + 1);
	log = calloc(1, cap + 1u);
	if (!image || !log) {
		rc = VGPUIF_RSP_ENOMEM;
		goto out;
	}
	rc = vgpu_exec_stream_read(op->iov, op->niov, 0, image, (size_t)len);
	if (rc)
		goto out;
	image[len] = '\0';
	m = calloc(1, sizeof(*m));
	if (!m) {
		rc = VGPUIF_RSP_ENOMEM;
		goto out;
	}
	if (op->u.module_load.format == VGPUIF_MODULE_CUBIN &&
	    !(len >= 4 && !memcmp(image, "\177ELF", 4))) {
		snprintf(log, cap + 1u, "ptx: error: format cubin, but the image "
			"is no ELF\n");
		rc = -ENOEXEC;
	} else {
		rc = ptx_module_load(image, (size_t)len, &m->pm, log, cap + 1u);
	}
	free(image);
	image = NULL;
	write_log(op, log);
	if (rc) {
		PLOG(pe, VGPU_EXEC_LOG_DEBUG, "MODULE_LOAD refused (%s): %s",
		     rc == -EOPNOTSUPP ? "EOPNOTSUPP" : rc == -ENOMEM ? "ENOMEM" :
		     "ENOEXEC", log[0] ? log : "(no log)");
		rc = rc == -EOPNOTSUPP ? VGPUIF_RSP_EOPNOTSUPP :
		     rc == -ENOMEM ? VGPUIF_RSP_ENOMEM : VGPUIF_RSP_ENOEXEC;
		goto out;
	}
	{
		struct ptx_module_usage u;

		/* for the quota: what its variables hold of device memory */
		ptx_module_usage(m->pm, &u);
		op->result[0] = u.global_bytes + u.const_bytes;
	}
	if (op->mem_limited && op->result[0] > op->mem_limit) {
		refusal_log(pe, "refused MODULE_LOAD (EDQUOT): its __device__ and "
			    "__constant__ variables would hold %llu bytes of device "
			    "memory and the domain's quota leaves %llu",
			    (unsigned long long)op->result[0],
			    (unsigned long long)op->mem_limit);
		snprintf(log, cap + 1u, "ptx: error: the module's variables need "
			 "%llu bytes of device memory; the domain's quota leaves "
			 "%llu\n", (unsigned long long)op->result[0],
			 (unsigned long long)op->mem_limit);
		write_log(op, log);
		ptx_module_free(m->pm);
		free(m);
		m = NULL;
		rc = VGPUIF_RSP_EDQUOT;
		goto out;
	}
	m->magic = MOD_MAGIC;
	m->ctx = op->ctx;
	rc = place_vars(pe, op, m);
	if (rc) {
		pthread_mutex_lock(&pe->lock);
		mod_destroy(pe, m, true);
		pthread_mutex_unlock(&pe->lock);
		m = NULL;
		goto out;
	}
	pthread_mutex_lock(&pe->lock);
	m->gen = pe->gen;
	m->next = pe->mods;
	if (m->next)
		m->next->prev = m;
	pe->mods = m;
	pthread_mutex_unlock(&pe->lock);
	op->mem_charged = op->result[0];
	op->object = m;
	m = NULL;
out:
	if (m) {
		ptx_module_free(m->pm);
		free(m);
	}
	free(image);
	free(log);
	return rc;
}

static int op_module_unload(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	struct vgpu_exec_mod *m = op->u.module_unload.mod;
	int rc = mod_check(pe, op, m);

	/* a module of lost state is still freed: the backend cleans up */
	if (rc == VGPUIF_RSP_EBADF)
		return rc;
	pthread_mutex_lock(&pe->lock);
	mod_unlink(pe, m);
	mod_destroy(pe, m, true);
	pthread_mutex_unlock(&pe->lock);
	return 0;
}

/* A name of the stream (not NUL-terminated, no NUL inside) into buf. */
static int read_name(const struct vgpu_exec_op *op, uint32_t len, char *buf,
		     size_t cap)
{
	if (len == 0 || len >= cap)
		return VGPUIF_RSP_EINVAL;
	if (vgpu_exec_stream_read(op->iov, op->niov, 0, buf, len))
		return VGPUIF_RSP_ERANGE;
	buf[len] = '\0';
	if (strlen(buf) != len)
		return VGPUIF_RSP_EINVAL;
	return 0;
}

static int op_func_get(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	struct vgpu_exec_mod *m = op->u.func_get.mod;
	char name[VGPUIF_MAX_FUNC_NAME + 1];
	const struct ptx_kernel *k;
	struct vgpu_exec_func *f;
	struct ptx_kernel_attrs a;
	int rc = mod_check(pe, op, m);

	if (rc)
		return rc;
	rc = read_name(op, op->u.func_get.name_len, name, sizeof(name));
	if (rc)
		return rc;
	k = ptx_module_kernel(m->pm, name, op->u.func_get.name_len);
	if (!k)
		return VGPUIF_RSP_ENOENT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return VGPUIF_RSP_ENOMEM;
	f->magic = FUNC_MAGIC;
	f->mod = m;
	f->k = k;
	f->carveout = -1;
	pthread_mutex_lock(&pe->lock);
	f->next = m->funcs;
	m->funcs = f;
	pthread_mutex_unlock(&pe->lock);
	ptx_kernel_attrs(k, &a);
	op->object = f;
	op->result[1] = a.param_bytes;
	return 0;
}

static int op_module_global(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	struct vgpu_exec_mod *m = op->u.module_global.mod;
	char name[VGPUIF_MAX_GLOBAL_NAME + 1];
	struct ptx_global_info gi;
	int rc = mod_check(pe, op, m), i;

	if (rc)
		return rc;
	rc = read_name(op, op->u.module_global.name_len, name, sizeof(name));
	if (rc)
		return rc;
	i = ptx_module_find_global(m->pm, name, op->u.module_global.name_len);
	if (i < 0)
		return VGPUIF_RSP_ENOENT;
	ptx_module_global(m->pm, (unsigned int)i, &gi);
	op->object = m->vars[i];
	/* the address the kernels use for it */
	op->result[0] = vgpu_exec_cpu_var_addr(m->vars[i]);
	op->result[1] = gi.size;
	return 0;
}

/* ------------------------------------------------------- functions */

static int op_func_info(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	struct vgpu_exec_func *f = op->u.func_info.func;
	struct vgpuif_func_info *fi;
	uint32_t dyn;
	int32_t carve;
	int rc = func_check(pe, op, f);

	if (rc)
		return rc;
	if (vgpu_exec_stream_len(op->iov, op->niov) < sizeof(*fi))
		return VGPUIF_RSP_ERANGE;
	fi = malloc(sizeof(*fi));
	if (!fi)
		return VGPUIF_RSP_ENOMEM;
	pthread_mutex_lock(&pe->lock);
	dyn = f->max_dyn_shared;
	carve = f->carveout;
	pthread_mutex_unlock(&pe->lock);
	ptx_kernel_func_info(f->k, dyn, carve, fi);
	rc = vgpu_exec_stream_write(op->iov, op->niov, 0, fi, sizeof(*fi));
	free(fi);
	return rc;
}

static int op_func_set_attr(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	struct vgpu_exec_func *f = op->u.func_attr.func;
	int32_t v = op->u.func_attr.value;
	struct ptx_kernel_attrs a;
	int rc = func_check(pe, op, f);

	if (rc)
		return rc;
	ptx_kernel_attrs(f->k, &a);
	switch (op->u.func_attr.attr) {
	case FA_MAX_DYNAMIC_SHARED_SIZE_BYTES:
		/* the device's opt-in maximum, less the static part */
		if (v < 0 || (uint32_t)v > PTX_MAX_SHARED_PER_BLOCK - a.shared_static)
			return VGPUIF_RSP_EINVAL;
		pthread_mutex_lock(&pe->lock);
		f->max_dyn_shared = (uint32_t)v;
		pthread_mutex_unlock(&pe->lock);
		return 0;
	case FA_PREFERRED_SHARED_MEMORY_CARVEOUT:
		if (v < -1 || v > 100)
			return VGPUIF_RSP_EINVAL;
		pthread_mutex_lock(&pe->lock);
		f->carveout = v;
		pthread_mutex_unlock(&pe->lock);
		return 0;
	case VGPUIF_FUNC_ATTR_CACHE_CONFIG:
		/* one cache here: every preference is honoured trivially */
		return v >= 0 && v <= 3 ? 0 : VGPUIF_RSP_EINVAL;
	default:
		/* cluster attributes: the reference device has no clusters */
		return VGPUIF_RSP_EINVAL;
	}
}

/* ------------------------------------------------------------ LAUNCH */

static void lose_state(struct ptx_exec *pe, const char *what, const char *why)
{
	uint64_t now = vgpu_exec_now_ns();
	bool say;

	pthread_mutex_lock(&pe->lock);
	pe->gen++;
	say = !pe->fault_log_ns || now - pe->fault_log_ns >= FAULT_LOG_NS;
	if (say)
		pe->fault_log_ns = now;
	pthread_mutex_unlock(&pe->lock);
	vgpu_exec_cpu_lose_state(pe->ex);
	if (say)
		PLOG(pe, VGPU_EXEC_LOG_WARN, "LAUNCH %s: %s; the domain's device "
		     "state is lost, as a GPU's after such a fault", what, why);
}

static int op_launch(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	struct vgpu_exec_func *f = op->u.launch.func;
	unsigned char params[VGPUIF_MAX_PARAM_BYTES];
	struct ptx_region *rg = NULL;
	struct ptx_launch *l;
	size_t nrg = 0;
	int rc = func_check(pe, op, f);

	if (rc)
		return rc;
	if (op->u.launch.param_len > VGPUIF_MAX_PARAM_BYTES)
		return VGPUIF_RSP_E2BIG;
	if (op->u.launch.param_len &&
	    vgpu_exec_stream_read(op->iov, op->niov, 0, params,
				  op->u.launch.param_len))
		return VGPUIF_RSP_ERANGE;
	l = calloc(1, sizeof(*l));
	if (!l)
		return VGPUIF_RSP_ENOMEM;
	rc = vgpu_exec_cpu_regions(pe->ex, op->ctx, &rg, &nrg);
	if (rc)
		goto out;
	l->kernel = f->k;
	memcpy(l->grid, op->u.launch.grid, sizeof(l->grid));
	memcpy(l->block, op->u.launch.block, sizeof(l->block));
	l->shared_mem = op->u.launch.shared_mem;
	pthread_mutex_lock(&pe->lock);
	l->max_dyn_shared = f->max_dyn_shared;
	pthread_mutex_unlock(&pe->lock);
	l->params = params;
	l->param_len = op->u.launch.param_len;
	l->regions = rg;
	l->nregions = nrg;
	l->budget = (uint64_t)pe->ex->cfg.watchdog_ms * PTX_INSNS_PER_MS;
	l->cancel = &pe->cancel;
	switch (ptx_launch(l)) {
	case 0:
		rc = 0;
		break;
	case -EINVAL:
		PLOG(pe, VGPU_EXEC_LOG_DEBUG, "LAUNCH refused (EINVAL): %s", l->why);
		rc = VGPUIF_RSP_EINVAL;
		break;
	case -EFAULT:
		lose_state(pe, "faulted (EREMOTEIO)", l->why);
		rc = VGPUIF_RSP_EREMOTEIO;
		break;
	case -ETIMEDOUT:
		lose_state(pe, "stopped by the watchdog (ETIMEDOUT)", l->why);
		rc = VGPUIF_RSP_ETIMEDOUT;
		break;
	case -ECANCELED:
		rc = VGPUIF_RSP_ESHUTDOWN;
		break;
	default:
		rc = VGPUIF_RSP_ENOMEM;
		break;
	}
out:
	free(rg);
	free(l);
	return rc;
}

/*
 * Local memory, as a GPU's driver reserves it: a kernel that needs more
 * local bytes per thread than any launch before grows the reservation to
 * that many bytes for every thread the device holds at once
 * (PTX_EXEC_RESIDENT_THREADS), and keeps it for the executor's life. The
 * interpreter itself takes local memory per block and frees it after the
 * launch; the charge is what the quota sees, the same as on a GPU.
 */
static uint32_t func_local(const struct vgpu_exec_func *f)
{
	struct ptx_kernel_attrs a;

	ptx_kernel_attrs(f->k, &a);
	return a.local_bytes;
}

static uint64_t local_grow(const struct ptx_exec *pe, const struct vgpu_exec_func *f)
{
	uint64_t per = ((uint64_t)func_local(f) + 15u) & ~15ull;

	return per > pe->lmem_per_thread ?
	       (per - pe->lmem_per_thread) * PTX_EXEC_RESIDENT_THREADS : 0;
}

uint64_t ptx_exec_launch_mem(struct ptx_exec *pe, struct vgpu_exec_func *f)
{
	uint64_t grow;

	if (!f || f->magic != FUNC_MAGIC)
		return 0;
	pthread_mutex_lock(&pe->lock);
	grow = local_grow(pe, f);
	pthread_mutex_unlock(&pe->lock);
	return grow;
}

int ptx_exec_local_charge(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	struct vgpu_exec_func *f = op->u.launch.func;
	uint64_t grow, now;
	uint32_t local;

	op->mem_charged = 0;
	if (!f || f->magic != FUNC_MAGIC)
		return 0;   /* the launch itself answers EBADF */
	pthread_mutex_lock(&pe->lock);
	grow = local_grow(pe, f);
	local = func_local(f);
	now = pe->lmem_per_thread;
	if (grow && op->mem_limited && grow > op->mem_limit) {
		pthread_mutex_unlock(&pe->lock);
		refusal_log(pe, "refused LAUNCH (EDQUOT): the kernel needs %u bytes "
			    "of local memory per thread, so the device would "
			    "reserve %llu bytes more (for the %u threads it holds "
			    "at once, %llu per thread now); the domain's quota "
			    "leaves %llu", local, (unsigned long long)grow,
			    PTX_EXEC_RESIDENT_THREADS, (unsigned long long)now,
			    (unsigned long long)op->mem_limit);
		return VGPUIF_RSP_EDQUOT;
	}
	if (grow) {
		pe->lmem_per_thread = ((uint64_t)local + 15u) & ~15ull;
		op->mem_charged = grow;
	}
	pthread_mutex_unlock(&pe->lock);
	return 0;
}

int ptx_exec_op(struct ptx_exec *pe, struct vgpu_exec_op *op)
{
	switch (op->opcode) {
	case VGPUIF_OP_MODULE_LOAD:
		return op_module_load(pe, op);
	case VGPUIF_OP_MODULE_UNLOAD:
		return op_module_unload(pe, op);
	case VGPUIF_OP_FUNC_GET:
		return op_func_get(pe, op);
	case VGPUIF_OP_MODULE_GLOBAL:
		return op_module_global(pe, op);
	case VGPUIF_OP_FUNC_INFO:
		return op_func_info(pe, op);
	case VGPUIF_OP_FUNC_SET_ATTR:
		return op_func_set_attr(pe, op);
	case VGPUIF_OP_LAUNCH:
		return op_launch(pe, op);
	default:
		return VGPUIF_RSP_ENOSYS;
	}
}
