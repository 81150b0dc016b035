/*
 * arb-bench - the arbiter under load, with real vgpu-backend processes over
 * the loopback transport (cpu executor here, cuda executor on a GPU).
 *
 * Scenarios (docs/performance.md, "Arbiter"):
 *   priority  one high-priority domain issues one op at a time (a latency
 *             probe): first alone, then while six low-priority domains keep
 *             the GPU saturated (each with --depth ops outstanding). Reports
 *             the high domain's p50/p99 round trip both ways and the ratio
 *             (target: contended p99 within 1.5x solo p99).
 *   fair      seven medium-priority domains, each with --depth ops
 *             outstanding; reports each one's ops/s and GPU-time share
 *             against a fair share of 1/7 (target: each within 10 %).
 * The op is a MEMSET of --bytes on a per-domain allocation: on the GPU a
 * cuMemsetD8Async of known size, on the cpu executor a host memset plus
 * --cpu-op-delay-us.
 *
 * Each domain is a guest program: it reaches its backend through vgpu.h
 * (libvgpu's loopback transport), one handle per domain. An op outstanding
 * is a thread with a stream of its own that queues the memset on it and
 * waits for it (vgpu_memset_async, vgpu_stream_sync: a CUDA program's
 * cudaMemsetAsync + cudaStreamSynchronize); --depth threads keep that many
 * ops in flight. The bench plays toolstack (tests/integration/tfront.c:
 * the world, the domains, their backends), never frontend.
 * Not a test: nothing here asserts.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arbiter.h"
#include "tfront.h"
#include "vgpu.h"

#define NDOM 7
#define MAX_LAT (1u << 21)
#define MAX_DEPTH 12

static const char usage_text[] =
"Usage: arb-bench [OPTIONS]\n"
"Benchmark the dom0 arbiter with real vgpu-backend processes over the\n"
"loopback transport, each domain driven through libvgpu (vgpu.h) as a\n"
"guest program: priority (1 high + 6 low domains) and fairness\n"
"(7 equal domains). Needs VGPU_BACKEND=path/to/vgpu-backend.\n"
"\n"
"Options:\n"
"  --executor cpu|cuda   backend executor (default cpu)\n"
"  --gpu N               CUDA ordinal for cuda (default 0)\n"
"  --cpu-op-delay-us US  cpu executor: time per op (default 200)\n"
"  --bytes N             MEMSET size per op (default 4096 for cpu,\n"
"                        16777216 for cuda)\n"
"  --seconds S           measured time per phase (default 5)\n"
"  --warmup-ms MS        unmeasured time before each phase (default 500)\n"
"  --depth D             ops each loaded domain keeps outstanding, one\n"
"                        thread and stream each (1..12, default 4)\n"
"  --tokens N            arbiter turns per GPU (default 2)\n"
"  --high-reserve N      of which only high-priority domains may take\n"
"                        (default 1)\n"
"  --aging-ms MS         arbiter aging period (default 200; 0 = off)\n"
"  --low-gap-us US       arbiter low gap: while the high domain is active,\n"
"                        one turn per US for the others (default: the\n"
"                        arbiter's, VGPU_ARB_LOW_GAP_US)\n"
"  --poll-us US|auto     every backend's --poll-us (default: its own)\n"
"  --scenario NAME       priority, fair or all (default all)\n"
"  -h, --help            this text\n"
"Output: one block per scenario, then markdown table rows for\n"
"docs/performance.md. Exit status: 0 done, 1 setup failed, 2 bad usage.\n";

struct opts {
	const char *executor;
	const char *gpu;
	const char *delay_us;
	uint64_t bytes;
	double seconds;
	int warmup_ms;
	int depth;
	const char *tokens, *high_reserve, *aging_ms;
	const char *low_gap_us, *poll_us;
	const char *scenario;
};

static struct opts O = {
	.executor = "cpu", .gpu = "0", .delay_us = "200", .bytes = 0,
	.seconds = 5, .warmup_ms = 500, .depth = 4, .tokens = "2",
	.high_reserve = "1",
	.aging_ms = "200", .scenario = "all",
};

static struct tf_world W;
static char g_region[64];
static struct vgpu_arb *g_arb;

struct dom_run;

/* One op outstanding: a thread and its stream. */
struct dom_slot {
	struct dom_run *r;
	pthread_t thr;
	uint64_t stream;
	bool running;
};

