/* SPDX-License-Identifier: MIT */
/*
 * arbiter.c - the dom0-wide GPU arbiter in POSIX shared memory.
 *
 * Layout of the region (one struct arb_shm, fixed size): a header with magic,
 * version and the host's policy; one robust process-shared mutex; per-GPU
 * state; a ticket table (one entry per waiting acquire()); a slot table (one
 * entry per registered domain). Everything below `lock` in struct arb_shm is
 * protected by it, except the counters marked "atomic", which backends bump
 * without the lock and readers load atomically.
 *
 * Authoritative state is per slot (`held`) and per ticket; the per-GPU
 * counters are derived and rebuilt by arb_repair() after a lock holder died
 * half-way through an update.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arbiter.h"

#define ARB_MAGIC   0x3142524155504756ull  /* "VGPUARB1" little-endian */
#define ARB_VERSION VGPU_ARB_VERSION

#define ARB_DOMID_LIMIT 0x7ff0u  /* DOMID_FIRST_RESERVED */

enum { SLOT_FREE = 0, SLOT_ACTIVE = 1 };
enum { TICKET_FREE = 0, TICKET_WAITING = 1 };

struct arb_shm_gpu {
	uint32_t in_use;        /* derived: sum of held of its slots         */
	uint32_t waiting;       /* derived: its waiting tickets              */
	uint64_t busy_ns;       /* closed busy periods                       */
	uint64_t busy_since;    /* start of the open one; valid if in_use    */
	uint64_t grants;
	uint64_t low_grant_ns;  /* last turn given outside the high class   */
	uint64_t low_gated;     /* grants a non-high waiter waited a gap for */
};

struct arb_shm_ticket {
	uint32_t state;         /* written last on enqueue, first on dequeue */
	uint32_t slot;
	uint32_t gpu;
	int32_t  pid;
	uint32_t wake;          /* futex word its waiter sleeps on           */
	uint32_t _pad;
	uint64_t seq;           /* FIFO order, host-wide                     */
	uint64_t enq_ns;
};

struct arb_shm_slot {
	uint32_t state;
	uint32_t generation;    /* bumped at every (re)registration          */
	int32_t  pid;
	uint32_t held;          /* turns held: authoritative                 */
	uint64_t pid_start;     /* /proc starttime, against pid reuse        */
	uint32_t domid, devid, priority, pool, gpu, share_pct;
	uint64_t mem_quota;
	uint64_t ctx_overhead;  /* atomic: the executor's context's memory   */
	uint64_t mem_used;      /* atomic                                    */
	uint64_t mem_peak;      /* atomic                                    */
	uint64_t requests;      /* atomic                                    */
	uint64_t errors;        /* atomic                                    */
	uint64_t quota_refusals;/* atomic                                    */
	uint64_t last_seen_ns;  /* atomic                                    */
	uint64_t queue;         /* atomic: requests the backend holds        */
	uint64_t gpu_ns, grants, wait_ns, aged;
	uint64_t last_grant;    /* its GPU's grant number at its last grant */
	uint64_t registered_ns;
	uint64_t win_start_ns, win_gpu_ns; /* GPU-time share window          */
};

struct arb_shm {
	uint64_t magic;         /* written last at init                      */
	uint32_t version;
	uint32_t size;
	uint32_t max_gpus, max_pools, max_slots, max_tickets;
	pthread_mutex_t lock;   /* robust, process-shared: all that follows  */
	uint32_t wake_seq;      /* bumped at every wake-all (diagnostics)    */
	uint32_t nwaiting;      /* tickets waiting, host-wide                */
	struct vgpu_arb_config cfg;
	uint64_t ticket_seq;
	uint64_t repairs, reaped;
	struct arb_shm_gpu gpu[VGPU_ARB_MAX_GPUS];
	struct arb_shm_ticket ticket[VGPU_ARB_MAX_TICKETS];
	struct arb_shm_slot slot[VGPU_ARB_MAX_SLOTS];
};

struct vgpu_arb {
	struct arb_shm *shm;
	int fd;
	char name[VGPU_ARB_MAX_NAME + 1];  /* as the caller named it   */
	char path[VGPU_ARB_MAX_NAME + 16]; /* "/NAME.vVERSION"          */
	uint64_t (*now)(void *arg);
	void *now_arg;
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
};

struct vgpu_arb_slot {
	struct vgpu_arb *arb;
	uint32_t index;
	uint32_t generation;
	uint32_t cancel;        /* vgpu_arb_cancel(): acquire() gives up   */
};

/* ---------------------------------------------------------------- helpers */

static uint64_t arb_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t arb_now(const struct vgpu_arb *arb)
{
	return arb->now ? arb->now(arb->now_arg) : arb_mono_ns();
}

