/* SPDX-License-Identifier: MIT */
/*
 * test_isolation.c - what a guest cannot escape, and what a dead backend
 * leaves behind: the real vgpu-backend process over the loopback transport
 * with the cpu executor, driven by the raw test frontend (tfront.c) and by
 * libvgpu's loopback transport (the API and statuses of the kernel module's
 * transport) and the vgpu CLI over it.
 *
 *   supervisor   a backend killed without closing is marked Closed by
 *                `vgpu-backend --mark-closed` (what the systemd unit's
 *                ExecStopPost and vgpu-attach's supervisor run): a frontend
 *                waiting for an answer learns of it; a late mark does not
 *                confuse a new backend.
 *
 * Nothing asserts on time: deadlines only turn a hang into a failure.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arbiter.h"
#include "tfront.h"
#include "vgpu.h"

#define MIB (1024ull * 1024ull)

static struct tf_world W;
static struct tf_dom D;

static void setup(void)
{
	tf_backend_path();
	ck_assert_int_eq(tf_world_init(&W), 0);
	memset(&D, 0, sizeof(D));
}

static void teardown(void)
{
	tf_dom_destroy(&D);
	tf_world_fini(&W);
}

static void up(struct tf_dom *d, uint32_t domid, uint64_t quota)
{
	ck_assert_int_eq(tf_dom_create(&W, d, domid, quota), 0);
	ck_assert_int_eq(tf_connect(d), 0);
}

static void down_clean(struct tf_dom *d)
{
	int st = tf_backend_stop(d);

	ck_assert_msg(st == 0, "backend of dom%u exited %d (see %s)", d->domid,
		      st, d->log);
}

static void kill9(struct tf_dom *d)
{
	int st;

	kill(d->backend, SIGKILL);
	waitpid(d->backend, &st, 0);
	d->backend = 0;
}

static int mark_closed(struct tf_dom *d, const char *reason)
{
	const char *args[] = { "--mark-closed", reason, NULL };

	return tf_backend_run(d, args);
}

/* A dom0 write into the backend directory (the toolstack's, a supervisor's). */
static void dom0_write(struct tf_dom *d, const char *key, const char *val)
{
	struct lb_xs *dom0 = lb_xs_open(W.w, 0);
	char path[200];

	ck_assert_ptr_nonnull(dom0);
	snprintf(path, sizeof(path), "%s/%s", d->be, key);
	if (val)
		ck_assert_int_eq(lb_xs_write(dom0, LB_XBT_NULL, path, val), 0);
	else
		ck_assert_int_eq(lb_xs_rm(dom0, LB_XBT_NULL, path), 0);
	lb_xs_close(dom0);
}

/* ------------------------------------------------------- supervisor */

/*
 * --mark-closed in each state a backend can leave its directory in: the
 * state it must end with, and whether the error key must name the death.
 */
enum how { KILLED_CONNECTED, CLEAN_SIGTERM, DETACHED, KILLED_INITWAIT };
static const struct {
	const char *what;
	enum how how;
	int state_after;        /* -1: the directory must not exist */
	bool error_names_death;
} mark_rows[] = {
	{ "killed while Connected", KILLED_CONNECTED, 6, true },
	{ "killed in InitWait (no frontend yet)", KILLED_INITWAIT, 6, true },
	{ "closed cleanly on SIGTERM: nothing to mark", CLEAN_SIGTERM, 6, false },
	{ "detached (directory removed): not recreated", DETACHED, -1, false },
};

START_TEST(test_mark_closed_rows)
{
	char *err, *dir;

	ck_assert_int_eq(tf_dom_create(&W, &D, 40 + (uint32_t)_i, 0), 0);
	switch (mark_rows[_i].how) {
	case KILLED_CONNECTED:
		ck_assert_int_eq(tf_connect(&D), 0);
		ck_assert_int_eq(tf_nop(&D), 0);
		kill9(&D);
		ck_assert_int_eq(tf_be_state(&D), 4); /* what a dead one leaves */
		break;
	case KILLED_INITWAIT:
		kill9(&D);
		break;
	case CLEAN_SIGTERM:
		ck_assert_int_eq(tf_connect(&D), 0);
		down_clean(&D);
		break;
	case DETACHED:
		kill9(&D);
		ck_assert_int_eq(lb_detach_device(W.w, D.domid, 0), 0);
		break;
	}
	ck_assert_int_eq(mark_closed(&D, "test: killed by signal 9"), 0);
	if (mark_rows[_i].state_after < 0) {
		dir = lb_xs_read(D.xs, LB_XBT_NULL, D.be, NULL);
		ck_assert_msg(dir == NULL, "%s: the mark recreated %s",
			      mark_rows[_i].what, D.be);
		return;
	}
	ck_assert_int_eq(tf_be_state(&D), mark_rows[_i].state_after);
	err = tf_be_read(&D, "error");
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(!!strstr(err, "died without closing (test: killed by signal 9)") ==
		      mark_rows[_i].error_names_death, "%s: error '%s'",
		      mark_rows[_i].what, err);
	free(err);
}
END_TEST

/*
 * The case over loopback, through libvgpu (the same API and the
 * same statuses as the kernel module): a guest call waits for an answer
 * (each op takes 30 s here), the backend is SIGKILLed, the supervisor marks
 * the device: the call fails with EIO instead of waiting for a new backend
 * (the handle's own deadline, 10 min, would be the hang).
 */
struct waiter {
	vgpu_t *v;
	int status;
};

static void *wait_sync(void *arg)
{
	struct waiter *w = arg;

	w->status = vgpu_sync(w->v);
	return NULL;
}

static int lv_open(uint32_t domid, int timeout_ms, vgpu_t **v)
{
	char dev[600];

	snprintf(dev, sizeof(dev), "loopback:%s?domid=%u&timeout_ms=%d", W.dir,
		 domid, timeout_ms);
	return vgpu_open(dev, v);
}

