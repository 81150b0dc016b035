// SPDX-License-Identifier: MIT
/*
 * vgpu - the vgpu-xen guest command line (also installed as gpu_test, the
 * original prototype's test program). See usage_text.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vgpu.h"

static const char usage_text[] =
"Usage: vgpu [--device DEVICE] COMMAND [ARGS]\n"
"       gpu_test [--device DEVICE] nop | vector_add | invalid_command\n"
"\n"
"Talks to the vgpu-xen backend in dom0 through libvgpu: in a Xen guest over\n"
"/dev/vgpu_stub (vgpu-front.ko), on a machine without Xen over a loopback\n"
"world, as guest domain N (the same program, chosen at run time). Each run\n"
"opens the device once: one GPU context, freed when the program exits.\n"
"\n"
"Commands:\n"
"  info                 the GPU, its memory, the executor, this domain's\n"
"                       priority, pool and quota (set by the dom0 operator),\n"
"                       the transport, the ring and the protocol revision\n"
"  nop [COUNT]          COUNT round trips (default 1) through the ring\n"
"  vector-add [N]       c = a + b over N float32 elements (default 1024) on\n"
"                       the GPU; checks every element\n"
"  copy-check SIZE [HOST_OFF [DEV_OFF]]\n"
"                       copies SIZE bytes (suffix K, M) from a host buffer at\n"
"                       byte offset HOST_OFF (default 1) to device memory at\n"
"                       DEV_OFF (default 3) and back into a buffer at another\n"
"                       offset, then through a device-to-device copy and a\n"
"                       memset; checks every byte\n"
"  bench [--seconds S] [--threads T] [--n N] [--shared]\n"
"                       ops/s and round-trip p50/p99 of sync NOP, sync\n"
"                       VECTOR_ADD of N elements (default 1024) and async\n"
"                       MEMSET (queued, then SYNC); S per test (default 2),\n"
"                       T threads (default 1), each with its own context, or\n"
"                       all on one handle with --shared\n"
"  stress [--seconds S] [--threads T] [--shared]\n"
"                       T threads (default 2) for S seconds (default 10) mix\n"
"                       NOP, VECTOR_ADD, alloc/copy/free and MEMSET+SYNC and\n"
"                       check every result; fails on any error (--shared:\n"
"                       one handle for all threads), and stops at once when\n"
"                       the backend is lost (EIO, ENOTCONN)\n"
"  mem-fill TOTAL [CHUNK]\n"
"                       allocates device memory CHUNK bytes at a time\n"
"                       (default 32M) and writes every byte (MEMSET), until\n"
"                       TOTAL or a refusal; prints how much it got and why\n"
"                       it stopped (ENOMEM, EDQUOT: dom0 said no); exit 0\n"
"                       only when all of TOTAL was granted\n"
"  hold SECONDS         keeps the device open for SECONDS, a NOP every 0.1 s,\n"
"                       counting failures (for backend restart tests); then a\n"
"                       checked VECTOR_ADD decides the exit status\n"
"\n"
"gpu_test commands (the original prototype's tests):\n"
"  nop                  one NOP; prints \"NOP passed\"\n"
"  vector_add           1024 elements; prints \"Vector add passed: 1024 elements, 0 errors\"\n"
"  invalid_command      sends an opcode the backend does not serve (0xEE);\n"
"                       prints \"Error: Invalid command\" when it is refused as\n"
"                       it must be, then checks that the device still works\n"
"\n"
"Options:\n"
"  --device DEVICE      the device (default: $VGPU_DEVICE, else /dev/vgpu_stub):\n"
"                         /dev/NAME or kmod:PATH  the kernel module's device\n"
"                         loopback:DIR?domid=N[&devid=M][&timeout_ms=T]\n"
"                                 guest domain N of the loopback world in DIR\n"
"                                 (DIR empty: $VGPU_LOOPBACK_DIR); also\n"
"                                 ring_order=K, persistent=0|1, spin_us=US\n"
"  -h, --help           this text\n"
"\n"
"Environment:\n"
"  VGPU_DEVICE          the device when --device is not given\n"
"  VGPU_LOOPBACK_DIR    the default loopback world\n"
"\n"
"Examples:\n"
"  gpu_test vector_add                       in a Xen guest\n"
"  vgpu --device 'loopback:/dev/shm/w?domid=1' info\n"
"                                            on a loopback world (see\n"
"                                            vgpu-loopback-xl --help)\n"
"\n"
"Exit status: 0 on success, 1 when an operation failed or a check found a\n"
"wrong result, 2 on a usage error. Errors name the transport, the operation\n"
"and the reason.\n";

static const char *prog = "vgpu";
static const char *device_path;
/* bench/stress --shared: every thread on this one handle. */
static vgpu_t *shared_v;

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return 2;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, vgpu_strerror(err));
	return 1;
}

