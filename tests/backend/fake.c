/* SPDX-License-Identifier: MIT */
/*
 * fake.c - fake transport and executor for the backend's unit tests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake.h"

#define PG 4096u

static struct fake_transport *F(struct vgpuback_transport *t)
{
	return (struct fake_transport *)t;
}

/* ---------------------------------------------------------------- store */

static int key_index(struct fake_transport *f, const char *path)
{
	unsigned int i;

	for (i = 0; i < f->nkeys; i++)
		if (!strcmp(f->keys[i], path))
			return (int)i;
	return -1;
}

const char *fake_get(struct fake_transport *f, const char *path)
{
	int i = key_index(f, path);

	return i < 0 ? NULL : f->vals[i];
}

void fake_set(struct fake_transport *f, const char *path, const char *val)
{
	int i = key_index(f, path);

	if (i >= 0) {
		free(f->vals[i]);
		f->vals[i] = strdup(val);
		return;
	}
	if (f->nkeys >= 512)
		return;
	f->keys[f->nkeys] = strdup(path);
	f->vals[f->nkeys] = strdup(val);
	f->nkeys++;
}

void fake_rm(struct fake_transport *f, const char *path)
{
	size_t n = strlen(path);
	unsigned int i = 0;

	while (i < f->nkeys) {
		if (!strncmp(f->keys[i], path, n) &&
		    (f->keys[i][n] == '\0' || f->keys[i][n] == '/')) {
			free(f->keys[i]);
			free(f->vals[i]);
			f->nkeys--;
			f->keys[i] = f->keys[f->nkeys];
			f->vals[i] = f->vals[f->nkeys];
			continue;
		}
		i++;
	}
}

static char *ft_xs_read(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			const char *path, unsigned int *len)
{
	struct fake_transport *f = F(t);
	const char *v = fake_get(f, path);
	size_t n = strlen(path);
	unsigned int i;

	(void)xbt;
	if (!v) {
		/* A directory exists when something lies below it. */
		for (i = 0; i < f->nkeys; i++)
			if (!strncmp(f->keys[i], path, n) && f->keys[i][n] == '/')
				v = "";
		if (!v) {
			errno = ENOENT;
			return NULL;
		}
	}
	if (len)
		*len = (unsigned int)strlen(v);
	return strdup(v);
}

static int ft_xs_write(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
		       const char *path, const char *value)
{
	(void)xbt;
	fake_set(F(t), path, value);
	return 0;
}

static int ft_xs_mkdir(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
		       const char *path)
{
	(void)t; (void)xbt; (void)path;
	return 0;
}

static int ft_xs_rm(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
		    const char *path)
{
	(void)xbt;
	fake_rm(F(t), path);
	return 0;
}

static char **ft_xs_directory(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			      const char *path, unsigned int *num)
{
	(void)t; (void)xbt; (void)path;
	*num = 0;
	errno = ENOSYS;
	return NULL;
}

static int ft_xs_set_perms(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			   const char *path, const struct vgpuback_xs_acl *acl,
			   unsigned int n)
{
	(void)t; (void)xbt; (void)path; (void)acl; (void)n;
	return 0;
}

static int ft_xs_tstart(struct vgpuback_transport *t, vgpuback_xbt_t *xbt)
{
	(void)t;
	*xbt = 1;
	return 0;
}

static int ft_xs_tend(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
		      bool abort)
{
	struct fake_transport *f = F(t);

	(void)xbt;
	if (!abort && f->eagain_commits > 0) {
		f->eagain_commits--;
		return -EAGAIN;
	}
	return 0;
}

static int ft_xs_watch(struct vgpuback_transport *t, const char *path,
		       const char *token)
{
	(void)t; (void)path; (void)token;
	return 0;
}

static int ft_xs_watch_fd(struct vgpuback_transport *t)
{
	return F(t)->watch_fd;
}

static int ft_xs_read_watch(struct vgpuback_transport *t, char **path,
			    char **token)
{
	(void)t; (void)path; (void)token;
	return 0;
}