START_TEST(test_killed_backend_fails_inflight_call)
{
	struct waiter w = { 0 };
	pthread_t th;

	D.extra[0] = "--cpu-op-delay-us";
	D.extra[1] = "30000000";
	ck_assert_int_eq(tf_dom_create(&W, &D, 50, 0), 0);
	ck_assert_int_eq(lv_open(50, 600000, &w.v), 0);
	/* One op (30 s) makes the handle's context; then the waiting SYNC. */
	D.extra[0] = NULL;
	ck_assert_int_eq(vgpu_nop(w.v, NULL), 0);
	w.status = 1;
	ck_assert_int_eq(pthread_create(&th, NULL, wait_sync, &w), 0);
	/*
	 * Let the SYNC reach the ring (without the mark it waits forever
	 * either way; the pause only makes the common case the one tested, a
	 * call already waiting).
	 */
	tf_msleep(300);
	kill9(&D);
	ck_assert_int_eq(mark_closed(&D, "test: killed by signal 9"), 0);
	pthread_join(th, NULL);
	ck_assert_msg(w.status == -EIO,
		      "the in-flight SYNC ended with %d (%s), want -EIO",
		      w.status, vgpu_strerror(w.status));
	vgpu_close(w.v);
	/* A new backend serves the domain again. */
	ck_assert(tf_backend_start(&D) > 0);
	ck_assert_int_eq(tf_wait_be_state(&D, 2), 0);
}
END_TEST

/*
 * `vgpu stress` over the same transport: the backend is SIGKILLed and
 * marked; stress stops at once with the backend's error (it went on for
 * 100 errors, each waiting for a backend).
 */
START_TEST(test_stress_stops_on_lost_backend)
{
	char dev[600], out[300], line[512];
	const char *vgpu = getenv("VGPU_CLI");
	int st, i, said = 0;
	pid_t pid;
	FILE *f;

	/* ctest sets it; without it this case cannot say anything. */
	ck_assert_msg(vgpu && !access(vgpu, X_OK), "no vgpu CLI (set VGPU_CLI)");
	ck_assert_int_eq(tf_dom_create(&W, &D, 53, 0), 0);
	/*
	 * 20 s: the bound on a call that starts after the loss (it waits for
	 * a backend to come back), as the module's connect_timeout_ms.
	 */
	snprintf(dev, sizeof(dev), "loopback:%s?domid=53&timeout_ms=20000", W.dir);
	snprintf(out, sizeof(out), "%s/stress.out", W.dir);
	pid = fork();
	if (pid == 0) {
		if (!freopen(out, "w", stderr) || !freopen(out, "a", stdout))
			_exit(127);
		execl(vgpu, vgpu, "--device", dev, "stress", "--seconds", "600",
		      "--threads", "2", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	/* Running: the backend has answered some of its requests. */
	for (i = 0; i < TF_WAIT_MS / 10 && tf_log_count(&D, "connected: ring") < 1; i++)
		tf_msleep(10);
	tf_msleep(500);
	kill9(&D);
	ck_assert_int_eq(mark_closed(&D, "test: killed by signal 9"), 0);
	for (i = 0; i < 60000 / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		tf_msleep(10);
	}
	if (i == 60000 / 10) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		ck_abort_msg("vgpu stress still ran a minute after its backend was lost");
	}
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "stopping"))
			said++;
	fclose(f);
	ck_assert_msg(said == 1, "stress printed %d 'stopping' lines (see %s)", said, out);
}
END_TEST

/*
 * The mark comes late, after a new backend started (vgpu-attach's
 * supervisor racing an operator's restart): the new backend restores its
 * state, and a frontend that closed on the mark reconnects.
 */
START_TEST(test_late_mark_is_undone)
{
	up(&D, 51, 0);
	kill9(&D);
	ck_assert(tf_backend_start(&D) > 0);
	/* It found the frontend connected to the dead one: Closing. */
	ck_assert_int_eq(tf_wait_be_state(&D, 5), 0);
	ck_assert_int_eq(tf_close(&D), 0);
	ck_assert_int_eq(tf_connect(&D), 0);
	ck_assert_int_eq(tf_nop(&D), 0);
	/* The dead one's supervisor, late. */
	dom0_write(&D, "state", "6");
	ck_assert_int_eq(tf_wait_be_state(&D, 4), 0);
	ck_assert_int_ge(tf_log_count(&D, "behind our back"), 1);
	ck_assert_int_eq(tf_nop(&D), 0);
	down_clean(&D);
}
END_TEST

/* A new backend finds the device marked Closed under a stale frontend. */
START_TEST(test_restart_after_mark)
{
	up(&D, 52, 0);
	kill9(&D);
	ck_assert_int_eq(mark_closed(&D, "test"), 0);
	ck_assert(tf_backend_start(&D) > 0);
	/* The frontend (ours has not noticed) still names the dead ring. */
	ck_assert_int_eq(tf_wait_be_state(&D, 5), 0);
	ck_assert_int_eq(tf_close(&D), 0);
	ck_assert_int_eq(tf_connect(&D), 0);
	ck_assert_int_eq(tf_nop(&D), 0);
	down_clean(&D);
}
END_TEST

/* --------------------------------------------------------- guest text */

/*
 * A guest-written value with bytes 0x80-0xff and control bytes reaches the
 * log escaped: no raw byte outside printable ASCII in any line.
 */
START_TEST(test_guest_text_escaped_in_log)
{
	char line[4096];
	FILE *fp;
	int quoted = 0;

	ck_assert_int_eq(tf_dom_create(&W, &D, 55, 0), 0);
	ck_assert_int_eq(tf_setup_ring(&D), 0);
	ck_assert_int_eq(tf_fe_write(&D, VGPUIF_XS_PROTOCOL,
				     "\xc3\xa9vil\x80\xff\x9b" "2J\\x41"), 0);
	tf_fe_write(&D, VGPUIF_XS_STATE, "3");
	ck_assert_int_eq(tf_wait_be_state(&D, 5), 0);
	fp = fopen(D.log, "r");
	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp)) {
		for (char *c = line; *c && *c != '\n'; c++)
			ck_assert_msg((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f,
				      "byte 0x%02x in a log line: %s", (unsigned char)*c, line);
		if (strstr(line, "\\xc3\\xa9vil\\x80\\xff\\x9b2J\\\\x41"))
			quoted++;
	}
	fclose(fp);
	ck_assert_int_ge(quoted, 1);   /* shown, escaped, not dropped */
	ck_assert(tf_backend_alive(&D));
}
END_TEST