struct dom_run {
	struct tf_dom d;        /* toolstack: the domain and its backend */
	uint32_t domid;
	vgpu_t *v;              /* the guest's handle                    */
	uint64_t mem;
	int depth;
	struct dom_slot slot[MAX_DEPTH];
	pthread_mutex_t lock;   /* the results below                     */
	uint64_t ops, errors;
	uint64_t *lat;          /* ns, measured ops only */
	uint32_t nlat;
	uint64_t gpu_ns0, gpu_ns1;
	/* the arbiter's figures over the measured time (phase start, end) */
	uint64_t grants[2], wait_ns[2], exec_ns[2];
	bool lock_init;
};

static volatile int g_stop, g_measure;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int dom_up(struct dom_run *r, uint32_t domid, const char *prio, int depth)
{
	struct tf_dom *d = &r->d;
	char dev[400];
	int n = 0, i;

	memset(r, 0, sizeof(*r));
	r->domid = domid;
	r->depth = depth;
	pthread_mutex_init(&r->lock, NULL);
	r->lock_init = true;
	d->tw = &W;
	d->domid = domid;
	d->ring_gref = -1;
	d->port = -1;
	snprintf(d->log, sizeof(d->log), "%s/backend-%u.log", W.dir, domid);
	snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/vgpu/0", domid);
	snprintf(d->be, sizeof(d->be), "/local/domain/0/backend/vgpu/%u/0", domid);
	if (lb_domain_create(W.w, domid) || lb_attach_device(W.w, domid, 0, prio, 0, 0))
		return -1;
	d->xs = lb_xs_open(W.w, domid);
	if (!d->xs)
		return -1;
	d->extra[n++] = "--executor";
	d->extra[n++] = O.executor;
	d->extra[n++] = "--log-level";
	d->extra[n++] = "info";
	if (O.poll_us) {
		d->extra[n++] = "--poll-us";
		d->extra[n++] = O.poll_us;
	}
	if (!strcmp(O.executor, "cuda")) {
		d->extra[n++] = "--gpu";
		d->extra[n++] = O.gpu;
	} else {
		d->extra[n++] = "--cpu-op-delay-us";
		d->extra[n++] = O.delay_us;
	}
	if (tf_backend_start(d) < 0 || tf_wait_be_state(d, 2)) {
		fprintf(stderr, "arb-bench: domain %u: its backend did not start (see %s)\n",
			domid, d->log);
		return -1;
	}
	snprintf(dev, sizeof(dev), "loopback:%s?domid=%u", W.dir, domid);
	if (vgpu_open(dev, &r->v)) {
		fprintf(stderr, "arb-bench: domain %u: %s (see %s)\n", domid,
			vgpu_open_error(), d->log);
		return -1;
	}
	if (vgpu_mem_alloc(r->v, O.bytes, &r->mem, NULL)) {
		fprintf(stderr, "arb-bench: domain %u: %s\n", domid, vgpu_error(r->v));
		return -1;
	}
	for (i = 0; i < depth; i++) {
		r->slot[i].r = r;
		if (vgpu_stream_create(r->v, VGPU_STREAM_NON_BLOCKING, 0, &r->slot[i].stream)) {
			fprintf(stderr, "arb-bench: domain %u: %s\n", domid, vgpu_error(r->v));
			return -1;
		}
	}
	r->lat = malloc(MAX_LAT * sizeof(uint64_t));
	return r->lat ? 0 : -1;
}

static void dom_down(struct dom_run *r)
{
	free(r->lat);
	r->lat = NULL;
	vgpu_close(r->v);       /* its streams and memory go with it */
	r->v = NULL;
	tf_dom_destroy(&r->d);
	if (r->lock_init)
		pthread_mutex_destroy(&r->lock);
	r->lock_init = false;
}

