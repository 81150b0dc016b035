/* SPDX-License-Identifier: MIT */
/*
 * store.c - a small XenStore in the world's shared memory: nodes with
 * owner and permissions, optimistic transactions, watches delivered to the
 * watcher's socket, and the special watches @releaseDomain and
 * @introduceDomain. Semantics follow oxenstored/cxenstored where a
 * frontend or backend could notice.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lb-private.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

enum { OP_WRITE = 1, OP_MKDIR, OP_RM, OP_PERMS };

struct tx_op {
	int type;
	char path[LB_PATH_MAX];
	unsigned int len;
	char *val;
	unsigned int nacl;
	struct lb_xs_acl acl[LB_MAX_ACL];
};

struct tx_read {
	char path[LB_PATH_MAX];
	uint64_t gen;           /* 0: the node did not exist */
};

struct lb_tx {
	struct lb_tx *next;
	uint32_t id;
	unsigned int nops, nreads, cap_ops, cap_reads;
	struct tx_op *ops;
	struct tx_read *reads;
};

struct lb_xs {
	struct lb_world *w;
	uint32_t domid;
	uint32_t conn;
	int sock;
	int epfd;
	uint32_t next_tx;
	struct lb_tx *txs;
	unsigned int release_watches;
	/* pidfds of domain creators, while a @releaseDomain watch exists */
	int pidfd[LB_MAX_DOMAINS];
	int32_t pidfd_pid[LB_MAX_DOMAINS];
};

/* ----------------------------------------------------------- paths */

static bool is_special(const char *p)
{
	return !strcmp(p, "@releaseDomain") || !strcmp(p, "@introduceDomain");
}

/*
 * Check and canonicalise a path: relative paths are relative to the
 * caller's /local/domain/<domid>. Characters as xenstored allows them.
 */
static int path_norm(const char *in, uint32_t caller, char out[LB_PATH_MAX])
{
	size_t len;
	int n;

	if (!in || !*in)
		return -EINVAL;
	if (strnlen(in, LB_PATH_MAX) >= LB_PATH_MAX)
		return -E2BIG;
	if (in[0] == '/')
		n = snprintf(out, LB_PATH_MAX, "%s", in);
	else
		n = snprintf(out, LB_PATH_MAX, "/local/domain/%u/%s", caller, in);
	if (n < 0 || n >= (int)LB_PATH_MAX)
		return -E2BIG;
	len = (size_t)n;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (!isalnum(c) && !strchr("-/_@", c))
			return -EINVAL;
		if (c == '/' && out[i + 1] == '/')
			return -EINVAL;
	}
	if (len > 1 && out[len - 1] == '/')
		return -EINVAL;
	return 0;
}

/* Is a equal to b or below it? */
static bool is_under(const char *a, const char *b)
{
	size_t lb = strlen(b);

	if (!strcmp(b, "/"))
		return a[0] == '/';
	return !strncmp(a, b, lb) && (a[lb] == '\0' || a[lb] == '/');
}

static void parent_of(const char *p, char out[LB_PATH_MAX])
{
	const char *s = strrchr(p, '/');
	size_t n = s && s != p ? (size_t)(s - p) : 1;

	memcpy(out, p, n);
	out[n] = '\0';
}

/* ----------------------------------------------------------- nodes */

static struct lb_shm_node *node_find(struct lb_world *w, const char *path)
{
	for (uint32_t i = 0; i < LB_MAX_NODES; i++) {
		struct lb_shm_node *n = &w->shm->node[i];

		if (n->in_use && !strcmp(n->path, path))
			return n;
	}
	return NULL;
}

static uint64_t node_gen(struct lb_world *w, const char *path)
{
	struct lb_shm_node *n = node_find(w, path);

	return n ? n->gen : 0;
}

static uint32_t perm_of(const struct lb_shm_node *n, uint32_t dom)
{
	if (dom == 0 || n->acl[0].domid == dom)
		return LB_XS_PERM_BOTH;
	for (uint32_t i = 1; i < n->nacl && i < LB_MAX_ACL; i++)
		if (n->acl[i].domid == dom)
			return n->acl[i].perm;
	return n->acl[0].perm;
}

static struct lb_shm_node *node_new(struct lb_world *w)
{
	for (uint32_t i = 0; i < LB_MAX_NODES; i++)
		if (!w->shm->node[i].in_use)
			return &w->shm->node[i];
	return NULL;
}

static unsigned int nodes_free(struct lb_world *w, unsigned int want)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < LB_MAX_NODES && n < want; i++)
		n += !w->shm->node[i].in_use;
	return n;
}

static unsigned int nodes_owned(struct lb_world *w, uint32_t dom)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < LB_MAX_NODES; i++)
		n += w->shm->node[i].in_use && w->shm->node[i].acl[0].domid == dom;
	return n;
}