/* ---------------------------------------------------- policy defaults */

static uint64_t info_u64(struct tf_dom *d, size_t off);

/*
 * The host-wide defaults and the domain's own keys: one row per
 * combination, with the quota that must hold (seen by allocations and
 * GET_INFO) and the watchdog the backend must apply (its log line).
 */
static const struct {
	const char *what;
	const char *conf;            /* backend.conf lines                   */
	const char *quota_key;       /* NULL: absent                         */
	const char *watchdog_key;    /* NULL: absent                         */
	uint64_t quota;              /* effective; 0 = none                  */
	const char *watchdog_line;   /* in the backend's log                 */
} policy_rows[] = {
	{ "nothing set: no quota, the watchdog on at 10 s", "", NULL, NULL, 0,
	  "a kernel is stopped after 10000 ms (host-wide setting)" },
	{ "host-wide quota applies without a key", "mem-quota = 8M\n", NULL, NULL,
	  8 * MIB, "after 10000 ms (host-wide setting)" },
	{ "the domain's quota beats the host's", "mem-quota = 8M\n", "4194304", NULL,
	  4 * MIB, "after 10000 ms" },
	{ "the domain's 0 means no quota", "mem-quota = 8M\n", "0", NULL, 0,
	  "after 10000 ms" },
	{ "a malformed quota key: the host default stays", "mem-quota = 8M\n", "lots",
	  NULL, 8 * MIB, "after 10000 ms" },
	{ "host-wide watchdog", "watchdog-ms = 2500\n", NULL, NULL, 0,
	  "after 2500 ms (host-wide setting)" },
	{ "the domain's watchdog beats the host's", "watchdog-ms = 2500\n", NULL, "700",
	  0, "after 700 ms (the domain's watchdog-ms)" },
	{ "the domain's watchdog 0: off, said loudly", "", NULL, "0", 0,
	  "off (the domain's watchdog-ms = 0)" },
	{ "the host's watchdog 0: off, said loudly", "watchdog-ms = 0\n", NULL, NULL, 0,
	  "off (host-wide watchdog-ms = 0)" },
	{ "a malformed watchdog key: the host's applies", "", NULL, "-5", 0,
	  "ignoring a malformed watchdog-ms" },
};

START_TEST(test_policy_rows)
{
	uint64_t mem;
	uint32_t ctx;
	FILE *f;
	int st;

	f = fopen(W.conf, "w");
	ck_assert_ptr_nonnull(f);
	fputs(policy_rows[_i].conf, f);
	fclose(f);
	ck_assert_int_eq(tf_dom_create(&W, &D, 80 + (uint32_t)_i, 0), 0);
	down_clean(&D);
	/* The toolstack's keys as the row wants them, then a fresh backend. */
	dom0_write(&D, "mem-quota", policy_rows[_i].quota_key);
	if (policy_rows[_i].watchdog_key)
		dom0_write(&D, "watchdog-ms", policy_rows[_i].watchdog_key);
	ck_assert(tf_backend_start(&D) > 0);
	ck_assert_int_eq(tf_wait_be_state(&D, 2), 0);
	ck_assert_int_eq(tf_connect(&D), 0);
	ck_assert_msg(tf_log_count(&D, policy_rows[_i].watchdog_line) >= 1,
		      "%s: no '%s' in %s", policy_rows[_i].what,
		      policy_rows[_i].watchdog_line, D.log);
	ck_assert_uint_eq(info_u64(&D, offsetof(struct vgpuif_info, mem_quota)),
			  policy_rows[_i].quota);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	if (policy_rows[_i].quota) {
		st = tf_mem_alloc(&D, ctx, policy_rows[_i].quota + 1, &mem);
		ck_assert_int_eq(st, VGPUIF_RSP_EDQUOT);
		ck_assert_int_eq(tf_mem_alloc(&D, ctx, policy_rows[_i].quota, &mem), 0);
	} else {
		ck_assert_int_eq(tf_mem_alloc(&D, ctx, 16 * MIB, &mem), 0);
	}
	down_clean(&D);
}
END_TEST

/* ------------------------------------------------------------ refusals */

static const struct vgpu_arb_domain_info *arb_dom(struct vgpu_arb *arb,
						  uint32_t domid)
{
	static struct vgpu_arb_snapshot snap;

	ck_assert_int_eq(vgpu_arb_snapshot(arb, &snap), 0);
	for (uint32_t i = 0; i < snap.ndomains; i++)
		if (snap.dom[i].domid == domid)
			return &snap.dom[i];
	return NULL;
}

/*
 * What vgpu-smi shows: allocations refused by the quota (the backend's own
 * check, before the arbiter) or by dom0's host memory (the executor) count
 * in REFUSED, not in ERRORS; a real error still counts as one. Also for a
 * domain whose every request so far was refused (it registers then).
 */
