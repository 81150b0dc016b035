// SPDX-License-Identifier: MIT
/*
 * vgpu-smi - the operator's view of GPU sharing on this host, in the manner
 * of nvidia-smi: per GPU and per domain the priority, pool, memory used and
 * quota, requests/s, GPU time %, queue depth and errors, read from the
 * arbiter's shared region (mediator-cuda/arbiter.h). Needs no help from the
 * backends; also writes the same figures as Prometheus metrics for
 * node_exporter's textfile collector.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arbiter.h"

#define PROG "vgpu-smi"
#define VGPU_SMI_STR2(x) #x
#define VGPU_SMI_STR(x) VGPU_SMI_STR2(x)

static const char usage_text[] =
"Usage: vgpu-smi [OPTIONS]\n"
"Show how the GPUs of this host are shared between guest domains: what the\n"
"dom0 arbiter (shared by every vgpu-backend) knows, per GPU and per domain.\n"
"\n"
"Per GPU: turns (how many ops may run on it at once; some only for the high\n"
"class; a domain alone on the GPU may hold up to 'burst') and how many are\n"
"held, ops waiting for a turn, domains placed on it, busy % (time with at\n"
"least one op running) and turns granted.\n"
"Per domain (one line per domain and device): DOMID, DEV, PRIORITY (high,\n"
"medium, low; from XenStore), POOL, GPU, MEMORY used / mem-quota ('none'\n"
"when 0), CTX-MEM (device memory the domain's own GPU context takes, not in\n"
"MEMORY: for capacity planning; '-' when the executor does not measure it),\n"
"REQ/S (requests answered per second), GPU% (GPU time of its ops\n"
"per wall-clock second; above 100 when several of its ops overlap), QUEUE\n"
"(requests its backend holds: received, not yet answered; at least the ops\n"
"waiting for a turn plus those running), ERRORS (requests answered with an\n"
"error status, refusals not included), REFUSED (requests refused at a\n"
"bound: memory past mem-quota, EDQUOT, or past dom0's host memory, ENOMEM;\n"
"a context, handle, stream or event past its table's limit, EMFILE), and\n"
"the backend's PID ('dead' when that process is gone: its slot is reclaimed by\n"
"the next backend that touches the arbiter).\n"
"\n"
"Rates (REQ/S, GPU%, busy %) are measured between two samples: --sample-ms\n"
"apart for a single report, or between refreshes with -l.\n"
"\n"
"Options:\n"
"  -l, --loop SECONDS     refresh every SECONDS (0.1 .. 86400) until\n"
"                         interrupted; with --json one object per line,\n"
"                         with --prometheus the file is rewritten each time\n"
"  -c, --count N          with -l: stop after N reports (1 .. 10^9)\n"
"      --json             one JSON object on one line (figures as numbers,\n"
"                         counters raw: bytes, nanoseconds; rates null when\n"
"                         not measured)\n"
"      --prometheus FILE  write the figures as Prometheus metrics (text\n"
"                         exposition format) to FILE, atomically (a\n"
"                         temporary file in the same directory, then\n"
"                         rename): point node_exporter's\n"
"                         --collector.textfile.directory at its directory\n"
"                         and name it *.prom. Nothing else is printed unless\n"
"                         --json or --table is given too\n"
"      --table            print the table even with --prometheus\n"
"      --sample-ms MS     for a single report, measure rates over MS\n"
"                         milliseconds (0 .. 60000, default 500; 0 = no\n"
"                         rates, report at once)\n"
"  -d, --domain DOMID     only this domain\n"
"      --region NAME      the arbiter's shared region: /dev/shm/NAME.v"
	VGPU_SMI_STR(VGPU_ARB_VERSION) "\n"
"                         (default $VGPU_ARB_NAME, else vgpu-arb)\n"
"  -h, --help             this text\n"
"\n"
"Metrics (--prometheus), labels domid, devid, priority, pool, gpu:\n"
"  vgpu_domain_requests_total, vgpu_domain_errors_total,\n"
"  vgpu_domain_gpu_time_seconds_total, vgpu_domain_wait_seconds_total,\n"
"  vgpu_domain_grants_total, vgpu_domain_aged_grants_total,\n"
"  vgpu_domain_quota_refusals_total, vgpu_domain_memory_used_bytes,\n"
"  vgpu_domain_memory_peak_bytes, vgpu_domain_memory_quota_bytes,\n"
"  vgpu_domain_queue_depth, vgpu_domain_up, and when measured\n"
"  vgpu_domain_requests_per_second, vgpu_domain_gpu_time_percent;\n"
"  per GPU (label gpu): vgpu_gpu_turns, vgpu_gpu_turns_in_use,\n"
"  vgpu_gpu_waiting, vgpu_gpu_domains, vgpu_gpu_busy_seconds_total,\n"
"  vgpu_gpu_grants_total; vgpu_arbiter_repairs_total,\n"
"  vgpu_arbiter_reaped_total.\n"
"\n"
"Exit status: 0 reported; 1 no arbiter region (no backend has started on\n"
"this host), region unreadable, or FILE not writable; 2 bad usage.\n"
"Examples:\n"
"  vgpu-smi                      a table, rates over half a second\n"
"  vgpu-smi -l 2                 refresh every 2 s\n"
"  vgpu-smi -l 15 --prometheus /var/lib/node_exporter/textfile/vgpu.prom\n"
"See also: vgpu-list(8), vgpu-attach(8), vgpu-backend(8), nvidia-smi(1).\n";

struct opts {
	double loop_s;          /* 0 = once */
	unsigned long count;    /* with loop: reports before exit; 0 = forever */
	bool json, table, domain_set;
	const char *prom;
	const char *region;
	uint64_t sample_ms;
	uint32_t domid;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	exit(2);
}