static int ft_domain_alive(struct vgpuback_transport *t, uint32_t domid)
{
	(void)domid;
	return F(t)->domain_dead ? 0 : 1;
}

/* --------------------------------------------------------------- grants */

/* Live mappings: address -> refs (unmap needs to know which refs). */
struct fmap {
	uint8_t *addr;
	uint32_t count;
	uint32_t *refs;
	struct fmap *next;
};
static struct fmap *fmaps;

static void *ft_map(struct vgpuback_transport *t, uint32_t domid,
		    uint32_t count, const uint32_t *refs, bool writable)
{
	struct fake_transport *f = F(t);
	struct fmap *m;
	uint8_t *area;
	uint32_t i;

	(void)domid;
	f->map_calls++;
	if (count == 0) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < count; i++) {
		if (refs[i] < FAKE_FIRST || refs[i] >= FAKE_PAGES ||
		    !f->granted[refs[i]]) {
			errno = EFAULT;
			return NULL;
		}
		if (writable && f->granted[refs[i]] == 1) {
			errno = f->ro_errno ? f->ro_errno : EPERM;
			return NULL;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->refs = malloc(count * sizeof(*refs));
	area = mmap(NULL, (size_t)count * PG, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!m->refs || area == MAP_FAILED) {
		free(m->refs);
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < count; i++) {
		void *p = mmap(area + (size_t)i * PG, PG,
			       PROT_READ | (writable ? PROT_WRITE : 0),
			       MAP_SHARED | MAP_FIXED, f->memfd,
			       (off_t)refs[i] * PG);

		if (p == MAP_FAILED) {
			munmap(area, (size_t)count * PG);
			free(m->refs);
			free(m);
			errno = ENOMEM;
			return NULL;
		}
	}
	for (i = 0; i < count; i++)
		f->maps[refs[i]]++;
	memcpy(m->refs, refs, count * sizeof(*refs));
	m->addr = area;
	m->count = count;
	m->next = fmaps;
	fmaps = m;
	return area;
}

/* The fake guest memory file: gref == frame, so page i is at refs[i]. */
static int ft_pages_file(struct vgpuback_transport *t, void *addr,
			 uint32_t count, uint64_t *file_off)
{
	struct fmap *m;

	for (m = fmaps; m; m = m->next)
		if (m->addr == addr && m->count == count)
			break;
	if (!m)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++)
		file_off[i] = (uint64_t)m->refs[i] * PG;
	return F(t)->memfd;
}

static int ft_unmap(struct vgpuback_transport *t, void *addr, uint32_t count)
{
	struct fake_transport *f = F(t);
	struct fmap **pp, *m;
	uint32_t i;

	f->unmap_calls++;
	for (pp = &fmaps; *pp && (*pp)->addr != addr; pp = &(*pp)->next)
		;
	m = *pp;
	if (!m || m->count != count)
		return -EINVAL;
	*pp = m->next;
	munmap(addr, (size_t)count * PG);
	for (i = 0; i < count; i++) {
		f->maps[m->refs[i]]--;
		if (f->on_unmap && m->refs[i] == f->hook_gref) {
			void (*h)(struct fake_transport *, uint32_t) = f->on_unmap;

			f->on_unmap = NULL;
			h(f, m->refs[i]);
		}
	}
	free(m->refs);
	free(m);
	return 0;
}

/* -------------------------------------------------------- event channel */

static int ft_bind(struct vgpuback_transport *t, uint32_t domid, uint32_t port)
{
	(void)t; (void)domid;
	if (port == 0 || port > 1000)
		return -EINVAL;
	return 7;
}

static int ft_unbind(struct vgpuback_transport *t, int port)
{
	(void)t; (void)port;
	return 0;
}

static int ft_notify(struct vgpuback_transport *t, int port)
{
	(void)port;
	F(t)->notifies++;
	return 0;
}

static int ft_evtchn_fd(struct vgpuback_transport *t)
{
	return F(t)->ev_fd;
}