START_TEST(test_refusals_are_not_errors)
{
	const struct vgpu_arb_domain_info *di;
	struct vgpuif_request r;
	struct vgpuif_response p;
	struct vgpu_arb *arb = NULL;
	char region[64];
	const char *why = NULL;
	uint64_t mem;
	uint32_t ctx;
	int i;

	snprintf(region, sizeof(region), "vgpu-iso-test-%d", (int)getpid());
	vgpu_arb_unlink(region);
	setenv("VGPU_ARB_NAME", region, 1);
	D.extra[0] = "--host-mem-limit";
	D.extra[1] = "8M";
	up(&D, 90, 4 * MIB);
	ck_assert_int_eq(vgpu_arb_open(&arb, region, NULL, 0, &why), 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	/* Three past the quota, refused before anything reached the hook. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(tf_mem_alloc(&D, ctx, 5 * MIB, &mem), VGPUIF_RSP_EDQUOT);
	di = arb_dom(arb, 90);
	ck_assert_ptr_nonnull(di);
	ck_assert_uint_eq(di->quota_refusals, 3);
	ck_assert_uint_eq(di->errors, 0);
	/* Raise the quota past the host memory limit: the executor refuses. */
	dom0_write(&D, "mem-quota", "67108864");
	for (i = 0; i < 50; i++) {
		/* EDQUOT until the backend has seen the new quota: refusals too */
		int st = tf_mem_alloc(&D, ctx, 10 * MIB, &mem);

		ck_assert(st == VGPUIF_RSP_EDQUOT || st == VGPUIF_RSP_ENOMEM);
		if (st == VGPUIF_RSP_ENOMEM)
			break;
		tf_msleep(20);
	}
	ck_assert_int_lt(i, 50);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4 * MIB, &mem), 0);
	/* A real error: a handle that does not exist. */
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_FREE;
	r.ctx = ctx;
	r.args.mem_free.mem = 0x123456789ull;
	ck_assert_int_eq(tf_call(&D, &r, &p), VGPUIF_RSP_EBADF);
	ck_assert_int_eq(tf_nop(&D), 0); /* the figures are synced at the next op */
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 1 * MIB, &mem), 0);
	di = arb_dom(arb, 90);
	ck_assert_ptr_nonnull(di);
	ck_assert_uint_eq(di->quota_refusals, 3 + (uint64_t)i + 1);
	ck_assert_uint_eq(di->errors, 1);
	ck_assert_uint_eq(di->mem_used, 5 * MIB);
	/* The cpu executor has no context of its own to report. */
	ck_assert_uint_eq(di->ctx_overhead, 0);
	ck_assert_uint_eq(info_u64(&D, offsetof(struct vgpuif_info, ctx_overhead)), 0);
	down_clean(&D);
	vgpu_arb_close(arb);
	vgpu_arb_unlink(region);
	unsetenv("VGPU_ARB_NAME");
}
END_TEST

/*
 * A context's streams and events are bounded; the one past the bound is
 * refused with EMFILE, counted in REFUSED, not in ERRORS, and a place
 * freed is a place usable again. One row per kind of object.
 */
static const struct {
	const char *what;
	uint8_t create, destroy;
	unsigned int limit;
} object_rows[] = {
	{ "streams", VGPUIF_OP_STREAM_CREATE, VGPUIF_OP_STREAM_DESTROY,
	  VGPUIF_MAX_STREAMS_PER_CTX },
	{ "events", VGPUIF_OP_EVENT_CREATE, VGPUIF_OP_EVENT_DESTROY,
	  VGPUIF_MAX_EVENTS_PER_CTX },
};

static int obj_create(struct tf_dom *d, uint8_t op, uint32_t ctx, uint64_t *h)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	int st;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.ctx = ctx;
	st = tf_call(d, &r, &p);
	*h = p.result[0];
	return st;
}

START_TEST(test_object_limit_rows)
{
	const struct vgpu_arb_domain_info *di;
	struct vgpuif_request r;
	struct vgpuif_response p;
	struct vgpu_arb *arb = NULL;
	char region[64];
	const char *why = NULL;
	uint64_t h = 0, last = 0;
	uint32_t ctx, ctx2;

	snprintf(region, sizeof(region), "vgpu-iso-test-%d", (int)getpid());
	vgpu_arb_unlink(region);
	setenv("VGPU_ARB_NAME", region, 1);
	up(&D, 91, 0);
	ck_assert_int_eq(vgpu_arb_open(&arb, region, NULL, 0, &why), 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	for (unsigned int i = 0; i < object_rows[_i].limit; i++) {
		ck_assert_msg(obj_create(&D, object_rows[_i].create, ctx, &last) == 0,
			      "%s: %u of %u refused", object_rows[_i].what, i,
			      object_rows[_i].limit);
	}
	ck_assert_int_eq(obj_create(&D, object_rows[_i].create, ctx, &h),
			 VGPUIF_RSP_EMFILE);
	/* another context has its own bound */
	ck_assert_int_eq(tf_ctx_create(&D, &ctx2), 0);
	ck_assert_int_eq(obj_create(&D, object_rows[_i].create, ctx2, &h), 0);
	/* destroying one makes room for one */
	memset(&r, 0, sizeof(r));
	r.op = object_rows[_i].destroy;
	r.ctx = ctx;
	if (object_rows[_i].create == VGPUIF_OP_STREAM_CREATE)
		r.args.stream.stream = last;
	else
		r.args.event.event = last;
	ck_assert_int_eq(tf_call(&D, &r, &p), 0);
	ck_assert_int_eq(obj_create(&D, object_rows[_i].create, ctx, &h), 0);
	ck_assert_int_eq(obj_create(&D, object_rows[_i].create, ctx, &h),
			 VGPUIF_RSP_EMFILE);
	ck_assert_int_eq(tf_nop(&D), 0); /* the figures are synced at the next op */
	di = arb_dom(arb, 91);
	ck_assert_ptr_nonnull(di);
	ck_assert_uint_eq(di->quota_refusals, 2);
	ck_assert_uint_eq(di->errors, 0);
	ck_assert_int_eq(tf_log_count(&D, ": error: "), 0);
	down_clean(&D);
	vgpu_arb_close(arb);
	vgpu_arb_unlink(region);
	unsetenv("VGPU_ARB_NAME");
}
END_TEST

/* ------------------------------------------------------ dom0 memory */

/* A 64-bit field of GET_INFO's answer. */
static uint64_t info_u64(struct tf_dom *d, size_t off)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	int64_t f = tf_frames(d, 1);
	uint64_t v;

	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_GET_INFO;
	r.nr_segments = 1;
	r.u.seg[0].gref = (uint32_t)tf_grant(d, f, false);
	r.u.seg[0].length = sizeof(struct vgpuif_info);
	ck_assert_int_eq(tf_call(d, &r, &p), 0);
	memcpy(&v, (uint8_t *)tf_page(d, f) + off, sizeof(v));
	return v;
}

static uint64_t info_total_mem(struct tf_dom *d)
{
	return info_u64(d, offsetof(struct vgpuif_info, total_mem));
}

