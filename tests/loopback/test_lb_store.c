/*
 * test_lb_store.c - the loopback world's XenStore: permissions, paths and
 * bounds, directory/rm, transactions, watches (coalescing, @releaseDomain,
 * across processes), the toolstack's device nodes, and the robust world
 * lock surviving a process killed -9 while holding it.
 */
#include <signal.h>
#include <sys/wait.h>

#include "lbtest.h"
#include "vgpuif.h"

static struct lb_xs *xs0, *xs1, *xs2;

static void setup(void)
{
	lbt_setup();
	ck_assert_int_eq(lb_domain_create(lbt_w, 1), 0);
	ck_assert_int_eq(lb_domain_create(lbt_w, 2), 0);
	xs0 = lb_xs_open(lbt_w, 0);
	xs1 = lb_xs_open(lbt_w, 1);
	xs2 = lb_xs_open(lbt_w, 2);
	ck_assert(xs0 && xs1 && xs2);
}

static void teardown(void)
{
	lb_xs_close(xs0);
	lb_xs_close(xs1);
	lb_xs_close(xs2);
	lbt_teardown();
}

static struct lb_xs *as(unsigned int dom)
{
	return dom == 0 ? xs0 : dom == 1 ? xs1 : xs2;
}

/* ------------------------------------------------------ permissions */

static const struct perm_row {
	unsigned int dom;
	char op;                /* 'w' write, 'r' read, 'm' rm, 'd' directory */
	const char *path;
	int expect;
} perm_rows[] = {
	{ 1, 'w', "/local/domain/1/data/x", 0 },
	{ 1, 'w', "data/rel", 0 },                       /* relative */
	{ 1, 'w', "/local/domain/1/device/vgpu/0/k", 0 },
	{ 1, 'w', "/local/domain/1/x", -EACCES },         /* dom0 owns it */
	{ 1, 'w', "/local/domain/2/data/x", -EACCES },
	{ 1, 'w', "/local/domain/0/backend/vgpu/1/0/state", -EACCES },
	{ 1, 'w', "/tool/x", -EACCES },
	{ 1, 'w', "/newtop", -EACCES },
	{ 1, 'r', "/local/domain/1/domid", 0 },
	{ 1, 'r', "/local/domain/2/domid", -EACCES },
	{ 1, 'r', "/local/domain/0", -EACCES },
	{ 1, 'r', "/local/domain/1/nonexistent", -ENOENT },
	{ 1, 'd', "/local/domain/2", -EACCES },
	{ 1, 'd', "/local/domain/1", 0 },
	{ 1, 'm', "/local/domain/1/domid", -EACCES },
	{ 1, 'm', "/local/domain/2/data", -EACCES },
	{ 2, 'w', "/local/domain/1/data/y", -EACCES },
	{ 0, 'w', "/local/domain/1/x", 0 },               /* dom0: anything */
	{ 0, 'w', "/anything/at/all", 0 },
	{ 0, 'r', "/local/domain/2/domid", 0 },
	{ 0, 'm', "/local/domain/2/data", 0 },
};

START_TEST(test_perm_table)
{
	const struct perm_row *row = &perm_rows[_i];
	unsigned int num;
	char *v, **d;
	int r = 0;

	switch (row->op) {
	case 'w':
		r = lb_xs_write(as(row->dom), 0, row->path, "v");
		break;
	case 'r':
		v = lb_xs_read(as(row->dom), 0, row->path, NULL);
		r = v ? 0 : -errno;
		free(v);
		break;
	case 'd':
		d = lb_xs_directory(as(row->dom), 0, row->path, &num);
		r = d ? 0 : -errno;
		free(d);
		break;
	case 'm':
		r = lb_xs_rm(as(row->dom), 0, row->path);
		break;
	}
	ck_assert_msg(r == row->expect, "row %d: dom%u %c %s: got %d want %d",
		      _i, row->dom, row->op, row->path, r, row->expect);
}
END_TEST

