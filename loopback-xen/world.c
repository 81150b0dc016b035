/* SPDX-License-Identifier: MIT */
/*
 * world.c - a loopback world: its directory and shared store file, the
 * robust world lock, process liveness, connections (the sockets that carry
 * wake-ups), and the domain table.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lb-private.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

const char *lb_default_dir(void)
{
	const char *d = getenv("VGPU_LOOPBACK_DIR");

	return d && *d ? d : LB_DEFAULT_DIR;
}

/* ------------------------------------------------------------ lock */

int lb_lock(struct lb_world *w)
{
	int r = pthread_mutex_lock(&w->shm->lock);

	if (r == EOWNERDEAD) {
		/*
		 * The holder died inside a critical section. Every update
		 * of the store is a few plain stores to fixed-size slots, so
		 * the worst left behind is one half-written slot; carry on.
		 */
		w->shm->recoveries++;
		pthread_mutex_consistent(&w->shm->lock);
		r = 0;
		/* Its unsent wake-ups are ours to send now. */
		for (uint32_t i = 0; i < LB_MAX_CONNS; i++) {
			if (!w->shm->conn[i].in_use || !w->shm->conn[i].bell)
				continue;
			w->shm->conn[i].bell = 0;
			lb_conn_ring_locked(w, i);
		}
	}
	return -r;
}

/*
 * Doorbells rung while the lock is held are sent after it is dropped, so
 * that no system call runs inside the critical section. Per thread: the
 * lock is never nested.
 */
static __thread struct { uint32_t slot; uint64_t nonce; } bells[LB_MAX_CONNS];
static __thread unsigned int nbells;

static void conn_send(struct lb_world *w, uint32_t slot, uint64_t nonce);
void lb_conn_ring_locked(struct lb_world *w, uint32_t slot);

void lb_unlock(struct lb_world *w)
{
	unsigned int n = nbells;

	nbells = 0;
	pthread_mutex_unlock(&w->shm->lock);
	for (unsigned int i = 0; i < n; i++)
		conn_send(w, bells[i].slot, bells[i].nonce);
}

int lb_world_lock(struct lb_world *w)
{
	return lb_lock(w);
}

void lb_world_unlock(struct lb_world *w)
{
	lb_unlock(w);
}

uint64_t lb_world_recoveries(struct lb_world *w)
{
	uint64_t n;

	if (lb_lock(w))
		return 0;
	n = w->shm->recoveries;
	lb_unlock(w);
	return n;
}

/* -------------------------------------------------------- liveness */

/* Field 22 of /proc/<pid>/stat, or 0 when the process is gone or a zombie. */
uint64_t lb_proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');   /* the command name may hold spaces */
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return 0;
	/* p is at field 3 (state); walk to field 22. */
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &st) != 1)
		return 0;
	return st ? st : 1;
}

/* Our own start time, read once per process (a forked child re-reads). */
uint64_t lb_self_starttime(void)
{
	static __thread pid_t pid;
	static __thread uint64_t st;
	pid_t me = getpid();

	if (pid != me) {
		st = lb_proc_starttime(me);
		pid = me;
	}
	return st;
}

bool lb_proc_alive(pid_t pid, uint64_t starttime)
{
	if (pid <= 0)
		return false;
	return lb_proc_starttime(pid) == starttime;
}

/* ----------------------------------------------------- connections */

static void conn_name(struct lb_world *w, uint32_t slot, uint64_t nonce,
		      struct sockaddr_un *sa, socklen_t *len)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* Abstract namespace: no file to clean up, gone with the process. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
		     "vgpu-lb-%016" PRIx64 "-%u-%" PRIu64, w->shm->world_id,
		     slot, nonce);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

void lb_conn_release_locked(struct lb_world *w, uint32_t slot)
{
	struct lb_shm_conn *c = &w->shm->conn[slot];

	if (!c->in_use)
		return;
	lb_watches_drop_conn_locked(w, slot);
	lb_ports_drop_conn_locked(w, slot);
	memset(c, 0, sizeof(*c));
}