/* ---------------------------------------------------------------- rates */

struct rates {
	bool valid;
	double req_s, gpu_pct;  /* per domain */
};

static const struct vgpu_arb_domain_info *
find_prev(const struct vgpu_arb_snapshot *prev, const struct vgpu_arb_domain_info *d)
{
	if (!prev)
		return NULL;
	for (uint32_t i = 0; i < prev->ndomains; i++) {
		const struct vgpu_arb_domain_info *p = &prev->dom[i];
		/* registered_ns: a re-registered domain starts from zero */
		if (p->domid == d->domid && p->devid == d->devid &&
		    p->registered_ns == d->registered_ns)
			return p;
	}
	return NULL;
}

static struct rates dom_rates(const struct vgpu_arb_snapshot *prev,
			      const struct vgpu_arb_snapshot *cur,
			      const struct vgpu_arb_domain_info *d)
{
	const struct vgpu_arb_domain_info *p = find_prev(prev, d);
	struct rates r = { 0 };
	double dt;

	if (!p || cur->now_ns <= prev->now_ns)
		return r;
	dt = (double)(cur->now_ns - prev->now_ns) / 1e9;
	r.valid = true;
	r.req_s = (double)(d->requests - p->requests) / dt;
	r.gpu_pct = (double)(d->gpu_ns - p->gpu_ns) / 1e7 / dt;
	return r;
}

static double gpu_busy_pct(const struct vgpu_arb_snapshot *prev,
			   const struct vgpu_arb_snapshot *cur, uint32_t g)
{
	if (!prev || cur->now_ns <= prev->now_ns ||
	    cur->gpu[g].busy_ns < prev->gpu[g].busy_ns)
		return NAN;
	return (double)(cur->gpu[g].busy_ns - prev->gpu[g].busy_ns) * 100.0 /
	       (double)(cur->now_ns - prev->now_ns);
}

static uint32_t queue_depth(const struct vgpu_arb_domain_info *d)
{
	uint32_t arb = d->waiting + d->inflight;

	return d->queue > arb ? d->queue : arb;
}

static bool wanted(const struct opts *o, const struct vgpu_arb_domain_info *d)
{
	return !o->domain_set || d->domid == o->domid;
}

/* ---------------------------------------------------------------- table */

static void fmt_bytes(char *buf, size_t n, uint64_t b)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)     /* b < 1024 here */
		snprintf(buf, n, "%u B", (unsigned)(b & 1023));
	else
		snprintf(buf, n, "%.1f %s", v, unit[u]);
}

/* Pools configured? Without, every pool may use every GPU. */
static bool pools_configured(const struct vgpu_arb_snapshot *s)
{
	for (uint32_t q = 0; q < VGPU_ARB_MAX_POOLS; q++)
		if (s->cfg.pool_mask[q])
			return true;
	return false;
}