static void touch(struct lb_world *w, struct lb_shm_node *n)
{
	n->gen = ++w->shm->gen;
}

/* --------------------------------------------------------- watches */

static void watch_queue(struct lb_world *w, struct lb_shm_watch *wt,
			const char *path)
{
	if (!wt->pending) {
		wt->pending = 1;
		snprintf(wt->pending_path, LB_PATH_MAX, "%s", path);
	} else if (strcmp(wt->pending_path, path)) {
		/* Two different nodes changed: say "below here". (Not
		 * snprintf: gcc -O3 cannot tell the two arrays apart.) */
		size_t n = strnlen(wt->path, LB_PATH_MAX - 1);

		memcpy(wt->pending_path, wt->path, n);
		wt->pending_path[n] = '\0';
	}
	lb_conn_ring_locked(w, wt->conn);
}

static void fire_locked(struct lb_world *w, const char *path, bool removed)
{
	for (uint32_t i = 0; i < LB_MAX_WATCHES; i++) {
		struct lb_shm_watch *wt = &w->shm->watch[i];
		struct lb_shm_node *n;

		if (!wt->in_use || wt->path[0] == '@')
			continue;
		if (!is_under(path, wt->path) &&
		    !(removed && is_under(wt->path, path)))
			continue;
		/* A watcher only hears of nodes it may read. */
		if (wt->domid != 0 && !removed) {
			n = node_find(w, path);
			if (n && !(perm_of(n, wt->domid) & LB_XS_PERM_READ))
				continue;
		}
		watch_queue(w, wt, path);
	}
}

void lb_fire_special_locked(struct lb_world *w, const char *special)
{
	bool intro = !strcmp(special, "@introduceDomain");

	for (uint32_t i = 0; i < LB_MAX_WATCHES; i++) {
		struct lb_shm_watch *wt = &w->shm->watch[i];

		if (!wt->in_use)
			continue;
		if (!strcmp(wt->path, special))
			watch_queue(w, wt, special);
		else if (intro && !strcmp(wt->path, "@releaseDomain"))
			/* Wake it so that it watches the new domain's life. */
			lb_conn_ring_locked(w, wt->conn);
	}
}

void lb_watches_drop_conn_locked(struct lb_world *w, uint32_t conn)
{
	for (uint32_t i = 0; i < LB_MAX_WATCHES; i++)
		if (w->shm->watch[i].in_use && w->shm->watch[i].conn == conn)
			memset(&w->shm->watch[i], 0, sizeof(w->shm->watch[i]));
}

/* --------------------------------------------- locked primitives */

int lb_node_write_locked(struct lb_world *w, uint32_t caller, const char *path,
			 const void *val, unsigned int len, bool check_perm)
{
	char anc[LB_PATH_MAX], tmp[LB_PATH_MAX];
	struct lb_shm_node *n, *a;
	unsigned int missing = 0;

	if (len > LB_VALUE_MAX)
		return -E2BIG;
	n = node_find(w, path);
	if (n) {
		if (check_perm && !(perm_of(n, caller) & LB_XS_PERM_WRITE))
			return -EACCES;
		memcpy(n->value, val, len);
		n->value_len = len;
		touch(w, n);
		fire_locked(w, path, false);
		return 0;
	}
	/* Find the nearest existing ancestor: creating needs write on it. */
	snprintf(anc, sizeof(anc), "%s", path);
	do {
		parent_of(anc, tmp);
		memcpy(anc, tmp, sizeof(anc));
		missing++;
		a = node_find(w, anc);
	} while (!a && strcmp(anc, "/"));
	if (!a)
		return -EIO;    /* the root is always there */
	if (check_perm && !(perm_of(a, caller) & LB_XS_PERM_WRITE))
		return -EACCES;
	if (caller != 0 && nodes_owned(w, caller) + missing > LB_QUOTA_NODES)
		return -ENOSPC;         /* its quota */
	if (nodes_free(w, missing) < missing)
		return -ENOSPC;
	/* Create top-down; each new node inherits its parent's perms. */
	while (missing--) {
		size_t l;
		const char *s;

		/* The child of anc on the way to path. */
		l = strlen(anc);
		s = strchr(path + (l == 1 ? 1 : l + 1), '/');
		l = s ? (size_t)(s - path) : strlen(path);
		n = node_new(w);
		memset(n, 0, sizeof(*n));
		memcpy(n->path, path, l);
		n->path[l] = '\0';
		n->nacl = a->nacl;
		memcpy(n->acl, a->acl, sizeof(n->acl));
		if (caller != 0)
			n->acl[0].domid = caller;
		n->in_use = 1;
		touch(w, n);
		touch(w, a);    /* its children changed */
		a = n;
		memcpy(anc, n->path, l + 1);
	}
	memcpy(n->value, val, len);
	n->value_len = len;
	fire_locked(w, path, false);
	return 0;
}