/* Reserve a connection slot for this process; the slot (>= 0). */
int lb_conn_alloc(struct lb_world *w, uint32_t domid, uint32_t kind)
{
	uint64_t st = lb_self_starttime();
	int r, slot = -ENOSPC;
	unsigned int mine = 0;

	r = lb_lock(w);
	if (r)
		return r;
	for (uint32_t i = 0; i < LB_MAX_CONNS; i++) {
		struct lb_shm_conn *c = &w->shm->conn[i];

		if (c->in_use && !lb_proc_alive(c->pid, c->starttime))
			lb_conn_release_locked(w, i);  /* its owner died */
		mine += c->in_use && c->domid == domid;
	}
	if (domid != 0 && mine >= LB_QUOTA_CONNS) {
		lb_unlock(w);
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < LB_MAX_CONNS; i++) {
		struct lb_shm_conn *c = &w->shm->conn[i];

		if (c->in_use)
			continue;
		c->in_use = 1;
		c->pid = getpid();
		c->starttime = st;
		c->nonce = ++w->shm->nonce_seq;
		c->domid = domid;
		c->kind = kind;
		slot = (int)i;
		break;
	}
	lb_unlock(w);
	return slot;
}

/* The bound, non-blocking datagram socket of a slot this process owns. */
int lb_conn_socket(struct lb_world *w, uint32_t slot)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	conn_name(w, slot, w->shm->conn[slot].nonce, &sa, &len);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void conn_send(struct lb_world *w, uint32_t slot, uint64_t nonce)
{
	struct sockaddr_un sa;
	socklen_t salen;
	char b = 1;

	conn_name(w, slot, nonce, &sa, &salen);
	(void)sendto(w->send_fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL,
		     (struct sockaddr *)&sa, salen);
}

/*
 * Wake the owner of a slot (world lock held; sent at unlock). The datagram
 * is a doorbell only (what is pending lives in the store), and at most one
 * is queued per connection (bell), so the receiver's queue never fills and
 * nothing is lost when its owner has gone.
 */
void lb_conn_ring_locked(struct lb_world *w, uint32_t slot)
{
	struct lb_shm_conn *c;

	if (slot >= LB_MAX_CONNS)
		return;
	c = &w->shm->conn[slot];
	if (!c->in_use)
		return;
	/*
	 * Rung already: nothing to do, unless the ringer died between
	 * setting the bell and sending (then its wake-up never left).
	 */
	if (c->bell && (c->bell == getpid() ||
			kill(c->bell, 0) == 0 || errno == EPERM))
		return;
	c->bell = getpid();
	if (nbells < LB_MAX_CONNS) {
		bells[nbells].slot = slot;
		bells[nbells].nonce = c->nonce;
		nbells++;
	}
}

/*
 * Empty our doorbell socket, before taking the lock: a bell rung after
 * this stays queued and wakes us again, so no wake-up is lost. Then, with
 * the lock held, lb_conn_rearm_locked lets senders ring again.
 */