static void arb_log(const struct vgpu_arb *arb, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void arb_log(const struct vgpu_arb *arb, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!arb->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	arb->log(arb->log_arg, level, msg);
}

/*
 * State (field 3) and starttime (field 22) of /proc/PID/stat; -ENOENT when
 * the process is gone or unreadable.
 */
static int arb_proc_stat(int32_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024];
	unsigned long long v = 0;
	const char *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	p = strrchr(buf, ')');   /* comm may contain spaces and parens */
	if (!p || p[1] != ' ' || !p[2])
		return -ENOENT;
	*state = p[2];
	/* After ") " comes field 3 (state); starttime is field 22. */
	for (p += 2, field = 3; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%llu", &v) != 1)
		return -ENOENT;
	*start = v;
	return 0;
}

static uint64_t arb_pid_start(int32_t pid)
{
	uint64_t start = 0;
	char state;

	return arb_proc_stat(pid, &state, &start) ? 0 : start;
}

static bool arb_pid_alive(int32_t pid, uint64_t pid_start)
{
	uint64_t start;
	char state;

	if (pid <= 0)
		return false;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	if (arb_proc_stat(pid, &state, &start))
		return true;  /* no /proc to ask: trust kill() */
	/* A zombie (killed, not yet waited for) will never release. */
	if (state == 'Z' || state == 'X')
		return false;
	/* Same pid, another process: the backend died, the pid was reused. */
	if (pid_start && start != pid_start)
		return false;
	return true;
}

/* Wake ticket t's waiter (a spurious wake-up is harmless). */
static void arb_wake_ticket(struct arb_shm *shm, uint32_t t)
{
	if (t >= VGPU_ARB_MAX_TICKETS)
		return;
	__atomic_add_fetch(&shm->ticket[t].wake, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &shm->ticket[t].wake, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/*
 * Wake every waiter: for changes that may reorder anybody (a slot gone, a
 * repair, a new priority). The hot paths wake only the next in line.
 */
static void arb_wake(struct arb_shm *shm)
{
	uint32_t t;

	__atomic_add_fetch(&shm->wake_seq, 1, __ATOMIC_RELEASE);
	if (!__atomic_load_n(&shm->nwaiting, __ATOMIC_RELAXED))
		return;
	for (t = 0; t < VGPU_ARB_MAX_TICKETS; t++)
		if (__atomic_load_n(&shm->ticket[t].state, __ATOMIC_RELAXED) ==
		    TICKET_WAITING)
			arb_wake_ticket(shm, t);
}

static uint32_t arb_pool_mask(const struct vgpu_arb_config *cfg, uint32_t pool)
{
	uint32_t all = cfg->ngpus >= 32 ? ~0u : ((1u << cfg->ngpus) - 1u);
	uint32_t i;

	if (pool >= VGPU_ARB_MAX_POOLS)
		return 0;
	for (i = 0; i < VGPU_ARB_MAX_POOLS; i++)
		if (cfg->pool_mask[i])
			return cfg->pool_mask[pool] & all;
	return all;  /* no pools configured: every pool is every GPU */
}

/* ---------------------------------------------------------------- config */

void vgpu_arb_config_default(struct vgpu_arb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ngpus = 1;
	cfg->tokens = 2;
	cfg->burst = 16;
	cfg->high_reserve = 1;
	cfg->aging_ns = 200ull * 1000 * 1000;
	cfg->low_gap_ns = 10ull * 1000 * 1000;
	cfg->share_window_ns = 100ull * 1000 * 1000;
}

int vgpu_arb_config_check(const struct vgpu_arb_config *cfg, const char **why)
{
	uint32_t all, i;

	if (!cfg) {
		*why = "no config";
		return -EINVAL;
	}
	if (cfg->ngpus < 1 || cfg->ngpus > VGPU_ARB_MAX_GPUS) {
		*why = "GPU count must be 1..16";
		return -EINVAL;
	}
	if (cfg->tokens < 1 || cfg->tokens > VGPU_ARB_MAX_TOKENS) {
		*why = "turns per GPU must be 1..64";
		return -EINVAL;
	}
	if (cfg->high_reserve > VGPU_ARB_MAX_TOKENS) {
		*why = "high-priority reserve must be 0..64 turns";
		return -EINVAL;
	}
	if (cfg->burst < cfg->tokens || cfg->burst > VGPU_ARB_MAX_BURST) {
		*why = "burst must be at least the turns per GPU and at most 256";
		return -EINVAL;
	}
	if (cfg->share_window_ns < 1000000ull ||
	    cfg->share_window_ns > 3600ull * 1000000000ull) {
		*why = "share window must be 1 ms .. 1 h";
		return -EINVAL;
	}
	if (cfg->low_gap_ns > 1000000000ull) {
		*why = "low gap must be at most 1 s";
		return -EINVAL;
	}
	if (cfg->aging_ns > 3600ull * 1000000000ull) {
		*why = "aging threshold must be at most 1 h";
		return -EINVAL;
	}
	all = (1u << cfg->ngpus) - 1u;
	for (i = 0; i < VGPU_ARB_MAX_POOLS; i++)
		if (cfg->pool_mask[i] & ~all) {
			*why = "a pool names a GPU beyond the GPU count";
			return -EINVAL;
		}
	return 0;
}

static int arb_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int vgpu_arb_parse_pools(const char *s, struct vgpu_arb_config *cfg,
			 const char **why)
{
	uint32_t mask[VGPU_ARB_MAX_POOLS] = { 0 };
	bool seen[VGPU_ARB_MAX_POOLS] = { false };
	const char *p = s;

	if (!s || !*s) {
		*why = "empty pool list";
		return -EINVAL;
	}
	while (*p) {
		unsigned long pool, a, b;
		char *end;

		if (*p < '0' || *p > '9')
			goto bad;
		pool = strtoul(p, &end, 10);
		if (*end != '=' || pool >= VGPU_ARB_MAX_POOLS) {
			*why = "pool must be POOL=GPUS with POOL 0..15";
			return -EINVAL;
		}
		if (seen[pool]) {
			*why = "a pool is named twice";
			return -EINVAL;
		}
		seen[pool] = true;
		p = end + 1;
		for (;;) {
			if (*p < '0' || *p > '9')
				goto bad;
			a = b = strtoul(p, &end, 10);
			p = end;
			if (*p == '-') {
				p++;
				if (*p < '0' || *p > '9')
					goto bad;
				b = strtoul(p, &end, 10);
				p = end;
			}
			if (a > b || b >= cfg->ngpus) {
				*why = "a GPU index is beyond the GPU count (or a range is backwards)";
				return -EINVAL;
			}
			for (; a <= b; a++)
				mask[pool] |= 1u << a;
			if (*p != ',')
				break;
			p++;
		}
		if (*p == ';')
			p++;
		else if (*p)
			goto bad;
	}
	memcpy(cfg->pool_mask, mask, sizeof(mask));
	return 0;
bad:
	*why = "pool list must look like 0=0-3;1=4,5";
	return -EINVAL;
}

int vgpu_arb_config_from_env(struct vgpu_arb_config *cfg, const char **why)
{
	const char *v;
	uint64_t n;

	if ((v = getenv("VGPU_ARB_GPUS"))) {
		if (arb_parse_u64(v, VGPU_ARB_MAX_GPUS, &n) || !n) {
			*why = "VGPU_ARB_GPUS must be 1..16";
			return -EINVAL;
		}
		cfg->ngpus = (uint32_t)n;
	}
	if ((v = getenv("VGPU_ARB_TOKENS"))) {
		if (arb_parse_u64(v, VGPU_ARB_MAX_TOKENS, &n) || !n) {
			*why = "VGPU_ARB_TOKENS must be 1..64";
			return -EINVAL;
		}
		cfg->tokens = (uint32_t)n;
	}
	if ((v = getenv("VGPU_ARB_BURST"))) {
		if (arb_parse_u64(v, VGPU_ARB_MAX_BURST, &n) || !n) {
			*why = "VGPU_ARB_BURST must be 1..256";
			return -EINVAL;
		}
		cfg->burst = (uint32_t)n;
	}
	if ((v = getenv("VGPU_ARB_HIGH_RESERVE"))) {
		if (arb_parse_u64(v, VGPU_ARB_MAX_TOKENS, &n)) {
			*why = "VGPU_ARB_HIGH_RESERVE must be 0..64";
			return -EINVAL;
		}
		cfg->high_reserve = (uint32_t)n;
	}
	if ((v = getenv("VGPU_ARB_AGING_MS"))) {
		if (arb_parse_u64(v, 3600ull * 1000, &n)) {
			*why = "VGPU_ARB_AGING_MS must be 0..3600000";
			return -EINVAL;
		}
		cfg->aging_ns = n * 1000000ull;
	}
	if ((v = getenv("VGPU_ARB_LOW_GAP_US"))) {
		if (arb_parse_u64(v, 1000000, &n)) {
			*why = "VGPU_ARB_LOW_GAP_US must be 0..1000000";
			return -EINVAL;
		}
		cfg->low_gap_ns = n * 1000ull;
	}
	if ((v = getenv("VGPU_ARB_SHARE_WINDOW_MS"))) {
		if (arb_parse_u64(v, 3600ull * 1000, &n) || !n) {
			*why = "VGPU_ARB_SHARE_WINDOW_MS must be 1..3600000";
			return -EINVAL;
		}
		cfg->share_window_ns = n * 1000000ull;
	}
	if ((v = getenv("VGPU_ARB_POOLS"))) {
		int rc = vgpu_arb_parse_pools(v, cfg, why);
		if (rc)
			return rc;
	}
	if (!getenv("VGPU_ARB_BURST") && cfg->burst < cfg->tokens)
		cfg->burst = cfg->tokens;  /* more turns than the default burst */
	return vgpu_arb_config_check(cfg, why);
}

int vgpu_arb_parse_priority(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "high") || !strcmp(s, "0"))
		return VGPUIF_PRIO_HIGH;
	if (!strcmp(s, "medium") || !strcmp(s, "1"))
		return VGPUIF_PRIO_MEDIUM;
	if (!strcmp(s, "low") || !strcmp(s, "2"))
		return VGPUIF_PRIO_LOW;
	return -EINVAL;
}

const char *vgpu_arb_priority_name(uint32_t prio)
{
	switch (prio) {
	case VGPUIF_PRIO_HIGH:   return "high";
	case VGPUIF_PRIO_MEDIUM: return "medium";
	case VGPUIF_PRIO_LOW:    return "low";
	}
	return "?";
}

bool vgpu_arb_op_needs_turn(uint8_t opcode)
{
	switch (opcode) {
	case VGPUIF_OP_MEMCPY_H2D:
	case VGPUIF_OP_MEMCPY_D2H:
	case VGPUIF_OP_MEMCPY_D2D:
	case VGPUIF_OP_MEMSET:
	case VGPUIF_OP_LAUNCH:
	case VGPUIF_OP_SYNC:
	case VGPUIF_OP_VECTOR_ADD:
		return true;
	}
	return false;
}

/* ------------------------------------------------------- lock and repair */

/* Drop one slot's tickets and turns; caller holds the lock. */
static void arb_slot_clear(struct arb_shm *shm, uint32_t idx)
{
	struct arb_shm_slot *s = &shm->slot[idx];
	uint32_t t;

	for (t = 0; t < VGPU_ARB_MAX_TICKETS; t++) {
		struct arb_shm_ticket *tk = &shm->ticket[t];
		if (tk->state == TICKET_WAITING && tk->slot == idx)
			tk->state = TICKET_FREE;
	}
	s->held = 0;
	s->state = SLOT_FREE;
	s->generation++;
}

/*
 * Rebuild what is derived (per-GPU turns in use, waiters, host-wide waiter
 * count) from what is authoritative (slots' held, tickets). Also the cure
 * for an update a dead lock holder left half done. Caller holds the lock.
 */
static void arb_rebuild(struct vgpu_arb *arb)
{
	struct arb_shm *shm = arb->shm;
	uint32_t in_use[VGPU_ARB_MAX_GPUS] = { 0 };
	uint32_t waiting[VGPU_ARB_MAX_GPUS] = { 0 };
	uint32_t g, i, total = 0;
	uint64_t now = arb_now(arb);

	for (i = 0; i < VGPU_ARB_MAX_SLOTS; i++) {
		struct arb_shm_slot *s = &shm->slot[i];
		if (s->state != SLOT_ACTIVE)
			continue;
		if (s->gpu >= shm->cfg.ngpus) {  /* torn: cannot be trusted */
			arb_slot_clear(shm, i);
			continue;
		}
		if (s->held > shm->cfg.burst)
			s->held = shm->cfg.burst;
		in_use[s->gpu] += s->held;
	}
	for (i = 0; i < VGPU_ARB_MAX_TICKETS; i++) {
		struct arb_shm_ticket *tk = &shm->ticket[i];
		if (tk->state != TICKET_WAITING)
			continue;
		if (tk->slot >= VGPU_ARB_MAX_SLOTS || tk->gpu >= shm->cfg.ngpus ||
		    shm->slot[tk->slot].state != SLOT_ACTIVE) {
			tk->state = TICKET_FREE;
			continue;
		}
		waiting[tk->gpu]++;
		total++;
	}
	for (g = 0; g < VGPU_ARB_MAX_GPUS; g++) {
		struct arb_shm_gpu *gp = &shm->gpu[g];
		if (gp->in_use && !in_use[g] && gp->busy_since && now > gp->busy_since)
			gp->busy_ns += now - gp->busy_since;
		if (!gp->in_use && in_use[g])
			gp->busy_since = now;
		gp->in_use = in_use[g];
		gp->waiting = waiting[g];
	}
	shm->nwaiting = total;
}

/* Free the slots (turns, tickets) of processes that are gone. Locked. */
static unsigned int arb_reap(struct vgpu_arb *arb)
{
	struct arb_shm *shm = arb->shm;
	unsigned int n = 0;
	uint32_t i;

	for (i = 0; i < VGPU_ARB_MAX_SLOTS; i++) {
		struct arb_shm_slot *s = &shm->slot[i];
		if (s->state != SLOT_ACTIVE || arb_pid_alive(s->pid, s->pid_start))
			continue;
		arb_log(arb, 1, "arbiter %s: domain %u (backend pid %d) is gone; "
			"reclaimed its %u turn(s) on GPU %u",
			arb->name, s->domid, (int)s->pid, s->held, s->gpu);
		arb_slot_clear(shm, i);
		shm->reaped++;
		n++;
	}
	/* Tickets of dead threads' processes whose slot lives on elsewhere. */
	for (i = 0; i < VGPU_ARB_MAX_TICKETS; i++) {
		struct arb_shm_ticket *tk = &shm->ticket[i];
		if (tk->state == TICKET_WAITING &&
		    !arb_pid_alive(tk->pid, 0)) {
			tk->state = TICKET_FREE;
			n++;
		}
	}
	if (n) {
		arb_rebuild(arb);
		arb_wake(shm);
	}
	return n;
}

static int arb_lock(struct vgpu_arb *arb)
{
	struct arb_shm *shm = arb->shm;
	int rc = pthread_mutex_lock(&shm->lock);

	if (rc == EOWNERDEAD) {
		/*
		 * Consistent first: if we die during the repair the next
		 * locker gets EOWNERDEAD again and repeats it (it is
		 * idempotent) instead of finding the lock unrecoverable.
		 */
		pthread_mutex_consistent(&shm->lock);
		shm->repairs++;
		arb_log(arb, 1, "arbiter %s: a backend died holding the lock; "
			"repairing shared state", arb->name);
		arb_reap(arb);
		arb_rebuild(arb);
		arb_wake(shm);
		return 0;
	}
	if (rc) {
		arb_log(arb, 0, "arbiter %s: lock failed: %s", arb->name,
			strerror(rc));
		return -rc;
	}
	return 0;
}

static void arb_unlock(struct vgpu_arb *arb)
{
	pthread_mutex_unlock(&arb->shm->lock);
}

/* ------------------------------------------------------------ open/close */

/* Check the name; out (VGPU_ARB_MAX_NAME + 16) gets "/NAME.vVERSION". */
static int arb_region_name(const char *name, char *out, char *plain,
			   const char **why)
{
	size_t len, i;

	if (!name)
		name = getenv(VGPU_ARB_ENV_NAME);
	if (!name || !*name)
		name = VGPU_ARB_DEFAULT_NAME;
	len = strlen(name);
	if (len > VGPU_ARB_MAX_NAME) {
		*why = "arbiter region name longer than 128 characters";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
			*why = "arbiter region name may only hold A-Z a-z 0-9 . _ -";
			return -EINVAL;
		}
	}
	if (name[0] == '.') {
		*why = "arbiter region name may not start with '.'";
		return -EINVAL;
	}
	snprintf(out, VGPU_ARB_MAX_NAME + 16, "/%s.v%u", name,
		 (unsigned int)ARB_VERSION);
	if (plain)
		memcpy(plain, name, len + 1);
	return 0;
}