/* Pool p's GPUs as the arbiter sees them (configured pools only). */
static uint32_t pool_gpus(const struct vgpu_arb_snapshot *s, uint32_t p)
{
	return s->cfg.pool_mask[p] & ((1u << s->ngpus) - 1u);
}

static void fmt_pools(char *buf, size_t n, const struct vgpu_arb_snapshot *s)
{
	size_t off = 0;

	buf[0] = '\0';
	if (!pools_configured(s)) {
		snprintf(buf, n, "not configured (any pool, any GPU)");
		return;
	}
	for (uint32_t p = 0; p < VGPU_ARB_MAX_POOLS && off < n; p++) {
		uint32_t m = pool_gpus(s, p);
		bool any = false;

		if (!m)
			continue;
		off += snprintf(buf + off, n - off, "%s%u=", off ? " " : "", p);
		for (uint32_t g = 0; g < s->ngpus && off < n; g++)
			if (m & (1u << g)) {
				off += snprintf(buf + off, n - off, "%s%u",
						any ? "," : "", g);
				any = true;
			}
	}
}

static void print_table(const struct opts *o, const char *region,
			const struct vgpu_arb_snapshot *prev,
			const struct vgpu_arb_snapshot *s)
{
	char when[64], pools[256], aging[32];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fmt_pools(pools, sizeof(pools), s);
	if (s->cfg.aging_ns)
		snprintf(aging, sizeof(aging), "%llu ms",
			 (unsigned long long)(s->cfg.aging_ns / 1000000));
	else
		snprintf(aging, sizeof(aging), "off");
	printf("vgpu-smi  %s  region %s  turns/GPU %u (%u high only, burst %u)  "
	       "aging %s  share window %llu ms  pools %s\n",
	       when, region, s->cfg.tokens,
	       s->cfg.high_reserve < s->cfg.tokens ? s->cfg.high_reserve
						   : s->cfg.tokens - 1,
	       s->cfg.burst, aging,
	       (unsigned long long)(s->cfg.share_window_ns / 1000000), pools);
	if (s->repairs || s->reaped)
		printf("dead backends reclaimed: %llu, lock repairs: %llu\n",
		       (unsigned long long)s->reaped, (unsigned long long)s->repairs);
	printf("+-----+---------+---------+---------+--------+--------------+\n");
	printf("| GPU |  Turns  | Waiting | Domains | Busy %% |       Grants |\n");
	printf("+-----+---------+---------+---------+--------+--------------+\n");
	for (uint32_t g = 0; g < s->ngpus; g++) {
		const struct vgpu_arb_gpu_info *gi = &s->gpu[g];
		double busy = gpu_busy_pct(prev, s, g);
		char b[16];

		if (isnan(busy))
			snprintf(b, sizeof(b), "-");
		else
			snprintf(b, sizeof(b), "%.1f", busy);
		printf("| %3u | %3u/%-3u | %7u | %7u | %6s | %12llu |\n", g,
		       gi->in_use, gi->tokens, gi->waiting, gi->domains, b,
		       (unsigned long long)gi->grants);
	}
	printf("+-----+---------+---------+---------+--------+--------------+\n\n");
	printf("%6s %4s %-8s %4s %3s %23s %8s %10s %7s %5s %8s %7s %8s\n",
	       "DOMID", "DEV", "PRIORITY", "POOL", "GPU", "MEMORY USED / QUOTA",
	       "CTX-MEM", "REQ/S", "GPU%", "QUEUE", "ERRORS", "REFUSED", "PID");
	for (uint32_t i = 0; i < s->ndomains; i++) {
		const struct vgpu_arb_domain_info *d = &s->dom[i];
		struct rates r = dom_rates(prev, s, d);
		char used[16], quota[16], mem[40], rq[16], gp[16], pid[16], ctx[16];

		if (!wanted(o, d))
			continue;
		fmt_bytes(used, sizeof(used), d->mem_used);
		if (d->mem_quota)
			fmt_bytes(quota, sizeof(quota), d->mem_quota);
		else
			snprintf(quota, sizeof(quota), "none");
		snprintf(mem, sizeof(mem), "%s / %s", used, quota);
		if (d->ctx_overhead)
			fmt_bytes(ctx, sizeof(ctx), d->ctx_overhead);
		else
			snprintf(ctx, sizeof(ctx), "-");
		if (r.valid) {
			snprintf(rq, sizeof(rq), "%.1f", r.req_s);
			snprintf(gp, sizeof(gp), "%.1f", r.gpu_pct);
		} else {
			snprintf(rq, sizeof(rq), "-");
			snprintf(gp, sizeof(gp), "-");
		}
		if (d->alive)
			snprintf(pid, sizeof(pid), "%d", (int)d->pid);
		else
			snprintf(pid, sizeof(pid), "dead");
		printf("%6u %4u %-8s %4u %3u %23s %8s %10s %7s %5u %8llu %7llu %8s\n",
		       d->domid, d->devid, vgpu_arb_priority_name(d->priority),
		       d->pool, d->gpu, mem, ctx, rq, gp, queue_depth(d),
		       (unsigned long long)d->errors,
		       (unsigned long long)d->quota_refusals, pid);
	}
	if (!s->ndomains)
		printf("  (no domain registered)\n");
	fflush(stdout);
}