void lb_conn_drain(int fd)
{
	char buf[16];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

void lb_conn_rearm_locked(struct lb_world *w, uint32_t slot)
{
	w->shm->conn[slot].bell = 0;
}

/* ------------------------------------------------------------ open */

static int path_join(char *out, size_t sz, const char *dir, const char *name)
{
	int n = snprintf(out, sz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int store_create(struct lb_world *w, int fd)
{
	struct lb_shm_store *s;
	pthread_mutexattr_t a;
	uint64_t id = 0;
	int r;

	if (ftruncate(fd, sizeof(*s)) < 0)
		return -errno;
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		return -errno;
	w->shm = s;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	s->world_id = id;
	s->version = LB_VERSION;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	r = -pthread_mutex_init(&s->lock, &a);
	pthread_mutexattr_destroy(&a);
	if (r)
		return r;
	s->dom[0].state = LB_DOM_ALIVE;
	s->dom[0].flags = LB_DOMAIN_PERSISTENT;
	r = lb_lock(w);
	if (r)
		return r;
	r = lb_store_init_locked(w);
	lb_unlock(w);
	if (r)
		return r;
	/* Openers wait for the magic: everything above is visible first. */
	__atomic_store_n(&s->magic, LB_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

static int store_attach(struct lb_world *w, int fd)
{
	struct lb_shm_store *s;
	struct stat st;

	/* A creator may be initialising it right now: wait up to 5 s. */
	for (int i = 0; i < 500; i++) {
		if (fstat(fd, &st) < 0)
			return -errno;
		if ((size_t)st.st_size >= sizeof(*s)) {
			s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);
			if (s == MAP_FAILED)
				return -errno;
			if (__atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) ==
			    LB_MAGIC) {
				if (s->version != LB_VERSION) {
					munmap(s, sizeof(*s));
					return -EPROTO;
				}
				w->shm = s;
				return 0;
			}
			munmap(s, sizeof(*s));
		}
		usleep(10000);
	}
	return -EIO;
}

struct lb_world *lb_world_open(const char *dir, bool create)
{
	char path[4096];
	struct lb_world *w;
	int r, fd;

	if (!dir)
		dir = lb_default_dir();
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	for (unsigned int i = 0; i < LB_MAX_DOMAINS; i++)
		w->mem_fd[i] = w->dom_pidfd[i] = -1;
	w->send_fd = -1;
	pthread_mutex_init(&w->cache_lock, NULL);
	w->store_fd = -1;
	w->dir = strdup(dir);
	r = -ENOMEM;
	if (!w->dir)
		goto out_free;
	w->send_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (w->send_fd < 0) {
		r = -errno;
		goto out_free;
	}
	if (create) {
		r = mkdir_p(dir);
		if (r)
			goto out_free;
	}
	r = path_join(path, sizeof(path), dir, "store");
	if (r)
		goto out_free;
	fd = -1;
	if (create)
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		w->store_fd = fd;
		r = store_create(w, fd);
	} else {
		if (create && errno != EEXIST) {
			r = -errno;
			goto out_free;
		}
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			goto out_free;
		}
		w->store_fd = fd;
		r = store_attach(w, fd);
	}
	if (r)
		goto out_close;
	return w;

out_close:
	if (w->shm)
		munmap(w->shm, sizeof(*w->shm));
	close(w->store_fd);
out_free:
	if (w->send_fd >= 0)
		close(w->send_fd);
	free(w->dir);
	free(w);
	errno = -r;
	return NULL;
}

void lb_world_close(struct lb_world *w)
{
	if (!w)
		return;
	while (w->mappings) {
		struct lb_mapping *m = w->mappings;

		lb_unmap_grants(w, m->addr, m->count);
	}
	for (unsigned int i = 0; i < LB_MAX_DOMAINS; i++) {
		if (w->mem_map[i])
			munmap(w->mem_map[i], w->mem_size[i]);
		if (w->gnt[i])
			munmap(w->gnt[i], sizeof(*w->gnt[i]));
		if (w->mem_fd[i] >= 0)
			close(w->mem_fd[i]);
		if (w->dom_pidfd[i] >= 0)
			close(w->dom_pidfd[i]);
	}
	munmap(w->shm, sizeof(*w->shm));
	close(w->store_fd);
	close(w->send_fd);
	pthread_mutex_destroy(&w->cache_lock);
	free(w->dir);
	free(w);
}

const char *lb_world_dir(const struct lb_world *w)
{
	return w->dir;
}

/* ------------------------------------------------ per-domain files */

static int dom_file(struct lb_world *w, uint32_t domid, const char *kind,
		    int flags)
{
	char name[64], path[4096];
	int fd;

	snprintf(name, sizeof(name), "%s-%u", kind, domid);
	if (path_join(path, sizeof(path), w->dir, name))
		return -ENAMETOOLONG;
	fd = open(path, flags | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

/* The cached mapping of domid's grant table, or NULL (errno). */
struct lb_shm_gnttab *lb_gnttab(struct lb_world *w, uint32_t domid)
{
	struct lb_shm_gnttab *g;
	int fd;

	if (domid == 0 || domid > LB_MAX_DOMID) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&w->cache_lock);
	g = w->gnt[domid];
	if (!g) {
		fd = dom_file(w, domid, "gnttab", O_RDWR);
		if (fd < 0) {
			pthread_mutex_unlock(&w->cache_lock);
			errno = fd == -ENOENT ? ESRCH : -fd;
			return NULL;
		}
		g = mmap(NULL, sizeof(*g), PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		close(fd);
		if (g == MAP_FAILED) {
			pthread_mutex_unlock(&w->cache_lock);
			return NULL;
		}
		w->gnt[domid] = g;
	}
	pthread_mutex_unlock(&w->cache_lock);
	return g;
}

/* The cached fd of domid's memory file (owned by the world handle). */
int lb_mem_fd(struct lb_world *w, uint32_t domid)
{
	int fd;

	if (domid == 0 || domid > LB_MAX_DOMID)
		return -EINVAL;
	pthread_mutex_lock(&w->cache_lock);
	fd = w->mem_fd[domid];
	if (fd < 0) {
		fd = dom_file(w, domid, "mem", O_RDWR);
		if (fd >= 0)
			w->mem_fd[domid] = fd;
		else if (fd == -ENOENT)
			fd = -ESRCH;
	}
	pthread_mutex_unlock(&w->cache_lock);
	return fd;
}

void *lb_mem_map(struct lb_world *w, uint32_t domid, size_t *size)
{
	size_t want;
	void *p;
	int fd, r;

	r = lb_lock(w);
	if (r) {
		errno = -r;
		return NULL;
	}
	want = domid <= LB_MAX_DOMID ?
	       w->shm->dom[domid].mem_frames * LB_PAGE_SIZE : 0;
	r = domid > 0 && domid <= LB_MAX_DOMID && lb_dom_alive_locked(w, domid);
	lb_unlock(w);
	if (!r || !want) {
		errno = ESRCH;
		return NULL;
	}
	fd = lb_mem_fd(w, domid);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	pthread_mutex_lock(&w->cache_lock);
	p = w->mem_map[domid];
	if (p && w->mem_size[domid] != want) {
		munmap(p, w->mem_size[domid]);
		p = w->mem_map[domid] = NULL;
	}
	if (!p) {
		p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			pthread_mutex_unlock(&w->cache_lock);
			return NULL;
		}
		w->mem_map[domid] = p;
		w->mem_size[domid] = want;
	}
	pthread_mutex_unlock(&w->cache_lock);
	if (size)
		*size = want;
	return p;
}

/* ---------------------------------------------------------- domains */

/*
 * Is the creator of domid alive? The first check reads /proc (pid reuse
 * guard) and keeps a pidfd; later checks are one poll() on it, which
 * turns readable when the process exits. World lock held.
 */
static bool creator_alive(struct lb_world *w, uint32_t domid,
			  const struct lb_shm_domain *d)
{
	struct pollfd p;
	bool alive;
	int fd;

	pthread_mutex_lock(&w->cache_lock);
	fd = w->dom_pidfd[domid];
	if (fd >= 0 && (w->dom_pidfd_pid[domid] != d->pid ||
			w->dom_pidfd_start[domid] != d->starttime)) {
		close(fd);
		fd = w->dom_pidfd[domid] = -1;
	}
	if (fd < 0) {
		alive = lb_proc_alive(d->pid, d->starttime);
		if (alive) {
			fd = (int)syscall(SYS_pidfd_open, d->pid, 0);
			/* Still the same process after the pidfd is taken? */
			if (fd >= 0 && !lb_proc_alive(d->pid, d->starttime)) {
				close(fd);
				fd = -1;
				alive = false;
			}
			w->dom_pidfd[domid] = fd;
			w->dom_pidfd_pid[domid] = d->pid;
			w->dom_pidfd_start[domid] = d->starttime;
		}
		pthread_mutex_unlock(&w->cache_lock);
		return alive;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	alive = poll(&p, 1, 0) == 0;
	pthread_mutex_unlock(&w->cache_lock);
	return alive;
}

bool lb_dom_alive_locked(struct lb_world *w, uint32_t domid)
{
	struct lb_shm_domain *d;

	if (domid > LB_MAX_DOMID)
		return false;
	d = &w->shm->dom[domid];
	if (d->state != LB_DOM_ALIVE)
		return false;
	if (d->flags & LB_DOMAIN_PERSISTENT)
		return true;
	return creator_alive(w, domid, d);
}

int lb_domain_destroy_locked(struct lb_world *w, uint32_t domid)
{
	struct lb_shm_domain *d = &w->shm->dom[domid];
	char path[LB_PATH_MAX];

	if (domid == 0 || domid > LB_MAX_DOMID)
		return -EINVAL;
	if (d->state != LB_DOM_ALIVE)
		return -ESRCH;
	d->state = LB_DOM_DEAD;
	lb_grants_revoke_locked(w, domid);
	lb_ports_close_domain_locked(w, domid);
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	(void)lb_node_rm_locked(w, 0, path, false);
	lb_fire_special_locked(w, "@releaseDomain");
	return 0;
}

int lb_domain_destroy(struct lb_world *w, uint32_t domid)
{
	int r = lb_lock(w);

	if (r)
		return r;
	r = lb_domain_destroy_locked(w, domid);
	lb_unlock(w);
	return r;
}

static int reap_locked(struct lb_world *w)
{
	int n = 0;

	for (uint32_t i = 1; i <= LB_MAX_DOMID; i++) {
		if (w->shm->dom[i].state == LB_DOM_ALIVE &&
		    !lb_dom_alive_locked(w, i)) {
			lb_domain_destroy_locked(w, i);
			n++;
		}
	}
	return n;
}

int lb_reap(struct lb_world *w)
{
	int r = lb_lock(w);

	if (r)
		return r;
	r = reap_locked(w);
	lb_unlock(w);
	return r;
}

int lb_domain_alive(struct lb_world *w, uint32_t domid)
{
	int r;

	if (domid > LB_MAX_DOMID)
		return 0;
	r = lb_lock(w);
	if (r)
		return r;
	if (domid != 0 && w->shm->dom[domid].state == LB_DOM_ALIVE &&
	    !lb_dom_alive_locked(w, domid))
		lb_domain_destroy_locked(w, domid);   /* its creator died */
	r = lb_dom_alive_locked(w, domid);
	lb_unlock(w);
	return r;
}

/* Reset (or create) domid's memory and grant-table files. */
static int domain_files_reset(struct lb_world *w, uint32_t domid,
			      uint64_t frames)
{
	struct lb_shm_gnttab *g;
	struct stat st;
	int fd, r = 0;

	fd = dom_file(w, domid, "mem", O_RDWR | O_CREAT);
	if (fd < 0)
		return fd;
	/*
	 * The same inode is kept so that handles which cached it stay
	 * valid; a hole punched over it zeroes the old contents cheaply.
	 */
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		(void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				0, st.st_size);
	if (ftruncate(fd, (off_t)(frames * LB_PAGE_SIZE)) < 0)
		r = -errno;
	close(fd);
	if (r)
		return r;
	fd = dom_file(w, domid, "gnttab", O_RDWR | O_CREAT);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, sizeof(*g)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* Zero it in place (a hole), as for the memory above. */
	(void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			sizeof(*g));
	close(fd);
	g = lb_gnttab(w, domid);
	if (!g)
		return -errno;
	memset(g, 0, offsetof(struct lb_shm_gnttab, e));
	g->frames = frames;
	g->hint = LB_GNT_RESERVED;
	g->frame_used[0] |= 1;      /* frame 0 is never handed out */
	g->magic = LB_GNT_MAGIC;
	return 0;
}

int lb_domain_create_ex(struct lb_world *w, uint32_t domid, unsigned flags,
			uint64_t mem_bytes)
{
	static const char *const guest_dirs[] = { "device", "data" };
	struct lb_shm_domain *d;
	char path[LB_PATH_MAX], val[32];
	struct lb_xs_acl acl[2];
	uint64_t frames;
	int r;

	if (domid == 0 || domid > LB_MAX_DOMID)
		return -EINVAL;
	if (flags & ~LB_DOMAIN_PERSISTENT)
		return -EINVAL;
	if (mem_bytes == 0)
		mem_bytes = LB_DEFAULT_MEM;
	if (mem_bytes > LB_MAX_MEM || mem_bytes < 2 * LB_PAGE_SIZE)
		return -EINVAL;
	frames = (mem_bytes + LB_PAGE_SIZE - 1) / LB_PAGE_SIZE;
	r = lb_lock(w);
	if (r)
		return r;
	d = &w->shm->dom[domid];
	if (d->state == LB_DOM_ALIVE && !lb_dom_alive_locked(w, domid))
		lb_domain_destroy_locked(w, domid);
	if (d->state == LB_DOM_ALIVE) {
		r = -EEXIST;
		goto out_unlock;
	}
	r = domain_files_reset(w, domid, frames);
	if (r)
		goto out_unlock;
	d->flags = flags;
	d->pid = (flags & LB_DOMAIN_PERSISTENT) ? 0 : getpid();
	d->starttime = d->pid ? lb_proc_starttime(d->pid) : 0;
	d->mem_frames = frames;
	d->state = LB_DOM_ALIVE;

	/* As a toolstack does: the guest reads its own dir, writes below. */
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	(void)lb_node_rm_locked(w, 0, path, false);
	acl[0] = (struct lb_xs_acl){ 0, LB_XS_PERM_NONE };
	acl[1] = (struct lb_xs_acl){ domid, LB_XS_PERM_READ };
	r = lb_node_write_locked(w, 0, path, "", 0, false);
	if (!r)
		r = lb_node_set_perms_locked(w, 0, path, acl, 2, false);
	snprintf(val, sizeof(val), "%u", domid);
	snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
	if (!r)
		r = lb_node_write_locked(w, 0, path, val, strlen(val), false);
	snprintf(val, sizeof(val), "guest%u", domid);
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if (!r)
		r = lb_node_write_locked(w, 0, path, val, strlen(val), false);
	acl[0] = (struct lb_xs_acl){ domid, LB_XS_PERM_NONE };
	for (unsigned int i = 0; !r && i < 2; i++) {
		snprintf(path, sizeof(path), "/local/domain/%u/%s", domid,
			 guest_dirs[i]);
		r = lb_node_write_locked(w, 0, path, "", 0, false);
		if (!r)
			r = lb_node_set_perms_locked(w, 0, path, acl, 1, false);
	}
	if (r) {
		lb_domain_destroy_locked(w, domid);
		goto out_unlock;
	}
	lb_fire_special_locked(w, "@introduceDomain");

out_unlock:
	lb_unlock(w);
	return r;
}

int lb_domain_create(struct lb_world *w, uint32_t domid)
{
	return lb_domain_create_ex(w, domid, 0, 0);
}