static int ft_pending(struct vgpuback_transport *t)
{
	uint64_t v;

	if (read(F(t)->ev_fd, &v, sizeof(v)) == sizeof(v))
		return 7;
	return -EAGAIN;
}

static int ft_unmask(struct vgpuback_transport *t, int port)
{
	(void)t; (void)port;
	return 0;
}

static void ft_close(struct vgpuback_transport *t)
{
	fake_transport_free(F(t));
}

static const struct vgpuback_transport_ops fake_ops = {
	.name = "fake",
	.close = ft_close,
	.xs_read = ft_xs_read,
	.xs_write = ft_xs_write,
	.xs_mkdir = ft_xs_mkdir,
	.xs_rm = ft_xs_rm,
	.xs_directory = ft_xs_directory,
	.xs_set_perms = ft_xs_set_perms,
	.xs_transaction_start = ft_xs_tstart,
	.xs_transaction_end = ft_xs_tend,
	.xs_watch = ft_xs_watch,
	.xs_unwatch = ft_xs_watch,
	.xs_watch_fd = ft_xs_watch_fd,
	.xs_read_watch = ft_xs_read_watch,
	.domain_alive = ft_domain_alive,
	.map_grants = ft_map,
	.unmap_grants = ft_unmap,
	.grant_pages_file = ft_pages_file,
	.evtchn_bind = ft_bind,
	.evtchn_unbind = ft_unbind,
	.evtchn_notify = ft_notify,
	.evtchn_fd = ft_evtchn_fd,
	.evtchn_pending = ft_pending,
	.evtchn_unmask = ft_unmask,
};

struct fake_transport *fake_transport_new(void)
{
	struct fake_transport *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->t.ops = &fake_ops;
	f->memfd = memfd_create("fake-guest", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, (off_t)FAKE_PAGES * PG))
		goto fail;
	f->guest = mmap(NULL, (size_t)FAKE_PAGES * PG, PROT_READ | PROT_WRITE,
			MAP_SHARED, f->memfd, 0);
	if (f->guest == MAP_FAILED)
		goto fail;
	f->watch_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return f;
fail:
	if (f->memfd >= 0)
		close(f->memfd);
	free(f);
	return NULL;
}

void fake_transport_free(struct fake_transport *f)
{
	unsigned int i;

	if (!f)
		return;
	for (i = 0; i < f->nkeys; i++) {
		free(f->keys[i]);
		free(f->vals[i]);
	}
	munmap(f->guest, (size_t)FAKE_PAGES * PG);
	close(f->memfd);
	close(f->watch_fd);
	close(f->ev_fd);
	free(f);
}

void fake_grant(struct fake_transport *f, uint32_t gref, bool readonly)
{
	f->granted[gref] = readonly ? 1 : 2;
}

void fake_revoke(struct fake_transport *f, uint32_t gref)
{
	f->granted[gref] = 0;
}

void *fake_page(struct fake_transport *f, uint32_t gref)
{
	return f->guest + (size_t)gref * PG;
}

int fake_live_maps(struct fake_transport *f)
{
	int n = 0;
	uint32_t g;

	for (g = 0; g < FAKE_PAGES; g++)
		n += f->maps[g];
	return n;
}

/* ------------------------------------------------------- fake executor */

struct vgpu_exec { int open; };
static bool fx_no_zc;
#define FX_HOSTREG_MAGIC 0x66687267u
struct vgpu_exec_hostreg {
	uint32_t magic;
	uint8_t *mine;
	size_t len;
};