/* ----------------------------------------------------------------- json */

static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.3f", v);
}

static void print_json(const struct opts *o, const char *region,
		       const struct vgpu_arb_snapshot *prev,
		       const struct vgpu_arb_snapshot *s)
{
	FILE *f = stdout;
	bool first = true;

	fprintf(f, "{\"region\":\"%s\",\"time\":%lld,\"sample_s\":", region,
		(long long)time(NULL));
	json_num(f, prev ? (double)(s->now_ns - prev->now_ns) / 1e9 : NAN);
	fprintf(f, ",\"config\":{\"gpus\":%u,\"turns_per_gpu\":%u,\"burst\":%u,"
		"\"high_reserve\":%u,\"aging_ms\":%llu,\"share_window_ms\":%llu,"
		"\"pools\":{",
		s->cfg.ngpus, s->cfg.tokens, s->cfg.burst, s->cfg.high_reserve,
		(unsigned long long)(s->cfg.aging_ns / 1000000),
		(unsigned long long)(s->cfg.share_window_ns / 1000000));
	for (uint32_t p = 0; p < VGPU_ARB_MAX_POOLS; p++) {
		uint32_t m = pool_gpus(s, p);
		bool any = false;

		if (!m)
			continue;  /* none configured: {} = any pool, any GPU */
		fprintf(f, "%s\"%u\":[", first ? "" : ",", p);
		first = false;
		for (uint32_t g = 0; g < s->ngpus; g++)
			if (m & (1u << g)) {
				fprintf(f, "%s%u", any ? "," : "", g);
				any = true;
			}
		fputc(']', f);
	}
	fprintf(f, "}},\"repairs\":%llu,\"reaped\":%llu,\"gpus\":[",
		(unsigned long long)s->repairs, (unsigned long long)s->reaped);
	for (uint32_t g = 0; g < s->ngpus; g++) {
		const struct vgpu_arb_gpu_info *gi = &s->gpu[g];

		fprintf(f, "%s{\"index\":%u,\"turns\":%u,\"turns_in_use\":%u,"
			"\"waiting\":%u,\"domains\":%u,\"busy_ns\":%llu,"
			"\"grants\":%llu,\"busy_pct\":",
			g ? "," : "", g, gi->tokens, gi->in_use, gi->waiting,
			gi->domains, (unsigned long long)gi->busy_ns,
			(unsigned long long)gi->grants);
		json_num(f, gpu_busy_pct(prev, s, g));
		fputc('}', f);
	}
	fputs("],\"domains\":[", f);
	first = true;
	for (uint32_t i = 0; i < s->ndomains; i++) {
		const struct vgpu_arb_domain_info *d = &s->dom[i];
		struct rates r = dom_rates(prev, s, d);

		if (!wanted(o, d))
			continue;
		fprintf(f, "%s{\"domid\":%u,\"devid\":%u,\"priority\":\"%s\","
			"\"pool\":%u,\"gpu\":%u,\"pid\":%d,\"alive\":%s,"
			"\"mem_used\":%llu,\"mem_peak\":%llu,\"mem_quota\":%llu,"
			"\"ctx_overhead\":%llu,"
			"\"quota_refusals\":%llu,\"requests\":%llu,\"errors\":%llu,"
			"\"gpu_time_ns\":%llu,\"grants\":%llu,\"wait_ns\":%llu,"
			"\"aged_grants\":%llu,\"waiting\":%u,\"inflight\":%u,"
			"\"queue_depth\":%u,\"gpu_share_pct\":%u,\"idle_s\":",
			first ? "" : ",", d->domid, d->devid,
			vgpu_arb_priority_name(d->priority), d->pool, d->gpu,
			(int)d->pid, d->alive ? "true" : "false",
			(unsigned long long)d->mem_used,
			(unsigned long long)d->mem_peak,
			(unsigned long long)d->mem_quota,
			(unsigned long long)d->ctx_overhead,
			(unsigned long long)d->quota_refusals,
			(unsigned long long)d->requests,
			(unsigned long long)d->errors,
			(unsigned long long)d->gpu_ns,
			(unsigned long long)d->grants,
			(unsigned long long)d->wait_ns,
			(unsigned long long)d->aged, d->waiting, d->inflight,
			queue_depth(d), d->gpu_share_pct);
		first = false;
		json_num(f, s->now_ns > d->last_seen_ns ?
			 (double)(s->now_ns - d->last_seen_ns) / 1e9 : 0.0);
		fputs(",\"requests_per_s\":", f);
		json_num(f, r.valid ? r.req_s : NAN);
		fputs(",\"gpu_time_pct\":", f);
		json_num(f, r.valid ? r.gpu_pct : NAN);
		fputc('}', f);
	}
	fputs("]}\n", f);
	fflush(f);
}

