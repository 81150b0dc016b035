/* SPDX-License-Identifier: MIT */
/*
 * launch-probe - where a mediated LAUNCH waits. One guest domain through a
 * real vgpu-backend (--executor cuda) over the loopback transport, driven
 * through vgpu.h (libvgpu's loopback transport), in a matrix of settings:
 *   kernel   vt_empty with no parameters, or vt_saxpy with its 24-byte
 *            parameter blob (inline in the request or in a segment, as
 *            libvgpu sends it);
 *   waiting  both ends with their defaults, both sleeping (vgpu-backend
 *            --poll-us 0, no frontend spin), or both polling (--poll-us
 *            P and a frontend spin of P);
 *   arbiter  on (a private region) or off (VGPU_ARB=off).
 * For each: the LAUNCH round trip (p50/p99) and the async rate with the
 * ring full, and for the async run, per thread of the backend and of its
 * GPU worker process, how often it went to sleep per op (voluntary context
 * switches) and how much CPU it used per op. A thread that sleeps once per
 * op is where a pipeline waits: each sleep costs a wake-up.
 * Not a test: prints a table; exit 0 when every op succeeded.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gpu-kernels.h"
#include "loopback.h"
#include "vgpu.h"

static const char usage_text[] =
"Usage: launch-probe --backend PATH [OPTIONS]\n"
"Profile a guest's LAUNCH through vgpu-backend (--executor cuda) over the\n"
"loopback transport: round trip and async rate, and per backend and GPU\n"
"worker thread the sleeps and CPU per op.\n"
"\n"
"  -b, --backend PATH   vgpu-backend to run (required)\n"
"  -n, --iters N        round trips per latency figure (default 3000)\n"
"  -a, --async N        ops per async figure (default 30000)\n"
"  -p, --poll-us US     the polling setting's window (default 50)\n"
"  -e, --executor E     the backend's executor (default cuda)\n"
"  -q, --quick          only the default settings (arbiter on)\n"
"  -h, --help           this text\n";

static const char *backend_path, *executor = "cuda";
static int iters = 3000, async_n = 30000, poll_us = 50;
static int failed;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ------------------------------------------------ per-thread counters */

struct tstat {
	int pid, tid;
	char comm[32];
	long vcsw;
	unsigned long long cpu;         /* utime + stime, clock ticks */
};

static int read_thread(int pid, int tid, struct tstat *t)
{
	char path[128], line[512];
	FILE *f;

	t->pid = pid;
	t->tid = tid;
	t->vcsw = 0;
	t->cpu = 0;
	t->comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Name:", 5))
			sscanf(line + 5, "%31s", t->comm);
		else if (!strncmp(line, "voluntary_ctxt_switches:", 24))
			t->vcsw = atol(line + 24);
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(line, sizeof(line), f)) {
			char *p = strrchr(line, ')');
			unsigned long long ut = 0, st = 0;

			/* fields after the name: state ... utime(14) stime(15) */
			if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
					"%*u %*u %llu %llu", &ut, &st) == 2)
				t->cpu = ut + st;
		}
		fclose(f);
	}
	return 0;
}

/* Every thread of pid and of its children (the GPU worker). */
static int snapshot(int pid, struct tstat *out, int max)
{
	int pids[16], np = 0, n = 0;
	char path[128];
	FILE *f;

	pids[np++] = pid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	if (f) {
		while (np < 16 && fscanf(f, "%d", &pids[np]) == 1)
			np++;
		fclose(f);
	}
	for (int k = 0; k < np; k++) {
		DIR *d;
		struct dirent *e;

		snprintf(path, sizeof(path), "/proc/%d/task", pids[k]);
		d = opendir(path);
		if (!d)
			continue;
		while ((e = readdir(d)) && n < max)
			if (e->d_name[0] != '.' &&
			    !read_thread(pids[k], atoi(e->d_name), &out[n]))
				n++;
		closedir(d);
	}
	return n;
}