/* A node created by a guest belongs to it; dom0's stay dom0's. */
START_TEST(test_owner_and_set_perms)
{
	struct lb_xs_acl acl[4];
	struct lb_xs_acl open_rd[2] = { { 1, LB_XS_PERM_NONE },
					{ 2, LB_XS_PERM_READ } };
	char *v;

	ck_assert_int_eq(lb_xs_write(xs1, 0, "data/a/b/c", "1"), 0);
	ck_assert_int_eq(lb_xs_get_perms(xs1, 0, "data/a/b", acl, 4), 1);
	ck_assert_uint_eq(acl[0].domid, 1);
	/* Dom 2 cannot read it until dom 1 opens it up. */
	v = lb_xs_read(xs2, 0, "/local/domain/1/data/a/b/c", NULL);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(lb_xs_set_perms(xs1, 0, "data/a/b/c", open_rd, 2), 0);
	v = lb_xs_read(xs2, 0, "/local/domain/1/data/a/b/c", NULL);
	ck_assert_str_eq(v, "1");
	free(v);
	/* Read is not write. */
	ck_assert_int_eq(lb_xs_write(xs2, 0, "/local/domain/1/data/a/b/c", "2"),
			 -EACCES);
	/* A guest may not change perms of a node it does not own. */
	ck_assert_int_eq(lb_xs_set_perms(xs1, 0, "/local/domain/1", open_rd, 2),
			 -EACCES);
	ck_assert_int_eq(lb_xs_set_perms(xs1, 0, "data/a", open_rd, 0), -EINVAL);
	ck_assert_int_eq(lb_xs_set_perms(xs1, 0, "data/a", open_rd, 9), -E2BIG);
}
END_TEST

/* ------------------------------------------------------- bad input */

static char longpath[LB_PATH_MAX + 16];

static const struct bad_row {
	const char *path;
	int expect;
} bad_rows[] = {
	{ "", -EINVAL },
	{ "/a//b", -EINVAL },
	{ "/a/b/", -EINVAL },
	{ "/a b", -EINVAL },
	{ "/a\nb", -EINVAL },
	{ "/a/%s", -EINVAL },
	{ longpath, -E2BIG },
};

START_TEST(test_bad_paths)
{
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(lb_xs_write(xs0, 0, bad_rows[_i].path, "x"),
			 bad_rows[_i].expect);
	ck_assert_int_eq(lb_xs_watch(xs0, bad_rows[_i].path, "t"),
			 bad_rows[_i].expect);
}
END_TEST