/* ----------------------------------------------------------- prometheus */

struct metric {
	const char *name, *type, *help;
};

static const struct metric dom_metrics[] = {
	{ "vgpu_domain_requests_total", "counter", "Requests answered for the domain." },
	{ "vgpu_domain_errors_total", "counter", "Requests answered with an error status." },
	{ "vgpu_domain_gpu_time_seconds_total", "counter", "GPU time of the domain's ops." },
	{ "vgpu_domain_wait_seconds_total", "counter", "Time the domain's ops waited for a GPU turn." },
	{ "vgpu_domain_grants_total", "counter", "GPU turns granted to the domain." },
	{ "vgpu_domain_aged_grants_total", "counter", "Turns the domain won only through aging." },
	{ "vgpu_domain_quota_refusals_total", "counter", "Allocations refused: past mem-quota (EDQUOT) or dom0's host memory (ENOMEM)." },
	{ "vgpu_domain_memory_used_bytes", "gauge", "Device memory the domain holds." },
	{ "vgpu_domain_memory_peak_bytes", "gauge", "Most device memory the domain held." },
	{ "vgpu_domain_memory_quota_bytes", "gauge", "The domain's mem-quota (0 = none)." },
	{ "vgpu_domain_queue_depth", "gauge", "Requests the domain's backend holds (received, not answered)." },
	{ "vgpu_domain_up", "gauge", "1 while the domain's backend process exists." },
	{ "vgpu_domain_requests_per_second", "gauge", "Requests answered per second over the last sample." },
	{ "vgpu_domain_gpu_time_percent", "gauge", "GPU time per wall-clock time over the last sample, in percent." },
	{ "vgpu_domain_context_overhead_bytes", "gauge", "Device memory the domain's own GPU context takes (0 = not measured)." },
};

static double dom_value(unsigned int m, const struct vgpu_arb_domain_info *d,
			const struct rates *r)
{
	switch (m) {
	case 0:  return (double)d->requests;
	case 1:  return (double)d->errors;
	case 2:  return (double)d->gpu_ns / 1e9;
	case 3:  return (double)d->wait_ns / 1e9;
	case 4:  return (double)d->grants;
	case 5:  return (double)d->aged;
	case 6:  return (double)d->quota_refusals;
	case 7:  return (double)d->mem_used;
	case 8:  return (double)d->mem_peak;
	case 9:  return (double)d->mem_quota;
	case 10: return (double)queue_depth(d);
	case 11: return d->alive ? 1.0 : 0.0;
	case 12: return r->valid ? r->req_s : NAN;
	case 13: return r->valid ? r->gpu_pct : NAN;
	case 14: return (double)d->ctx_overhead;
	}
	return NAN;
}