/* A failure of a call on v: libvgpu's own line says where and why. */
static int fail_on(vgpu_t *v, const char *what, int err)
{
	const char *why = vgpu_error(v);

	if (why && *why)
		fprintf(stderr, "%s: %s: %s\n", prog, what, why);
	else
		fprintf(stderr, "%s: %s: %s\n", prog, what, vgpu_strerror(err));
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A size with an optional K/M/G suffix; 0 on error. */
static uint64_t parse_size(const char *s, bool allow_zero)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return allow_zero ? UINT64_MAX : 0;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return allow_zero ? UINT64_MAX : 0;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return allow_zero ? UINT64_MAX : 0;
	if (!allow_zero && v == 0)
		return 0;
	return v;
}

/* The device this run uses, for messages. */
static const char *device_name(void)
{
	if (device_path)
		return device_path;
	if (getenv("VGPU_DEVICE") && *getenv("VGPU_DEVICE"))
		return getenv("VGPU_DEVICE");
	return VGPU_DEFAULT_DEVICE;
}

static int open_dev(vgpu_t **v)
{
	int ret = vgpu_open(device_path, v);

	if (ret)
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, device_name(),
			*vgpu_open_error() ? vgpu_open_error() : vgpu_strerror(ret));
	return ret;
}

/* --------------------------------------------------------------- commands */

static int cmd_info(vgpu_t *v)
{
	struct vgpu_info i;
	int ret = vgpu_query(v, &i);

	if (ret)
		return fail_on(v, "query", ret);
	printf("gpu:           %s\n", i.gpu_name);
	printf("executor:      %s\n", vgpu_executor_name(i.executor));
	printf("compute cap.:  %u.%u, %u SMs\n", i.cc_major, i.cc_minor, i.sm_count);
	printf("memory:        %" PRIu64 " MiB total, %" PRIu64 " MiB free\n",
	       i.total_mem >> 20, i.free_mem >> 20);
	if (i.mem_quota)
		printf("quota:         %" PRIu64 " MiB, %" PRIu64 " MiB used\n",
		       i.mem_quota >> 20, i.mem_used >> 20);
	else
		printf("quota:         none, %" PRIu64 " MiB used\n", i.mem_used >> 20);
	printf("mem used:      %" PRIu64 " bytes\n", i.mem_used);
	printf("priority:      %s\n", vgpu_priority_name(i.priority));
	printf("pool:          %u\n", i.pool);
	printf("domain:        %u (device vgpu-%u)\n", i.domid, i.devid);
	printf("protocol:      %u, ops 0..%u%s, inline data %s\n", i.protocol_version,
	       i.ops ? i.ops - 1 : 0, i.ops > 16 ? " (revision 2)" : "",
	       i.inline_bytes ? "yes" : "no");
	printf("transport:     %s (%s)\n", vgpu_transport_name(v), device_name());
	printf("ring:          %u page(s), %u slots, %u segments per request\n",
	       i.ring_pages, i.ring_slots, i.max_segments);
	printf("context:       %" PRIu64 " (connection %" PRIu64 ")\n", i.ctx, i.generation);
	return 0;
}

static int cmd_nop(vgpu_t *v, unsigned long count, bool gpu_test)
{
	uint64_t t0 = now_ns(), ns = 0;
	unsigned long i;
	int ret;

	for (i = 0; i < count; i++) {
		ret = vgpu_nop(v, &ns);
		if (ret) {
			if (gpu_test)
				printf("Error: NOP failed: %s\n", vgpu_strerror(ret));
			return fail_on(v, "nop", ret);
		}
	}
	if (gpu_test)
		printf("NOP passed\n");
	else
		printf("nop: %lu round trip(s), %.1f us each\n", count,
		       (double)(now_ns() - t0) / 1000.0 / (double)count);
	return 0;
}

