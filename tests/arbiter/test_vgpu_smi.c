/*
 * test_vgpu_smi.c - vgpu-smi against a private arbiter region with known
 * figures: --json (checked for syntax and for every figure), the table,
 * --prometheus (format, HELP/TYPE, values, atomic replace), -l rates, and a
 * table of bad command lines.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arbiter.h"

#ifndef VGPU_SMI
#error "VGPU_SMI must name the vgpu-smi binary"
#endif

static char g_name[64];
static struct vgpu_arb *g_arb;
static struct vgpu_arb_slot *g_d3, *g_d7;

/* ------------------------------------------------------------ helpers */

/* Run vgpu-smi with args; stdout into out (NUL-terminated); exit status. */
static int run_smi(char *out, size_t outsz, const char *const *args)
{
	const char *argv[32];
	size_t n = 0, got = 0;
	int p[2], st;
	pid_t pid;

	argv[n++] = VGPU_SMI;
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(VGPU_SMI, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], out + got, outsz - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == outsz - 1)
			break;
	}
	out[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "vgpu-smi did not exit normally");
	return WEXITSTATUS(st);
}

/* A strict little JSON syntax checker: 0 when s is exactly one value. */
static const char *js_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static const char *js_value(const char *s, int depth);

static const char *js_string(const char *s)
{
	if (*s++ != '"')
		return NULL;
	while (*s && *s != '"') {
		if ((unsigned char)*s < 0x20)
			return NULL;
		if (*s == '\\') {
			s++;
			if (!*s)
				return NULL;
		}
		s++;
	}
	return *s == '"' ? s + 1 : NULL;
}