int lb_node_rm_locked(struct lb_world *w, uint32_t caller, const char *path,
		      bool check_perm)
{
	char par[LB_PATH_MAX];
	struct lb_shm_node *n, *p;

	if (!strcmp(path, "/"))
		return -EINVAL;
	n = node_find(w, path);
	if (!n)
		return -ENOENT;
	if (check_perm && !(perm_of(n, caller) & LB_XS_PERM_WRITE))
		return -EACCES;
	for (uint32_t i = 0; i < LB_MAX_NODES; i++) {
		struct lb_shm_node *c = &w->shm->node[i];

		if (c->in_use && is_under(c->path, path))
			c->in_use = 0;
	}
	parent_of(path, par);
	p = node_find(w, par);
	if (p)
		touch(w, p);
	w->shm->gen++;
	fire_locked(w, path, true);
	return 0;
}

int lb_node_set_perms_locked(struct lb_world *w, uint32_t caller,
			     const char *path, const struct lb_xs_acl *acl,
			     unsigned int nacl, bool check_perm)
{
	struct lb_shm_node *n;

	if (nacl == 0)
		return -EINVAL;
	if (nacl > LB_MAX_ACL)
		return -E2BIG;
	for (unsigned int i = 0; i < nacl; i++)
		if (acl[i].perm > LB_XS_PERM_BOTH || acl[i].domid > LB_MAX_DOMID)
			return -EINVAL;
	n = node_find(w, path);
	if (!n)
		return -ENOENT;
	if (check_perm && caller != 0 && n->acl[0].domid != caller)
		return -EACCES;
	memset(n->acl, 0, sizeof(n->acl));
	for (unsigned int i = 0; i < nacl; i++) {
		n->acl[i].domid = acl[i].domid;
		n->acl[i].perm = acl[i].perm;
	}
	n->nacl = nacl;
	touch(w, n);
	fire_locked(w, path, false);
	return 0;
}

int lb_store_init_locked(struct lb_world *w)
{
	static const struct { const char *path; uint32_t perm; } init[] = {
		{ "/local", LB_XS_PERM_READ },
		{ "/local/domain", LB_XS_PERM_READ },
		{ "/local/domain/0", LB_XS_PERM_NONE },
		{ "/local/domain/0/backend", LB_XS_PERM_NONE },
		{ "/tool", LB_XS_PERM_NONE },
	};
	struct lb_shm_node *root = &w->shm->node[0];
	int r;

	memset(root, 0, sizeof(*root));
	strcpy(root->path, "/");
	root->nacl = 1;
	root->acl[0].domid = 0;
	root->acl[0].perm = LB_XS_PERM_NONE;
	root->in_use = 1;
	touch(w, root);
	for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++) {
		struct lb_xs_acl acl = { 0, init[i].perm };

		r = lb_node_write_locked(w, 0, init[i].path, "", 0, false);
		if (!r)
			r = lb_node_set_perms_locked(w, 0, init[i].path, &acl, 1,
						     false);
		if (r)
			return r;
	}
	return 0;
}

/* ------------------------------------------------- connection */

struct lb_xs *lb_xs_open(struct lb_world *w, uint32_t domid)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct lb_xs *xs;
	int r, slot;

	if (domid > LB_MAX_DOMID) {
		errno = EINVAL;
		return NULL;
	}
	xs = calloc(1, sizeof(*xs));
	if (!xs)
		return NULL;
	xs->w = w;
	xs->domid = domid;
	xs->next_tx = 1;
	for (unsigned int i = 0; i < LB_MAX_DOMAINS; i++)
		xs->pidfd[i] = -1;
	slot = lb_conn_alloc(w, domid, LB_CONN_XS);
	if (slot < 0) {
		r = slot;
		goto out_free;
	}
	xs->conn = (uint32_t)slot;
	xs->sock = lb_conn_socket(w, xs->conn);
	if (xs->sock < 0) {
		r = xs->sock;
		goto out_release;
	}
	xs->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (xs->epfd < 0) {
		r = -errno;
		goto out_sock;
	}
	ev.data.fd = xs->sock;
	if (epoll_ctl(xs->epfd, EPOLL_CTL_ADD, xs->sock, &ev) < 0) {
		r = -errno;
		goto out_ep;
	}
	return xs;

out_ep:
	close(xs->epfd);
out_sock:
	close(xs->sock);
out_release:
	if (!lb_lock(w)) {
		lb_conn_release_locked(w, xs->conn);
		lb_unlock(w);
	}