static const struct metric gpu_metrics[] = {
	{ "vgpu_gpu_turns", "gauge", "Ops that may run on the GPU at once." },
	{ "vgpu_gpu_turns_in_use", "gauge", "Turns held now." },
	{ "vgpu_gpu_waiting", "gauge", "Ops waiting for a turn." },
	{ "vgpu_gpu_domains", "gauge", "Live domains placed on the GPU." },
	{ "vgpu_gpu_busy_seconds_total", "counter", "Time with at least one op running." },
	{ "vgpu_gpu_grants_total", "counter", "Turns granted." },
};

static double gpu_value(unsigned int m, const struct vgpu_arb_gpu_info *g)
{
	switch (m) {
	case 0: return g->tokens;
	case 1: return g->in_use;
	case 2: return g->waiting;
	case 3: return g->domains;
	case 4: return (double)g->busy_ns / 1e9;
	case 5: return (double)g->grants;
	}
	return NAN;
}

/* %.17g keeps every integer below 2^53 exact; counters stay readable. */
static void prom_value(FILE *f, double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fprintf(f, "%.0f\n", v);
	else
		fprintf(f, "%.9g\n", v);
}

static int write_prometheus(const struct opts *o, const char *path,
			    const struct vgpu_arb_snapshot *prev,
			    const struct vgpu_arb_snapshot *s)
{
	char tmp[4096];
	FILE *f;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, PROG ": %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	f = fopen(tmp, "w");
	if (!f) {
		int err = errno;
		fprintf(stderr, PROG ": cannot write %s: %s\n", tmp, strerror(err));
		return -err;
	}
	for (unsigned int m = 0; m < sizeof(dom_metrics) / sizeof(dom_metrics[0]); m++) {
		bool header = false;

		for (uint32_t i = 0; i < s->ndomains; i++) {
			const struct vgpu_arb_domain_info *d = &s->dom[i];
			struct rates r = dom_rates(prev, s, d);
			double v;

			if (!wanted(o, d))
				continue;
			v = dom_value(m, d, &r);
			if (isnan(v))
				continue;
			if (!header) {
				fprintf(f, "# HELP %s %s\n# TYPE %s %s\n",
					dom_metrics[m].name, dom_metrics[m].help,
					dom_metrics[m].name, dom_metrics[m].type);
				header = true;
			}
			fprintf(f, "%s{domid=\"%u\",devid=\"%u\",priority=\"%s\","
				"pool=\"%u\",gpu=\"%u\"} ", dom_metrics[m].name,
				d->domid, d->devid, vgpu_arb_priority_name(d->priority),
				d->pool, d->gpu);
			prom_value(f, v);
		}
	}
	for (unsigned int m = 0; m < sizeof(gpu_metrics) / sizeof(gpu_metrics[0]); m++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", gpu_metrics[m].name,
			gpu_metrics[m].help, gpu_metrics[m].name, gpu_metrics[m].type);
		for (uint32_t g = 0; g < s->ngpus; g++) {
			fprintf(f, "%s{gpu=\"%u\"} ", gpu_metrics[m].name, g);
			prom_value(f, gpu_value(m, &s->gpu[g]));
		}
	}
	fprintf(f, "# HELP vgpu_arbiter_repairs_total Times a backend died holding the arbiter lock.\n"
		"# TYPE vgpu_arbiter_repairs_total counter\nvgpu_arbiter_repairs_total %llu\n"
		"# HELP vgpu_arbiter_reaped_total Domain slots of dead backends reclaimed.\n"
		"# TYPE vgpu_arbiter_reaped_total counter\nvgpu_arbiter_reaped_total %llu\n",
		(unsigned long long)s->repairs, (unsigned long long)s->reaped);
	if (fflush(f) || ferror(f) || fsync(fileno(f))) {
		int err = errno ? errno : EIO;
		fclose(f);
		unlink(tmp);
		fprintf(stderr, PROG ": cannot write %s: %s\n", tmp, strerror(err));
		return -err;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		fprintf(stderr, PROG ": cannot rename %s to %s: %s\n", tmp, path,
			strerror(err));
		return -err;
	}
	return 0;
}

/* ----------------------------------------------------------------- main */

