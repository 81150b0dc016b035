/* SPDX-License-Identifier: MIT */
/* lbtest.h - fixtures shared by the loopback-world suites. */
#ifndef VGPU_LBTEST_H
#define VGPU_LBTEST_H

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loopback.h"

/* A fresh world in a temporary directory, removed afterwards. */
static char lbt_dir[256];
static struct lb_world *lbt_w;

static inline void lbt_rmrf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
}

/*
 * Worlds go on tmpfs (/dev/shm) when there is one: guest memory in a
 * disk-backed file pays a page-mkwrite fault and writeback for every page.
 */
static inline const char *lbt_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp && *tmp)
		return tmp;
	return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

static inline void lbt_setup(void)
{
	snprintf(lbt_dir, sizeof(lbt_dir), "%s/vgpu-lbtest-XXXXXX",
		 lbt_tmpdir());
	ck_assert_ptr_nonnull(mkdtemp(lbt_dir));
	lbt_w = lb_world_open(lbt_dir, true);
	ck_assert_msg(lbt_w, "world open: %s", strerror(errno));
}

static inline void lbt_teardown(void)
{
	lb_world_close(lbt_w);
	lbt_w = NULL;
	lbt_rmrf(lbt_dir);
}

/*
 * Wait until fd is readable. The timeout only keeps a broken build from
 * hanging the suite (60 s); no test asserts anything about time.
 */
static inline int lbt_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 60000);
}

/* Is fd readable right now? */
static inline int lbt_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0);
}

/* Parent/child lockstep over a pipe pair. */
struct lbt_sync { int p2c[2], c2p[2]; };

static inline void lbt_sync_init(struct lbt_sync *s)
{
	ck_assert_int_eq(pipe(s->p2c), 0);
	ck_assert_int_eq(pipe(s->c2p), 0);
}

static inline int lbt_send(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

static inline char lbt_recv(int fd)
{
	char c = 0;

	return read(fd, &c, 1) == 1 ? c : 0;
}

#endif /* VGPU_LBTEST_H */