static int mem_free(struct tf_dom *d, uint32_t ctx, uint64_t mem)
{
	struct vgpuif_request r;
	struct vgpuif_response p;

	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_FREE;
	r.ctx = ctx;
	r.args.mem_free.mem = mem;
	return tf_call(d, &r, &p);
}

/*
 * One row per dom0 situation: the backend's host memory settings, the
 * domain's quota, allocations in turn (FREE_FIRST: free the first one that
 * succeeded; 0 ends the list) with the status each must get, and the
 * device memory GET_INFO must report (0: not checked).
 */
#define FREE_FIRST UINT64_MAX
static const struct {
	const char *what;
	const char *limit, *reserve;     /* NULL: auto                    */
	uint64_t quota;
	struct { uint64_t size; int status; } ops[6];
	uint64_t total_mem;
} mem_rows[] = {
	{ "limit 64M: what passes it is ENOMEM, the rest fits", "64M", NULL, 0,
	  { { 48 * MIB, 0 }, { 32 * MIB, VGPUIF_RSP_ENOMEM }, { 16 * MIB, 0 },
	    { 1, VGPUIF_RSP_ENOMEM } }, 64 * MIB },
	{ "a refusal, then a free makes room", "64M", NULL, 0,
	  { { 40 * MIB, 0 }, { 40 * MIB, VGPUIF_RSP_ENOMEM }, { FREE_FIRST, 0 },
	    { 40 * MIB, 0 } }, 64 * MIB },
	{ "one allocation larger than the limit", "32M", NULL, 0,
	  { { 33 * MIB, VGPUIF_RSP_ENOMEM }, { 32 * MIB, 0 } }, 32 * MIB },
	{ "a reserve dom0 cannot keep: every allocation is ENOMEM", NULL, "64T", 0,
	  { { 4096, VGPUIF_RSP_ENOMEM }, { 32 * MIB, VGPUIF_RSP_ENOMEM } }, 0 },
	{ "the quota below the limit answers first: EDQUOT", "64M", NULL, 16 * MIB,
	  { { 8 * MIB, 0 }, { 16 * MIB, VGPUIF_RSP_EDQUOT }, { 8 * MIB, 0 } },
	  64 * MIB },
	{ "the limit below the quota: ENOMEM", "16M", NULL, 64 * MIB,
	  { { 12 * MIB, 0 }, { 8 * MIB, VGPUIF_RSP_ENOMEM } }, 16 * MIB },
	{ "no reserve check (0) and auto limit: a big allocation fits", NULL, "0", 0,
	  { { 64 * MIB, 0 } }, 0 },
};

START_TEST(test_host_memory_rows)
{
	uint64_t mem, first = 0;
	uint32_t ctx;
	int n = 0, i;

	if (mem_rows[_i].limit) {
		D.extra[n++] = "--host-mem-limit";
		D.extra[n++] = mem_rows[_i].limit;
	}
	if (mem_rows[_i].reserve) {
		D.extra[n++] = "--host-mem-reserve";
		D.extra[n++] = mem_rows[_i].reserve;
	}
	up(&D, 60 + (uint32_t)_i, mem_rows[_i].quota);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	for (i = 0; i < 6 && mem_rows[_i].ops[i].size; i++) {
		int st;

		if (mem_rows[_i].ops[i].size == FREE_FIRST) {
			ck_assert_uint_ne(first, 0);
			ck_assert_int_eq(mem_free(&D, ctx, first), 0);
			continue;
		}
		st = tf_mem_alloc(&D, ctx, mem_rows[_i].ops[i].size, &mem);
		ck_assert_msg(st == mem_rows[_i].ops[i].status,
			      "%s: allocation %d of %llu bytes: status %d, want %d",
			      mem_rows[_i].what, i,
			      (unsigned long long)mem_rows[_i].ops[i].size, st,
			      mem_rows[_i].ops[i].status);
		if (!st && !first)
			first = mem;
	}
	if (mem_rows[_i].total_mem)
		ck_assert_uint_eq(info_total_mem(&D), mem_rows[_i].total_mem);
	/* Refused, never killed: the backend serves on and leaves cleanly. */
	ck_assert_int_eq(tf_nop(&D), 0);
	down_clean(&D);
}
END_TEST

/* The guest of the issue: allocate in 32 MiB chunks until refused. */
START_TEST(test_allocate_until_refused)
{
	uint64_t mem, got = 0;
	uint32_t ctx;
	int st = 0, n;

	D.extra[0] = "--host-mem-limit";
	D.extra[1] = "200M";
	up(&D, 70, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	for (n = 0; n < 100; n++) {
		st = tf_mem_alloc(&D, ctx, 32 * MIB, &mem);
		if (st)
			break;
		got += 32 * MIB;
	}
	ck_assert_int_eq(st, VGPUIF_RSP_ENOMEM);
	ck_assert_uint_eq(got, 192 * MIB);
	ck_assert(tf_backend_alive(&D));
	ck_assert_int_ge(tf_log_count(&D, "refused MEM_ALLOC"), 1);
	down_clean(&D);
}
END_TEST

/* ------------------------------------------------------ long operations */

/*
 * A long allocation (1 GiB, mapped and populated in dom0) does not hold the
 * ring thread: NOPs and another context's small allocations and frees sent
 * after it are answered before it is. Counted, not timed: with the allocation inside
 * the ring thread none could be.
 */
START_TEST(test_long_alloc_does_not_hold_the_ring)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	uint64_t big_id, mem = 0, small = 0;
	uint32_t ctx, ctx2;
	int before = 0, k, st;
	bool big_done = false;

	D.extra[0] = "--host-mem-reserve";
	D.extra[1] = "0";
	up(&D, 71, 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx2), 0);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_ALLOC;
	r.ctx = ctx;
	r.args.mem_alloc.size = 1024 * MIB;
	big_id = tf_submit(&D, &r);
	for (k = 0; !big_done && k < 100000; k++) {
		uint64_t id;

		memset(&r, 0, sizeof(r));
		if (k % 3 == 1) {
			r.op = VGPUIF_OP_MEM_ALLOC;
			r.ctx = ctx2;
			r.args.mem_alloc.size = 4096;
		} else if (k % 3 == 2) {
			r.op = VGPUIF_OP_MEM_FREE;  /* the one just allocated */
			r.ctx = ctx2;
			r.args.mem_free.mem = small;
		} else {
			r.op = VGPUIF_OP_NOP;
		}
		id = tf_submit(&D, &r);
		for (;;) {
			ck_assert_int_eq(tf_wait_rsp(&D, &p), 0);
			if (p.id == big_id) {
				ck_assert_int_eq(p.status, 0);
				mem = p.result[0];
				big_done = true;
				continue;   /* ours comes next */
			}
			ck_assert_uint_eq(p.id, id);
			ck_assert_int_eq(p.status, 0);
			if (p.op == VGPUIF_OP_MEM_ALLOC)
				small = p.result[0];
			if (!big_done)
				before++;
			break;
		}
	}
	while (!big_done) {   /* only if 100000 requests went by first */
		ck_assert_int_eq(tf_wait_rsp(&D, &p), 0);
		ck_assert_uint_eq(p.id, big_id);
		ck_assert_int_eq(p.status, 0);
		mem = p.result[0];
		big_done = true;
	}
	ck_assert_msg(before >= 1, "no request was answered while the 1 GiB allocation ran");
	fprintf(stderr, "test_long_alloc: %d requests answered during the allocation\n",
		before);
	/* It is a real allocation: its far end holds what is copied there. */
	{
		uint8_t in[64] = "the last bytes of a gibibyte", out[64] = { 0 };

		ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_H2D, ctx, mem,
					 1024 * MIB - 64, in, 64, false), 0);
		ck_assert_int_eq(tf_copy(&D, VGPUIF_OP_MEMCPY_D2H, ctx, mem,
					 1024 * MIB - 64, out, 64, false), 0);
		ck_assert_mem_eq(in, out, 64);
	}
	st = mem_free(&D, ctx, mem);
	ck_assert_int_eq(st, 0);
	down_clean(&D);
}
END_TEST