static int arb_init_region(struct arb_shm *shm, const struct vgpu_arb_config *cfg)
{
	pthread_mutexattr_t ma;
	int rc;

	memset(shm, 0, sizeof(*shm));
	shm->version = ARB_VERSION;
	shm->size = sizeof(*shm);
	shm->max_gpus = VGPU_ARB_MAX_GPUS;
	shm->max_pools = VGPU_ARB_MAX_POOLS;
	shm->max_slots = VGPU_ARB_MAX_SLOTS;
	shm->max_tickets = VGPU_ARB_MAX_TICKETS;
	shm->cfg = *cfg;
	rc = pthread_mutexattr_init(&ma);
	if (rc)
		return -rc;
	rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	if (!rc)
		rc = pthread_mutex_init(&shm->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	if (rc)
		return -rc;
	/* Readers check the magic first: publish it after everything else. */
	__atomic_store_n(&shm->magic, ARB_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

static bool arb_header_ok(const struct arb_shm *shm)
{
	const char *why;

	return shm->version == ARB_VERSION && shm->size == sizeof(*shm) &&
	       vgpu_arb_config_check(&shm->cfg, &why) == 0 &&
	       shm->max_gpus == VGPU_ARB_MAX_GPUS &&
	       shm->max_pools == VGPU_ARB_MAX_POOLS &&
	       shm->max_slots == VGPU_ARB_MAX_SLOTS &&
	       shm->max_tickets == VGPU_ARB_MAX_TICKETS;
}

int vgpu_arb_open(struct vgpu_arb **out, const char *name,
		  const struct vgpu_arb_config *cfg_in, unsigned int flags,
		  const char **why)
{
	struct vgpu_arb_config cfg;
	struct vgpu_arb *arb;
	struct stat st;
	const char *dummy;
	bool fresh = false;
	int rc, oflags;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!out || (flags & ~VGPU_ARB_NOCREATE)) {
		*why = "bad arguments";
		return -EINVAL;
	}
	if (cfg_in) {
		cfg = *cfg_in;
	} else {
		vgpu_arb_config_default(&cfg);
		rc = vgpu_arb_config_from_env(&cfg, why);
		if (rc)
			return rc;
	}
	rc = vgpu_arb_config_check(&cfg, why);
	if (rc)
		return rc;
	arb = calloc(1, sizeof(*arb));
	if (!arb) {
		*why = "out of memory";
		return -ENOMEM;
	}
	arb->fd = -1;
	rc = arb_region_name(name, arb->path, arb->name, why);
	if (rc)
		goto out_free;

	oflags = O_RDWR | O_CLOEXEC | ((flags & VGPU_ARB_NOCREATE) ? 0 : O_CREAT);
	arb->fd = shm_open(arb->path, oflags, 0600);
	if (arb->fd < 0) {
		rc = -errno;
		*why = rc == -ENOENT ? "no arbiter region (no backend has started on this host)"
				     : "cannot open the arbiter region in /dev/shm";
		goto out_free;
	}
	/* flock serializes initialisation and dies with its holder. */
	if (flock(arb->fd, LOCK_EX) < 0) {
		rc = -errno;
		*why = "cannot lock the arbiter region file";
		goto out_close;
	}
	if (fstat(arb->fd, &st) < 0) {
		rc = -errno;
		*why = "cannot stat the arbiter region";
		goto out_unflock;
	}
	if ((size_t)st.st_size != sizeof(struct arb_shm)) {
		if (st.st_size != 0 && (flags & VGPU_ARB_NOCREATE)) {
			rc = -EPROTO;
			*why = "arbiter region has the wrong size (another version?)";
			goto out_unflock;
		}
		if (st.st_size != 0) {
			/* Another version's region: only replace it if unused. */
			rc = -EPROTO;
			*why = "arbiter region made by another version; remove it "
			       "from /dev/shm once no backend runs";
			goto out_unflock;
		}
		if (ftruncate(arb->fd, sizeof(struct arb_shm)) < 0) {
			rc = -errno;
			*why = "cannot size the arbiter region";
			goto out_unflock;
		}
		fresh = true;
	}
	arb->shm = mmap(NULL, sizeof(struct arb_shm), PROT_READ | PROT_WRITE,
			MAP_SHARED, arb->fd, 0);
	if (arb->shm == MAP_FAILED) {
		rc = -errno;
		arb->shm = NULL;
		*why = "cannot map the arbiter region";
		goto out_unflock;
	}
	if (fresh || __atomic_load_n(&arb->shm->magic, __ATOMIC_ACQUIRE) != ARB_MAGIC) {
		/* New, or a creator died before publishing the magic. */
		if (flags & VGPU_ARB_NOCREATE) {
			rc = -ENOENT;
			*why = "arbiter region not initialised yet";
			goto out_unmap;
		}
		rc = arb_init_region(arb->shm, &cfg);
		if (rc) {
			*why = "cannot initialise the arbiter lock";
			goto out_unmap;
		}
	} else if (!arb_header_ok(arb->shm)) {
		rc = -EPROTO;
		*why = "arbiter region made by another version; remove it from "
		       "/dev/shm once no backend runs";
		goto out_unmap;
	} else if (!(flags & VGPU_ARB_NOCREATE) && cfg_in) {
		/* Adopt the new config when nobody is registered any more. */
		bool busy = false;
		uint32_t i;

		rc = arb_lock(arb);
		if (rc) {
			*why = "arbiter region lock is unrecoverable";
			goto out_unmap;
		}
		arb_reap(arb);
		for (i = 0; i < VGPU_ARB_MAX_SLOTS && !busy; i++)
			busy = arb->shm->slot[i].state == SLOT_ACTIVE;
		if (!busy) {
			arb->shm->cfg = cfg;
			memset(arb->shm->gpu, 0, sizeof(arb->shm->gpu));
		}
		arb_unlock(arb);
	}
	flock(arb->fd, LOCK_UN);
	*out = arb;
	return 0;

out_unmap:
	munmap(arb->shm, sizeof(struct arb_shm));
out_unflock:
	flock(arb->fd, LOCK_UN);
out_close:
	close(arb->fd);
out_free:
	free(arb);
	return rc;
}

void vgpu_arb_close(struct vgpu_arb *arb)
{
	if (!arb)
		return;
	munmap(arb->shm, sizeof(struct arb_shm));
	close(arb->fd);
	free(arb);
}

int vgpu_arb_unlink(const char *name)
{
	char path[VGPU_ARB_MAX_NAME + 16];
	const char *why;
	int rc = arb_region_name(name, path, NULL, &why);

	if (rc)
		return rc;
	return shm_unlink(path) < 0 ? -errno : 0;
}

const char *vgpu_arb_name(const struct vgpu_arb *arb)
{
	return arb->name;
}

void vgpu_arb_get_config(struct vgpu_arb *arb, struct vgpu_arb_config *cfg)
{
	if (arb_lock(arb) == 0) {
		*cfg = arb->shm->cfg;
		arb_unlock(arb);
	} else {
		*cfg = arb->shm->cfg;
	}
}

void vgpu_arb_set_log(struct vgpu_arb *arb,
		      void (*log)(void *arg, int level, const char *msg),
		      void *arg)
{
	arb->log = log;
	arb->log_arg = arg;
}

/* -------------------------------------------------------------- domains */

/* Lock and check that the slot is still ours. */
static int arb_lock_slot(struct vgpu_arb_slot *slot, struct arb_shm_slot **out)
{
	struct vgpu_arb *arb = slot->arb;
	struct arb_shm_slot *s = &arb->shm->slot[slot->index];
	int rc = arb_lock(arb);

	if (rc)
		return rc;
	if (s->state != SLOT_ACTIVE || s->generation != slot->generation ||
	    s->gpu >= VGPU_ARB_MAX_GPUS) {
		arb_unlock(arb);
		return -ESTALE;
	}
	*out = s;
	return 0;
}

static void arb_touch(struct vgpu_arb_slot *slot, struct arb_shm_slot *s)
{
	__atomic_store_n(&s->last_seen_ns, arb_now(slot->arb), __ATOMIC_RELAXED);
}

int vgpu_arb_register(struct vgpu_arb *arb, const struct vgpu_arb_domain *d,
		      struct vgpu_arb_slot **out)
{
	struct arb_shm *shm = arb->shm;
	struct vgpu_arb_slot *slot;
	struct arb_shm_slot *s;
	uint32_t count[VGPU_ARB_MAX_GPUS] = { 0 };
	uint32_t mask, i, gpu, idx = UINT32_MAX;
	uint64_t now;
	int rc;

	if (!arb || !d || !out)
		return -EINVAL;
	if (d->domid >= ARB_DOMID_LIMIT || d->priority > VGPUIF_PRIO_LOW ||
	    d->pool >= VGPU_ARB_MAX_POOLS || d->gpu_share_pct > 100 ||
	    d->gpu < -1 || d->gpu >= (int32_t)VGPU_ARB_MAX_GPUS)
		return -EINVAL;
	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	rc = arb_lock(arb);
	if (rc)
		goto out_free;
	arb_reap(arb);
	mask = arb_pool_mask(&shm->cfg, d->pool);
	if (!mask) {
		rc = -ENOENT;
		goto out_unlock;
	}
	if (d->gpu >= 0 && !(mask & (1u << d->gpu))) {
		rc = -EPERM;
		goto out_unlock;
	}
	for (i = 0; i < VGPU_ARB_MAX_SLOTS; i++) {
		s = &shm->slot[i];
		if (s->state != SLOT_ACTIVE) {
			if (idx == UINT32_MAX)
				idx = i;
			continue;
		}
		if (s->domid == d->domid && s->devid == d->devid) {
			rc = -EBUSY;  /* reap above kept it: its owner lives */
			goto out_unlock;
		}
		if (s->gpu < VGPU_ARB_MAX_GPUS)
			count[s->gpu]++;
	}
	if (idx == UINT32_MAX) {
		rc = -ENOSPC;
		goto out_unlock;
	}
	if (d->gpu >= 0) {
		gpu = (uint32_t)d->gpu;
	} else {
		gpu = UINT32_MAX;
		for (i = 0; i < shm->cfg.ngpus; i++)
			if ((mask & (1u << i)) &&
			    (gpu == UINT32_MAX || count[i] < count[gpu]))
				gpu = i;
	}
	now = arb_now(arb);
	s = &shm->slot[idx];
	{
		uint32_t gen = s->generation + 1;
		memset(s, 0, sizeof(*s));
		s->generation = gen;
	}
	s->pid = getpid();
	s->pid_start = arb_pid_start(s->pid);
	s->domid = d->domid;
	s->devid = d->devid;
	s->priority = d->priority;
	s->pool = d->pool;
	s->gpu = gpu;
	s->share_pct = d->gpu_share_pct;
	s->mem_quota = d->mem_quota;
	s->ctx_overhead = d->ctx_overhead;
	s->registered_ns = now;
	s->last_seen_ns = now;
	s->win_start_ns = now;
	s->state = SLOT_ACTIVE;  /* last: a torn registration stays free */
	slot->arb = arb;
	slot->index = idx;
	slot->generation = s->generation;
	arb_unlock(arb);
	*out = slot;
	return 0;

out_unlock:
	arb_unlock(arb);
out_free:
	free(slot);
	return rc;
}

void vgpu_arb_unregister(struct vgpu_arb_slot *slot)
{
	struct arb_shm_slot *s;

	if (!slot)
		return;
	if (arb_lock_slot(slot, &s) == 0) {
		arb_slot_clear(slot->arb->shm, slot->index);
		arb_rebuild(slot->arb);
		arb_unlock(slot->arb);
		arb_wake(slot->arb->shm);
	}
	free(slot);
}

int vgpu_arb_slot_gpu(const struct vgpu_arb_slot *slot)
{
	return (int)slot->arb->shm->slot[slot->index].gpu;
}

int vgpu_arb_set_priority(struct vgpu_arb_slot *slot, uint32_t prio)
{
	struct arb_shm_slot *s;
	int rc;

	if (prio > VGPUIF_PRIO_LOW)
		return -EINVAL;
	rc = arb_lock_slot(slot, &s);
	if (rc)
		return rc;
	s->priority = prio;
	arb_unlock(slot->arb);
	arb_wake(slot->arb->shm);
	return 0;
}

int vgpu_arb_set_quota(struct vgpu_arb_slot *slot, uint64_t mem_quota)
{
	struct arb_shm_slot *s;
	int rc = arb_lock_slot(slot, &s);

	if (rc)
		return rc;
	__atomic_store_n(&s->mem_quota, mem_quota, __ATOMIC_RELAXED);
	arb_unlock(slot->arb);
	return 0;
}

int vgpu_arb_set_overhead(struct vgpu_arb_slot *slot, uint64_t ctx_overhead)
{
	struct arb_shm_slot *s;
	int rc = arb_lock_slot(slot, &s);

	if (rc)
		return rc;
	__atomic_store_n(&s->ctx_overhead, ctx_overhead, __ATOMIC_RELAXED);
	arb_unlock(slot->arb);
	return 0;
}

int vgpu_arb_set_share(struct vgpu_arb_slot *slot, uint32_t pct)
{
	struct arb_shm_slot *s;
	int rc;

	if (pct > 100)
		return -EINVAL;
	rc = arb_lock_slot(slot, &s);
	if (rc)
		return rc;
	s->share_pct = pct;
	arb_unlock(slot->arb);
	arb_wake(slot->arb->shm);
	return 0;
}

/* ------------------------------------------------------------ the policy */

/* Effective class after aging; 0 (high) at best. */
static uint32_t arb_effective_class(const struct arb_shm *shm,
				    const struct arb_shm_slot *s,
				    const struct arb_shm_ticket *tk, uint64_t now)
{
	uint64_t waited = now > tk->enq_ns ? now - tk->enq_ns : 0;
	uint64_t steps;

	if (!shm->cfg.aging_ns)
		return s->priority;
	steps = waited / shm->cfg.aging_ns;
	return steps >= s->priority ? 0 : s->priority - (uint32_t)steps;
}

/* Over its GPU-time share in the current window? */
static bool arb_over_share(const struct arb_shm *shm,
			   const struct arb_shm_slot *s, uint64_t now)
{
	uint64_t win = shm->cfg.share_window_ns;

	if (!s->share_pct || now - s->win_start_ns >= win)
		return false;
	return s->win_gpu_ns * 100 > (uint64_t)s->share_pct * win;
}

/*
 * The ticket that gets the next free turn on `gpu`: smallest (over share,
 * effective class, seq). UINT32_MAX when none waits. Locked.
 */
enum { PICK_ALL, PICK_HIGH, PICK_LOW };

static uint32_t arb_pick_f(const struct arb_shm *shm, uint32_t gpu,
			   uint64_t now, int which)
{
	uint32_t best = UINT32_MAX, best_cls = 0, i;
	bool best_over = false;

	for (i = 0; i < VGPU_ARB_MAX_TICKETS; i++) {
		const struct arb_shm_ticket *tk = &shm->ticket[i];
		const struct arb_shm_slot *s;
		uint32_t cls;
		bool over;

		if (tk->state != TICKET_WAITING || tk->gpu != gpu ||
		    tk->slot >= VGPU_ARB_MAX_SLOTS)
			continue;
		s = &shm->slot[tk->slot];
		if ((which == PICK_HIGH && s->priority != VGPUIF_PRIO_HIGH) ||
		    (which == PICK_LOW && s->priority == VGPUIF_PRIO_HIGH))
			continue;
		cls = arb_effective_class(shm, s, tk, now);
		over = arb_over_share(shm, s, now);
		if (best != UINT32_MAX) {
			if (over != best_over) {
				if (over)
					continue;
			} else if (cls != best_cls) {
				if (cls > best_cls)
					continue;
			} else if (tk->seq > shm->ticket[best].seq) {
				continue;
			}
		}
		best = i;
		best_cls = cls;
		best_over = over;
	}
	return best;
}

/* Turns on `gpu` held by domains outside the high class. Locked. */
static uint32_t arb_nonhigh_in_use(const struct arb_shm *shm, uint32_t gpu)
{
	uint32_t i, n = 0;

	for (i = 0; i < VGPU_ARB_MAX_SLOTS; i++) {
		const struct arb_shm_slot *s = &shm->slot[i];
		if (s->state == SLOT_ACTIVE && s->gpu == gpu &&
		    s->priority != VGPUIF_PRIO_HIGH)
			n += s->held;
	}
	return n;
}

/* Only high-class domains may take the free turns of `gpu` now? Locked. */
static bool arb_high_only(const struct arb_shm *shm, uint32_t gpu)
{
	uint32_t reserve = shm->cfg.high_reserve;

	if (reserve >= shm->cfg.tokens)
		reserve = shm->cfg.tokens - 1;
	return reserve && arb_nonhigh_in_use(shm, gpu) >= shm->cfg.tokens - reserve;
}

/*
 * The low gap: may the classes below high not take a turn on `gpu` now
 * (a high domain is active there and the last turn outside the high
 * class was given less than low_gap_ns ago)? *until: when the gap ends.
 * Locked.
 */
static bool arb_low_gated(const struct arb_shm *shm, uint32_t gpu,
			  uint64_t now, uint64_t *until)
{
	const struct arb_shm_gpu *gp = &shm->gpu[gpu];
	uint64_t gap = shm->cfg.low_gap_ns;
	uint32_t i;

	if (!gap || !gp->low_grant_ns || now - gp->low_grant_ns >= gap)
		return false;
	for (i = 0; i < VGPU_ARB_MAX_SLOTS; i++) {
		const struct arb_shm_slot *s = &shm->slot[i];

		if (s->state != SLOT_ACTIVE || s->gpu != gpu ||
		    s->priority != VGPUIF_PRIO_HIGH)
			continue;
		if (s->held || __atomic_load_n(&s->queue, __ATOMIC_RELAXED) ||
		    now - __atomic_load_n(&s->last_seen_ns, __ATOMIC_RELAXED) <
		    VGPU_ARB_HIGH_WINDOW_NS) {
			if (until)
				*until = gp->low_grant_ns + gap;
			return true;
		}
	}
	return false;
}

/*
 * The ticket that gets the next free turn on `gpu` (the best waiter, among
 * the high class only while the others use up their share of the turns
 * or wait out the low gap), or UINT32_MAX: no free turn, or nobody may
 * take it. Locked.
 */
static uint32_t arb_pick(const struct arb_shm *shm, uint32_t gpu, uint64_t now)
{
	if (shm->gpu[gpu].in_use >= shm->cfg.tokens)
		return UINT32_MAX;
	return arb_pick_f(shm, gpu, now,
			  arb_high_only(shm, gpu) ||
			  arb_low_gated(shm, gpu, now, NULL) ? PICK_HIGH : PICK_ALL);
}

/* Only this slot's tickets wait on `gpu`? Locked. */
static bool arb_alone_waiting(const struct arb_shm *shm, uint32_t idx,
			      uint32_t gpu, uint32_t mine)
{
	uint32_t i;

	for (i = 0; i < VGPU_ARB_MAX_TICKETS; i++) {
		const struct arb_shm_ticket *tk = &shm->ticket[i];
		if (tk->state == TICKET_WAITING && tk->gpu == gpu && tk->slot != idx)
			return false;
	}
	(void)mine;
	return true;
}

/*
 * May ticket t (of slot idx) take a turn now? The best waiter, and a free
 * turn; or, for a domain alone on its GPU, a burst turn. Locked.
 */
static bool arb_may_grant(const struct arb_shm *shm, const struct arb_shm_slot *s,
			  uint32_t idx, uint32_t gpu, uint32_t t, uint64_t now)
{
	const struct arb_shm_gpu *gp = &shm->gpu[gpu];
	bool only_us = gp->waiting == 1;  /* our ticket is the only one */

	if (s->priority != VGPUIF_PRIO_HIGH && arb_low_gated(shm, gpu, now, NULL))
		return false;
	if (gp->in_use < shm->cfg.tokens) {
		if (only_us ? s->priority == VGPUIF_PRIO_HIGH ||
			      !arb_high_only(shm, gpu)
			    : arb_pick(shm, gpu, now) == t)
			return true;
	}
	/* Alone on the GPU: a burst turn (the reserve included). */
	return gp->in_use < shm->cfg.burst && s->held == gp->in_use &&
	       (only_us || arb_alone_waiting(shm, idx, gpu, t));
}

static void arb_ticket_drop(struct arb_shm *shm, uint32_t t)
{
	struct arb_shm_ticket *tk = &shm->ticket[t];

	tk->state = TICKET_FREE;
	if (tk->gpu < VGPU_ARB_MAX_GPUS && shm->gpu[tk->gpu].waiting)
		shm->gpu[tk->gpu].waiting--;
	if (shm->nwaiting)
		shm->nwaiting--;
}

static long arb_futex_wait(uint32_t *word, uint32_t val, uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};

	return syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
}

int vgpu_arb_acquire(struct vgpu_arb_slot *slot, uint64_t timeout_ns)
{
	return vgpu_arb_acquire_until(slot, timeout_ns, NULL, NULL);
}

int vgpu_arb_acquire_until(struct vgpu_arb_slot *slot, uint64_t timeout_ns,
			   bool (*stop)(void *arg), void *arg)
{
	struct vgpu_arb *arb = slot->arb;
	struct arb_shm *shm = arb->shm;
	struct arb_shm_slot *s;
	struct arb_shm_ticket *tk;
	uint64_t start = arb_mono_ns(), elapsed, nap, until = 0, gap_nap = 0;
	uint32_t t, seen, gpu, next, next_low;
	bool gated = false;
	int rc;

	rc = arb_lock_slot(slot, &s);
	if (rc)
		return rc;
	gpu = s->gpu;
	for (t = 0; t < VGPU_ARB_MAX_TICKETS; t++)
		if (shm->ticket[t].state == TICKET_FREE)
			break;
	if (t == VGPU_ARB_MAX_TICKETS) {
		arb_unlock(arb);
		return -ENOSPC;
	}
	tk = &shm->ticket[t];
	tk->slot = slot->index;
	tk->gpu = gpu;
	tk->pid = getpid();
	tk->seq = ++shm->ticket_seq;
	tk->enq_ns = arb_now(arb);
	tk->state = TICKET_WAITING;
	shm->gpu[gpu].waiting++;
	shm->nwaiting++;
	arb_touch(slot, s);

	for (;;) {
		uint64_t now = arb_now(arb);

		if (__atomic_load_n(&slot->cancel, __ATOMIC_ACQUIRE) ||
		    (stop && stop(arg))) {
			arb_ticket_drop(shm, t);
			arb_unlock(arb);
			arb_wake(shm);
			return -ECANCELED;
		}
		/* Our ticket may have been dropped by a repair (not ours). */
		if (s->state != SLOT_ACTIVE || s->generation != slot->generation ||
		    tk->state != TICKET_WAITING || tk->slot != slot->index) {
			arb_unlock(arb);
			return -ESTALE;
		}
		if (arb_may_grant(shm, s, slot->index, gpu, t, now)) {
			if (arb_effective_class(shm, s, tk, now) < s->priority)
				s->aged++;
			arb_ticket_drop(shm, t);
			if (!shm->gpu[gpu].in_use++)
				shm->gpu[gpu].busy_since = now;
			s->last_grant = ++shm->gpu[gpu].grants;
			s->held++;
			s->grants++;
			s->wait_ns += now > tk->enq_ns ? now - tk->enq_ns : 0;
			next_low = UINT32_MAX;
			if (s->priority != VGPUIF_PRIO_HIGH) {
				if (gated)
					shm->gpu[gpu].low_gated++;
				shm->gpu[gpu].low_grant_ns = now;
				/*
				 * The next low waiter in line times the end of
				 * the gap this grant opens (one waiter, not all).
				 */
				if (shm->cfg.low_gap_ns)
					next_low = arb_pick_f(shm, gpu, now, PICK_LOW);
			}
			/* Another turn may be free for the next in line. */
			next = arb_pick(shm, gpu, now);
			arb_unlock(arb);
			arb_wake_ticket(shm, next);
			if (next_low != next)
				arb_wake_ticket(shm, next_low);
			return 0;
		}
		/* Held back by the low gap: the best low waiter naps to its end. */
		gated = false;
		gap_nap = 0;
		if (s->priority != VGPUIF_PRIO_HIGH &&
		    arb_low_gated(shm, gpu, now, &until)) {
			gated = true;
			if (arb_pick_f(shm, gpu, now, PICK_LOW) == t)
				gap_nap = until > now ? until - now : 1;
		}
		elapsed = arb_mono_ns() - start;
		if (timeout_ns != VGPU_ARB_FOREVER && elapsed >= timeout_ns) {
			arb_ticket_drop(shm, t);
			/* We may have been in the way of the next in line. */
			next = arb_pick(shm, gpu, now);
			arb_unlock(arb);
			arb_wake_ticket(shm, next);
			return -ETIMEDOUT;
		}
		nap = VGPU_ARB_POLL_NS;
		if (timeout_ns != VGPU_ARB_FOREVER && timeout_ns - elapsed < nap)
			nap = timeout_ns - elapsed;
		/*
		 * Aging changes the order with time alone: wake up when the
		 * next promotion of any waiter could be due.
		 */
		if (shm->cfg.aging_ns && shm->cfg.aging_ns < nap)
			nap = shm->cfg.aging_ns;
		if (gap_nap && gap_nap < nap)
			nap = gap_nap;
		seen = __atomic_load_n(&tk->wake, __ATOMIC_ACQUIRE);
		arb_unlock(arb);
		if (arb_futex_wait(&tk->wake, seen, nap) < 0 &&
		    errno == ETIMEDOUT) {
			rc = arb_lock(arb);
			if (rc)
				return rc;  /* ticket is reaped with us */
			arb_reap(arb);  /* a dead turn holder? */
			continue;
		}
		rc = arb_lock(arb);
		if (rc)
			return rc;
	}
}

void vgpu_arb_cancel(struct vgpu_arb_slot *slot)
{
	__atomic_store_n(&slot->cancel, 1, __ATOMIC_RELEASE);
	/* Wake every waiter of the region; ours sees the flag. */
	arb_wake(slot->arb->shm);
}

int vgpu_arb_release(struct vgpu_arb_slot *slot, uint64_t gpu_ns)
{
	struct vgpu_arb *arb = slot->arb;
	struct arb_shm *shm = arb->shm;
	struct arb_shm_gpu *gp;
	struct arb_shm_slot *s;
	uint32_t next;
	uint64_t now;
	int rc;

	rc = arb_lock_slot(slot, &s);
	if (rc)
		return rc;
	if (!s->held) {
		arb_unlock(arb);
		return -EINVAL;
	}
	now = arb_now(arb);
	gp = &shm->gpu[s->gpu];
	s->held--;
	s->gpu_ns += gpu_ns;
	if (now - s->win_start_ns >= shm->cfg.share_window_ns) {
		s->win_start_ns = now;
		s->win_gpu_ns = 0;
	}
	s->win_gpu_ns += gpu_ns;
	if (gp->in_use && !--gp->in_use && now > gp->busy_since)
		gp->busy_ns += now - gp->busy_since;
	arb_touch(slot, s);
	/* Hand over: wake only the next in line, not the herd. */
	next = gp->waiting ? arb_pick(shm, s->gpu, now) : UINT32_MAX;
	if (next == UINT32_MAX && gp->waiting)      /* a burst waiter */
		next = arb_pick_f(shm, s->gpu, now,
				  arb_low_gated(shm, s->gpu, now, NULL) ?
				  PICK_HIGH : PICK_ALL);
	arb_unlock(arb);
	arb_wake_ticket(shm, next);
	return 0;
}

/* ---------------------------------------------------------- accounting */

static struct arb_shm_slot *arb_slot_nolock(struct vgpu_arb_slot *slot)
{
	struct arb_shm_slot *s = &slot->arb->shm->slot[slot->index];

	if (__atomic_load_n(&s->generation, __ATOMIC_ACQUIRE) != slot->generation)
		return NULL;
	return s;
}

int vgpu_arb_mem_reserve(struct vgpu_arb_slot *slot, uint64_t bytes)
{
	struct arb_shm_slot *s = arb_slot_nolock(slot);
	uint64_t used, quota, peak;

	if (!s || !bytes)
		return VGPUIF_RSP_EINVAL;
	arb_touch(slot, s);
	quota = __atomic_load_n(&s->mem_quota, __ATOMIC_RELAXED);
	used = __atomic_load_n(&s->mem_used, __ATOMIC_RELAXED);
	do {
		if (used + bytes < used || (quota && used + bytes > quota)) {
			__atomic_add_fetch(&s->quota_refusals, 1, __ATOMIC_RELAXED);
			return VGPUIF_RSP_EDQUOT;
		}
	} while (!__atomic_compare_exchange_n(&s->mem_used, &used, used + bytes,
					      false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	peak = __atomic_load_n(&s->mem_peak, __ATOMIC_RELAXED);
	while (used + bytes > peak &&
	       !__atomic_compare_exchange_n(&s->mem_peak, &peak, used + bytes,
					    false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	return 0;
}

int vgpu_arb_mem_release(struct vgpu_arb_slot *slot, uint64_t bytes)
{
	struct arb_shm_slot *s = arb_slot_nolock(slot);
	uint64_t used;

	if (!s)
		return -ESTALE;
	arb_touch(slot, s);
	used = __atomic_load_n(&s->mem_used, __ATOMIC_RELAXED);
	for (;;) {
		uint64_t next = bytes > used ? 0 : used - bytes;
		if (__atomic_compare_exchange_n(&s->mem_used, &used, next, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return bytes > used ? -EINVAL : 0;
	}
}

bool vgpu_arb_higher_active(struct vgpu_arb_slot *slot, uint64_t window_ns)
{
	struct arb_shm_slot *me = arb_slot_nolock(slot), *s;
	struct arb_shm *shm = slot->arb->shm;
	uint64_t now = arb_now(slot->arb);
	uint32_t prio, gpu;

	if (!me)
		return false;
	prio = __atomic_load_n(&me->priority, __ATOMIC_RELAXED);
	gpu = __atomic_load_n(&me->gpu, __ATOMIC_RELAXED);
	if (prio == VGPUIF_PRIO_HIGH)
		return false;
	/* A hint, read without the lock: every field is one aligned word. */
	for (uint32_t i = 0; i < VGPU_ARB_MAX_SLOTS; i++) {
		s = &shm->slot[i];
		if (s == me ||
		    __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_ACTIVE ||
		    __atomic_load_n(&s->gpu, __ATOMIC_RELAXED) != gpu ||
		    __atomic_load_n(&s->priority, __ATOMIC_RELAXED) >= prio)
			continue;
		if (__atomic_load_n(&s->held, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&s->queue, __ATOMIC_RELAXED) ||
		    now - __atomic_load_n(&s->last_seen_ns, __ATOMIC_RELAXED) <
		    window_ns)
			return true;
	}
	return false;
}

void vgpu_arb_set_queue(struct vgpu_arb_slot *slot, uint32_t n)
{
	struct arb_shm_slot *s = arb_slot_nolock(slot);

	if (s)
		__atomic_store_n(&s->queue, n, __ATOMIC_RELAXED);
}

void vgpu_arb_count(struct vgpu_arb_slot *slot, uint64_t requests,
		    uint64_t errors)
{
	struct arb_shm_slot *s = arb_slot_nolock(slot);

	if (!s)
		return;
	arb_touch(slot, s);
	__atomic_add_fetch(&s->requests, requests, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->errors, errors, __ATOMIC_RELAXED);
}

void vgpu_arb_count_refused(struct vgpu_arb_slot *slot, uint64_t n)
{
	struct arb_shm_slot *s = arb_slot_nolock(slot);

	if (!s || !n)
		return;
	arb_touch(slot, s);
	__atomic_add_fetch(&s->quota_refusals, n, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ snapshot */

static int arb_dom_cmp(const void *a, const void *b)
{
	const struct vgpu_arb_domain_info *x = a, *y = b;

	if (x->domid != y->domid)
		return x->domid < y->domid ? -1 : 1;
	return x->devid < y->devid ? -1 : x->devid > y->devid;
}

int vgpu_arb_snapshot(struct vgpu_arb *arb, struct vgpu_arb_snapshot *snap)
{
	struct arb_shm *shm = arb->shm;
	uint32_t g, i, t, n = 0;
	int rc;

	memset(snap, 0, sizeof(*snap));
	rc = arb_lock(arb);
	if (rc)
		return rc;
	snap->now_ns = arb_now(arb);
	snap->cfg = shm->cfg;
	snap->repairs = shm->repairs;
	snap->reaped = shm->reaped;
	snap->ngpus = shm->cfg.ngpus;
	for (g = 0; g < snap->ngpus; g++) {
		const struct arb_shm_gpu *gp = &shm->gpu[g];
		struct vgpu_arb_gpu_info *gi = &snap->gpu[g];

		gi->index = g;
		gi->tokens = shm->cfg.tokens;
		gi->in_use = gp->in_use;
		gi->waiting = gp->waiting;
		gi->busy_ns = gp->busy_ns;
		if (gp->in_use && snap->now_ns > gp->busy_since)
			gi->busy_ns += snap->now_ns - gp->busy_since;
		gi->grants = gp->grants;
		gi->low_gated = gp->low_gated;
	}
	for (i = 0; i < VGPU_ARB_MAX_SLOTS; i++) {
		const struct arb_shm_slot *s = &shm->slot[i];
		struct vgpu_arb_domain_info *di = &snap->dom[n];

		if (s->state != SLOT_ACTIVE || s->gpu >= snap->ngpus)
			continue;
		di->domid = s->domid;
		di->devid = s->devid;
		di->priority = s->priority;
		di->pool = s->pool;
		di->gpu = s->gpu;
		di->gpu_share_pct = s->share_pct;
		di->pid = s->pid;
		di->alive = arb_pid_alive(s->pid, s->pid_start);
		di->inflight = s->held;
		for (t = 0; t < VGPU_ARB_MAX_TICKETS; t++)
			if (shm->ticket[t].state == TICKET_WAITING &&
			    shm->ticket[t].slot == i)
				di->waiting++;
		di->mem_used = __atomic_load_n(&s->mem_used, __ATOMIC_RELAXED);
		di->mem_peak = __atomic_load_n(&s->mem_peak, __ATOMIC_RELAXED);
		di->mem_quota = __atomic_load_n(&s->mem_quota, __ATOMIC_RELAXED);
		di->ctx_overhead = __atomic_load_n(&s->ctx_overhead, __ATOMIC_RELAXED);
		di->requests = __atomic_load_n(&s->requests, __ATOMIC_RELAXED);
		di->errors = __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
		di->quota_refusals = __atomic_load_n(&s->quota_refusals,
						     __ATOMIC_RELAXED);
		di->gpu_ns = s->gpu_ns;
		di->grants = s->grants;
		di->wait_ns = s->wait_ns;
		di->aged = s->aged;
		di->last_grant = s->last_grant;
		di->queue = (uint32_t)__atomic_load_n(&s->queue, __ATOMIC_RELAXED);
		di->registered_ns = s->registered_ns;
		di->last_seen_ns = __atomic_load_n(&s->last_seen_ns,
						   __ATOMIC_RELAXED);
		if (di->alive)
			snap->gpu[s->gpu].domains++;
		n++;
	}
	arb_unlock(arb);
	snap->ndomains = n;
	qsort(snap->dom, n, sizeof(snap->dom[0]), arb_dom_cmp);
	return 0;
}

/* ----------------------------------------------------------- test hooks */

void vgpu_arb_debug_set_clock(struct vgpu_arb *arb,
			      uint64_t (*now)(void *arg), void *arg)
{
	arb->now = now;
	arb->now_arg = arg;
}

int vgpu_arb_debug_hold_lock(struct vgpu_arb *arb)
{
	return arb_lock(arb);
}

void vgpu_arb_debug_drop_lock(struct vgpu_arb *arb)
{
	arb_unlock(arb);
}
