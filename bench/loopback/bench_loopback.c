/* SPDX-License-Identifier: MIT */
/*
 * bench_loopback.c - vgpu-backend benchmarks over the loopback transport:
 * NOP round trip, small-op throughput with the ring full (async MEMSETs)
 * and with several threads on one handle, 1/2/7 guests at once,
 * MEMCPY_H2D bandwidth from host memory (vgpu_host_alloc, no bounce copy)
 * and from ordinary memory (bounced), with and without persistent grants,
 * and the backend's grant map calls in the steady state.
 *
 * It plays toolstack (a loopback world in a temporary directory, one guest
 * domain per guest, a device attached to each), starts one real
 * vgpu-backend per domain (cpu executor unless --executor says otherwise)
 * and drives each through libvgpu (vgpu.h) on the loopback transport, as
 * any guest program would. Results are printed as a Markdown table for
 * docs/performance.md. Numbers, not assertions: this is not a test.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"
#include "vgpu.h"

enum tp_kind { TP_NOP_THREADS, TP_MEMSET_ASYNC };

struct guest {
	uint32_t domid;
	pid_t backend;
	char log[512];
	vgpu_t *v;
	uint64_t mem;
	/* throughput run */
	double seconds;
	unsigned int depth;     /* NOP: threads; MEMSET: ops between SYNCs */
	enum tp_kind kind;
	uint64_t ops;
	double ops_per_s;
};