START_TEST(test_bounds)
{
	static char big[LB_VALUE_MAX + 2];
	char tok[LB_TOKEN_MAX + 1];
	char *v;
	unsigned int len;
	int r, n;

	memset(big, 'v', sizeof(big) - 1);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/v", big), -E2BIG);
	ck_assert_int_eq(lb_xs_write_len(xs0, 0, "/v", big, LB_VALUE_MAX + 1),
			 -E2BIG);
	ck_assert_int_eq(lb_xs_write_len(xs0, 0, "/v", big, LB_VALUE_MAX), 0);
	v = lb_xs_read(xs0, 0, "/v", &len);
	ck_assert_uint_eq(len, LB_VALUE_MAX);
	free(v);
	/* Binary values survive, NULs included. */
	ck_assert_int_eq(lb_xs_write_len(xs1, 0, "data/bin", "a\0b", 3), 0);
	v = lb_xs_read(xs1, 0, "data/bin", &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(v, "a\0b", 3), 0);
	free(v);
	memset(tok, 't', sizeof(tok) - 1);
	tok[sizeof(tok) - 1] = '\0';
	ck_assert_int_eq(lb_xs_watch(xs0, "/v", tok), -E2BIG);
	ck_assert_int_eq(lb_xs_watch(xs0, "@nosuch", "t"), -EINVAL);
	/* Filling the store ends in ENOSPC, never an overflow. */
	for (n = 0; n < (int)LB_MAX_NODES + 1; n++) {
		char p[64];

		snprintf(p, sizeof(p), "/fill/%d", n);
		r = lb_xs_write(xs0, 0, p, "x");
		if (r)
			break;
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_int_gt(n, 100);
	ck_assert_int_eq(lb_xs_rm(xs0, 0, "/fill"), 0);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/after", "ok"), 0);
	ck_assert_int_eq(lb_xs_rm(xs0, 0, "/"), -EINVAL);
}
END_TEST

/* No guest can fill the store, the watch table or the connections. */
START_TEST(test_guest_quotas)
{
	struct lb_xs *extra[LB_QUOTA_CONNS];
	unsigned int n, k = 0;
	char p[64];
	int r = 0;

	for (n = 0; n < LB_MAX_NODES; n++) {
		snprintf(p, sizeof(p), "data/q%u", n);
		r = lb_xs_write(xs1, 0, p, "x");
		if (r)
			break;
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_uint_lt(n, LB_QUOTA_NODES);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/dom0/still/writes", "1"), 0);
	ck_assert_int_eq(lb_xs_write(xs2, 0, "data/other-guest", "1"), 0);
	for (n = 0; n < LB_MAX_WATCHES; n++) {
		snprintf(p, sizeof(p), "t%u", n);
		r = lb_xs_watch(xs2, "/local/domain/2/data", p);
		if (r)
			break;
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_uint_eq(n, LB_QUOTA_WATCHES);
	ck_assert_int_eq(lb_xs_watch(xs0, "/local", "dom0"), 0);
	/* Connections: xs2 is one already. */
	for (k = 0; k < LB_QUOTA_CONNS; k++) {
		extra[k] = lb_xs_open(lbt_w, 2);
		if (!extra[k])
			break;
	}
	ck_assert_uint_eq(k, LB_QUOTA_CONNS - 1);
	ck_assert_int_eq(errno, ENOSPC);
	while (k--)
		lb_xs_close(extra[k]);
	extra[0] = lb_xs_open(lbt_w, 2);
	ck_assert_ptr_nonnull(extra[0]);
	lb_xs_close(extra[0]);
}
END_TEST

START_TEST(test_directory_rm)
{
	unsigned int num;
	char **d;
	int seen = 0;

	ck_assert_int_eq(lb_xs_write(xs0, 0, "/t/a", "1"), 0);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/t/b/c", "2"), 0);
	ck_assert_int_eq(lb_xs_mkdir(xs0, 0, "/t/e"), 0);
	ck_assert_int_eq(lb_xs_mkdir(xs0, 0, "/t/e"), 0);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/tx", "not a child"), 0);
	d = lb_xs_directory(xs0, 0, "/t", &num);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(num, 3);
	for (unsigned int i = 0; i < num; i++)
		seen |= (!strcmp(d[i], "a") ? 1 : 0) |
			(!strcmp(d[i], "b") ? 2 : 0) |
			(!strcmp(d[i], "e") ? 4 : 0);
	ck_assert_int_eq(seen, 7);
	free(d);
	ck_assert_int_eq(lb_xs_rm(xs0, 0, "/t/b"), 0);
	ck_assert_ptr_null(lb_xs_read(xs0, 0, "/t/b/c", NULL));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(lb_xs_rm(xs0, 0, "/t/b"), -ENOENT);
	d = lb_xs_directory(xs0, 0, "/t", &num);
	ck_assert_uint_eq(num, 2);
	free(d);
}
END_TEST

/* ----------------------------------------------------- transactions */

START_TEST(test_transactions)
{
	uint32_t t1, t2;
	char *v;

	ck_assert_int_eq(lb_xs_write(xs1, 0, "data/k", "0"), 0);
	/* Commit applies; the transaction sees its own writes. */
	ck_assert_int_eq(lb_xs_transaction_start(xs1, &t1), 0);
	ck_assert_int_eq(lb_xs_write(xs1, t1, "data/k", "1"), 0);
	ck_assert_int_eq(lb_xs_write(xs1, t1, "data/n", "new"), 0);
	v = lb_xs_read(xs1, t1, "data/k", NULL);
	ck_assert_str_eq(v, "1");
	free(v);
	v = lb_xs_read(xs1, 0, "data/k", NULL);
	ck_assert_str_eq(v, "0");        /* not visible outside yet */
	free(v);
	ck_assert_int_eq(lb_xs_transaction_end(xs1, t1, false), 0);
	v = lb_xs_read(xs0, 0, "/local/domain/1/data/n", NULL);
	ck_assert_str_eq(v, "new");
	free(v);

	/* A conflicting change makes the commit fail with EAGAIN. */
	ck_assert_int_eq(lb_xs_transaction_start(xs1, &t2), 0);
	v = lb_xs_read(xs1, t2, "data/k", NULL);
	free(v);
	ck_assert_int_eq(lb_xs_write(xs1, t2, "data/k", "2"), 0);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/local/domain/1/data/k", "x"), 0);
	ck_assert_int_eq(lb_xs_transaction_end(xs1, t2, false), -EAGAIN);
	v = lb_xs_read(xs1, 0, "data/k", NULL);
	ck_assert_str_eq(v, "x");
	free(v);

	/* Abort discards; an unknown transaction is ENOENT. */
	ck_assert_int_eq(lb_xs_transaction_start(xs1, &t1), 0);
	ck_assert_int_eq(lb_xs_rm(xs1, t1, "data/k"), 0);
	ck_assert_ptr_null(lb_xs_read(xs1, t1, "data/k", NULL));
	ck_assert_int_eq(lb_xs_transaction_end(xs1, t1, true), 0);
	v = lb_xs_read(xs1, 0, "data/k", NULL);
	ck_assert_str_eq(v, "x");
	free(v);
	ck_assert_int_eq(lb_xs_transaction_end(xs1, 999, false), -ENOENT);
	/* directory inside a transaction sees its own changes. */
	{
		unsigned int num;
		char **d;

		ck_assert_int_eq(lb_xs_transaction_start(xs1, &t1), 0);
		ck_assert_int_eq(lb_xs_write(xs1, t1, "data/txdir/a", "1"), 0);
		ck_assert_int_eq(lb_xs_mkdir(xs1, t1, "data/txdir/b/c"), 0);
		d = lb_xs_directory(xs1, t1, "data/txdir", &num);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(num, 2);
		free(d);
		ck_assert_int_eq(lb_xs_rm(xs1, t1, "data/txdir/a"), 0);
		d = lb_xs_directory(xs1, t1, "data/txdir", &num);
		ck_assert_uint_eq(num, 1);
		ck_assert_str_eq(d[0], "b");
		free(d);
		/* Outside, nothing yet. */
		ck_assert_ptr_null(lb_xs_directory(xs1, 0, "data/txdir", &num));
		ck_assert_int_eq(lb_xs_transaction_end(xs1, t1, false), 0);
		d = lb_xs_directory(xs1, 0, "data/txdir", &num);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(num, 1);
		free(d);
	}
	ck_assert_int_eq(lb_xs_write(xs1, 999, "data/k", "y"), -ENOENT);
	/* Permissions are checked inside a transaction as well. */
	ck_assert_int_eq(lb_xs_transaction_start(xs1, &t1), 0);
	ck_assert_int_eq(lb_xs_write(xs1, t1, "/local/domain/2/data/z", "1"),
			 -EACCES);
	ck_assert_int_eq(lb_xs_transaction_end(xs1, t1, false), 0);
}
END_TEST

/* ----------------------------------------------------------- watches */

/* Read one event; returns 1 and checks path/token, or 0 when none. */
static int next_event(struct lb_xs *xs, const char *path, const char *token)
{
	char *p = NULL, *t = NULL;
	int r = lb_xs_read_watch(xs, &p, &t);

	ck_assert_int_ge(r, 0);
	if (r == 1) {
		if (path)
			ck_assert_str_eq(p, path);
		if (token)
			ck_assert_str_eq(t, token);
	}
	free(p);
	free(t);
	return r;
}

START_TEST(test_watch_basic)
{
	ck_assert_int_eq(lb_xs_watch(xs0, "/w", "tok"), 0);
	ck_assert_int_eq(lb_xs_watch(xs0, "/w", "tok"), -EEXIST);
	/* Fires once on registration, even for a missing node. */
	ck_assert_int_eq(lbt_ready(lb_xs_fd(xs0)), 1);
	ck_assert_int_eq(next_event(xs0, "/w", "tok"), 1);
	ck_assert_int_eq(next_event(xs0, NULL, NULL), 0);
	ck_assert_int_eq(lbt_ready(lb_xs_fd(xs0)), 0);
	/* A change below fires with the changed path; a sibling does not. */
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/w/a/b", "1"), 0);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/wx", "1"), 0);
	ck_assert_int_eq(lbt_ready(lb_xs_fd(xs0)), 1);
	ck_assert_int_eq(next_event(xs0, "/w/a/b", "tok"), 1);
	ck_assert_int_eq(next_event(xs0, NULL, NULL), 0);
	/* rm of an ancestor fires watches below it. */
	ck_assert_int_eq(lb_xs_watch(xs0, "/w/a/b", "deep"), 0);
	ck_assert_int_eq(next_event(xs0, "/w/a/b", "deep"), 1);
	ck_assert_int_eq(lb_xs_rm(xs0, 0, "/w"), 0);
	ck_assert_int_eq(next_event(xs0, "/w", NULL), 1);
	ck_assert_int_eq(next_event(xs0, "/w", NULL), 1);
	ck_assert_int_eq(next_event(xs0, NULL, NULL), 0);
	/* Unwatched: silent. */
	ck_assert_int_eq(lb_xs_unwatch(xs0, "/w", "tok"), 0);
	ck_assert_int_eq(lb_xs_unwatch(xs0, "/w", "tok"), -ENOENT);
	ck_assert_int_eq(lb_xs_unwatch(xs0, "/w/a/b", "deep"), 0);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/w/c", "1"), 0);
	ck_assert_int_eq(next_event(xs0, NULL, NULL), 0);
}
END_TEST

START_TEST(test_watch_coalesce)
{
	char v[16];

	ck_assert_int_eq(lb_xs_watch(xs0, "/c", "t"), 0);
	ck_assert_int_eq(next_event(xs0, "/c", "t"), 1);
	/* 100 changes of one node while unread: one event, that node. */
	for (int i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "%d", i);
		ck_assert_int_eq(lb_xs_write(xs0, 0, "/c/n", v), 0);
	}
	ck_assert_int_eq(next_event(xs0, "/c/n", "t"), 1);
	ck_assert_int_eq(next_event(xs0, NULL, NULL), 0);
	/* Changes of two nodes coalesce to the watched path itself. */
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/c/n", "a"), 0);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/c/m", "b"), 0);
	ck_assert_int_eq(next_event(xs0, "/c", "t"), 1);
	ck_assert_int_eq(next_event(xs0, NULL, NULL), 0);
	/* Two watches are two events. */
	ck_assert_int_eq(lb_xs_watch(xs0, "/c/n", "u"), 0);
	ck_assert_int_eq(next_event(xs0, "/c/n", "u"), 1);
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/c/n", "z"), 0);
	ck_assert_int_eq(next_event(xs0, "/c/n", NULL), 1);
	ck_assert_int_eq(next_event(xs0, "/c/n", NULL), 1);
	ck_assert_int_eq(next_event(xs0, NULL, NULL), 0);
}
END_TEST