/* ------------------------------------------------- device memory (#15) */

/*
 * Every byte of device memory a domain causes counts against its quota:
 * allocations, modules (their __device__ and __constant__ variables, as
 * the cpu executor knows them exactly) and the local memory a launch makes
 * the device reserve (the cpu executor models a GPU's: the most local
 * bytes per thread asked so far, rounded to 16, times the 1024 threads its
 * device holds at once, kept for the executor's life). One row per
 * situation: steps in turn, each with the status it must get and the
 * usage GET_INFO must show after it (NOCHECK: not checked).
 */
enum dm_kind { DM_END = 0, DM_LOAD, DM_UNLOAD, DM_LAUNCH, DM_ALLOC, DM_FREE,
	       DM_QUOTA };
#define NOCHECK UINT64_MAX
#define DM_MAX 12

static const struct {
	const char *what;
	uint64_t quota;
	struct {
		enum dm_kind kind;
		uint64_t arg;      /* LOAD/ALLOC: bytes; UNLOAD/FREE: the
				    * step whose object goes; LAUNCH: local
				    * bytes per thread; QUOTA: new quota */
		int status;        /* -errno, 0 */
		uint64_t used;     /* GET_INFO's mem_used after, or NOCHECK */
	} step[DM_MAX];
	unsigned int refused;  /* REFUSED in vgpu-smi at the end */
} dm_rows[] = {
	{ "a module whose variables exceed the quota, then one that fits", 16 * MIB,
	  { { DM_LOAD, 32 * MIB, -EDQUOT, 0 },
	    { DM_LOAD, 8 * MIB, 0, 8 * MIB },
	    { DM_LOAD, 9 * MIB, -EDQUOT, 8 * MIB } }, 2 },
	{ "unloading a module gives its charge back", 16 * MIB,
	  { { DM_LOAD, 12 * MIB, 0, 12 * MIB },
	    { DM_LOAD, 12 * MIB, -EDQUOT, 12 * MIB },
	    { DM_UNLOAD, 0, 0, 0 },
	    { DM_LOAD, 12 * MIB, 0, 12 * MIB } }, 1 },
	{ "many small modules that together exceed it", 16 * MIB,
	  { { DM_LOAD, 4 * MIB, 0, 4 * MIB },
	    { DM_LOAD, 4 * MIB, 0, 8 * MIB },
	    { DM_LOAD, 4 * MIB, 0, 12 * MIB },
	    { DM_LOAD, 4 * MIB, 0, 16 * MIB },
	    { DM_LOAD, 1 * MIB, -EDQUOT, 16 * MIB },
	    { DM_ALLOC, 4096, -EDQUOT, 16 * MIB },
	    { DM_UNLOAD, 1, 0, 12 * MIB },
	    { DM_LOAD, 1 * MIB, 0, 13 * MIB } }, 2 },
	{ "modules and allocations share one quota", 16 * MIB,
	  { { DM_ALLOC, 10 * MIB, 0, 10 * MIB },
	    { DM_LOAD, 8 * MIB, -EDQUOT, 10 * MIB },
	    { DM_LOAD, 6 * MIB, 0, 16 * MIB },
	    { DM_ALLOC, 4096, -EDQUOT, 16 * MIB },
	    { DM_FREE, 0, 0, 6 * MIB },
	    { DM_ALLOC, 10 * MIB, 0, 16 * MIB } }, 2 },
	{ "a kernel whose local memory exceeds it, then launches after the refusal",
	  16 * MIB,
	  { { DM_LAUNCH, 32768, -EDQUOT, 0 },          /* 32 MiB reserved */
	    { DM_LAUNCH, 8192, 0, 8 * MIB },
	    { DM_LAUNCH, 8192, 0, 8 * MIB },           /* kept, not again  */
	    { DM_LAUNCH, 100, 0, 8 * MIB },            /* less: nothing     */
	    { DM_LAUNCH, 12288, 0, 12 * MIB },         /* the growth only  */
	    { DM_ALLOC, 5 * MIB, -EDQUOT, 12 * MIB },
	    { DM_LAUNCH, 20480, -EDQUOT, 12 * MIB },
	    { DM_ALLOC, 4 * MIB, 0, 16 * MIB } }, 3 },
	{ "a quota lowered by the operator while in use", 64 * MIB,
	  { { DM_ALLOC, 16 * MIB, 0, 16 * MIB },
	    { DM_LOAD, 16 * MIB, 0, 32 * MIB },
	    { DM_QUOTA, 24 * MIB, 0, 32 * MIB },       /* what it holds stays */
	    { DM_ALLOC, 4096, -EDQUOT, 32 * MIB },
	    { DM_LOAD, 4096, -EDQUOT, 32 * MIB },
	    { DM_LAUNCH, 16, -EDQUOT, 32 * MIB },
	    { DM_FREE, 0, 0, 16 * MIB },
	    { DM_ALLOC, 8 * MIB, 0, 24 * MIB },
	    { DM_QUOTA, 0, 0, 24 * MIB },              /* none now */
	    { DM_LOAD, 40 * MIB, 0, 64 * MIB },
	    { DM_LAUNCH, 16, 0, 64 * MIB + 16 * 1024 } }, 3 },
	{ "no quota: nothing refused, every byte still counted", 0,
	  { { DM_LOAD, 24 * MIB, 0, 24 * MIB },
	    { DM_LAUNCH, 1024, 0, 25 * MIB },
	    { DM_ALLOC, 1 * MIB, 0, 26 * MIB },
	    { DM_UNLOAD, 0, 0, 2 * MIB } }, 0 },
};