static void print_profile(const struct tstat *a, int na, const struct tstat *b,
			  int nb, long ops)
{
	double tick_us = 1e6 / (double)sysconf(_SC_CLK_TCK);

	printf("    per op (async):");
	for (int i = 0; i < nb; i++) {
		long v0 = 0;
		unsigned long long c0 = 0;

		for (int j = 0; j < na; j++)
			if (a[j].tid == b[i].tid) {
				v0 = a[j].vcsw;
				c0 = a[j].cpu;
			}
		if (b[i].vcsw - v0 == 0 && b[i].cpu - c0 == 0)
			continue;
		printf(" %s %.2f sleeps %.1f us cpu;", b[i].comm,
		       (double)(b[i].vcsw - v0) / (double)ops,
		       (double)(b[i].cpu - c0) * tick_us / (double)ops);
	}
	printf("\n");
}

/* ------------------------------------------------------------ a guest */

struct world {
	char dir[256];
	pid_t backend;
	vgpu_t *v;
	uint64_t f_empty, f_saxpy, mem, addr;
};

enum waiting { W_DEFAULTS, W_SLEEPING, W_POLLING };

static void world_start(struct world *w, enum waiting wait, bool arbiter)
{
	char log[320], pus[16], dev[400];
	struct lb_world *lw;
	uint64_t mod;

	snprintf(w->dir, sizeof(w->dir), "%s/vgpu-launch-probe-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(w->dir) || !(lw = lb_world_open(w->dir, true)) ||
	    lb_domain_create_ex(lw, 1, LB_DOMAIN_PERSISTENT, 256ull << 20) ||
	    lb_attach_device(lw, 1, 0, NULL, 0, 0)) {
		perror("launch-probe: loopback world");
		exit(1);
	}
	lb_world_close(lw);
	snprintf(log, sizeof(log), "%s/backend.log", w->dir);
	snprintf(pus, sizeof(pus), "%d", wait == W_POLLING ? poll_us : 0);
	w->backend = fork();
	if (w->backend == 0) {
		if (arbiter)
			setenv("VGPU_ARB_NAME", "vgpu-launch-probe", 1);
		else
			setenv("VGPU_ARB", "off", 1);
		if (wait == W_DEFAULTS)
			execl(backend_path, backend_path, "--domid", "1",
			      "--transport", "loopback", "--loopback-dir", w->dir,
			      "--executor", executor, "--foreground",
			      "--log-file", log, (char *)NULL);
		else
			execl(backend_path, backend_path, "--domid", "1",
			      "--transport", "loopback", "--loopback-dir", w->dir,
			      "--executor", executor, "--foreground",
			      "--log-file", log, "--poll-us", pus, (char *)NULL);
		_exit(127);
	}
	/* The frontend: its defaults, or no spin, or a spin of poll_us. */
	unsetenv("VGPU_LOOPFRONT_SPIN_US");
	if (wait == W_DEFAULTS)
		snprintf(dev, sizeof(dev), "loopback:%s?domid=1", w->dir);
	else
		snprintf(dev, sizeof(dev), "loopback:%s?domid=1&spin_us=%d", w->dir,
			 wait == W_POLLING ? poll_us : 0);
	if (vgpu_open(dev, &w->v)) {
		fprintf(stderr, "launch-probe: %s\n", vgpu_open_error());
		exit(1);
	}
	if (vgpu_mem_alloc(w->v, 1 << 20, &w->mem, &w->addr) ||
	    vgpu_module_load(w->v, vt_kernels_ptx, sizeof(vt_kernels_ptx),
			     VGPU_MODULE_PTX, NULL, 0, &mod, NULL) ||
	    vgpu_func_get(w->v, mod, "vt_empty", &w->f_empty, NULL) ||
	    vgpu_func_get(w->v, mod, "vt_saxpy", &w->f_saxpy, NULL)) {
		fprintf(stderr, "launch-probe: setup: %s\n", vgpu_error(w->v));
		exit(1);
	}
}