/* A guest hears nothing of nodes it cannot read. */
START_TEST(test_watch_perms)
{
	ck_assert_int_eq(lb_xs_watch(xs2, "/local/domain/1", "spy"), 0);
	ck_assert_int_eq(next_event(xs2, NULL, "spy"), 1);
	ck_assert_int_eq(lb_xs_write(xs1, 0, "data/secret", "1"), 0);
	ck_assert_int_eq(next_event(xs2, NULL, NULL), 0);
}
END_TEST

/* Watch events cross processes: a child writes, we wake. */
START_TEST(test_watch_cross_process)
{
	pid_t pid;
	int st;

	ck_assert_int_eq(lb_xs_watch(xs0, "/local/domain/1/data", "x"), 0);
	ck_assert_int_eq(next_event(xs0, NULL, "x"), 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lb_world *w = lb_world_open(lbt_dir, false);
		struct lb_xs *g = w ? lb_xs_open(w, 1) : NULL;

		_exit(g && lb_xs_write(g, 0, "data/from-child", "hi") == 0 ?
		      0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(lbt_wait(lb_xs_fd(xs0)), 1);
	ck_assert_int_eq(next_event(xs0, "/local/domain/1/data/from-child",
				    "x"), 1);
}
END_TEST

START_TEST(test_release_domain_destroy)
{
	char *v;

	ck_assert_int_eq(lb_xs_watch(xs0, "@releaseDomain", "rel"), 0);
	ck_assert_int_eq(next_event(xs0, "@releaseDomain", "rel"), 1);
	ck_assert_int_eq(lb_domain_alive(lbt_w, 2), 1);
	ck_assert_int_eq(lb_domain_destroy(lbt_w, 2), 0);
	ck_assert_int_eq(lb_domain_destroy(lbt_w, 2), -ESRCH);
	ck_assert_int_eq(lb_domain_alive(lbt_w, 2), 0);
	ck_assert_int_eq(next_event(xs0, "@releaseDomain", "rel"), 1);
	/* Its nodes are gone. */
	v = lb_xs_read(xs0, 0, "/local/domain/2/domid", NULL);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(lb_domain_alive(lbt_w, 0), 1);
	ck_assert_int_eq(lb_domain_alive(lbt_w, 77), 0);
	/* A new domain may take the id again. */
	ck_assert_int_eq(lb_domain_create(lbt_w, 2), 0);
	ck_assert_int_eq(lb_domain_create(lbt_w, 2), -EEXIST);
	ck_assert_int_eq(lb_domain_create(lbt_w, 0), -EINVAL);
	ck_assert_int_eq(lb_domain_create(lbt_w, LB_MAX_DOMID + 1), -EINVAL);
}
END_TEST

/* A domain whose creating process is killed -9 dies: @releaseDomain. */
START_TEST(test_release_domain_killed)
{
	struct lbt_sync s;
	pid_t pid;
	int st, got = 0;

	ck_assert_int_eq(lb_xs_watch(xs0, "@releaseDomain", "rel"), 0);
	ck_assert_int_eq(next_event(xs0, "@releaseDomain", "rel"), 1);
	lbt_sync_init(&s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lb_world *w = lb_world_open(lbt_dir, false);

		lbt_send(s.c2p[1], w && lb_domain_create(w, 3) == 0 ? 'y' : 'n');
		pause();
		_exit(0);
	}
	ck_assert_int_eq(lbt_recv(s.c2p[0]), 'y');
	ck_assert_int_eq(lb_domain_alive(lbt_w, 3), 1);
	/* Consume anything pending (the pidfd refresh) first. */
	while (next_event(xs0, NULL, NULL) == 1)
		;
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	/* Nobody calls destroy: the watcher's fd must wake by itself. */
	while (!got) {
		ck_assert_int_eq(lbt_wait(lb_xs_fd(xs0)), 1);
		got = next_event(xs0, "@releaseDomain", "rel");
	}
	ck_assert_int_eq(lb_domain_alive(lbt_w, 3), 0);
}
END_TEST

/* ---------------------------------------------------------- toolstack */

START_TEST(test_attach_device)
{
	static const struct { const char *path; const char *val; } keys[] = {
		{ "/local/domain/1/device/vgpu/0/backend",
		  "/local/domain/0/backend/vgpu/1/0" },
		{ "/local/domain/1/device/vgpu/0/backend-id", "0" },
		{ "/local/domain/1/device/vgpu/0/state", "1" },
		{ "/local/domain/0/backend/vgpu/1/0/frontend",
		  "/local/domain/1/device/vgpu/0" },
		{ "/local/domain/0/backend/vgpu/1/0/frontend-id", "1" },
		{ "/local/domain/0/backend/vgpu/1/0/priority", "high" },
		{ "/local/domain/0/backend/vgpu/1/0/pool", "3" },
		{ "/local/domain/0/backend/vgpu/1/0/mem-quota", "1048576" },
		{ "/local/domain/0/backend/vgpu/1/0/online", "1" },
		{ "/local/domain/0/backend/vgpu/1/0/state", "1" },
	};
	char *v;

	ck_assert_int_eq(lb_attach_device(lbt_w, 1, 0, "high", 3, 1 << 20), 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		/* The guest reads both sides. */
		v = lb_xs_read(xs1, 0, keys[i].path, NULL);
		ck_assert_msg(v, "%s: %s", keys[i].path, strerror(errno));
		ck_assert_str_eq(v, keys[i].val);
		free(v);
	}
	/* It writes its own side only; the other guest sees neither. */
	ck_assert_int_eq(lb_xs_write(xs1, 0, "device/vgpu/0/state", "3"), 0);
	ck_assert_int_eq(lb_xs_write(xs1, 0,
		"/local/domain/0/backend/vgpu/1/0/priority", "high"), -EACCES);
	ck_assert_ptr_null(lb_xs_read(xs2, 0,
		"/local/domain/0/backend/vgpu/1/0/state", NULL));
	ck_assert_ptr_null(lb_xs_read(xs2, 0,
		"/local/domain/1/device/vgpu/0/state", NULL));
	ck_assert_int_eq(lb_attach_device(lbt_w, 1, 1, "bogus", 0, 0), -EINVAL);
	ck_assert_int_eq(lb_attach_device(lbt_w, 9, 0, NULL, 0, 0), -ESRCH);
	ck_assert_int_eq(lb_detach_device(lbt_w, 1, 0), 0);
	ck_assert_ptr_null(lb_xs_read(xs0, 0,
		"/local/domain/0/backend/vgpu/1/0/state", NULL));
}
END_TEST

/* ------------------------------------------------------------ robust */

START_TEST(test_lock_owner_killed)
{
	struct lbt_sync s;
	uint64_t before;
	pid_t pid;
	char *v;
	int st;

	before = lb_world_recoveries(lbt_w);
	lbt_sync_init(&s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lb_world *w = lb_world_open(lbt_dir, false);

		if (!w || lb_world_lock(w))
			_exit(1);
		lbt_send(s.c2p[1], 'L');
		pause();                /* dies holding the lock */
		_exit(0);
	}
	ck_assert_int_eq(lbt_recv(s.c2p[0]), 'L');
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	/* Everything still works, and the recovery was counted. */
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/after-crash", "ok"), 0);
	v = lb_xs_read(xs1, 0, "/local/domain/1/domid", NULL);
	ck_assert_str_eq(v, "1");
	free(v);
	ck_assert_uint_eq(lb_world_recoveries(lbt_w), before + 1);
}
END_TEST

/*
 * Four processes increment one counter 200 times each in transactions,
 * retrying on EAGAIN: no update is lost, none applied twice.
 */
START_TEST(test_transaction_counter_race)
{
	enum { NPROC = 4, NINC = 200 };
	pid_t pids[NPROC];
	char *v;
	int st;

	ck_assert_int_eq(lb_xs_write(xs0, 0, "/counter", "0"), 0);
	for (int k = 0; k < NPROC; k++) {
		pids[k] = fork();
		ck_assert_int_ge(pids[k], 0);
		if (pids[k] == 0) {
			struct lb_world *w = lb_world_open(lbt_dir, false);
			struct lb_xs *x = w ? lb_xs_open(w, 0) : NULL;

			if (!x)
				_exit(1);
			for (int i = 0; i < NINC; i++) {
				for (;;) {
					uint32_t t;
					char *c, buf[32];
					int r;

					if (lb_xs_transaction_start(x, &t))
						_exit(2);
					c = lb_xs_read(x, t, "/counter", NULL);
					if (!c)
						_exit(3);
					snprintf(buf, sizeof(buf), "%ld",
						 strtol(c, NULL, 10) + 1);
					free(c);
					if (lb_xs_write(x, t, "/counter", buf))
						_exit(4);
					r = lb_xs_transaction_end(x, t, false);
					if (r == 0)
						break;
					if (r != -EAGAIN)
						_exit(5);
				}
			}
			_exit(0);
		}
	}
	for (int k = 0; k < NPROC; k++) {
		ck_assert_int_eq(waitpid(pids[k], &st, 0), pids[k]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "child %d: status %d", k, WEXITSTATUS(st));
	}
	v = lb_xs_read(xs0, 0, "/counter", NULL);
	ck_assert_int_eq(strtol(v, NULL, 10), NPROC * NINC);
	free(v);
}
END_TEST

/*
 * A writer killed -9 again and again, wherever it happens to be (inside
 * the lock or not): the store stays usable and every node well-formed.
 */
START_TEST(test_store_survives_kills)
{
	unsigned int num;
	char **d;

	for (int round = 0; round < 15; round++) {
		struct lbt_sync s;
		pid_t pid;
		int st;

		lbt_sync_init(&s);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct lb_world *w = lb_world_open(lbt_dir, false);
			struct lb_xs *x = w ? lb_xs_open(w, 0) : NULL;
			char p[64];

			if (!x)
				_exit(1);
			lbt_send(s.c2p[1], 'G');
			for (unsigned long i = 0;; i++) {
				snprintf(p, sizeof(p), "/churn/%lu/leaf", i % 50);
				lb_xs_write(x, 0, p, "value");
				if (i % 7 == 0)
					lb_xs_rm(x, 0, "/churn");
			}
		}
		ck_assert_int_eq(lbt_recv(s.c2p[0]), 'G');
		usleep(1000 + 997 * round % 5000);   /* anywhere in the loop */
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		close(s.c2p[0]);
		close(s.c2p[1]);
		close(s.p2c[0]);
		close(s.p2c[1]);
		/* Usable at once by us. */
		ck_assert_int_eq(lb_xs_write(xs0, 0, "/alive", "yes"), 0);
	}
	d = lb_xs_directory(xs0, 0, "/", &num);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_ge(num, 3);
	free(d);
	(void)lb_xs_rm(xs0, 0, "/churn");
	ck_assert_int_eq(lb_xs_write(xs0, 0, "/churn/x", "1"), 0);
	d = lb_xs_directory(xs0, 0, "/churn", &num);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(num, 1);
	ck_assert_str_eq(d[0], "x");
	free(d);
}
END_TEST

/* A second open of an existing world sees the same store. */
START_TEST(test_reopen_and_missing)
{
	struct lb_world *w2 = lb_world_open(lbt_dir, true);
	struct lb_xs *x;
	char *v;

	ck_assert_ptr_nonnull(w2);
	x = lb_xs_open(w2, 0);
	v = lb_xs_read(x, 0, "/local/domain/2/domid", NULL);
	ck_assert_str_eq(v, "2");
	free(v);
	lb_xs_close(x);
	lb_world_close(w2);
	ck_assert_ptr_null(lb_world_open("/nonexistent/vgpu-world", false));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("loopback-store");
	TCase *tc;

	tc = tcase_create("permissions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_perm_table, 0,
			    sizeof(perm_rows) / sizeof(perm_rows[0]));
	tcase_add_test(tc, test_owner_and_set_perms);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad-input");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad_paths, 0,
			    sizeof(bad_rows) / sizeof(bad_rows[0]));
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_guest_quotas);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_directory_rm);
	tcase_add_test(tc, test_reopen_and_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("transactions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_transactions);
	suite_add_tcase(s, tc);

	tc = tcase_create("watches");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_watch_basic);
	tcase_add_test(tc, test_watch_coalesce);
	tcase_add_test(tc, test_watch_perms);
	tcase_add_test(tc, test_watch_cross_process);
	tcase_add_test(tc, test_release_domain_destroy);
	tcase_add_test(tc, test_release_domain_killed);
	suite_add_tcase(s, tc);

	tc = tcase_create("toolstack");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_attach_device);
	suite_add_tcase(s, tc);

	tc = tcase_create("robust");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lock_owner_killed);
	tcase_add_test(tc, test_store_survives_kills);
	tcase_add_test(tc, test_transaction_counter_race);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
