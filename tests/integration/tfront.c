/* SPDX-License-Identifier: MIT */
/*
 * tfront.c - the raw test frontend (see tfront.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tfront.h"

void tf_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *tf_backend_path(void)
{
	const char *p = getenv("VGPU_BACKEND");

	if (!p || access(p, X_OK)) {
		printf("SKIP: vgpu-backend not found (set VGPU_BACKEND)\n");
		exit(77);
	}
	return p;
}

/*
 * Where a loopback world goes: /dev/shm when it is a writable directory
 * (tmpfs: guest memory written to a disk-backed file pays a fault and
 * writeback per page), else $TMPDIR, else /tmp.
 */
static const char *world_base(void)
{
	const char *t = getenv("TMPDIR");

	if (!access("/dev/shm", W_OK | X_OK))
		return "/dev/shm";
	return t && *t ? t : "/tmp";
}

int tf_world_init(struct tf_world *tw)
{
	int fd;

	memset(tw, 0, sizeof(*tw));
	snprintf(tw->dir, sizeof(tw->dir), "%s/vgpu-it-XXXXXX", world_base());
	if (!mkdtemp(tw->dir))
		return -errno;
	snprintf(tw->conf, sizeof(tw->conf), "%s/backend.conf", tw->dir);
	fd = open(tw->conf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	tw->w = lb_world_open(tw->dir, true);
	return tw->w ? 0 : -errno;
}

void tf_world_fini(struct tf_world *tw)
{
	char cmd[400];

	if (tw->w)
		lb_world_close(tw->w);
	tw->w = NULL;
	if (tw->dir[0] && !getenv("TF_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tw->dir);
		if (system(cmd))
			fprintf(stderr, "tfront: could not remove %s\n", tw->dir);
	}
}

/* fork + exec the backend with the common arguments, then more. */
static pid_t backend_spawn(struct tf_dom *d, const char *const *more)
{
	const char *argv[48];
	char domid[16], devid[16];
	pid_t pid;
	int n = 0, i;

	snprintf(domid, sizeof(domid), "%u", d->domid);
	snprintf(devid, sizeof(devid), "%u", d->devid);
	argv[n++] = tf_backend_path();
	argv[n++] = "--domid";
	argv[n++] = domid;
	argv[n++] = "--devid";
	argv[n++] = devid;
	argv[n++] = "--transport";
	argv[n++] = "loopback";
	argv[n++] = "--loopback-dir";
	argv[n++] = d->tw->dir;
	argv[n++] = "--config";
	argv[n++] = d->tw->conf;
	argv[n++] = "--executor";
	argv[n++] = "cpu";
	argv[n++] = "--foreground";
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	argv[n++] = "--log-file";
	argv[n++] = d->log;
	for (i = 0; more[i] && n < 46; i++)
		argv[n++] = more[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

pid_t tf_backend_start(struct tf_dom *d)
{
	d->backend = backend_spawn(d, d->extra);
	return d->backend;
}

int tf_backend_run(struct tf_dom *d, const char *const *args)
{
	pid_t pid = backend_spawn(d, args);
	int st;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

bool tf_backend_alive(struct tf_dom *d)
{
	int st;

	if (d->backend <= 0)
		return false;
	return waitpid(d->backend, &st, WNOHANG) == 0;
}

int tf_backend_stop(struct tf_dom *d)
{
	uint64_t end = now_ms() + TF_WAIT_MS;
	int st;

	if (d->backend <= 0)
		return -1;
	kill(d->backend, SIGTERM);
	for (;;) {
		pid_t r = waitpid(d->backend, &st, WNOHANG);

		if (r == d->backend)
			break;
		if (r < 0) {
			d->backend = 0;
			return -1;
		}
		if (now_ms() > end) {
			fprintf(stderr, "tfront: backend ignored SIGTERM; killing it\n");
			kill(d->backend, SIGKILL);
			waitpid(d->backend, &st, 0);
			d->backend = 0;
			return -1;
		}
		tf_msleep(2);
	}
	d->backend = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int tf_dom_create(struct tf_world *tw, struct tf_dom *d, uint32_t domid,
		  uint64_t mem_quota)
{
	const char *const *keep = NULL;
	int err;

	(void)keep;
	memset(d->fe, 0, sizeof(d->fe));
	d->tw = tw;
	d->domid = domid;
	d->devid = 0;
	d->ring_gref = -1;
	d->port = -1;
	snprintf(d->log, sizeof(d->log), "%s/backend-%u.log", tw->dir, domid);
	snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/vgpu/0", domid);
	snprintf(d->be, sizeof(d->be), "/local/domain/0/backend/vgpu/%u/0", domid);
	err = lb_domain_create(tw->w, domid);
	if (err)
		return err;
	err = lb_attach_device(tw->w, domid, 0, NULL, 0, mem_quota);
	if (err)
		return err;
	d->xs = lb_xs_open(tw->w, domid);
	d->ev = lb_evtchn_open(tw->w, domid);
	d->mem = lb_mem_map(tw->w, domid, &d->memsz);
	if (!d->xs || !d->ev || !d->mem)
		return -errno;
	if (tf_backend_start(d) < 0)
		return -errno;
	return tf_wait_be_state(d, 2);
}

void tf_dom_destroy(struct tf_dom *d)
{
	if (!d->tw)
		return;
	if (d->backend > 0)
		tf_backend_stop(d);
	if (d->ev)
		lb_evtchn_close(d->ev);
	if (d->xs)
		lb_xs_close(d->xs);
	d->ev = NULL;
	d->xs = NULL;
	lb_domain_destroy(d->tw->w, d->domid);
	d->tw = NULL;
}

char *tf_be_read(struct tf_dom *d, const char *key)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", d->be, key);
	return lb_xs_read(d->xs, LB_XBT_NULL, path, NULL);
}

int tf_be_state(struct tf_dom *d)
{
	char *v = tf_be_read(d, "state");
	int s = v ? atoi(v) : -1;

	free(v);
	return s;
}

int tf_wait_be_state(struct tf_dom *d, int state)
{
	uint64_t end = now_ms() + TF_WAIT_MS;

	while (tf_be_state(d) != state) {
		if (now_ms() > end) {
			fprintf(stderr, "tfront: dom%u: backend state %d, waited for %d\n",
				d->domid, tf_be_state(d), state);
			return -ETIMEDOUT;
		}
		tf_msleep(1);
	}
	return 0;
}

int tf_fe_write(struct tf_dom *d, const char *key, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", d->fe, key);
	if (!val)
		return lb_xs_rm(d->xs, LB_XBT_NULL, path);
	return lb_xs_write(d->xs, LB_XBT_NULL, path, val);
}

int64_t tf_frames(struct tf_dom *d, uint32_t n)
{
	return lb_frames_alloc(d->tw->w, d->domid, n);
}

void *tf_page(struct tf_dom *d, int64_t frame)
{
	return d->mem + (size_t)frame * LB_PAGE_SIZE;
}

int tf_grant(struct tf_dom *d, int64_t frame, bool readonly)
{
	return lb_grant_access(d->tw->w, d->domid, 0, (uint64_t)frame, readonly);
}

int tf_setup_ring(struct tf_dom *d)
{
	struct vgpuif_sring *sring;
	char v[32];

	d->ring_frame = tf_frames(d, 1);
	if (d->ring_frame < 0)
		return (int)d->ring_frame;
	sring = tf_page(d, d->ring_frame);
	memset(sring, 0, LB_PAGE_SIZE);
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&d->fr, sring, LB_PAGE_SIZE);
	d->ring_gref = tf_grant(d, d->ring_frame, false);
	if (d->ring_gref < 0)
		return d->ring_gref;
	d->port = lb_evtchn_alloc_unbound(d->ev, 0);
	if (d->port < 0)
		return d->port;
	snprintf(v, sizeof(v), "%d", d->ring_gref);
	tf_fe_write(d, VGPUIF_XS_RING_REF, v);
	snprintf(v, sizeof(v), "%d", d->port);
	tf_fe_write(d, VGPUIF_XS_EVENT_CHANNEL, v);
	tf_fe_write(d, VGPUIF_XS_PROTOCOL, VGPUIF_PROTOCOL);
	tf_fe_write(d, VGPUIF_XS_FEATURE_PERSISTENT, "1");
	return 0;
}

int tf_connect(struct tf_dom *d)
{
	int err = tf_setup_ring(d);

	if (err)
		return err;
	tf_fe_write(d, VGPUIF_XS_STATE, "3");
	err = tf_wait_be_state(d, 4);
	if (err)
		return err;
	tf_fe_write(d, VGPUIF_XS_STATE, "4");
	return 0;
}

int tf_close(struct tf_dom *d)
{
	int err;

	tf_fe_write(d, VGPUIF_XS_STATE, "5");
	tf_fe_write(d, VGPUIF_XS_STATE, "6");
	err = tf_wait_be_state(d, 2);
	if (d->port >= 0)
		lb_evtchn_unbind(d->ev, (uint32_t)d->port);
	d->port = -1;
	if (d->ring_gref >= 0)
		lb_end_access(d->tw->w, d->domid, (uint32_t)d->ring_gref);
	d->ring_gref = -1;
	tf_fe_write(d, VGPUIF_XS_STATE, "1");
	return err;
}

uint64_t tf_submit(struct tf_dom *d, struct vgpuif_request *req)
{
	int notify;

	if (!req->id)
		req->id = ++d->next_id;
	memcpy(RING_GET_REQUEST(&d->fr, d->fr.req_prod_pvt), req, sizeof(*req));
	d->fr.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&d->fr, notify);
	if (notify)
		lb_evtchn_notify(d->ev, (uint32_t)d->port);
	return req->id;
}

void tf_set_req_prod(struct tf_dom *d, RING_IDX prod)
{
	xen_wmb();
	d->fr.sring->req_prod = prod;
	xen_mb();
	lb_evtchn_notify(d->ev, (uint32_t)d->port);
}

int tf_wait_rsp(struct tf_dom *d, struct vgpuif_response *rsp)
{
	uint64_t end = now_ms() + TF_WAIT_MS;

	for (;;) {
		int more, p;

		if (RING_HAS_UNCONSUMED_RESPONSES(&d->fr)) {
			xen_rmb();
			memcpy(rsp, RING_GET_RESPONSE(&d->fr, d->fr.rsp_cons),
			       sizeof(*rsp));
			d->fr.rsp_cons++;
			return 0;
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&d->fr, more);
		if (more)
			continue;
		{
			struct pollfd pfd = { lb_evtchn_fd(d->ev), POLLIN, 0 };
			uint64_t now = now_ms();

			if (now > end)
				return -ETIMEDOUT;
			poll(&pfd, 1, (int)(end - now > 100 ? 100 : end - now));
		}
		while ((p = lb_evtchn_pending(d->ev)) >= 0)
			lb_evtchn_unmask(d->ev, (uint32_t)p);
	}
}

int tf_call(struct tf_dom *d, struct vgpuif_request *req,
	    struct vgpuif_response *rsp)
{
	uint64_t id = tf_submit(d, req);

	if (tf_wait_rsp(d, rsp))
		return -1000;
	if (rsp->id != id) {
		fprintf(stderr, "tfront: response id %llu, expected %llu\n",
			(unsigned long long)rsp->id, (unsigned long long)id);
		return -1001;
	}
	return rsp->status;
}

int tf_nop(struct tf_dom *d)
{
	struct vgpuif_request r;
	struct vgpuif_response p;

	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_NOP;
	return tf_call(d, &r, &p);
}

int tf_ctx_create(struct tf_dom *d, uint32_t *ctx)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	int st;

	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_CTX_CREATE;
	st = tf_call(d, &r, &p);
	*ctx = (uint32_t)p.result[0];
	return st;
}

int tf_mem_alloc(struct tf_dom *d, uint32_t ctx, uint64_t size, uint64_t *mem)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	int st;

	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_ALLOC;
	r.ctx = ctx;
	r.args.mem_alloc.size = size;
	st = tf_call(d, &r, &p);
	*mem = p.result[0];
	return st;
}

int tf_copy(struct tf_dom *d, uint8_t op, uint32_t ctx, uint64_t mem,
	    uint64_t off, void *buf, uint32_t len, bool indirect)
{
	uint32_t npages = (len + LB_PAGE_SIZE - 1) / LB_PAGE_SIZE, i;
	struct vgpuif_request r;
	struct vgpuif_response p;
	struct vgpuif_segment *segs = NULL;
	int64_t f = tf_frames(d, npages), fi = -1;
	int *grefs = calloc(npages, sizeof(int)), st, gi = -1;

	if (f < 0 || !grefs)
		return -1002;
	memset(&r, 0, sizeof(r));
	r.op = op;
	r.ctx = ctx;
	r.args.memcpy.mem = mem;
	r.args.memcpy.offset = off;
	r.args.memcpy.length = len;
	r.nr_segments = (uint16_t)npages;
	if (op == VGPUIF_OP_MEMCPY_H2D)
		memcpy(tf_page(d, f), buf, len);
	for (i = 0; i < npages; i++)
		grefs[i] = tf_grant(d, f + i, op == VGPUIF_OP_MEMCPY_H2D);
	if (indirect) {
		fi = tf_frames(d, 1);
		segs = tf_page(d, fi);
		gi = tf_grant(d, fi, true);
		r.flags = VGPUIF_F_INDIRECT;
		r.u.indirect_gref[0] = (uint32_t)gi;
	} else {
		segs = r.u.seg;
	}
	for (i = 0; i < npages; i++) {
		segs[i].gref = (uint32_t)grefs[i];
		segs[i].offset = 0;
		segs[i].length = (uint16_t)(i + 1 < npages ? LB_PAGE_SIZE :
					    len - i * LB_PAGE_SIZE);
	}
	st = tf_call(d, &r, &p);
	if (op == VGPUIF_OP_MEMCPY_D2H && st == 0)
		memcpy(buf, tf_page(d, f), len);
	/* Persistent grants stay mapped in the backend: leave them granted. */
	free(grefs);
	(void)fi;
	return st;
}

int tf_log_count(struct tf_dom *d, const char *s)
{
	char line[2048];
	FILE *fp = fopen(d->log, "r");
	int n = 0;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, s))
			n++;
	fclose(fp);
	return n;
}