/* c = a + b over n elements; returns the number of wrong elements, or -err. */
static long vadd_checked(vgpu_t *v, uint32_t n, unsigned int seed)
{
	float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
	float *c = malloc(n * sizeof(float));
	long bad = 0;
	uint32_t i;
	int ret;

	if (!a || !b || !c) {
		free(a); free(b); free(c);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		a[i] = (float)((i + seed) % 1000);
		b[i] = (float)(2 * i % 777) + 0.5f;
		c[i] = -1.0f;
	}
	ret = vgpu_vector_add(v, a, b, c, n);
	if (ret) {
		bad = ret;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (c[i] != a[i] + b[i])
			bad++;
out:
	free(a); free(b); free(c);
	return bad;
}

static int cmd_vector_add(vgpu_t *v, uint32_t n, bool gpu_test)
{
	long bad = vadd_checked(v, n, 7);

	if (bad < 0) {
		if (gpu_test)
			printf("Error: Vector add failed: %s\n", vgpu_strerror((int)bad));
		return fail_on(v, "vector-add", (int)bad);
	}
	printf("Vector add %s: %u elements, %ld errors\n", bad ? "FAILED" : "passed", n, bad);
	return bad ? 1 : 0;
}

#define INVALID_OP 0xEE

static int cmd_invalid(vgpu_t *v)
{
	/* An opcode of no revision of the protocol: the backend says ENOSYS. */
	int r = vgpu_send_op(v, INVALID_OP);

	if (r == 0) {
		printf("Error: the backend accepted an invalid command (opcode 0x%x)\n",
		       INVALID_OP);
		return 1;
	}
	/* ENOTTY: a module of ABI 1 refuses it itself. */
	if (r != -ENOSYS && r != -ENOTTY) {
		printf("Error: invalid command refused with %s, want ENOSYS\n",
		       vgpu_strerror(r));
		return 1;
	}
	printf("Error: Invalid command\n");
	printf("(opcode 0x%x refused over %s: %s)\n", INVALID_OP, vgpu_transport_name(v),
	       vgpu_strerror(r));
	/* The device must still work afterwards. */
	r = vgpu_nop(v, NULL);
	if (r)
		return fail_on(v, "nop after the invalid command", r);
	return 0;
}

/* xorshift32, four bytes per step: cheap enough for 64 MiB in a slow guest. */
static uint32_t pattern_next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void fill(unsigned char *p, uint64_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1, w = 0;
	uint64_t i;

	for (i = 0; i < len; i++) {
		if ((i & 3) == 0)
			w = pattern_next(&x);
		p[i] = (unsigned char)(w >> (8 * (i & 3)));
	}
}

static int first_diff(const unsigned char *a, const unsigned char *b, uint64_t len, uint64_t *at)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i]) {
			*at = i;
			return 1;
		}
	return 0;
}

/* Does p hold fill(seed)'s pattern? Regenerated, so no second big buffer. */
static int pattern_diff(const unsigned char *p, uint64_t len, uint32_t seed, uint64_t *at)
{
	unsigned char chunk[4096];
	uint32_t x = seed * 2654435761u + 1, w = 0;
	uint64_t i, j, n;

	for (i = 0; i < len; i += n) {
		n = len - i < sizeof(chunk) ? len - i : sizeof(chunk);
		for (j = 0; j < n; j++) {
			if (((i + j) & 3) == 0)
				w = pattern_next(&x);
			chunk[j] = (unsigned char)(w >> (8 * ((i + j) & 3)));
		}
		if (memcmp(chunk, p + i, n) && first_diff(chunk, p + i, n, at)) {
			*at += i;
			return 1;
		}
	}
	return 0;
}

/*
 * H2D from buf+hoff, D2H back into buf+hoff+5 (another misalignment), D2D to
 * a second allocation at offset 1 and back, memset; every byte checked. One
 * host buffer of SIZE + a few bytes, so that 64 MiB fits a small guest.
 */