static const char *js_number(const char *s)
{
	const char *start = s;

	if (*s == '-')
		s++;
	if (*s < '0' || *s > '9')
		return NULL;
	if (*s == '0' && s[1] >= '0' && s[1] <= '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return s > start ? s : NULL;
}

static const char *js_value(const char *s, int depth)
{
	if (depth > 16)
		return NULL;
	s = js_ws(s);
	if (*s == '{' || *s == '[') {
		char close = *s == '{' ? '}' : ']';
		bool obj = *s == '{';

		s = js_ws(s + 1);
		if (*s == close)
			return s + 1;
		for (;;) {
			if (obj) {
				s = js_string(js_ws(s));
				if (!s)
					return NULL;
				s = js_ws(s);
				if (*s++ != ':')
					return NULL;
			}
			s = js_value(s, depth + 1);
			if (!s)
				return NULL;
			s = js_ws(s);
			if (*s == ',') {
				s++;
				continue;
			}
			return *s == close ? s + 1 : NULL;
		}
	}
	if (*s == '"')
		return js_string(s);
	if (!strncmp(s, "true", 4))
		return s + 4;
	if (!strncmp(s, "false", 5))
		return s + 5;
	if (!strncmp(s, "null", 4))
		return s + 4;
	return js_number(s);
}

static void assert_json(const char *s)
{
	const char *end = js_value(s, 0);

	ck_assert_msg(end != NULL, "not JSON: %.300s", s);
	ck_assert_msg(*js_ws(end) == '\0', "trailing text after JSON: %.100s", end);
}

/* The text of the domain object {"domid":D,...} in a JSON line. */
static char *dom_obj(const char *json, uint32_t domid, char *buf, size_t n)
{
	char key[32];
	const char *p, *e;

	snprintf(key, sizeof(key), "{\"domid\":%u,", domid);
	p = strstr(json, key);
	ck_assert_msg(p != NULL, "no domain %u in %.300s", domid, json);
	e = strchr(p, '}');
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_lt((size_t)(e - p), n);
	memcpy(buf, p, (size_t)(e - p + 1));
	buf[e - p + 1] = '\0';
	return buf;
}

#define assert_has(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "missing %s in:\n%s", (needle), (hay))

/* ------------------------------------------------------------ fixture */

static void setup(void)
{
	struct vgpu_arb_config cfg;
	struct vgpu_arb_domain d3 = { .domid = 3, .priority = VGPUIF_PRIO_HIGH,
				      .pool = 0, .gpu = -1, .mem_quota = 1ull << 30,
				      .ctx_overhead = 1288490189ull /* 1.2 GiB */ };
	struct vgpu_arb_domain d7 = { .domid = 7, .devid = 1,
				      .priority = VGPUIF_PRIO_LOW, .pool = 1,
				      .gpu = -1, .gpu_share_pct = 25 };
	const char *why;

	snprintf(g_name, sizeof(g_name), "vgpu-smi-test-%d", (int)getpid());
	vgpu_arb_unlink(g_name);
	vgpu_arb_config_default(&cfg);
	cfg.ngpus = 2;
	cfg.tokens = 2;
	cfg.aging_ns = 30ull * 1000000;
	ck_assert_int_eq(vgpu_arb_parse_pools("0=0;1=1", &cfg, &why), 0);
	ck_assert_int_eq(vgpu_arb_open(&g_arb, g_name, &cfg, 0, &why), 0);
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d3, &g_d3), 0);
	ck_assert_int_eq(vgpu_arb_register(g_arb, &d7, &g_d7), 0);
	/* domain 3: 2 ops, 1.5 s of GPU, 42 requests (5 errors), 4 KiB, 1 refusal */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(vgpu_arb_acquire(g_d3, 0), 0);
		ck_assert_int_eq(vgpu_arb_release(g_d3, 750000000ull), 0);
	}
	vgpu_arb_count(g_d3, 42, 5);
	ck_assert_int_eq(vgpu_arb_mem_reserve(g_d3, 4096), 0);
	ck_assert_int_eq(vgpu_arb_mem_reserve(g_d3, 1ull << 30), VGPUIF_RSP_EDQUOT);
	/* domain 7: holds a turn now */
	ck_assert_int_eq(vgpu_arb_acquire(g_d7, 0), 0);
	vgpu_arb_count(g_d7, 1, 0);
	vgpu_arb_set_queue(g_d7, 3);  /* its backend holds 3 requests */
	/* its executor measured its context: 300 MiB, then none (a new worker) */
	ck_assert_int_eq(vgpu_arb_set_overhead(g_d7, 300ull << 20), 0);
	ck_assert_int_eq(vgpu_arb_set_overhead(g_d7, 0), 0);
}

static void teardown(void)
{
	vgpu_arb_unregister(g_d3);
	vgpu_arb_unregister(g_d7);
	vgpu_arb_close(g_arb);
	vgpu_arb_unlink(g_name);
}

/* -------------------------------------------------------------- tests */