/* Closed loop: one memset in flight on this slot's stream until told to stop. */
static void *slot_main(void *arg)
{
	struct dom_slot *sl = arg;
	struct dom_run *r = sl->r;
	uint32_t value = 0;

	while (!g_stop) {
		uint64_t t0 = now_ns(), t1;
		int st = vgpu_memset_async(r->v, sl->stream, r->mem, 0, value++ & 0xff, 1,
					   O.bytes);

		if (!st)
			st = vgpu_stream_sync(r->v, sl->stream);
		t1 = now_ns();
		pthread_mutex_lock(&r->lock);
		if (st) {
			if (!r->errors)
				fprintf(stderr, "arb-bench: domain %u: %s\n", r->domid,
					vgpu_error(r->v));
			r->errors++;
		} else if (g_measure) {
			r->ops++;
			if (r->nlat < MAX_LAT)
				r->lat[r->nlat++] = t1 - t0;
		}
		pthread_mutex_unlock(&r->lock);
		if (st)
			break;
	}
	return NULL;
}

static uint64_t aged_of(uint32_t domid)
{
	static struct vgpu_arb_snapshot s;

	if (vgpu_arb_snapshot(g_arb, &s))
		return 0;
	for (uint32_t i = 0; i < s.ndomains; i++)
		if (s.dom[i].domid == domid)
			return s.dom[i].aged;
	return 0;
}

static uint64_t gpu_ns_of(uint32_t domid)
{
	static struct vgpu_arb_snapshot s;

	if (vgpu_arb_snapshot(g_arb, &s))
		return 0;
	for (uint32_t i = 0; i < s.ndomains; i++)
		if (s.dom[i].domid == domid)
			return s.dom[i].gpu_ns;
	return 0;
}

/* The arbiter's grants, wait and GPU (executor) time of domid, into k. */
static void figures_of(struct dom_run *r, int k)
{
	static struct vgpu_arb_snapshot s;

	r->grants[k] = r->wait_ns[k] = r->exec_ns[k] = 0;
	if (vgpu_arb_snapshot(g_arb, &s))
		return;
	for (uint32_t i = 0; i < s.ndomains; i++)
		if (s.dom[i].domid == r->domid) {
			r->grants[k] = s.dom[i].grants;
			r->wait_ns[k] = s.dom[i].wait_ns;
			r->exec_ns[k] = s.dom[i].gpu_ns;
		}
}

static uint64_t low_gated_now(void)
{
	static struct vgpu_arb_snapshot s;

	return vgpu_arb_snapshot(g_arb, &s) ? 0 : s.gpu[0].low_gated;
}