static int cmd_copy_check(vgpu_t *v, uint64_t size, uint64_t hoff, uint64_t doff)
{
	uint64_t blen = size + hoff + 64, mem = 0, mem2 = 0, at;
	unsigned char *buf = malloc(blen);
	uint32_t seed = (uint32_t)size ^ 0x9e3779b9u;
	int ret, rc = 1;

	if (!buf) {
		fprintf(stderr, "%s: copy-check: cannot allocate %" PRIu64 " bytes\n", prog, blen);
		return 1;
	}
	fill(buf + hoff, size, seed);
	ret = vgpu_mem_alloc(v, size + doff, &mem, NULL);
	if (ret) { fail_on(v, "mem-alloc", ret); goto out; }
	ret = vgpu_memcpy_h2d(v, mem, doff, buf + hoff, size);
	if (ret) { fail_on(v, "memcpy host-to-device", ret); goto out_free; }
	memset(buf, 0x5a, blen);
	ret = vgpu_memcpy_d2h(v, buf + hoff + 5, mem, doff, size);
	if (ret) { fail_on(v, "memcpy device-to-host", ret); goto out_free; }
	if (pattern_diff(buf + hoff + 5, size, seed, &at)) {
		fprintf(stderr, "%s: copy-check: byte %" PRIu64 " of %" PRIu64 " differs after H2D+D2H\n",
			prog, at, size);
		goto out_free;
	}
	if (buf[hoff + 4] != 0x5a || buf[hoff + 5 + size] != 0x5a) {
		fprintf(stderr, "%s: copy-check: D2H wrote outside its buffer\n", prog);
		goto out_free;
	}
	ret = vgpu_mem_alloc(v, size + 1, &mem2, NULL);
	if (ret) { fail_on(v, "mem-alloc", ret); goto out_free; }
	ret = vgpu_memcpy_d2d(v, mem2, 1, mem, doff, size);
	if (!ret)
		ret = vgpu_sync(v);
	if (ret) { fail_on(v, "memcpy device-to-device", ret); goto out_free; }
	memset(buf, 0, blen);
	ret = vgpu_memcpy_d2h(v, buf, mem2, 1, size);
	if (ret) { fail_on(v, "memcpy device-to-host", ret); goto out_free; }
	if (pattern_diff(buf, size, seed, &at)) {
		fprintf(stderr, "%s: copy-check: byte %" PRIu64 " differs after D2D\n", prog, at);
		goto out_free;
	}
	if (size >= 8) {
		uint64_t mlen = (size - 4) & ~3ull, i;

		ret = vgpu_memset(v, mem2, 4, 0xa5c3e1f0u, 4, mlen);
		if (!ret)
			ret = vgpu_sync(v);
		if (ret) { fail_on(v, "memset", ret); goto out_free; }
		ret = vgpu_memcpy_d2h(v, buf, mem2, 4, mlen);
		if (ret) { fail_on(v, "memcpy device-to-host", ret); goto out_free; }
		for (i = 0; i < mlen; i += 4) {
			uint32_t w;

			memcpy(&w, buf + i, 4);
			if (w != 0xa5c3e1f0u) {
				fprintf(stderr, "%s: copy-check: memset word at %" PRIu64 " is %08x\n",
					prog, i, w);
				goto out_free;
			}
		}
	}
	printf("copy-check passed: %" PRIu64 " bytes, host offset %" PRIu64
	       ", device offset %" PRIu64 " (H2D, D2H, D2D%s)\n", size, hoff, doff,
	       size >= 8 ? ", memset" : "");
	rc = 0;
out_free:
	if (mem2)
		vgpu_mem_free(v, mem2);
	ret = vgpu_mem_free(v, mem);
	if (ret && !rc) {
		fail_on(v, "mem-free", ret);
		rc = 1;
	}
out:
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- bench */

struct bench_thread {
	pthread_t tid;
	int kind;              /* 0 nop, 1 vadd, 2 async memset */
	uint32_t n;
	double seconds;
	uint64_t *lat;         /* ns per op (sync kinds)        */
	size_t nlat, cap;
	uint64_t ops;
	int err;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Records one latency; -1 when out of memory. */
static int bench_lat(struct bench_thread *t, uint64_t ns)
{
	if (t->nlat == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 4096;
		uint64_t *nl = realloc(t->lat, nc * sizeof(*nl));

		if (!nl)
			return -1;
		t->lat = nl;
		t->cap = nc;
	}
	t->lat[t->nlat++] = ns;
	return 0;
}

static void *bench_fn(void *arg)
{
	struct bench_thread *t = arg;
	float *a = NULL, *b = NULL, *c = NULL;
	uint64_t end, mem = 0;
	vgpu_t *v;
	uint32_t i;

	v = shared_v;
	if (!v && (t->err = vgpu_open(device_path, &v)))
		return NULL;
	if (t->kind == 1) {
		a = calloc(t->n, 4); b = calloc(t->n, 4); c = calloc(t->n, 4);
		if (!a || !b || !c) { t->err = -ENOMEM; goto out; }
		for (i = 0; i < t->n; i++) { a[i] = (float)i; b[i] = 1.0f; }
	}
	if (t->kind == 2) {
		t->err = vgpu_mem_alloc(v, 4096, &mem, NULL);
		if (t->err)
			goto out;
	}
	end = now_ns() + (uint64_t)(t->seconds * 1e9);
	while (now_ns() < end) {
		uint64_t t0 = now_ns();

		if (t->kind == 0) {
			t->err = vgpu_nop(v, NULL);
		} else if (t->kind == 1) {
			t->err = vgpu_vector_add(v, a, b, c, t->n);
		} else {
			/*
			 * A burst of queued ops, then one SYNC: the ring stays
			 * full. The latency is each call's (time to queue it).
			 */
			for (i = 0; i < 256 && !t->err; i++) {
				uint64_t q0 = now_ns();

				t->err = vgpu_memset(v, mem, (i % 1024) * 4, i, 4, 4);
				if (!t->err && bench_lat(t, now_ns() - q0))
					t->err = -ENOMEM;
			}
			if (!t->err)
				t->err = vgpu_sync(v);
			t->ops += i;
			if (t->err)
				break;
			continue;
		}
		if (t->err)
			break;
		t->ops++;
		if (bench_lat(t, now_ns() - t0)) {
			t->err = -ENOMEM;
			break;
		}
	}
	if (mem)
		vgpu_mem_free(v, mem);
out:
	free(a); free(b); free(c);
	if (v != shared_v)
		vgpu_close(v);
	return NULL;
}

static int bench_one(const char *name, int kind, unsigned int threads, double secs, uint32_t n)
{
	struct bench_thread *t = calloc(threads, sizeof(*t));
	uint64_t ops = 0, *all = NULL;
	size_t nall = 0, k;
	unsigned int i;
	int rc = 0;

	if (!t)
		return fail(name, -ENOMEM);
	for (i = 0; i < threads; i++) {
		t[i].kind = kind;
		t[i].n = n;
		t[i].seconds = secs;
		if (pthread_create(&t[i].tid, NULL, bench_fn, &t[i])) {
			threads = i;
			rc = fail("pthread_create", -EAGAIN);
			break;
		}
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i].tid, NULL);
		ops += t[i].ops;
		nall += t[i].nlat;
		if (t[i].err && !rc)
			rc = fail(name, t[i].err);
	}
	if (nall)
		all = malloc(nall * sizeof(*all));
	nall = 0;
	for (i = 0; i < threads; i++) {
		if (all)
			for (k = 0; k < t[i].nlat; k++)
				all[nall++] = t[i].lat[k];
		free(t[i].lat);
	}
	if (all && nall) {
		qsort(all, nall, sizeof(*all), cmp_u64);
		printf("%-22s %10.0f ops/s   p50 %8.1f us   p99 %8.1f us   (%s, %u thread(s), %" PRIu64 " ops)\n",
		       name, (double)ops / secs, all[nall / 2] / 1000.0,
		       all[(nall * 99) / 100] / 1000.0,
		       kind == 2 ? "per call, queued; SYNC every 256" : "round trip", threads, ops);
	} else {
		printf("%-22s %10.0f ops/s   (queued, %u thread(s), %" PRIu64 " ops)\n",
		       name, (double)ops / secs, threads, ops);
	}
	free(all);
	free(t);
	return rc;
}