START_TEST(test_json_figures)
{
	static char out[65536], obj[4096];
	const char *args[] = { "--region", g_name, "--json", "--sample-ms", "0", NULL };

	ck_assert_int_eq(run_smi(out, sizeof(out), args), 0);
	assert_json(out);
	assert_has(out, "\"config\":{\"gpus\":2,\"turns_per_gpu\":2,\"burst\":16,\"high_reserve\":1,\"aging_ms\":30,");
	assert_has(out, "\"pools\":{\"0\":[0],\"1\":[1]}");
	assert_has(out, "{\"index\":0,\"turns\":2,\"turns_in_use\":0,\"waiting\":0,\"domains\":1,");
	assert_has(out, "{\"index\":1,\"turns\":2,\"turns_in_use\":1,\"waiting\":0,\"domains\":1,");
	assert_has(out, "\"grants\":2,\"busy_pct\":null}");

	dom_obj(out, 3, obj, sizeof(obj));
	assert_has(obj, "\"devid\":0,\"priority\":\"high\",\"pool\":0,\"gpu\":0,");
	assert_has(obj, "\"alive\":true");
	assert_has(obj, "\"mem_used\":4096,\"mem_peak\":4096,\"mem_quota\":1073741824,"
		   "\"ctx_overhead\":1288490189,");
	assert_has(obj, "\"quota_refusals\":1,\"requests\":42,\"errors\":5,");
	assert_has(obj, "\"gpu_time_ns\":1500000000,\"grants\":2,");
	assert_has(obj, "\"waiting\":0,\"inflight\":0,\"queue_depth\":0,\"gpu_share_pct\":0,");
	assert_has(obj, "\"requests_per_s\":null,\"gpu_time_pct\":null}");
	{
		char pid[32];
		snprintf(pid, sizeof(pid), "\"pid\":%d,", (int)getpid());
		assert_has(obj, pid);
	}

	dom_obj(out, 7, obj, sizeof(obj));
	assert_has(obj, "\"devid\":1,\"priority\":\"low\",\"pool\":1,\"gpu\":1,");
	assert_has(obj, "\"mem_quota\":0,\"ctx_overhead\":0,");
	assert_has(obj, "\"requests\":1,\"errors\":0,");
	assert_has(obj, "\"inflight\":1,\"queue_depth\":3,\"gpu_share_pct\":25,");

	/* --domain filters */
	{
		const char *a2[] = { "--region", g_name, "--json", "--sample-ms", "0",
				     "-d", "7", NULL };
		ck_assert_int_eq(run_smi(out, sizeof(out), a2), 0);
		assert_json(out);
		ck_assert_ptr_null(strstr(out, "{\"domid\":3,"));
		assert_has(out, "{\"domid\":7,");
	}
}
END_TEST

START_TEST(test_table)
{
	static char out[65536];
	const char *args[] = { "--region", g_name, "--sample-ms", "0", NULL };
	char *line;

	ck_assert_int_eq(run_smi(out, sizeof(out), args), 0);
	assert_has(out, "turns/GPU 2 (1 high only, burst 16)  aging 30 ms");
	assert_has(out, "pools 0=0 1=1");
	assert_has(out, "DOMID");
	assert_has(out, "| GPU |");
	assert_has(out, "|   1 |   1/2   |");
	line = strstr(out, "\n     3    0 high");
	ck_assert_msg(line != NULL, "no line for domain 3:\n%s", out);
	assert_has(line, "4.0 KiB / 1.0 GiB  1.2 GiB");
	line = strstr(out, "\n     7    1 low");
	ck_assert_msg(line != NULL, "no line for domain 7:\n%s", out);
	assert_has(line, "0 B / none        -");
}
END_TEST