/* Run the domains that have a depth for warmup + seconds. */
static double run_phase(struct dom_run *doms, unsigned int n)
{
	uint64_t t0, t1;

	g_stop = 0;
	g_measure = 0;
	for (unsigned int i = 0; i < n; i++) {
		doms[i].ops = doms[i].errors = 0;
		doms[i].nlat = 0;
		for (int k = 0; k < doms[i].depth; k++)
			doms[i].slot[k].running = pthread_create(&doms[i].slot[k].thr, NULL,
								 slot_main,
								 &doms[i].slot[k]) == 0;
	}
	usleep((useconds_t)O.warmup_ms * 1000);
	for (unsigned int i = 0; i < n; i++) {
		doms[i].gpu_ns0 = gpu_ns_of(doms[i].domid);
		figures_of(&doms[i], 0);
	}
	t0 = now_ns();
	g_measure = 1;
	usleep((useconds_t)(O.seconds * 1e6));
	g_measure = 0;
	t1 = now_ns();
	for (unsigned int i = 0; i < n; i++) {
		doms[i].gpu_ns1 = gpu_ns_of(doms[i].domid);
		figures_of(&doms[i], 1);
	}
	g_stop = 1;
	for (unsigned int i = 0; i < n; i++)
		for (int k = 0; k < doms[i].depth; k++)
			if (doms[i].slot[k].running)
				pthread_join(doms[i].slot[k].thr, NULL);
	return (double)(t1 - t0) / 1e9;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(struct dom_run *r, double p)
{
	size_t k;

	if (!r->nlat)
		return NAN;
	qsort(r->lat, r->nlat, sizeof(r->lat[0]), cmp_u64);
	k = (size_t)ceil(p / 100.0 * r->nlat);
	if (k)
		k--;
	if (k >= r->nlat)
		k = r->nlat - 1;
	return (double)r->lat[k] / 1000.0;   /* us */
}

/*
 * Where a high op's time goes (means over the measured ops): waiting for
 * a turn (arbiter), from submit to done() in the executor (the GPU and
 * the worker's completion path), and the rest (guest, rings, backend).
 */
static void decompose(struct dom_run *r, const char *phase)
{
	uint64_t g = r->grants[1] - r->grants[0], sum = 0;
	double rt, w, e;

	for (uint32_t i = 0; i < r->nlat; i++)
		sum += r->lat[i];
	if (!g || !r->nlat)
		return;
	rt = (double)sum / r->nlat / 1000.0;
	w = (double)(r->wait_ns[1] - r->wait_ns[0]) / (double)g / 1000.0;
	e = (double)(r->exec_ns[1] - r->exec_ns[0]) / (double)g / 1000.0;
	printf("priority: %s: high mean round trip %.1f us = arbiter wait %.1f + "
	       "executor %.1f + the rest %.1f (means over %llu turns)\n", phase,
	       rt, w, e, rt - w - e, (unsigned long long)g);
}

static int scenario_priority(void)
{
	struct dom_run *d = calloc(NDOM, sizeof(*d));
	double solo50, solo99, c50, c99, secs, low_ops = 0;
	uint64_t errs = 0, gated0, gated1, low_grants = 0;
	int rc = 1;

	if (!d)
		return 1;
	if (dom_up(&d[0], 1, "high", 1))
		goto out;
	secs = run_phase(d, 1);
	solo50 = pct(&d[0], 50);
	solo99 = pct(&d[0], 99);
	printf("priority: high alone: %llu ops in %.1f s, p50 %.1f us, p99 %.1f us\n",
	       (unsigned long long)d[0].ops, secs, solo50, solo99);
	decompose(&d[0], "alone");
	errs += d[0].errors;
	for (int i = 1; i < NDOM; i++)
		if (dom_up(&d[i], (uint32_t)(1 + i), "low", O.depth))
			goto out;
	gated0 = low_gated_now();
	secs = run_phase(d, NDOM);
	gated1 = low_gated_now();
	c50 = pct(&d[0], 50);
	c99 = pct(&d[0], 99);
	for (int i = 0; i < NDOM; i++) {
		errs += d[i].errors;
		if (i)
			low_ops += (double)d[i].ops;
	}
	printf("priority: high + 6 low (depth %d): high %llu ops, p50 %.1f us, "
	       "p99 %.1f us; low total %.0f ops/s; errors %llu\n",
	       O.depth, (unsigned long long)d[0].ops, c50, c99, low_ops / secs,
	       (unsigned long long)errs);
	{
		uint64_t aged = 0;

		for (int i = 1; i < NDOM; i++)
			aged += aged_of(d[i].domid);
		printf("priority: low ops that won a turn by aging (whole run): %llu\n",
		       (unsigned long long)aged);
	}
	decompose(&d[0], "contended");
	for (int i = 1; i < NDOM; i++)
		low_grants += d[i].grants[1] - d[i].grants[0];
	printf("priority: low turns %.0f/s, of which %.0f/s after waiting out the "
	       "low gap\n", (double)low_grants / secs,
	       (double)(gated1 - gated0) / secs);
	printf("priority: contended p99 / solo p99 = %.2f (target <= 1.5)\n", c99 / solo99);
	printf("| %s | priority | 1 high + 6 low, depth %d, %s turn(s) (%s high only), "
	       "aging %s ms, low gap %s us, memset %llu B%s%s | high solo p50/p99 %.1f / %.1f us | "
	       "high contended p50/p99 %.1f / %.1f us | **%.2fx** | low %.0f ops/s |\n",
	       O.executor, O.depth, O.tokens, O.high_reserve, O.aging_ms,
	       O.low_gap_us ? O.low_gap_us : "default",
	       (unsigned long long)O.bytes,
	       strcmp(O.executor, "cpu") ? "" : ", op delay ",
	       strcmp(O.executor, "cpu") ? "" : O.delay_us,
	       solo50, solo99, c50, c99, c99 / solo99, low_ops / secs);
	rc = errs ? 1 : 0;
out:
	for (int i = 0; i < NDOM; i++)
		dom_down(&d[i]);
	free(d);
	return rc;
}

static int scenario_fair(void)
{
	struct dom_run *d = calloc(NDOM, sizeof(*d));
	double secs, total_ops = 0, total_gpu = 0, worst_ops = 0, worst_gpu = 0;
	uint64_t errs = 0;
	int rc = 1;

	if (!d)
		return 1;
	for (int i = 0; i < NDOM; i++)
		if (dom_up(&d[i], (uint32_t)(11 + i), "medium", O.depth))
			goto out;
	secs = run_phase(d, NDOM);
	for (int i = 0; i < NDOM; i++) {
		total_ops += (double)d[i].ops;
		total_gpu += (double)(d[i].gpu_ns1 - d[i].gpu_ns0);
		errs += d[i].errors;
	}
	for (int i = 0; i < NDOM; i++) {
		double ops_dev = ((double)d[i].ops / (total_ops / NDOM) - 1.0) * 100.0;
		double gpu = (double)(d[i].gpu_ns1 - d[i].gpu_ns0);
		double gpu_dev = total_gpu > 0 ? (gpu / (total_gpu / NDOM) - 1.0) * 100.0 : NAN;

		printf("fair: domain %u: %.0f ops/s (%+.1f %% of fair share), GPU time "
		       "%.1f %% of the total (%+.1f %%), p50 %.1f us p99 %.1f us\n",
		       d[i].domid, (double)d[i].ops / secs, ops_dev,
		       total_gpu > 0 ? gpu * 100.0 / total_gpu : NAN, gpu_dev,
		       pct(&d[i], 50), pct(&d[i], 99));
		if (fabs(ops_dev) > worst_ops)
			worst_ops = fabs(ops_dev);
		if (fabs(gpu_dev) > worst_gpu)
			worst_gpu = fabs(gpu_dev);
	}
	printf("fair: total %.0f ops/s; worst deviation from fair share: ops %.1f %%, "
	       "GPU time %.1f %% (target <= 10 %%); errors %llu\n",
	       total_ops / secs, worst_ops, worst_gpu, (unsigned long long)errs);
	printf("| %s | fair | 7 medium, depth %d, %s turn(s), memset %llu B%s%s | "
	       "total %.0f ops/s | worst ops deviation **%.1f %%** | worst GPU-time "
	       "deviation **%.1f %%** |\n",
	       O.executor, O.depth, O.tokens, (unsigned long long)O.bytes,
	       strcmp(O.executor, "cpu") ? "" : ", op delay ",
	       strcmp(O.executor, "cpu") ? "" : O.delay_us,
	       total_ops / secs, worst_ops, worst_gpu);
	rc = errs ? 1 : 0;
out:
	for (int i = 0; i < NDOM; i++)
		dom_down(&d[i]);
	free(d);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "executor", required_argument, NULL, 'e' },
		{ "gpu", required_argument, NULL, 'g' },
		{ "cpu-op-delay-us", required_argument, NULL, 'y' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup-ms", required_argument, NULL, 'w' },
		{ "depth", required_argument, NULL, 'd' },
		{ "tokens", required_argument, NULL, 't' },
		{ "high-reserve", required_argument, NULL, 'r' },
		{ "aging-ms", required_argument, NULL, 'a' },
		{ "low-gap-us", required_argument, NULL, 'l' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "scenario", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *why = NULL;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'e': O.executor = optarg; break;
		case 'g': O.gpu = optarg; break;
		case 'y': O.delay_us = optarg; break;
		case 'b': O.bytes = strtoull(optarg, NULL, 10); break;
		case 's': O.seconds = atof(optarg); break;
		case 'w': O.warmup_ms = atoi(optarg); break;
		case 'd': O.depth = atoi(optarg); break;
		case 't': O.tokens = optarg; break;
		case 'r': O.high_reserve = optarg; break;
		case 'a': O.aging_ms = optarg; break;
		case 'l': O.low_gap_us = optarg; break;
		case 'p': O.poll_us = optarg; break;
		case 'c': O.scenario = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (strcmp(O.executor, "cpu") && strcmp(O.executor, "cuda")) {
		fprintf(stderr, "arb-bench: --executor must be cpu or cuda\n");
		return 2;
	}
	if (!O.bytes)
		O.bytes = strcmp(O.executor, "cuda") ? 4096 : 16u << 20;
	if (O.depth < 1 || O.depth > MAX_DEPTH || !(O.seconds > 0) || O.seconds > 3600 ||
	    O.warmup_ms < 0 || (strcmp(O.scenario, "all") && strcmp(O.scenario, "priority") &&
				strcmp(O.scenario, "fair"))) {
		fprintf(stderr, "arb-bench: bad --depth (1..12), --seconds or --scenario\n");
		return 2;
	}
	tf_backend_path();
	if (tf_world_init(&W)) {
		fprintf(stderr, "arb-bench: cannot create the loopback world\n");
		return 1;
	}
	snprintf(g_region, sizeof(g_region), "vgpu-arb-bench-%d", (int)getpid());
	setenv("VGPU_ARB_NAME", g_region, 1);
	setenv("VGPU_ARB_TOKENS", O.tokens, 1);
	setenv("VGPU_ARB_HIGH_RESERVE", O.high_reserve, 1);
	setenv("VGPU_ARB_AGING_MS", O.aging_ms, 1);
	if (O.low_gap_us)
		setenv("VGPU_ARB_LOW_GAP_US", O.low_gap_us, 1);
	if (vgpu_arb_open(&g_arb, g_region, NULL, 0, &why)) {
		fprintf(stderr, "arb-bench: arbiter: %s\n", why ? why : "open failed");
		rc = 1;
		goto out;
	}
	{
		struct vgpu_arb_config ac;

		vgpu_arb_get_config(g_arb, &ac);
		printf("arb-bench: low gap %llu us, backends' poll-us %s, "
		       "VGPU_EXEC_YIELD %s, VGPU_EXEC_SLICE_KB %s, "
		       "VGPU_LOOPFRONT_SPIN_US %s\n",
		       (unsigned long long)(ac.low_gap_ns / 1000),
		       O.poll_us ? O.poll_us : "default",
		       getenv("VGPU_EXEC_YIELD") ? getenv("VGPU_EXEC_YIELD") : "default",
		       getenv("VGPU_EXEC_SLICE_KB") ? getenv("VGPU_EXEC_SLICE_KB") : "default",
		       getenv("VGPU_LOOPFRONT_SPIN_US") ? getenv("VGPU_LOOPFRONT_SPIN_US") :
		       "default");
	}
	printf("arb-bench: executor %s, %s turn(s) per GPU (%s high only), aging %s ms, "
	       "memset %llu B, %.1f s per phase\n", O.executor, O.tokens,
	       O.high_reserve, O.aging_ms,
	       (unsigned long long)O.bytes, O.seconds);
	if (!strcmp(O.scenario, "all") || !strcmp(O.scenario, "priority"))
		rc |= scenario_priority();
	if (!strcmp(O.scenario, "all") || !strcmp(O.scenario, "fair"))
		rc |= scenario_fair();
	vgpu_arb_close(g_arb);
out:
	vgpu_arb_unlink(g_region);
	tf_world_fini(&W);
	return rc;
}