static struct fake_exec_stats fx_st;
struct vgpu_exec_mem {
	uint64_t size;
	uint8_t *data;
	struct vgpu_exec_ctx *ctx;
	struct vgpu_exec_mem *next;
};
struct vgpu_exec_stream {
	struct vgpu_exec_ctx *ctx;
	struct vgpu_exec_stream *next;
};
struct vgpu_exec_event {
	struct vgpu_exec_ctx *ctx;
	struct vgpu_exec_event *next;
};
struct vgpu_exec_ctx {
	struct vgpu_exec_mem *mems;
	struct vgpu_exec_mod *mods;
	struct vgpu_exec_stream *streams;
	struct vgpu_exec_event *events;
};
/* A module's globals: one object per name, the same each time. */
struct fake_global {
	struct vgpu_exec_mem mem;
	char name[VGPUIF_MAX_GLOBAL_NAME + 1];
	struct fake_global *next;
};
struct vgpu_exec_func { struct vgpu_exec_func *next; }; /* mod->funcs */
struct vgpu_exec_mod {
	struct fake_global *globals;
	struct vgpu_exec_func *funcs;
	struct vgpu_exec_mod *next;     /* ctx->mods */
};

static void mod_free(struct vgpu_exec_mod *mod)
{
	while (mod->globals) {
		struct fake_global *g = mod->globals;

		mod->globals = g->next;
		free(g->mem.data);
		free(g);
		fx_st.globals_live--;
	}
	while (mod->funcs) {
		struct vgpu_exec_func *f = mod->funcs;

		mod->funcs = f->next;
		free(f);
	}
	free(mod);
}

/* Protects the held list and stats (release runs on another thread). */
static pthread_mutex_t fx_lock = PTHREAD_MUTEX_INITIALIZER;
static bool fx_hold;
static struct { struct vgpu_exec_op *op; int status; } fx_held[4096];
static int fx_nheld;
static bool fx_no_r2;
static uint64_t fx_ctx_overhead;

void fake_exec_no_r2(bool no) { fx_no_r2 = no; }
void fake_exec_ctx_overhead(uint64_t bytes) { fx_ctx_overhead = bytes; }

void fake_exec_hold(bool hold) { fx_hold = hold; }
int fake_exec_held(void) { return fx_nheld; }
struct fake_exec_stats fake_exec_stats(void) { return fx_st; }
void fake_exec_reset(void)
{
	memset(&fx_st, 0, sizeof(fx_st));
	fx_hold = false;
	fx_nheld = 0;
	fx_no_r2 = false;
	fx_ctx_overhead = 0;
	fx_no_zc = false;
}

int vgpu_exec_device_info(struct vgpu_exec *ex, struct vgpuif_device_info *out)
{
	(void)ex;
	memset(out, 0, sizeof(*out));
	out->version = 1;
	strcpy(out->name, FAKE_DEVICE_NAME);
	out->total_mem = 1ull << 30;
	out->nr_attrs = 11;
	out->attr[10] = 32;       /* WARP_SIZE */
	out->attr_valid[0] = 1u << 10;
	return 0;
}

struct rel_arg { int n; };

static void *release_thread(void *p)
{
	struct rel_arg *a = p;
	int i, n;

	pthread_mutex_lock(&fx_lock);
	n = a->n < 0 || a->n > fx_nheld ? fx_nheld : a->n;
	for (i = 0; i < n; i++) {
		fx_st.completed++;
		fx_held[i].op->done(fx_held[i].op, fx_held[i].status);
	}
	memmove(fx_held, fx_held + n, (size_t)(fx_nheld - n) * sizeof(fx_held[0]));
	fx_nheld -= n;
	pthread_mutex_unlock(&fx_lock);
	return NULL;
}

void fake_exec_release(int n)
{
	struct rel_arg a = { n };
	pthread_t th;

	pthread_create(&th, NULL, release_thread, &a);
	pthread_join(th, NULL);
}