static int count_prefix(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

START_TEST(test_prometheus)
{
	static char out[65536], file[65536];
	char dir[] = "/tmp/vgpu-smi-prom-XXXXXX", path[128];
	const char *args[] = { "--region", g_name, "--sample-ms", "0",
			       "--prometheus", path, NULL };
	const char *names_seen[64];
	unsigned int nseen = 0;
	FILE *f;
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vgpu.prom", dir);
	/* An old file is replaced whole. */
	f = fopen(path, "w");
	fputs("stale_metric 1\n", f);
	fclose(f);
	ck_assert_int_eq(run_smi(out, sizeof(out), args), 0);
	ck_assert_str_eq(out, "");  /* --prometheus alone prints nothing */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(file, 1, sizeof(file) - 1, f);
	fclose(f);
	file[n] = '\0';
	ck_assert_int_eq(count_prefix(dir, "vgpu.prom."), 0);  /* no temp left */
	ck_assert_ptr_null(strstr(file, "stale_metric"));

	assert_has(file, "# HELP vgpu_domain_gpu_time_seconds_total ");
	assert_has(file, "# TYPE vgpu_domain_gpu_time_seconds_total counter\n");
	assert_has(file, "vgpu_domain_gpu_time_seconds_total{domid=\"3\",devid=\"0\","
			 "priority=\"high\",pool=\"0\",gpu=\"0\"} 1.5\n");
	assert_has(file, "vgpu_domain_requests_total{domid=\"3\",devid=\"0\","
			 "priority=\"high\",pool=\"0\",gpu=\"0\"} 42\n");
	assert_has(file, "vgpu_domain_errors_total{domid=\"3\",devid=\"0\","
			 "priority=\"high\",pool=\"0\",gpu=\"0\"} 5\n");
	assert_has(file, "vgpu_domain_memory_quota_bytes{domid=\"3\",devid=\"0\","
			 "priority=\"high\",pool=\"0\",gpu=\"0\"} 1073741824\n");
	assert_has(file, "vgpu_domain_queue_depth{domid=\"7\",devid=\"1\","
			 "priority=\"low\",pool=\"1\",gpu=\"1\"} 3\n");
	assert_has(file, "# TYPE vgpu_domain_context_overhead_bytes gauge\n");
	assert_has(file, "vgpu_domain_context_overhead_bytes{domid=\"3\",devid=\"0\","
			 "priority=\"high\",pool=\"0\",gpu=\"0\"} 1288490189\n");
	assert_has(file, "vgpu_domain_context_overhead_bytes{domid=\"7\",devid=\"1\","
			 "priority=\"low\",pool=\"1\",gpu=\"1\"} 0\n");
	assert_has(file, "# TYPE vgpu_domain_memory_used_bytes gauge\n");
	assert_has(file, "vgpu_gpu_turns_in_use{gpu=\"1\"} 1\n");
	assert_has(file, "vgpu_arbiter_repairs_total 0\n");
	/* No rate without a second sample. */
	ck_assert_ptr_null(strstr(file, "vgpu_domain_requests_per_second{"));

	/* Every sample line: a name with HELP and TYPE before it, labels, value. */
	for (char *l = strtok(file, "\n"); l; l = strtok(NULL, "\n")) {
		char name[128], help[160], type[160];
		const char *sp;
		bool known = false;

		if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7)) {
			if (!strncmp(l, "# TYPE ", 7)) {
				ck_assert_msg(strstr(l, " counter") || strstr(l, " gauge"),
					      "bad TYPE: %s", l);
			}
			continue;
		}
		ck_assert_msg(l[0] != '#', "stray comment: %s", l);
		n = strcspn(l, "{ ");
		ck_assert_uint_lt(n, sizeof(name));
		memcpy(name, l, n);
		name[n] = '\0';
		for (size_t i = 0; i < n; i++)
			ck_assert_msg((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_',
				      "bad metric name in: %s", l);
		sp = strrchr(l, ' ');
		ck_assert_ptr_nonnull(sp);
		{
			char *end;
			strtod(sp + 1, &end);
			ck_assert_msg(*end == '\0' && end > sp + 1, "bad value: %s", l);
		}
		for (unsigned int i = 0; i < nseen; i++)
			known = known || !strcmp(names_seen[i], name);
		if (!known) {
			(void)help;
			(void)type;
			ck_assert_uint_lt(nseen, 64);
			names_seen[nseen++] = strdup(name);
		}
	}
	ck_assert_uint_ge(nseen, 20);
	/* HELP and TYPE come once per metric, before its samples. */
	f = fopen(path, "r");
	n = fread(file, 1, sizeof(file) - 1, f);
	fclose(f);
	file[n] = '\0';
	for (unsigned int i = 0; i < nseen; i++) {
		char h[200], t[200], s1[200];
		const char *ph, *pt, *ps;

		snprintf(h, sizeof(h), "# HELP %s ", names_seen[i]);
		snprintf(t, sizeof(t), "# TYPE %s ", names_seen[i]);
		snprintf(s1, sizeof(s1), "\n%s", names_seen[i]);
		ph = strstr(file, h);
		pt = strstr(file, t);
		ps = strstr(file, s1);
		ck_assert_msg(ph && pt && ps && ph < pt && pt < ps,
			      "HELP/TYPE order for %s", names_seen[i]);
		ck_assert_ptr_null(strstr(ph + 1, h));
		free((void *)names_seen[i]);
	}
	unlink(path);
	rmdir(dir);

	/* An unwritable place: exit 1 and a message. */
	{
		const char *a2[] = { "--region", g_name, "--sample-ms", "0",
				     "--prometheus", "/nonexistent-dir/x.prom", NULL };
		ck_assert_int_eq(run_smi(out, sizeof(out), a2), 1);
	}
}
END_TEST