/* ---------------------------------------------------------------- stress */

struct stress_thread {
	pthread_t tid;
	unsigned int idx;
	double seconds;
	uint64_t ops, errors;
	char first_error[160];
};

/* Set by the first thread that finds the backend gone: all of them stop. */
static int stress_lost;

/*
 * Errors that say the device or its backend is gone (it died, restarted,
 * was detached): going on would only wait connect_timeout_ms per call and
 * fail again, so stress stops at the first one and says which.
 */
static bool backend_lost(int err)
{
	return err == -EIO || err == -ENOTCONN || err == -ENODEV ||
	       err == -ESHUTDOWN || err == -ESTALE;
}

/* Records an error; true when the thread must stop now (backend lost). */
static bool stress_err(struct stress_thread *t, const char *what, int err)
{
	if (!t->errors++)
		snprintf(t->first_error, sizeof(t->first_error), "%s: %s", what,
			 err ? vgpu_strerror(err) : "wrong result");
	if (!backend_lost(err))
		return false;
	if (!__atomic_exchange_n(&stress_lost, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "%s: stress: %s: %s; stopping\n", prog, what,
			vgpu_strerror(err));
	return true;
}

/* Another thread found the backend gone: no further call (each would wait). */
static bool stress_stopped(void)
{
	return __atomic_load_n(&stress_lost, __ATOMIC_RELAXED);
}

static void *stress_fn(void *arg)
{
	struct stress_thread *t = arg;
	unsigned char *buf = malloc(70000), *back = malloc(70000);
	unsigned int seed = t->idx * 7919 + 1, it = 0;
	uint64_t end = now_ns() + (uint64_t)(t->seconds * 1e9);
	vgpu_t *v = NULL;
	int ret;

	if (!buf || !back) {
		stress_err(t, "malloc", -ENOMEM);
		goto out;
	}
	v = shared_v;
	if (!v && (ret = vgpu_open(device_path, &v))) {
		stress_err(t, "open", ret);
		goto out;
	}
	while (now_ns() < end) {
		uint64_t mem, len, at;
		long bad;

		it++;
		seed = seed * 1103515245u + 12345u;
		switch (it % 4) {
		case 0:
			ret = vgpu_nop(v, NULL);
			if (ret)
				stress_err(t, "nop", ret);
			break;
		case 1:
			bad = vadd_checked(v, 1 + seed % 4096, seed);
			if (bad)
				stress_err(t, "vector-add", bad < 0 ? (int)bad : 0);
			break;
		case 2:
			len = 1 + seed % 65536;
			fill(buf + (seed % 7), len, seed);
			ret = vgpu_mem_alloc(v, len + 16, &mem, NULL);
			if (ret) {
				stress_err(t, "mem-alloc", ret);
				break;
			}
			ret = vgpu_memcpy_h2d(v, mem, seed % 16, buf + (seed % 7), len);
			if (!ret)
				ret = vgpu_memcpy_d2h(v, back + 3, mem, seed % 16, len);
			if (ret) {
				if (stress_err(t, "memcpy", ret))
					goto out;
			} else if (first_diff(buf + (seed % 7), back + 3, len, &at)) {
				stress_err(t, "memcpy data", 0);
			}
			if (stress_stopped())
				goto out;
			ret = vgpu_mem_free(v, mem);
			if (ret)
				stress_err(t, "mem-free", ret);
			break;
		case 3:
			ret = vgpu_mem_alloc(v, 4096, &mem, NULL);
			if (ret) {
				stress_err(t, "mem-alloc", ret);
				break;
			}
			ret = vgpu_memset(v, mem, 0, seed, 4, 4096);
			if (!ret)
				ret = vgpu_sync(v);
			if (!ret)
				ret = vgpu_memcpy_d2h(v, back, mem, 0, 4096);
			if (ret) {
				if (stress_err(t, "memset+sync", ret))
					goto out;
			} else if (memcmp(back, back + 4092, 4) || memcmp(back, &seed, 4)) {
				stress_err(t, "memset data", 0);
			}
			if (stress_stopped())
				goto out;
			ret = vgpu_mem_free(v, mem);
			if (ret)
				stress_err(t, "mem-free", ret);
			break;
		}
		t->ops++;
		if (t->errors > 100 || stress_stopped())
			break;
	}
out:
	if (v != shared_v)
		vgpu_close(v);
	free(buf);
	free(back);
	return NULL;
}

static int cmd_stress(unsigned int threads, double secs)
{
	struct stress_thread *t = calloc(threads, sizeof(*t));
	uint64_t ops = 0, errors = 0;
	unsigned int i, started = 0;

	if (!t)
		return fail("stress", -ENOMEM);
	for (i = 0; i < threads; i++) {
		t[i].idx = i;
		t[i].seconds = secs;
		if (pthread_create(&t[i].tid, NULL, stress_fn, &t[i]))
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(t[i].tid, NULL);
		ops += t[i].ops;
		errors += t[i].errors;
		if (t[i].errors)
			fprintf(stderr, "%s: stress thread %u: %" PRIu64 " error(s), first: %s\n",
				prog, i, t[i].errors, t[i].first_error);
	}
	printf("stress: %u thread(s), %.0f s, %" PRIu64 " ops, %" PRIu64 " errors\n",
	       started, secs, ops, errors);
	free(t);
	return errors || started != threads || ops == 0 ? 1 : 0;
}

/*
 * What a guest that hoards memory sees: allocations, each written in full,
 * until TOTAL or the first refusal. Freed when vgpu exits (the context).
 */
static int cmd_mem_fill(vgpu_t *v, uint64_t total, uint64_t chunk)
{
	uint64_t got = 0, mem;
	unsigned int n = 0;
	int ret = 0;

	while (got < total) {
		uint64_t len = total - got < chunk ? total - got : chunk;

		ret = vgpu_mem_alloc(v, len, &mem, NULL);
		if (ret)
			break;
		ret = vgpu_memset(v, mem, 0, 0xa5u, 1, len);
		if (!ret)
			ret = vgpu_sync(v);
		if (ret) {
			fail("mem-fill: memset", ret);
			break;
		}
		got += len;
		n++;
	}
	printf("mem-fill: %" PRIu64 " of %" PRIu64 " bytes in %u allocation(s) of %" PRIu64
	       ", each written", got, total, n, chunk);
	if (!ret) {
		printf("\n");
		return 0;
	}
	printf("; refused: %s (%s)\n", vgpu_strerror(ret),
	       ret == -ENOMEM ? "ENOMEM" : ret == -EDQUOT ? "EDQUOT" : "other");
	return 1;
}

static int cmd_hold(vgpu_t *v, double secs)
{
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9), ok = 0, failed = 0;
	int first = 0, last = 0, ret;
	long bad;

	while (now_ns() < end) {
		ret = vgpu_nop(v, NULL);
		if (ret) {
			failed++;
			if (!first)
				first = ret;
		} else {
			ok++;
		}
		last = ret;
		usleep(100000);
	}
	printf("hold: %.0f s, %" PRIu64 " NOP ok, %" PRIu64 " failed; last NOP %s\n", secs, ok,
	       failed, last ? "failed" : "ok");
	if (first)
		printf("hold: first failure: %s\n", vgpu_strerror(first));
	bad = vadd_checked(v, 1024, 3);
	if (bad) {
		fprintf(stderr, "%s: hold: final vector-add: %s\n", prog,
			bad < 0 ? vgpu_strerror((int)bad) : "wrong result");
		return 1;
	}
	printf("hold: final vector-add passed\n");
	return 0;
}