int vgpu_exec_open(struct vgpu_exec **out, const struct vgpu_exec_config *cfg,
		   const char **why)
{
	(void)cfg;
	(void)why;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void vgpu_exec_close(struct vgpu_exec *ex)
{
	fake_exec_release(-1);
	free(ex);
}

const char *vgpu_exec_name(const struct vgpu_exec *ex)
{
	(void)ex;
	return "cpu";
}

const char *vgpu_exec_why(const struct vgpu_exec *ex)
{
	(void)ex;
	return "fake";
}

int vgpu_exec_get_info(struct vgpu_exec *ex, struct vgpu_exec_info *info)
{
	(void)ex;
	memset(info, 0, sizeof(*info));
	info->kind = VGPUIF_EXECUTOR_CPU;
	strcpy(info->name, "fake executor");
	info->total_mem = info->free_mem = 1ull << 30;
	info->copy_mode = VGPUIF_COPY_HOST;
	info->ctx_overhead = fx_ctx_overhead;
	return 0;
}

int vgpu_exec_ctx_create(struct vgpu_exec *ex, struct vgpu_exec_ctx **out)
{
	(void)ex;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return VGPUIF_RSP_ENOMEM;
	fx_st.ctx_live++;
	return 0;
}

void vgpu_exec_ctx_destroy(struct vgpu_exec *ex, struct vgpu_exec_ctx *ctx)
{
	(void)ex;
	while (ctx->mems) {
		struct vgpu_exec_mem *m = ctx->mems;

		ctx->mems = m->next;
		free(m->data);
		free(m);
		fx_st.mem_live--;
	}
	while (ctx->mods) {
		struct vgpu_exec_mod *mod = ctx->mods;

		ctx->mods = mod->next;
		mod_free(mod);
	}
	while (ctx->streams) {
		struct vgpu_exec_stream *s = ctx->streams;

		ctx->streams = s->next;
		free(s);
		fx_st.streams_live--;
	}
	while (ctx->events) {
		struct vgpu_exec_event *e = ctx->events;

		ctx->events = e->next;
		free(e);
		fx_st.events_live--;
	}
	free(ctx);
	fx_st.ctx_live--;
}

static void stream_io(const struct vgpu_exec_op *op, uint8_t *dev, uint64_t off,
		      uint64_t len, bool to_dev)
{
	uint64_t pos = 0;
	unsigned int i;

	for (i = 0; i < op->niov && pos < off + len; i++) {
		uint64_t s = pos, e = pos + op->iov[i].len;

		if (e > off && s < off + len) {
			uint64_t a = s > off ? s : off, b = e < off + len ? e : off + len;
			uint8_t *io = (uint8_t *)op->iov[i].base + (a - s);

			if (to_dev)
				memcpy(dev + (a - off), io, b - a);
			else
				memcpy(io, dev + (a - off), b - a);
		}
		pos = e;
	}
}

static int run(struct vgpu_exec_op *op)
{
	struct vgpu_exec_mem *m;

	switch (op->opcode) {
	case VGPUIF_OP_MEM_ALLOC:
		if (op->u.mem_alloc.size > (64u << 20))
			return VGPUIF_RSP_ENOMEM;
		m = calloc(1, sizeof(*m));
		m->data = calloc(1, op->u.mem_alloc.size);
		m->size = op->u.mem_alloc.size;
		m->ctx = op->ctx;
		m->next = op->ctx->mems;
		op->ctx->mems = m;
		fx_st.mem_live++;
		op->object = m;
		op->result[0] = m->size;
		op->result[1] = (uint64_t)(uintptr_t)m->data;
		return 0;
	case VGPUIF_OP_MEM_FREE: {
		struct vgpu_exec_mem **pp = &op->ctx->mems;

		m = op->u.mem_free.mem;
		while (*pp && *pp != m)
			pp = &(*pp)->next;
		if (!*pp)
			return VGPUIF_RSP_EBADF;
		*pp = m->next;
		free(m->data);
		free(m);
		fx_st.mem_live--;
		return 0;
	}
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
		m = op->u.copy.mem;
		if (op->u.copy.offset + op->u.copy.length > m->size)
			return VGPUIF_RSP_ERANGE;
		if (op->u.copy.host) {
			/* as a GPU worker would: through its own mapping */
			struct vgpu_exec_hostreg *h = op->u.copy.host;
			uint8_t *hp = h->mine + op->u.copy.host_offset;

			if (h->magic != FX_HOSTREG_MAGIC ||
			    op->u.copy.host_offset + op->u.copy.length > h->len)
				return VGPUIF_RSP_EINVAL;
			fx_st.zero_copies++;
			if (op->opcode == VGPUIF_OP_MEMCPY_H2D)
				memcpy(m->data + op->u.copy.offset, hp, op->u.copy.length);
			else
				memcpy(hp, m->data + op->u.copy.offset, op->u.copy.length);
			return 0;
		}
		stream_io(op, m->data + op->u.copy.offset, 0, op->u.copy.length,
			  op->opcode == VGPUIF_OP_MEMCPY_H2D);
		return 0;
	case VGPUIF_OP_MODULE_LOAD: {
		struct vgpu_exec_mod *mod = calloc(1, sizeof(*mod));

		mod->next = op->ctx->mods;
		op->ctx->mods = mod;
		op->object = mod;
		return 0;
	}
	case VGPUIF_OP_MODULE_UNLOAD: {
		struct vgpu_exec_mod **pp = &op->ctx->mods;

		while (*pp && *pp != op->u.module_unload.mod)
			pp = &(*pp)->next;
		if (!*pp)
			return VGPUIF_RSP_EBADF;
		*pp = op->u.module_unload.mod->next;
		mod_free(op->u.module_unload.mod);
		return 0;
	}
	case VGPUIF_OP_STREAM_CREATE: {
		struct vgpu_exec_stream *s = calloc(1, sizeof(*s));

		s->ctx = op->ctx;
		s->next = op->ctx->streams;
		op->ctx->streams = s;
		op->object = s;
		fx_st.streams_live++;
		return 0;
	}
	case VGPUIF_OP_STREAM_DESTROY: {
		struct vgpu_exec_stream **pp = &op->ctx->streams;

		while (*pp && *pp != op->stream)
			pp = &(*pp)->next;
		if (!*pp)
			return VGPUIF_RSP_EBADF;
		*pp = op->stream->next;
		free(op->stream);
		fx_st.streams_live--;
		return 0;
	}
	case VGPUIF_OP_EVENT_CREATE: {
		struct vgpu_exec_event *e = calloc(1, sizeof(*e));

		e->ctx = op->ctx;
		e->next = op->ctx->events;
		op->ctx->events = e;
		op->object = e;
		fx_st.events_live++;
		return 0;
	}
	case VGPUIF_OP_EVENT_DESTROY: {
		struct vgpu_exec_event **pp = &op->ctx->events;

		while (*pp && *pp != op->u.event.event)
			pp = &(*pp)->next;
		if (!*pp)
			return VGPUIF_RSP_EBADF;
		*pp = op->u.event.event->next;
		free(op->u.event.event);
		fx_st.events_live--;
		return 0;
	}
	case VGPUIF_OP_STREAM_QUERY:
	case VGPUIF_OP_EVENT_QUERY:
		op->result[0] = 1;
		return 0;
	case VGPUIF_OP_FUNC_INFO: {
		struct vgpuif_func_info fi;

		memset(&fi, 0, sizeof(fi));
		fi.nr_params = 2;
		fi.param_bytes = 16;
		fi.param[1].offset = 8;
		fi.param[0].size = fi.param[1].size = 8;
		stream_io(op, (uint8_t *)&fi, 0, sizeof(fi), false);
		return 0;
	}
	case VGPUIF_OP_MODULE_GLOBAL: {
		struct vgpu_exec_mod *mod = op->u.module_global.mod;
		char name[VGPUIF_MAX_GLOBAL_NAME + 1];
		uint32_t n = op->u.module_global.name_len;
		struct fake_global *g;

		memset(name, 0, sizeof(name));
		stream_io(op, (uint8_t *)name, 0, n, true);
		if (!strcmp(name, "missing"))
			return VGPUIF_RSP_ENOENT;
		for (g = mod->globals; g; g = g->next)
			if (!strcmp(g->name, name))
				break;
		if (!g) {
			g = calloc(1, sizeof(*g));
			memcpy(g->name, name, n);
			g->mem.size = 64 + n;
			g->mem.data = calloc(1, g->mem.size);
			g->mem.ctx = op->ctx;
			g->next = mod->globals;
			mod->globals = g;
			fx_st.globals_live++;
		}
		op->object = &g->mem;
		op->result[0] = 0xd000000000ull + n;
		op->result[1] = g->mem.size;
		return 0;
	}
	case VGPUIF_OP_FUNC_GET: {
		struct vgpu_exec_func *f = calloc(1, sizeof(*f));

		f->next = op->u.func_get.mod->funcs;
		op->u.func_get.mod->funcs = f;
		op->object = f;
		return 0;
	}
	default:
		return 0;
	}
}

int vgpu_exec_submit(struct vgpu_exec *ex, struct vgpu_exec_op *op)
{
	int st;

	(void)ex;
	fx_st.submitted++;
	fx_st.last_op = op->opcode;
	fx_st.last_stream = op->stream;
	fx_st.last_len = 0;
	if (op->niov == 1 && op->iov[0].len <= sizeof(fx_st.last_data)) {
		memcpy(fx_st.last_data, op->iov[0].base, op->iov[0].len);
		fx_st.last_len = op->iov[0].len;
	}
	if (fx_no_r2 && op->opcode >= VGPUIF_OP_COUNT_V1)
		return VGPUIF_RSP_ENOSYS;
	st = run(op);
	if (fx_hold) {
		pthread_mutex_lock(&fx_lock);
		fx_held[fx_nheld].op = op;
		fx_held[fx_nheld].status = st;
		fx_nheld++;
		pthread_mutex_unlock(&fx_lock);
		return 0;
	}
	fx_st.completed++;
	op->done(op, st);
	return 0;
}

/*
 * Zero copy as the cuda executor's worker does it: map the pages itself
 * from the file the transport named, at the offsets it gave; the test can
 * then check that copies went through this mapping (zero_copies) and that
 * it is the guest's memory. fake_exec_no_zero_copy: refuse (staged).
 */
void fake_exec_no_zero_copy(bool no)
{
	fx_no_zc = no;
}

int vgpu_exec_host_register(struct vgpu_exec *ex,
			    const struct vgpu_exec_hostmem *hm,
			    struct vgpu_exec_hostreg **out, uint32_t *mode,
			    const char **why)
{
	struct vgpu_exec_hostreg *h;
	size_t n = hm->len / PG;

	(void)ex;
	*why = "fake: zero copy refused";
	if (fx_no_zc || hm->fd < 0)
		return -EOPNOTSUPP;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->mine = mmap(NULL, hm->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->mine == MAP_FAILED) {
		free(h);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (mmap(h->mine + i * PG, PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, hm->fd, (off_t)hm->file_off[i]) ==
		    MAP_FAILED) {
			munmap(h->mine, hm->len);
			free(h);
			return -EFAULT;
		}
	/* the same bytes as the backend's mapping, or the offsets lie */
	if (memcmp(h->mine, hm->addr, hm->len)) {
		munmap(h->mine, hm->len);
		free(h);
		*why = "fake: the file offsets name other pages";
		return -EFAULT;
	}
	h->magic = FX_HOSTREG_MAGIC;
	h->len = hm->len;
	fx_st.hostregs_live++;
	*out = h;
	*mode = VGPUIF_COPY_ZERO_COPY;
	return 0;
}

void vgpu_exec_host_unregister(struct vgpu_exec *ex, struct vgpu_exec_hostreg *h)
{
	(void)ex;
	if (h->magic != FX_HOSTREG_MAGIC)
		return;
	h->magic = 0;
	munmap(h->mine, h->len);
	free(h);
	fx_st.hostregs_live--;
}

int vgpu_exec_mem_info(struct vgpu_exec *ex, uint64_t *free_b, uint64_t *total_b)
{
	(void)ex;
	*free_b = *total_b = 1ull << 30;
	return 0;
}

uint64_t vgpu_exec_launch_mem(struct vgpu_exec *ex, struct vgpu_exec_func *func)
{
	(void)ex; (void)func;
	return 0;
}