out_free:
	free(xs);
	errno = -r;
	return NULL;
}

static void tx_free(struct lb_tx *t)
{
	for (unsigned int i = 0; i < t->nops; i++)
		free(t->ops[i].val);
	free(t->ops);
	free(t->reads);
	free(t);
}

void lb_xs_close(struct lb_xs *xs)
{
	if (!xs)
		return;
	while (xs->txs) {
		struct lb_tx *t = xs->txs;

		xs->txs = t->next;
		tx_free(t);
	}
	if (!lb_lock(xs->w)) {
		lb_conn_release_locked(xs->w, xs->conn);
		lb_unlock(xs->w);
	}
	for (unsigned int i = 0; i < LB_MAX_DOMAINS; i++)
		if (xs->pidfd[i] >= 0)
			close(xs->pidfd[i]);
	close(xs->epfd);
	close(xs->sock);
	free(xs);
}

/* ---------------------------------------------------- transactions */

static struct lb_tx *tx_get(struct lb_xs *xs, uint32_t id)
{
	for (struct lb_tx *t = xs->txs; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

/* Remember the generation of path as first seen (world lock held). */
static int tx_note(struct lb_xs *xs, struct lb_tx *t, const char *path)
{
	for (unsigned int i = 0; i < t->nreads; i++)
		if (!strcmp(t->reads[i].path, path))
			return 0;
	if (t->nreads == t->cap_reads) {
		unsigned int cap = t->cap_reads ? t->cap_reads * 2 : 8;
		struct tx_read *r = realloc(t->reads, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		t->reads = r;
		t->cap_reads = cap;
	}
	snprintf(t->reads[t->nreads].path, LB_PATH_MAX, "%s", path);
	t->reads[t->nreads].gen = node_gen(xs->w, path);
	t->nreads++;
	return 0;
}

static struct tx_op *tx_add(struct lb_tx *t)
{
	if (t->nops == t->cap_ops) {
		unsigned int cap = t->cap_ops ? t->cap_ops * 2 : 8;
		struct tx_op *o = realloc(t->ops, cap * sizeof(*o));

		if (!o)
			return NULL;
		t->ops = o;
		t->cap_ops = cap;
	}
	memset(&t->ops[t->nops], 0, sizeof(t->ops[0]));
	return &t->ops[t->nops++];
}

int lb_xs_transaction_start(struct lb_xs *xs, uint32_t *xbt)
{
	struct lb_tx *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->id = xs->next_tx++;
	if (xs->next_tx == LB_XBT_NULL)
		xs->next_tx = 1;
	t->next = xs->txs;
	xs->txs = t;
	*xbt = t->id;
	return 0;
}

static int tx_apply_locked(struct lb_xs *xs, struct lb_tx *t)
{
	int r = 0;

	for (unsigned int i = 0; i < t->nreads; i++)
		if (node_gen(xs->w, t->reads[i].path) != t->reads[i].gen)
			return -EAGAIN;
	for (unsigned int i = 0; i < t->nops && !r; i++) {
		struct tx_op *o = &t->ops[i];

		switch (o->type) {
		case OP_WRITE:
			r = lb_node_write_locked(xs->w, xs->domid, o->path,
						 o->val, o->len, true);
			break;
		case OP_MKDIR:
			if (!node_find(xs->w, o->path))
				r = lb_node_write_locked(xs->w, xs->domid,
							 o->path, "", 0, true);
			break;
		case OP_RM:
			r = lb_node_rm_locked(xs->w, xs->domid, o->path, true);
			if (r == -ENOENT)
				r = 0;
			break;
		case OP_PERMS:
			r = lb_node_set_perms_locked(xs->w, xs->domid, o->path,
						     o->acl, o->nacl, true);
			break;
		}
	}
	return r;
}

int lb_xs_transaction_end(struct lb_xs *xs, uint32_t xbt, bool abort)
{
	struct lb_tx **pp, *t;
	int r = 0;

	for (pp = &xs->txs; *pp && (*pp)->id != xbt; pp = &(*pp)->next)
		;
	t = *pp;
	if (!t)
		return -ENOENT;
	*pp = t->next;
	if (!abort) {
		r = lb_lock(xs->w);
		if (!r) {
			r = tx_apply_locked(xs, t);
			lb_unlock(xs->w);
		}
	}
	tx_free(t);
	return r;
}

/* ------------------------------------------------------ operations */

/*
 * The transaction's own view of path: 1 and the logged value when the
 * transaction wrote it, -ENOENT when it removed it, 0 to ask the store.
 */
static int tx_overlay(struct lb_tx *t, const char *path, const char **val,
		      unsigned int *len)
{
	for (unsigned int i = t->nops; i-- > 0;) {
		struct tx_op *o = &t->ops[i];

		if (o->type == OP_RM && is_under(path, o->path))
			return -ENOENT;
		if (strcmp(o->path, path))
			continue;
		if (o->type == OP_WRITE) {
			*val = o->val;
			*len = o->len;
			return 1;
		}
		if (o->type == OP_MKDIR) {
			*val = "";
			*len = 0;
			return 1;
		}
	}
	return 0;
}

char *lb_xs_read(struct lb_xs *xs, uint32_t xbt, const char *path,
		 unsigned int *len)
{
	char p[LB_PATH_MAX];
	struct lb_shm_node *n;
	struct lb_tx *t = NULL;
	const char *ov = NULL;
	unsigned int ol = 0;
	char *out = NULL;
	int r;

	r = path_norm(path, xs->domid, p);
	if (r)
		goto out;
	if (xbt != LB_XBT_NULL) {
		t = tx_get(xs, xbt);
		r = -ENOENT;
		if (!t)
			goto out;
		r = tx_overlay(t, p, &ov, &ol);
		if (r < 0)
			goto out;
		if (r == 1) {
			r = -ENOMEM;
			out = malloc(ol + 1);
			if (!out)
				goto out;
			memcpy(out, ov, ol);
			out[ol] = '\0';
			if (len)
				*len = ol;
			return out;
		}
	}
	r = lb_lock(xs->w);
	if (r)
		goto out;
	if (t)
		r = tx_note(xs, t, p);
	n = node_find(xs->w, p);
	if (r)
		;
	else if (!n)
		r = -ENOENT;
	else if (!(perm_of(n, xs->domid) & LB_XS_PERM_READ))
		r = -EACCES;
	else if (!(out = malloc(LB_VALUE_MAX + 1)))
		r = -ENOMEM;
	else {
		/* The slot is shared memory: bound what we copy from it. */
		unsigned int l = n->value_len > LB_VALUE_MAX ? LB_VALUE_MAX :
				 n->value_len;

		memcpy(out, n->value, l);
		out[l] = '\0';
		if (len)
			*len = l;
	}
	lb_unlock(xs->w);
out:
	if (r)
		errno = -r;
	return r ? NULL : out;
}

/* Would the caller be allowed to write path now? (world lock held) */
static int may_write_locked(struct lb_xs *xs, const char *path, bool create)
{
	char anc[LB_PATH_MAX], tmp[LB_PATH_MAX];
	struct lb_shm_node *n = node_find(xs->w, path);

	if (!n && !create)
		return -ENOENT;
	snprintf(anc, sizeof(anc), "%s", path);
	while (!n && strcmp(anc, "/")) {
		parent_of(anc, tmp);
		memcpy(anc, tmp, sizeof(anc));
		n = node_find(xs->w, anc);
	}
	if (!n)
		return -EIO;
	return perm_of(n, xs->domid) & LB_XS_PERM_WRITE ? 0 : -EACCES;
}

/* One modifying operation, directly or into a transaction's log. */
static int xs_modify(struct lb_xs *xs, uint32_t xbt, int type,
		     const char *path, const void *val, unsigned int len,
		     const struct lb_xs_acl *acl, unsigned int nacl)
{
	char p[LB_PATH_MAX];
	struct lb_tx *t = NULL;
	struct tx_op *o;
	int r;

	r = path_norm(path, xs->domid, p);
	if (r)
		return r;
	if (type == OP_WRITE && len > LB_VALUE_MAX)
		return -E2BIG;
	if (type == OP_PERMS && (nacl == 0 || nacl > LB_MAX_ACL))
		return nacl ? -E2BIG : -EINVAL;
	if (xbt != LB_XBT_NULL) {
		t = tx_get(xs, xbt);
		if (!t)
			return -ENOENT;
	}
	r = lb_lock(xs->w);
	if (r)
		return r;
	if (!t) {
		switch (type) {
		case OP_WRITE:
			r = lb_node_write_locked(xs->w, xs->domid, p, val, len,
						 true);
			break;
		case OP_MKDIR:
			if (!node_find(xs->w, p))
				r = lb_node_write_locked(xs->w, xs->domid, p,
							 "", 0, true);
			break;
		case OP_RM:
			r = lb_node_rm_locked(xs->w, xs->domid, p, true);
			break;
		case OP_PERMS:
			r = lb_node_set_perms_locked(xs->w, xs->domid, p, acl,
						     nacl, true);
			break;
		}
		lb_unlock(xs->w);
		return r;
	}
	/* In a transaction: check now, log, apply at commit. */
	if (type == OP_RM && !strcmp(p, "/"))
		r = -EINVAL;
	else
		r = may_write_locked(xs, p, type == OP_WRITE || type == OP_MKDIR);
	if (r == -ENOENT && type == OP_RM)
		r = 0;
	if (!r)
		r = tx_note(xs, t, p);
	lb_unlock(xs->w);
	if (r)
		return r;
	o = tx_add(t);
	if (!o)
		return -ENOMEM;
	o->type = type;
	memcpy(o->path, p, sizeof(o->path));
	if (type == OP_WRITE) {
		o->val = malloc(len + 1);
		if (!o->val) {
			t->nops--;
			return -ENOMEM;
		}
		memcpy(o->val, val, len);
		o->val[len] = '\0';
		o->len = len;
	}
	if (type == OP_PERMS) {
		memcpy(o->acl, acl, nacl * sizeof(*acl));
		o->nacl = nacl;
	}
	return 0;
}

int lb_xs_write_len(struct lb_xs *xs, uint32_t xbt, const char *path,
		    const void *data, unsigned int len)
{
	return xs_modify(xs, xbt, OP_WRITE, path, data, len, NULL, 0);
}

int lb_xs_write(struct lb_xs *xs, uint32_t xbt, const char *path,
		const char *value)
{
	size_t len = strnlen(value, LB_VALUE_MAX + 1);

	if (len > LB_VALUE_MAX)
		return -E2BIG;
	return lb_xs_write_len(xs, xbt, path, value, (unsigned int)len);
}

int lb_xs_mkdir(struct lb_xs *xs, uint32_t xbt, const char *path)
{
	return xs_modify(xs, xbt, OP_MKDIR, path, NULL, 0, NULL, 0);
}

int lb_xs_rm(struct lb_xs *xs, uint32_t xbt, const char *path)
{
	return xs_modify(xs, xbt, OP_RM, path, NULL, 0, NULL, 0);
}

int lb_xs_set_perms(struct lb_xs *xs, uint32_t xbt, const char *path,
		    const struct lb_xs_acl *acl, unsigned int n)
{
	return xs_modify(xs, xbt, OP_PERMS, path, NULL, 0, acl, n);
}

int lb_xs_get_perms(struct lb_xs *xs, uint32_t xbt, const char *path,
		    struct lb_xs_acl *acl, unsigned int max)
{
	char p[LB_PATH_MAX];
	struct lb_shm_node *n;
	int r;

	r = path_norm(path, xs->domid, p);
	if (r)
		return r;
	if (xbt != LB_XBT_NULL && !tx_get(xs, xbt))
		return -ENOENT;
	r = lb_lock(xs->w);
	if (r)
		return r;
	n = node_find(xs->w, p);
	if (!n)
		r = -ENOENT;
	else if (!(perm_of(n, xs->domid) & LB_XS_PERM_READ))
		r = -EACCES;
	else {
		if (n->nacl > LB_MAX_ACL)
			n->nacl = LB_MAX_ACL;
		for (unsigned int i = 0; i < n->nacl && i < max; i++) {
			acl[i].domid = n->acl[i].domid;
			acl[i].perm = n->acl[i].perm;
		}
		r = (int)n->nacl;
	}
	lb_unlock(xs->w);
	return r;
}

struct names {
	char **v;
	unsigned int n, cap;
};

static int names_add(struct names *ns, const char *name, size_t len)
{
	for (unsigned int i = 0; i < ns->n; i++)
		if (strlen(ns->v[i]) == len && !strncmp(ns->v[i], name, len))
			return 0;
	if (ns->n == ns->cap) {
		unsigned int cap = ns->cap ? ns->cap * 2 : 16;
		char **v = realloc(ns->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n] = strndup(name, len);
	if (!ns->v[ns->n])
		return -ENOMEM;
	ns->n++;
	return 0;
}

static void names_del(struct names *ns, const char *name)
{
	for (unsigned int i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], name)) {
			free(ns->v[i]);
			ns->v[i] = ns->v[--ns->n];
			return;
		}
}

/* The child of dir (plen = its length, 0 for "/") on the way to path. */
static const char *child_of(const char *path, const char *dir, size_t plen,
			    size_t *len)
{
	const char *c, *e;

	if (strncmp(path, dir, plen) || path[plen] != '/' || !path[plen + 1])
		return NULL;
	c = path + plen + 1;
	e = strchr(c, '/');
	*len = e ? (size_t)(e - c) : strlen(c);
	return c;
}

/*
 * Children of path. Inside a transaction, the transaction's own creations
 * and removals are applied to the store's listing.
 */
char **lb_xs_directory(struct lb_xs *xs, uint32_t xbt, const char *path,
		       unsigned int *num)
{
	struct names ns = { 0 };
	char p[LB_PATH_MAX];
	struct lb_shm_node *n;
	struct lb_tx *t = NULL;
	const char *ov;
	unsigned int ol;
	size_t plen, bytes = 0, len;
	char **out = NULL, *s;
	int r, in_tx = 0;

	r = path_norm(path, xs->domid, p);
	if (r)
		goto out;
	if (xbt != LB_XBT_NULL && !(t = tx_get(xs, xbt))) {
		r = -ENOENT;
		goto out;
	}
	if (t) {
		in_tx = tx_overlay(t, p, &ov, &ol);
		if (in_tx < 0) {
			r = in_tx;
			goto out;
		}
		/* Created implicitly, as the parent of a node it wrote? */
		for (unsigned int i = t->nops; !in_tx && i-- > 0;) {
			struct tx_op *o = &t->ops[i];

			if (o->type == OP_RM && is_under(p, o->path))
				break;
			if ((o->type == OP_WRITE || o->type == OP_MKDIR) &&
			    is_under(o->path, p))
				in_tx = 1;
		}
	}
	plen = strcmp(p, "/") ? strlen(p) : 0;
	r = lb_lock(xs->w);
	if (r)
		goto out;
	if (t)
		r = tx_note(xs, t, p);
	n = node_find(xs->w, p);
	if (r)
		goto out_unlock;
	if (!n && !in_tx) {
		r = -ENOENT;
		goto out_unlock;
	}
	if (n && !(perm_of(n, xs->domid) & LB_XS_PERM_READ)) {
		r = -EACCES;
		goto out_unlock;
	}
	for (uint32_t i = 0; n && i < LB_MAX_NODES && !r; i++) {
		struct lb_shm_node *c = &xs->w->shm->node[i];
		const char *name;

		if (!c->in_use || !(name = child_of(c->path, p, plen, &len)) ||
		    name[len] != '\0')
			continue;
		r = names_add(&ns, name, len);
	}
	lb_unlock(xs->w);
	/* The transaction's own changes, in order. */
	for (unsigned int i = 0; t && i < t->nops && !r; i++) {
		struct tx_op *o = &t->ops[i];
		const char *name = child_of(o->path, p, plen, &len);
		char tmp[LB_PATH_MAX];

		if (o->type == OP_RM && is_under(p, o->path)) {
			while (ns.n)
				free(ns.v[--ns.n]);
			continue;
		}
		if (!name)
			continue;
		if (o->type == OP_WRITE || o->type == OP_MKDIR) {
			r = names_add(&ns, name, len);
		} else if (o->type == OP_RM && name[len] == '\0') {
			memcpy(tmp, name, len);
			tmp[len] = '\0';
			names_del(&ns, tmp);
		}
	}
	if (r)
		goto out;
	for (unsigned int i = 0; i < ns.n; i++)
		bytes += strlen(ns.v[i]) + 1;
	out = malloc((ns.n + 1) * sizeof(char *) + bytes + 1);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	s = (char *)(out + ns.n + 1);
	for (unsigned int i = 0; i < ns.n; i++) {
		strcpy(s, ns.v[i]);
		out[i] = s;
		s += strlen(ns.v[i]) + 1;
	}
	out[ns.n] = NULL;
	*num = ns.n;
	goto out;

out_unlock:
	lb_unlock(xs->w);
out:
	for (unsigned int i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	if (r) {
		errno = -r;
		return NULL;
	}
	return out;
}

/* --------------------------------------------------------- watches */

int lb_xs_watch(struct lb_xs *xs, const char *path, const char *token)
{
	char p[LB_PATH_MAX];
	struct lb_shm_watch *free_w = NULL;
	unsigned int mine = 0;
	int r;

	if (!path || !token)
		return -EINVAL;
	if (path[0] == '@') {
		if (!is_special(path))
			return -EINVAL;
		snprintf(p, sizeof(p), "%s", path);
	} else {
		r = path_norm(path, xs->domid, p);
		if (r)
			return r;
	}
	if (strnlen(token, LB_TOKEN_MAX) >= LB_TOKEN_MAX)
		return -E2BIG;
	r = lb_lock(xs->w);
	if (r)
		return r;
	for (uint32_t i = 0; i < LB_MAX_WATCHES; i++) {
		struct lb_shm_watch *wt = &xs->w->shm->watch[i];

		if (!wt->in_use) {
			if (!free_w)
				free_w = wt;
			continue;
		}
		mine += wt->domid == xs->domid;
		if (wt->conn == xs->conn && !strcmp(wt->path, p) &&
		    !strcmp(wt->token, token)) {
			r = -EEXIST;
			goto out_unlock;
		}
	}
	if (!free_w || (xs->domid != 0 && mine >= LB_QUOTA_WATCHES)) {
		r = -ENOSPC;
		goto out_unlock;
	}
	memset(free_w, 0, sizeof(*free_w));
	free_w->conn = xs->conn;
	free_w->domid = xs->domid;
	free_w->nonce = ++xs->w->shm->nonce_seq;
	memcpy(free_w->path, p, sizeof(free_w->path));
	snprintf(free_w->token, sizeof(free_w->token), "%s", token);
	free_w->in_use = 1;
	/* Like xenstored: every new watch fires once at once. */
	watch_queue(xs->w, free_w, p);
	if (!strcmp(p, "@releaseDomain"))
		xs->release_watches++;
out_unlock:
	lb_unlock(xs->w);
	return r;
}

int lb_xs_unwatch(struct lb_xs *xs, const char *path, const char *token)
{
	char p[LB_PATH_MAX];
	int r;

	if (!path || !token)
		return -EINVAL;
	if (path[0] == '@')
		snprintf(p, sizeof(p), "%s", path);
	else if ((r = path_norm(path, xs->domid, p)))
		return r;
	r = lb_lock(xs->w);
	if (r)
		return r;
	r = -ENOENT;
	for (uint32_t i = 0; i < LB_MAX_WATCHES; i++) {
		struct lb_shm_watch *wt = &xs->w->shm->watch[i];

		if (wt->in_use && wt->conn == xs->conn &&
		    !strcmp(wt->path, p) && !strcmp(wt->token, token)) {
			memset(wt, 0, sizeof(*wt));
			r = 0;
			if (!strcmp(p, "@releaseDomain") && xs->release_watches)
				xs->release_watches--;
			break;
		}
	}
	lb_unlock(xs->w);
	return r;
}

int lb_xs_fd(struct lb_xs *xs)
{
	return xs->epfd;
}

/*
 * While a @releaseDomain watch exists, keep a pidfd on each living
 * domain's creating process in the epoll set, so that a guest killed -9
 * wakes the watcher, which then reaps it (and @releaseDomain fires).
 */
static void pidfds_refresh(struct lb_xs *xs)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int32_t want[LB_MAX_DOMAINS] = { 0 };

	(void)lb_reap(xs->w);
	if (lb_lock(xs->w))
		return;
	for (uint32_t i = 1; i < LB_MAX_DOMAINS && xs->release_watches; i++) {
		struct lb_shm_domain *d = &xs->w->shm->dom[i];

		if (d->state == LB_DOM_ALIVE && d->pid > 0)
			want[i] = d->pid;
	}
	lb_unlock(xs->w);
	for (uint32_t i = 1; i < LB_MAX_DOMAINS; i++) {
		if (xs->pidfd[i] >= 0 && xs->pidfd_pid[i] != want[i]) {
			close(xs->pidfd[i]);   /* leaves the epoll set too */
			xs->pidfd[i] = -1;
		}
		if (want[i] && xs->pidfd[i] < 0) {
			int fd = (int)syscall(SYS_pidfd_open, want[i], 0);

			if (fd < 0)
				continue;
			ev.data.fd = fd;
			if (epoll_ctl(xs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
				close(fd);
				continue;
			}
			xs->pidfd[i] = fd;
			xs->pidfd_pid[i] = want[i];
		}
	}
}

int lb_xs_read_watch(struct lb_xs *xs, char **path, char **token)
{
	struct lb_shm_watch *got = NULL;
	bool more = false;
	int r;

	if (xs->release_watches) {
		pidfds_refresh(xs);
	} else {
		for (uint32_t i = 1; i < LB_MAX_DOMAINS; i++)
			if (xs->pidfd[i] >= 0) {
				close(xs->pidfd[i]);
				xs->pidfd[i] = -1;
			}
	}
	lb_conn_drain(xs->sock);
	r = lb_lock(xs->w);
	if (r)
		return r;
	lb_conn_rearm_locked(xs->w, xs->conn);
	for (uint32_t i = 0; i < LB_MAX_WATCHES; i++) {
		struct lb_shm_watch *wt = &xs->w->shm->watch[i];

		if (!wt->in_use || wt->conn != xs->conn || !wt->pending)
			continue;
		if (got) {
			more = true;
			break;
		}
		got = wt;
	}
	if (got) {
		*path = strdup(got->pending_path);
		*token = strdup(got->token);
		if (!*path || !*token) {
			free(*path);
			free(*token);
			*path = *token = NULL;
			r = -ENOMEM;
			more = true;   /* left pending: try again later */
		} else {
			got->pending = 0;
			r = 1;
		}
	}
	if (more)
		lb_conn_ring_locked(xs->w, xs->conn);
	lb_unlock(xs->w);
	return r;
}