static volatile int g_busy_stop;
static void *busy_main(void *arg)
{
	(void)arg;
	while (!g_busy_stop) {
		vgpu_arb_count(g_d3, 1, 0);
		if (vgpu_arb_acquire(g_d3, 0) == 0)
			vgpu_arb_release(g_d3, 100000);
		usleep(500);
	}
	return NULL;
}

/* -l: one line per sample; rates from the second sample on. */
START_TEST(test_loop_rates)
{
	static char out[262144];
	const char *args[] = { "--region", g_name, "--json", "-l", "0.2", "-c", "3", NULL };
	char obj[4096], *l2, *l3;
	pthread_t t;

	g_busy_stop = 0;
	ck_assert_int_eq(pthread_create(&t, NULL, busy_main, NULL), 0);
	ck_assert_int_eq(run_smi(out, sizeof(out), args), 0);
	g_busy_stop = 1;
	pthread_join(t, NULL);

	l2 = strchr(out, '\n');
	ck_assert_ptr_nonnull(l2);
	*l2++ = '\0';
	l3 = strchr(l2, '\n');
	ck_assert_ptr_nonnull(l3);
	*l3++ = '\0';
	ck_assert_ptr_nonnull(strchr(l3, '\n'));
	*strchr(l3, '\n') = '\0';
	assert_json(out);
	assert_json(l2);
	assert_json(l3);
	assert_has(out, "\"sample_s\":null");
	dom_obj(out, 3, obj, sizeof(obj));
	assert_has(obj, "\"requests_per_s\":null");
	dom_obj(l3, 3, obj, sizeof(obj));
	ck_assert_ptr_null(strstr(obj, "\"requests_per_s\":null"));
	ck_assert_ptr_null(strstr(obj, "\"requests_per_s\":0.000"));
	ck_assert_ptr_null(strstr(l3, "\"sample_s\":null"));
	/* domain 7 did nothing: a measured zero */
	dom_obj(l3, 7, obj, sizeof(obj));
	assert_has(obj, "\"requests_per_s\":0.000,\"gpu_time_pct\":0.000}");
}
END_TEST

START_TEST(test_usage)
{
	static const struct { const char *a[6]; int rc; } rows[] = {
		{ { "-l", "0" }, 2 },
		{ { "-l", "abc" }, 2 },
		{ { "-l", "86401" }, 2 },
		{ { "-l", "1", "-c", "0" }, 2 },
		{ { "-c", "5" }, 2 },
		{ { "--sample-ms", "-1" }, 2 },
		{ { "--sample-ms", "60001" }, 2 },
		{ { "-d", "32752" }, 2 },
		{ { "-d", "x" }, 2 },
		{ { "--prometheus", "" }, 2 },
		{ { "--bogus" }, 2 },
		{ { "extra" }, 2 },
		{ { "--region", "../x" }, 1 },
		{ { "--region", "vgpu-smi-test-absent" }, 1 },
		{ { "--help" }, 0 },
	};
	static char out[65536];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = run_smi(out, sizeof(out), rows[i].a);
		ck_assert_msg(rc == rows[i].rc, "row %zu (%s): exit %d, want %d",
			      i, rows[i].a[0], rc, rows[i].rc);
	}
	{
		const char *h[] = { "--help", NULL };
		run_smi(out, sizeof(out), h);
		assert_has(out, "Usage: vgpu-smi");
		assert_has(out, "--prometheus FILE");
		assert_has(out, "Exit status");
	}
}
END_TEST

static Suite *smi_suite(void)
{
	Suite *s = suite_create("vgpu-smi");
	TCase *tc = tcase_create("report");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_json_figures);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_prometheus);
	tcase_add_test(tc, test_loop_rates);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(smi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