/* PTX of a module with one __device__ array of bytes bytes. */
static char *array_ptx(uint64_t bytes, char *buf, size_t cap)
{
	snprintf(buf, cap,
		 ".version 7.0\n.target sm_75\n.address_size 64\n\n"
		 ".global .align 4 .b8 g_var[%llu];\n\n"
		 ".visible .entry g_touch()\n{\n\t.reg .b32 %%r<2>;\n"
		 "\tld.global.u32 %%r1, [g_var];\n\tret;\n}\n",
		 (unsigned long long)bytes);
	return buf;
}

/* PTX of a kernel with local bytes of local memory per thread. */
static char *local_ptx(uint64_t bytes, char *buf, size_t cap)
{
	snprintf(buf, cap,
		 ".version 7.0\n.target sm_75\n.address_size 64\n\n"
		 ".visible .entry g_local()\n{\n"
		 "\t.local .align 4 .b8 __local_depot0[%llu];\n"
		 "\t.reg .b64 %%SPL;\n\t.reg .b32 %%r<2>;\n"
		 "\tmov.u64 %%SPL, __local_depot0;\n\tmov.u32 %%r1, 7;\n"
		 "\tst.local.u32 [%%SPL], %%r1;\n\tret;\n}\n",
		 (unsigned long long)bytes);
	return buf;
}

static uint64_t lv_used(vgpu_t *v, uint64_t *quota)
{
	struct vgpu_info info;

	ck_assert_int_eq(vgpu_query(v, &info), 0);
	if (quota)
		*quota = info.mem_quota;
	return info.mem_used;
}

START_TEST(test_device_memory_rows)
{
	const struct vgpu_arb_domain_info *di;
	uint64_t obj[DM_MAX] = { 0 }, q;
	struct vgpu_arb *arb = NULL;
	const uint32_t one[3] = { 1, 1, 1 };
	uint32_t domid = 100 + (uint32_t)_i;
	char region[64], ptx[1024], log[512];
	const char *why = NULL;
	vgpu_t *v = NULL;
	int i, st;

	snprintf(region, sizeof(region), "vgpu-iso-test-%d", (int)getpid());
	vgpu_arb_unlink(region);
	setenv("VGPU_ARB_NAME", region, 1);
	ck_assert_int_eq(tf_dom_create(&W, &D, domid, dm_rows[_i].quota), 0);
	ck_assert_int_eq(lv_open(domid, 60000, &v), 0);
	ck_assert_int_eq(vgpu_nop(v, NULL), 0);
	ck_assert_int_eq(vgpu_arb_open(&arb, region, NULL, 0, &why), 0);
	for (i = 0; i < DM_MAX && dm_rows[_i].step[i].kind; i++) {
		uint64_t arg = dm_rows[_i].step[i].arg, mod, func, mem;

		switch (dm_rows[_i].step[i].kind) {
		case DM_LOAD:
			array_ptx(arg, ptx, sizeof(ptx));
			log[0] = '\0';
			st = vgpu_module_load(v, ptx, strlen(ptx) + 1, VGPU_MODULE_PTX,
					      log, sizeof(log), &mod, NULL);
			if (!st)
				obj[i] = mod;
			if (st == -EDQUOT)
				ck_assert_msg(strstr(log, "quota"), "%s: step %d: "
					      "the refusal's log says '%s'",
					      dm_rows[_i].what, i, log);
			break;
		case DM_UNLOAD:
			st = vgpu_module_unload(v, obj[arg]);
			break;
		case DM_LAUNCH:
			local_ptx(arg, ptx, sizeof(ptx));
			ck_assert_int_eq(vgpu_module_load(v, ptx, strlen(ptx) + 1,
							  VGPU_MODULE_PTX, log,
							  sizeof(log), &mod, NULL), 0);
			ck_assert_int_eq(vgpu_func_get(v, mod, "g_local", &func, NULL), 0);
			st = vgpu_launch(v, func, one, one, 0, NULL, 0);
			if (!st)
				st = vgpu_sync(v);
			/* the module (no variables) costs nothing; it goes */
			ck_assert_int_eq(vgpu_module_unload(v, mod), 0);
			break;
		case DM_ALLOC:
			st = vgpu_mem_alloc(v, arg, &mem, NULL);
			if (!st)
				obj[i] = mem;
			break;
		case DM_FREE:
			st = vgpu_mem_free(v, obj[arg]);
			break;
		case DM_QUOTA: {
			char val[32];
			int k;

			snprintf(val, sizeof(val), "%llu", (unsigned long long)arg);
			dom0_write(&D, "mem-quota", val);
			for (k = 0; k < 250; k++) {   /* until the backend read it */
				lv_used(v, &q);
				if (q == arg)
					break;
				tf_msleep(20);
			}
			ck_assert_uint_eq(q, arg);
			st = 0;
			break;
		}
		default:
			st = -1;
		}
		ck_assert_msg(st == dm_rows[_i].step[i].status,
			      "%s: step %d: %d (%s), want %d", dm_rows[_i].what, i,
			      st, vgpu_strerror(st), dm_rows[_i].step[i].status);
		if (dm_rows[_i].step[i].used != NOCHECK)
			ck_assert_msg(lv_used(v, NULL) == dm_rows[_i].step[i].used,
				      "%s: step %d: mem_used %llu, want %llu",
				      dm_rows[_i].what, i,
				      (unsigned long long)lv_used(v, NULL),
				      (unsigned long long)dm_rows[_i].step[i].used);
	}
	/* vgpu-smi's figures: the same usage, the refusals in REFUSED only */
	ck_assert_int_eq(vgpu_nop(v, NULL), 0);
	di = arb_dom(arb, domid);
	ck_assert_ptr_nonnull(di);
	ck_assert_uint_eq(di->mem_used, lv_used(v, NULL));
	ck_assert_uint_eq(di->quota_refusals, dm_rows[_i].refused);
	ck_assert_uint_eq(di->errors, 0);
	if (dm_rows[_i].refused)
		ck_assert_int_ge(tf_log_count(&D, "(EDQUOT)"), 1);
	vgpu_close(v);
	vgpu_arb_close(arb);
	vgpu_arb_unlink(region);
	unsetenv("VGPU_ARB_NAME");
	down_clean(&D);
}
END_TEST