static void world_stop(struct world *w)
{
	char cmd[400];
	int st;

	vgpu_close(w->v);
	kill(w->backend, SIGTERM);
	waitpid(w->backend, &st, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	if (system(cmd))
		fprintf(stderr, "launch-probe: could not remove %s\n", w->dir);
}

/*
 * One configuration: launch + sync round trips (vgpu_launch queues, then
 * vgpu_sync waits: the "launch + sync"), then async_n launches
 * queued back to back and one sync (the ring stays full).
 */
static void run(struct world *w, bool seg, const char *label)
{
	static const uint32_t one[3] = { 1, 1, 1 };
	struct { uint64_t y, x; float a; uint32_t n; } prm = { w->addr, w->addr, 1.0f, 1 };
	uint64_t f = seg ? w->f_saxpy : w->f_empty;
	const void *p = seg ? &prm : NULL;
	size_t plen = seg ? sizeof(prm) : 0;
	double *lat = calloc((size_t)iters, sizeof(double)), t0, rate;
	struct tstat s0[64], s1[64];
	int n0, n1, st;

	for (int i = -200; i < iters; i++) {
		double t = now_us();

		st = vgpu_launch(w->v, f, one, one, 0, p, plen);
		if (!st)
			st = vgpu_sync(w->v);
		if (st) {
			fprintf(stderr, "launch-probe: LAUNCH: %s\n", vgpu_error(w->v));
			failed = 1;
			free(lat);
			return;
		}
		if (i >= 0)
			lat[i] = now_us() - t;
	}
	qsort(lat, (size_t)iters, sizeof(double), cmp_double);
	n0 = snapshot(w->backend, s0, 64);
	t0 = now_us();
	for (int i = 0; i < async_n && !st; i++)
		st = vgpu_launch(w->v, f, one, one, 0, p, plen);
	if (!st)
		st = vgpu_sync(w->v);
	rate = (double)async_n / ((now_us() - t0) / 1e6);
	n1 = snapshot(w->backend, s1, 64);
	if (st) {
		fprintf(stderr, "launch-probe: async: %s\n", vgpu_error(w->v));
		failed = 1;
	}
	printf("  %-40s launch+sync p50 %7.1f p99 %7.1f us | async %7.1f K/s\n",
	       label, lat[iters / 2], lat[iters * 99 / 100], rate / 1e3);
	print_profile(s0, n0, s1, n1, async_n);
	free(lat);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "iters", required_argument, NULL, 'n' },
		{ "async", required_argument, NULL, 'a' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "executor", required_argument, NULL, 'e' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool quick = false;
	int c;

	while ((c = getopt_long(argc, argv, "b:n:a:p:e:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'b': backend_path = optarg; break;
		case 'n': iters = atoi(optarg); break;
		case 'a': async_n = atoi(optarg); break;
		case 'p': poll_us = atoi(optarg); break;
		case 'e': executor = optarg; break;
		case 'q': quick = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (!backend_path || iters < 100 || async_n < 1000 || poll_us < 1) {
		fputs(usage_text, stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# launch-probe: one guest, vgpu-backend --executor %s, loopback\n",
	       executor);
	for (int wait = W_DEFAULTS; wait <= W_POLLING; wait++)
		for (int arb = 1; arb >= 0; arb--) {
			static const char *const names[] = {
				"both ends with their defaults",
				"both ends sleeping (poll-us 0)",
				"both ends polling",
			};
			struct world w;
			char l[128];

			if (quick && (wait != W_DEFAULTS || !arb))
				continue;
			printf("%s, arbiter %s:\n", names[wait], arb ? "on" : "off");
			world_start(&w, (enum waiting)wait, arb);
			snprintf(l, sizeof(l), "vt_empty, no parameters");
			run(&w, false, l);
			snprintf(l, sizeof(l), "vt_saxpy, 24 bytes of parameters");
			run(&w, true, l);
			world_stop(&w);
			shm_unlink("/vgpu-launch-probe.v5");
		}
	printf("RESULT: %s\n", failed ? "some ops FAILED" : "all ops succeeded");
	return failed;
}