/* ----------------------------------------------------------------- main */

static int opt_value(int argc, char **argv, int *i, const char *name, double *out,
		     double lo, double hi)
{
	char *end;
	double d;

	if (*i + 1 >= argc)
		return usage_error("option %s needs a value", name);
	d = strtod(argv[*i + 1], &end);
	if (*end || d < lo || d > hi)
		return usage_error("bad value for option %s", name);
	*out = d;
	*i += 1;
	return 0;
}

int main(int argc, char **argv)
{
	char *base = basename(argv[0]);
	bool gpu_test = strcmp(base, "gpu_test") == 0;
	const char *cmd;
	vgpu_t *v = NULL;
	int i = 1, rc;

	prog = gpu_test ? "gpu_test" : "vgpu";
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--device")) {
			if (i + 1 >= argc)
				return usage_error("option %s needs a value", "--device");
			device_path = argv[i + 1];
			i += 2;
			continue;
		}
		return usage_error("unknown option '%s'", argv[i]);
	}
	if (i >= argc)
		return usage_error("%s", "a command is needed");
	cmd = argv[i++];
	/* gpu_test's names work in both spellings, and in both programs. */
	if (!strcmp(cmd, "vector_add"))
		cmd = "vector-add";
	if (!strcmp(cmd, "invalid_command"))
		cmd = "invalid-command";

	if (!strcmp(cmd, "bench") || !strcmp(cmd, "stress")) {
		double secs = !strcmp(cmd, "bench") ? 2 : 10, threads = !strcmp(cmd, "bench") ? 1 : 2;
		double n = 1024;
		bool shared = false;

		for (; i < argc; i++) {
			if (!strcmp(argv[i], "--shared")) {
				shared = true;
				continue;
			}
			if (!strcmp(argv[i], "--seconds"))
				rc = opt_value(argc, argv, &i, "--seconds", &secs, 0.1, 86400);
			else if (!strcmp(argv[i], "--threads"))
				rc = opt_value(argc, argv, &i, "--threads", &threads, 1, 256);
			else if (!strcmp(argv[i], "--n") && !strcmp(cmd, "bench"))
				rc = opt_value(argc, argv, &i, "--n", &n, 1, VGPU_MAX_VECTOR_ADD_ELEMS);
			else
				rc = usage_error("unknown argument '%s'", argv[i]);
			if (rc)
				return rc;
		}
		if (shared && open_dev(&shared_v))
			return 1;
		if (!strcmp(cmd, "stress")) {
			rc = cmd_stress((unsigned int)threads, secs);
		} else {
			rc = bench_one("nop (sync)", 0, (unsigned int)threads, secs, 0);
			rc |= bench_one("vector-add (sync)", 1, (unsigned int)threads, secs,
					(uint32_t)n);
			rc |= bench_one("memset 4 B (async)", 2, (unsigned int)threads, secs, 0);
		}
		vgpu_close(shared_v);
		return rc ? 1 : 0;
	}

	if (strcmp(cmd, "info") && strcmp(cmd, "nop") && strcmp(cmd, "vector-add") &&
	    strcmp(cmd, "invalid-command") && strcmp(cmd, "copy-check") && strcmp(cmd, "hold") &&
	    strcmp(cmd, "mem-fill"))
		return usage_error("unknown command '%s'", cmd);

	/* Arguments first, so that a usage error never needs the device. */
	{
		unsigned long count = 1;
		uint64_t size = 0, hoff = 1, doff = 3, n = 1024, chunk = 32ull << 20;
		double secs = 0;
		char *end;

		if (!strcmp(cmd, "nop") && i < argc) {
			count = strtoul(argv[i], &end, 10);
			if (*end || count == 0 || argv[i][0] == '-')
				return usage_error("nop: bad COUNT '%s'", argv[i]);
			i++;
		} else if (!strcmp(cmd, "vector-add") && i < argc) {
			n = parse_size(argv[i], false);
			if (n == 0 || n > VGPU_MAX_VECTOR_ADD_ELEMS)
				return usage_error("vector-add: N must be 1..1048576, not '%s'", argv[i]);
			i++;
		} else if (!strcmp(cmd, "copy-check")) {
			if (i >= argc)
				return usage_error("%s", "copy-check: SIZE is needed");
			size = parse_size(argv[i++], false);
			if (size == 0 || size > (1ull << 30))
				return usage_error("copy-check: SIZE must be 1..1G, not '%s'", argv[i - 1]);
			if (i < argc) {
				hoff = parse_size(argv[i++], true);
				if (hoff > 4095)
					return usage_error("copy-check: HOST_OFF must be 0..4095, not '%s'",
							   argv[i - 1]);
			}
			if (i < argc) {
				doff = parse_size(argv[i++], true);
				if (doff > (1ull << 20))
					return usage_error("copy-check: DEV_OFF must be 0..1M, not '%s'",
							   argv[i - 1]);
			}
		} else if (!strcmp(cmd, "mem-fill")) {
			if (i >= argc)
				return usage_error("%s", "mem-fill: TOTAL is needed");
			size = parse_size(argv[i++], false);
			if (size == 0)
				return usage_error("mem-fill: bad TOTAL '%s'", argv[i - 1]);
			if (i < argc) {
				chunk = parse_size(argv[i++], false);
				if (chunk == 0)
					return usage_error("mem-fill: bad CHUNK '%s'", argv[i - 1]);
			}
		} else if (!strcmp(cmd, "hold")) {
			if (i >= argc)
				return usage_error("%s", "hold: SECONDS is needed");
			secs = strtod(argv[i], &end);
			if (*end || secs <= 0 || secs > 86400)
				return usage_error("hold: bad SECONDS '%s'", argv[i]);
			i++;
		}
		if (i < argc)
			return usage_error("unexpected argument '%s'", argv[i]);

		if (open_dev(&v)) {
			if (gpu_test && !strcmp(cmd, "invalid-command"))
				printf("Error: cannot open the device\n");
			return 1;
		}
		if (!strcmp(cmd, "info"))
			rc = cmd_info(v);
		else if (!strcmp(cmd, "nop"))
			rc = cmd_nop(v, count, gpu_test);
		else if (!strcmp(cmd, "vector-add"))
			rc = cmd_vector_add(v, (uint32_t)n, gpu_test);
		else if (!strcmp(cmd, "invalid-command"))
			rc = cmd_invalid(v);
		else if (!strcmp(cmd, "copy-check"))
			rc = cmd_copy_check(v, size, hoff, doff);
		else if (!strcmp(cmd, "mem-fill"))
			rc = cmd_mem_fill(v, size, chunk);
		else
			rc = cmd_hold(v, secs);
	}
	vgpu_close(v);
	return rc;
}