/* A MODULE_LOAD sent without waiting for its answer (PTX in one page). */
static uint64_t submit_load(struct tf_dom *d, uint32_t ctx, const char *ptx)
{
	struct vgpuif_request r;
	int64_t f = tf_frames(d, 1);
	uint32_t len = (uint32_t)strlen(ptx) + 1;

	ck_assert_int_le(len, LB_PAGE_SIZE);
	memcpy(tf_page(d, f), ptx, len);
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MODULE_LOAD;
	r.ctx = ctx;
	r.args.module_load.image_len = len;
	r.args.module_load.format = VGPUIF_MODULE_PTX;
	r.nr_segments = 1;
	r.u.seg[0].gref = (uint32_t)tf_grant(d, f, true);
	r.u.seg[0].length = (uint16_t)len;
	return tf_submit(d, &r);
}

/*
 * A hostile guest does not wait for answers: it sends a module load and,
 * before it is answered, allocations and more loads that would each fit
 * in the quota alone. The load holds what the quota leaves until it is
 * answered; what came after it waits, then sees the module's charge.
 * Slow ops (--cpu-op-delay-us) keep the load in flight meanwhile.
 */
START_TEST(test_loads_in_flight_hold_the_quota)
{
	struct vgpuif_request r;
	struct vgpuif_response p;
	char ptx1[1024], ptx2[1024];
	uint64_t id[4];
	int st[4] = { 1, 1, 1, 1 }, order[4], n = 0, k;
	uint32_t ctx;

	D.extra[0] = "--cpu-op-delay-us";
	D.extra[1] = "200000";
	up(&D, 92, 16 * MIB);
	ck_assert_int_eq(tf_ctx_create(&D, &ctx), 0);
	id[0] = submit_load(&D, ctx, array_ptx(12 * MIB, ptx1, sizeof(ptx1)));
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_MEM_ALLOC;
	r.ctx = ctx;
	r.args.mem_alloc.size = 8 * MIB;
	id[1] = tf_submit(&D, &r);
	id[2] = submit_load(&D, ctx, array_ptx(8 * MIB, ptx2, sizeof(ptx2)));
	memset(&r, 0, sizeof(r));
	r.op = VGPUIF_OP_NOP;
	id[3] = tf_submit(&D, &r);
	while (n < 4) {
		ck_assert_int_eq(tf_wait_rsp(&D, &p), 0);
		for (k = 0; k < 4; k++)
			if (p.id == id[k])
				break;
		ck_assert_int_lt(k, 4);
		st[k] = p.status;
		order[n++] = k;
	}
	(void)order;   /* (the NOP usually first: not timed, not asserted) */
	ck_assert_int_eq(st[0], 0);                 /* 12 MiB of 16 */
	ck_assert_int_eq(st[1], VGPUIF_RSP_EDQUOT); /* 8 more: no */
	ck_assert_int_eq(st[2], VGPUIF_RSP_EDQUOT);
	ck_assert_int_eq(st[3], 0);
	ck_assert_uint_eq(info_u64(&D, offsetof(struct vgpuif_info, mem_used)),
			  12 * MIB);
	ck_assert_int_eq(tf_mem_alloc(&D, ctx, 4 * MIB, &id[1]), 0);
	down_clean(&D);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backend-isolation");
	TCase *tc = tcase_create("supervisor");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_mark_closed_rows, 0,
			    sizeof(mark_rows) / sizeof(mark_rows[0]));
	tcase_add_test(tc, test_killed_backend_fails_inflight_call);
	tcase_add_test(tc, test_stress_stops_on_lost_backend);
	tcase_add_test(tc, test_late_mark_is_undone);
	tcase_add_test(tc, test_restart_after_mark);
	suite_add_tcase(s, tc);
	tc = tcase_create("logs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_guest_text_escaped_in_log);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_policy_rows, 0,
			    sizeof(policy_rows) / sizeof(policy_rows[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("refusals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_refusals_are_not_errors);
	tcase_add_loop_test(tc, test_object_limit_rows, 0,
			    sizeof(object_rows) / sizeof(object_rows[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("dom0-memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_host_memory_rows, 0,
			    sizeof(mem_rows) / sizeof(mem_rows[0]));
	tcase_add_test(tc, test_allocate_until_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("device-memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_device_memory_rows, 0,
			    sizeof(dm_rows) / sizeof(dm_rows[0]));
	tcase_add_test(tc, test_loads_in_flight_hold_the_quota);
	suite_add_tcase(s, tc);
	tc = tcase_create("long-ops");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_long_alloc_does_not_hold_the_ring);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