static char world_dir[256], conf_path[300];
static const char *backend_path, *executor = "cpu", *poll_us = "auto";
static struct lb_world *W;
static bool quick;
static const char *only;
static pthread_barrier_t barrier;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void guest_start(struct guest *g, uint32_t domid, bool persistent)
{
	char dom[16], dev[400];
	pid_t pid;
	int r;

	memset(g, 0, sizeof(*g));
	g->domid = domid;
	snprintf(g->log, sizeof(g->log), "%s/backend-%u.log", world_dir, domid);
	r = lb_domain_create_ex(W, domid, LB_DOMAIN_PERSISTENT, 512ull << 20);
	if (r) {
		errno = -r;
		die("lb_domain_create");
	}
	r = lb_attach_device(W, domid, 0, NULL, 0, 0);
	if (r) {
		errno = -r;
		die("lb_attach_device");
	}
	snprintf(dom, sizeof(dom), "%u", domid);
	pid = fork();
	if (pid == 0) {
		execl(backend_path, backend_path, "--domid", dom, "--transport",
		      "loopback", "--loopback-dir", world_dir, "--config",
		      conf_path, "--executor", executor, "--foreground",
		      "--log-file", g->log, "--poll-us", poll_us, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		die("fork");
	g->backend = pid;
	snprintf(dev, sizeof(dev), "loopback:%s?domid=%u&persistent=%d", world_dir,
		 domid, persistent ? 1 : 0);
	if (vgpu_open(dev, &g->v)) {
		fprintf(stderr, "bench: dom%u: %s\n", domid, vgpu_open_error());
		exit(1);
	}
	if (vgpu_mem_alloc(g->v, 64ull << 20, &g->mem, NULL)) {
		fprintf(stderr, "bench: dom%u: %s\n", domid, vgpu_error(g->v));
		exit(1);
	}
}

static void guest_stop(struct guest *g)
{
	int st;

	vgpu_close(g->v);
	kill(g->backend, SIGTERM);
	waitpid(g->backend, &st, 0);
	lb_domain_destroy(W, g->domid);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void bench_nop(void)
{
	unsigned int n = quick ? 20000 : 200000, i;
	double *lat = malloc(n * sizeof(double)), sum = 0;
	struct guest g;

	guest_start(&g, 1, true);
	for (i = 0; i < 2000; i++)
		vgpu_nop(g.v, NULL);
	for (i = 0; i < n; i++) {
		double t0 = now_s();

		if (vgpu_nop(g.v, NULL)) {
			fprintf(stderr, "bench: NOP failed: %s\n", vgpu_error(g.v));
			exit(1);
		}
		lat[i] = (now_s() - t0) * 1e6;
		sum += lat[i];
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("| NOP round trip, 1 guest | %u calls | p50 %.1f us, p99 %.1f us, mean %.1f us |\n",
	       n, lat[n / 2], lat[(size_t)n * 99 / 100], sum / n);
	free(lat);
	guest_stop(&g);
}

/* One of depth threads sharing g's handle: sync NOPs until t1. */
struct nop_thread {
	struct guest *g;
	double t1;
	uint64_t ops;
};

static void *nop_thread(void *arg)
{
	struct nop_thread *n = arg;

	while (now_s() < n->t1) {
		for (int i = 0; i < 64; i++) {
			if (vgpu_nop(n->g->v, NULL)) {
				fprintf(stderr, "bench: NOP: %s\n", vgpu_error(n->g->v));
				exit(1);
			}
		}
		n->ops += 64;
	}
	return NULL;
}

/*
 * For g->seconds: NOP from g->depth threads on one handle (that many
 * requests in flight), or async MEMSETs, g->depth between SYNCs (the ring
 * stays full: a queued op waits only for room).
 */
static void *throughput(void *arg)
{
	struct guest *g = arg;
	double t0, t1;
	uint64_t done = 0;

	pthread_barrier_wait(&barrier);
	t0 = now_s();
	t1 = t0 + g->seconds;
	if (g->kind == TP_NOP_THREADS) {
		struct nop_thread nt[64];
		pthread_t th[64];
		unsigned int n = g->depth > 64 ? 64 : g->depth;

		for (unsigned int i = 0; i < n; i++) {
			nt[i] = (struct nop_thread){ g, t1, 0 };
			pthread_create(&th[i], NULL, nop_thread, &nt[i]);
		}
		for (unsigned int i = 0; i < n; i++) {
			pthread_join(th[i], NULL);
			done += nt[i].ops;
		}
	} else {
		while (now_s() < t1) {
			for (unsigned int i = 0; i < g->depth; i++) {
				if (vgpu_memset(g->v, g->mem, (i % 1024) * 64, 1, 4, 64)) {
					fprintf(stderr, "bench: memset: %s\n", vgpu_error(g->v));
					exit(1);
				}
			}
			if (vgpu_sync(g->v)) {
				fprintf(stderr, "bench: sync: %s\n", vgpu_error(g->v));
				exit(1);
			}
			done += g->depth;
		}
	}
	t1 = now_s();
	g->ops = done;
	g->ops_per_s = (double)done / (t1 - t0);
	return NULL;
}

static void bench_throughput(unsigned int nguests, enum tp_kind kind, unsigned int depth)
{
	struct guest *g = calloc(nguests, sizeof(*g));
	pthread_t *th = calloc(nguests, sizeof(*th));
	double total = 0, min = 1e30;
	unsigned int i;

	for (i = 0; i < nguests; i++) {
		guest_start(&g[i], 10 + i, true);
		g[i].seconds = quick ? 1.0 : 3.0;
		g[i].depth = depth;
		g[i].kind = kind;
	}
	pthread_barrier_init(&barrier, NULL, nguests);
	for (i = 0; i < nguests; i++)
		pthread_create(&th[i], NULL, throughput, &g[i]);
	for (i = 0; i < nguests; i++) {
		pthread_join(th[i], NULL);
		total += g[i].ops_per_s;
		if (g[i].ops_per_s < min)
			min = g[i].ops_per_s;
	}
	pthread_barrier_destroy(&barrier);
	printf("| %s %u, %u guest%s | %.1f s | %.0f ops/s total, %.0f ops/s per guest (slowest %.0f) |\n",
	       kind == TP_NOP_THREADS ? "NOP, threads on one handle:" :
	       "MEMSET 64 B async, SYNC every", depth, nguests,
	       nguests > 1 ? "s" : "", g[0].seconds, total, total / nguests, min);
	for (i = 0; i < nguests; i++)
		guest_stop(&g[i]);
	free(g);
	free(th);
}

/* The backend's counters, through SIGUSR1 and its log. */
static long long map_calls(struct guest *g)
{
	char line[2048], *p;
	long long v = -1;
	FILE *fp;
	int tries;

	for (tries = 0; tries < 200; tries++) {
		long long last = -1;
		int lines = 0;

		fp = fopen(g->log, "r");
		if (!fp)
			return -1;
		while (fgets(line, sizeof(line), fp))
			if ((p = strstr(line, "map calls "))) {
				last = atoll(p + 10);
				lines++;
			}
		fclose(fp);
		if (tries == 0) {
			kill(g->backend, SIGUSR1);
			v = lines;
			usleep(2000);
			continue;
		}
		if (lines > v)
			return last;
		usleep(5000);
	}
	return -1;
}

/*
 * MEMCPY_H2D from host memory (guest pages already: no copy in the guest)
 * or, with !host, from ordinary memory (bounced through guest buffers).
 */
static void bench_h2d(bool persistent, bool host)
{
	static const size_t sizes[] = { 4096, 65536, 1 << 20, 16 << 20, 64 << 20 };
	struct guest g;
	unsigned int s;
	void *b;

	guest_start(&g, 30 + persistent + 2 * host, persistent);
	if (host) {
		if (vgpu_host_alloc(g.v, 64 << 20, &b))
			die("vgpu_host_alloc");
	} else {
		b = malloc(64 << 20);
		if (!b)
			die("malloc");
	}
	memset(b, 0x3c, 64 << 20);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t sz = sizes[s];
		unsigned int reps = (unsigned int)((quick ? 256ull << 20 : 1024ull << 20) / sz);
		long long m0, m1;
		double t0, t;
		unsigned int i;

		if (reps < 8)
			reps = 8;
		if (reps > 20000)
			reps = 20000;
		/* Warm up: the persistent cache fills here. */
		for (i = 0; i < 4; i++)
			vgpu_memcpy_h2d(g.v, g.mem, 0, b, sz);
		m0 = map_calls(&g);
		t0 = now_s();
		for (i = 0; i < reps; i++) {
			if (vgpu_memcpy_h2d(g.v, g.mem, 0, b, sz)) {
				fprintf(stderr, "bench: h2d: %s\n", vgpu_error(g.v));
				exit(1);
			}
		}
		t = now_s() - t0;
		m1 = map_calls(&g);
		printf("| MEMCPY_H2D %zu KiB from %s memory, persistent grants %s | %u copies | %.2f GB/s, %.1f us per copy, backend grant map calls %.2f per copy |\n",
		       sz >> 10, host ? "host (vgpu_host_alloc)" : "ordinary",
		       persistent ? "on" : "off", reps,
		       (double)sz * reps / t / 1e9, t / reps * 1e6,
		       m0 < 0 || m1 < 0 ? -1.0 : (double)(m1 - m0) / reps);
	}
	if (host)
		vgpu_host_free(g.v, b);
	else
		free(b);
	guest_stop(&g);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "executor", required_argument, NULL, 'e' },
		{ "quick", no_argument, NULL, 'q' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char cmd[600];
	int c, fd;

	while ((c = getopt_long(argc, argv, "b:e:qp:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': poll_us = optarg; break;
		case 'o': only = optarg; break;
		case 'b': backend_path = optarg; break;
		case 'e': executor = optarg; break;
		case 'q': quick = true; break;
		default:
			printf("Usage: vgpu-bench-loopback --backend PATH [--executor cpu|cuda|auto]\n"
			       "       [--quick] [--poll-us US] [--only nop|ops|guests|h2d]\n"
			       "--poll-us (auto, or microseconds) is passed to each vgpu-backend.\n"
			       "Benchmarks vgpu-backend over the loopback transport and prints a\n"
			       "Markdown table, every guest a libvgpu handle on the loopback\n"
			       "transport: NOP round trip (p50/p99), NOP from 4 threads on one\n"
			       "handle, async MEMSET throughput (256 and 4096 between SYNCs), 1, 2\n"
			       "and 7 guests at once, MEMCPY_H2D bandwidth 4 KiB..64 MiB from host\n"
			       "memory (vgpu_host_alloc) and from ordinary memory, with and without\n"
			       "persistent grants, and the backend's grant map calls per copy.\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!backend_path || access(backend_path, X_OK)) {
		fprintf(stderr, "bench: --backend PATH to vgpu-backend is required\n");
		return 2;
	}
	snprintf(world_dir, sizeof(world_dir), "%s/vgpu-bench-XXXXXX",
		 world_base());
	if (!mkdtemp(world_dir))
		die("mkdtemp");
	snprintf(conf_path, sizeof(conf_path), "%s/backend.conf", world_dir);
	fd = creat(conf_path, 0600);
	if (fd < 0)
		die(conf_path);
	close(fd);
	setenv("VGPU_ARB", "off", 0);
	W = lb_world_open(world_dir, true);
	if (!W)
		die("lb_world_open");

	printf("| benchmark | size | result |\n| --- | --- | --- |\n");
	if (!only || !strcmp(only, "nop"))
		bench_nop();
	if (!only || !strcmp(only, "ops")) {
		bench_throughput(1, TP_NOP_THREADS, 4);
		bench_throughput(1, TP_MEMSET_ASYNC, 256);
		bench_throughput(1, TP_MEMSET_ASYNC, 4096);
	}
	if (!only || !strcmp(only, "guests")) {
		bench_throughput(1, TP_MEMSET_ASYNC, 256);
		bench_throughput(2, TP_MEMSET_ASYNC, 256);
		bench_throughput(7, TP_MEMSET_ASYNC, 256);
	}
	if (!only || !strcmp(only, "h2d")) {
		bench_h2d(true, true);
		bench_h2d(true, false);
		bench_h2d(false, true);
		bench_h2d(false, false);
	}

	lb_world_close(W);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", world_dir);
	if (system(cmd))
		fprintf(stderr, "bench: could not remove %s\n", world_dir);
	return 0;
}