static int report(const struct opts *o, const char *region,
		  const struct vgpu_arb_snapshot *prev,
		  const struct vgpu_arb_snapshot *s)
{
	if (o->prom && write_prometheus(o, o->prom, prev, s))
		return 1;
	if (o->json)
		print_json(o, region, prev, s);
	if (o->table || (!o->json && !o->prom)) {
		if (o->loop_s > 0 && !o->json && isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", stdout);  /* clear, as watch(1) */
		print_table(o, region, prev, s);
	}
	return 0;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - floor(s)) * 1e9) };

	while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "loop", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", required_argument, NULL, 'p' },
		{ "table", no_argument, NULL, 't' },
		{ "sample-ms", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'd' },
		{ "region", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vgpu_arb_snapshot *snap[2];
	struct opts o = { .sample_ms = 500 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct vgpu_arb *arb;
	const char *why = NULL;
	int c, rc, cur = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "l:c:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			errno = 0;
			o.loop_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o.loop_s >= 0.1) ||
			    o.loop_s > 86400)
				die_usage("-l wants SECONDS between 0.1 and 86400, not '%s'",
					  optarg);
			break;
		case 'c':
			errno = 0;
			o.count = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' ||
			    !o.count || o.count > 1000000000ul)
				die_usage("--count wants 1..1000000000, not '%s'", optarg);
			break;
		case 'j':
			o.json = true;
			break;
		case 'p':
			if (!*optarg)
				die_usage("--prometheus wants a file name");
			o.prom = optarg;
			break;
		case 't':
			o.table = true;
			break;
		case 's': {
			unsigned long long v;
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' || v > 60000)
				die_usage("--sample-ms wants 0..60000, not '%s'", optarg);
			o.sample_ms = v;
			break;
		}
		case 'd': {
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' || v >= 0x7ff0)
				die_usage("--domain wants a domain id 0..32751, not '%s'",
					  optarg);
			o.domid = (uint32_t)v;
			o.domain_set = true;
			break;
		}
		case 'r':
			o.region = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (o.count && !(o.loop_s > 0))
		die_usage("--count needs -l");

	rc = vgpu_arb_open(&arb, o.region, NULL, VGPU_ARB_NOCREATE, &why);
	if (rc) {
		const char *name = o.region ? o.region : getenv(VGPU_ARB_ENV_NAME);
		if (!name || !*name)
			name = VGPU_ARB_DEFAULT_NAME;
		fprintf(stderr, PROG ": arbiter region '%s' (/dev/shm/%s.v%u): %s%s\n",
			name, name, (unsigned int)VGPU_ARB_VERSION,
			why ? why : strerror(-rc),
			rc == -EACCES ? " (permission denied: run as root)" : "");
		return 1;
	}
	snap[0] = malloc(sizeof(*snap[0]));
	snap[1] = malloc(sizeof(*snap[1]));
	if (!snap[0] || !snap[1]) {
		fprintf(stderr, PROG ": out of memory\n");
		rc = 1;
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (vgpu_arb_snapshot(arb, snap[cur])) {
		fprintf(stderr, PROG ": cannot read the arbiter region '%s'\n",
			vgpu_arb_name(arb));
		rc = 1;
		goto out;
	}
	if (o.loop_s > 0) {
		bool have_prev = false;
		unsigned long done = 0;

		/* First report at once, without rates; then each refresh. */
		for (;;) {
			rc = report(&o, vgpu_arb_name(arb),
				    have_prev ? snap[cur ^ 1] : NULL, snap[cur]);
			if (rc || stop || (o.count && ++done >= o.count))
				break;
			sleep_s(o.loop_s);
			if (stop)
				break;
			cur ^= 1;
			if (vgpu_arb_snapshot(arb, snap[cur])) {
				fprintf(stderr, PROG ": cannot read the arbiter region '%s'\n",
					vgpu_arb_name(arb));
				rc = 1;
				break;
			}
			have_prev = true;
		}
	} else if (o.sample_ms) {
		sleep_s((double)o.sample_ms / 1000.0);
		if (vgpu_arb_snapshot(arb, snap[1])) {
			fprintf(stderr, PROG ": cannot read the arbiter region '%s'\n",
				vgpu_arb_name(arb));
			rc = 1;
			goto out;
		}
		rc = report(&o, vgpu_arb_name(arb), snap[0], snap[1]);
	} else {
		rc = report(&o, vgpu_arb_name(arb), NULL, snap[0]);
	}
out:
	free(snap[0]);
	free(snap[1]);
	vgpu_arb_close(arb);
	return rc;
}
