/* SPDX-License-Identifier: MIT */
/*
 * test_xenbus.c - the xenbus state machine (xenbus.c) over the fake store,
 * the strict XenStore number parser, and the config file / flag parser.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "fake.h"

#define BE "/local/domain/0/backend/vgpu/3/0"
#define FE "/local/domain/3/device/vgpu/0"

static struct fake_transport *T;
static struct vgpu_exec *EX;
static struct vgpuback_config CFG;
static struct vgpuback_device DEV;

static void setup(void)
{
	setenv("VGPU_ARB", "off", 1);
	T = fake_transport_new();
	ck_assert_ptr_nonnull(T);
	fake_exec_reset();
	vgpuback_config_defaults(&CFG);
	CFG.domid = 3;
	vgpuback_log_init(3, 0, getenv("VGPUBACK_TEST_DEBUG") ?
			  VGPUBACK_LOG_DEBUG : VGPUBACK_LOG_ERROR, NULL, 0);
	fake_set(T, BE "/frontend", FE);
	fake_set(T, BE "/frontend-id", "3");
	fake_set(T, BE "/state", "1");
	fake_set(T, FE "/state", "1");
	ck_assert_int_eq(vgpu_exec_open(&EX, NULL, NULL), 0);
	ck_assert_int_eq(vgpuback_dev_init(&DEV, &CFG, &T->t, EX), 0);
}

static void teardown(void)
{
	if (DEV.conn != VGPUBACK_DISCONNECTED) {
		fake_exec_release(-1);
		vgpuback_ring_completions(&DEV);
		DEV.leaving = true;
		vgpuback_ring_disconnect(&DEV);
	}
	vgpuback_xenbus_uninit(&DEV);
	vgpuback_dev_uninit(&DEV);
	vgpu_exec_close(EX);
	ck_assert_int_eq(fake_live_maps(T), 0);
	fake_transport_free(T);
	vgpuback_log_uninit();
}

static const char *be_state(void)
{
	return fake_get(T, BE "/state");
}

/* A frontend with a good ring at gref 8, port 5. */
static void fe_publish(uint32_t gref)
{
	char v[16];
	struct vgpuif_sring *s;

	fake_grant(T, gref, false);
	s = fake_page(T, gref);
	SHARED_RING_INIT(s);
	snprintf(v, sizeof(v), "%u", gref);
	fake_set(T, FE "/ring-ref", v);
	fake_set(T, FE "/event-channel", "5");
	fake_set(T, FE "/protocol", VGPUIF_PROTOCOL);
	fake_set(T, FE "/feature-persistent", "1");
}

static void fe_state(const char *s)
{
	fake_set(T, FE "/state", s);
	vgpuback_xenbus_changed(&DEV);
}

START_TEST(test_features_and_initwait)
{
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	ck_assert_str_eq(be_state(), "2");
	ck_assert_str_eq(fake_get(T, BE "/max-ring-page-order"), "4");
	ck_assert_str_eq(fake_get(T, BE "/feature-persistent"), "1");
	ck_assert_str_eq(fake_get(T, BE "/feature-max-indirect-segments"), "8192");
	ck_assert_str_eq(fake_get(T, BE "/gpu-name"), "fake executor");
	ck_assert_str_eq(fake_get(T, BE "/gpu-memory"), "1073741824");
	ck_assert_str_eq(fake_get(T, BE "/executor"), "cpu");
	ck_assert_ptr_nonnull(fake_get(T, BE "/gpu-compute-capability"));
	/* revision 3: ops 0..32, inline data, registered host memory */
	ck_assert_str_eq(fake_get(T, BE "/feature-ops"), "33");
	ck_assert_str_eq(fake_get(T, BE "/feature-inline"), "1");
	ck_assert_str_eq(fake_get(T, BE "/feature-host-mem"), "1");
}
END_TEST

/*
 * protocol-revision = 2: ops 0..30 and inline data, no feature-host-mem
 * (removed when a revision-3 instance before it wrote it).
 */
START_TEST(test_revision2_features)
{
	fake_set(T, BE "/feature-host-mem", "1");
	vgpuback_dev_uninit(&DEV);
	CFG.protocol_revision = 2;
	ck_assert_int_eq(vgpuback_dev_init(&DEV, &CFG, &T->t, EX), 0);
	ck_assert(DEV.policy.no_host_mem);
	ck_assert(!DEV.policy.revision1);
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	ck_assert_str_eq(fake_get(T, BE "/feature-ops"), "31");
	ck_assert_str_eq(fake_get(T, BE "/feature-inline"), "1");
	ck_assert_ptr_null(fake_get(T, BE "/feature-host-mem"));
}
END_TEST

/*
 * protocol-revision = 1: the backend writes neither revision-2 key (and
 * removes those a revision-2 instance before it wrote), as a backend that
 * predates them; a frontend reads feature-ops as absent, i.e. 16.
 */
START_TEST(test_revision1_features)
{
	fake_set(T, BE "/feature-ops", "31");
	fake_set(T, BE "/feature-inline", "1");
	fake_set(T, BE "/feature-host-mem", "1");
	vgpuback_dev_uninit(&DEV);
	CFG.protocol_revision = 1;
	ck_assert_int_eq(vgpuback_dev_init(&DEV, &CFG, &T->t, EX), 0);
	ck_assert(DEV.policy.revision1);
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	ck_assert_str_eq(be_state(), "2");
	ck_assert_ptr_null(fake_get(T, BE "/feature-ops"));
	ck_assert_ptr_null(fake_get(T, BE "/feature-inline"));
	ck_assert_ptr_null(fake_get(T, BE "/feature-host-mem"));
	ck_assert_str_eq(fake_get(T, BE "/feature-max-indirect-segments"), "8192");
	/* and it still connects a frontend as before */
	fe_publish(8);
	fe_state("3");
	vgpuback_xenbus_changed(&DEV);
	ck_assert_str_eq(be_state(), "4");
}
END_TEST

START_TEST(test_features_retry_eagain)
{
	T->eagain_commits = 3;
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	ck_assert_int_eq(T->eagain_commits, 0);
	ck_assert_str_eq(be_state(), "2");
}
END_TEST

START_TEST(test_wrong_frontend_path_refused)
{
	fake_set(T, BE "/frontend", "/local/domain/4/device/vgpu/0");
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), -EINVAL);
}
END_TEST

START_TEST(test_connect_idempotent_close_reconnect)
{
	uint64_t maps;
	int i;

	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	fe_publish(8);
	fe_state("3");
	ck_assert_str_eq(be_state(), "4");
	ck_assert_int_eq(DEV.conn, VGPUBACK_CONNECTED);
	ck_assert(DEV.ring.persistent);
	maps = T->map_calls;
	/* Repeated and coalesced watch events change nothing. */
	for (i = 0; i < 5; i++)
		fe_state("4");
	vgpuback_xenbus_changed(&DEV);
	ck_assert_uint_eq(T->map_calls, maps);
	ck_assert_str_eq(be_state(), "4");
	/* Closing, Closed, back to InitWait. */
	fe_state("5");
	ck_assert_int_eq(DEV.conn, VGPUBACK_DISCONNECTED);
	ck_assert_str_eq(be_state(), "5");
	fe_state("6");
	ck_assert_str_eq(be_state(), "2");
	ck_assert_int_eq(fake_live_maps(T), 0);
	/* A new frontend instance reconnects. */
	fe_state("1");
	fe_publish(9);
	fe_state("3");
	ck_assert_str_eq(be_state(), "4");
}
END_TEST

/*
 * A guest can cycle its frontend through the states as fast as XenStore
 * lets it: each cycle logs lifecycle lines in dom0. They are rate-limited
 * per site, so the log grows by a bounded amount per interval however fast
 * the guest goes (here: at most burst + 1 lines per site per window).
 */
START_TEST(test_reconnect_storm_log_bounded)
{
	char path[] = "/tmp/vgpu-test-xenbus-log-XXXXXX", line[1024];
	uint64_t t0, windows;
	int fd, i, state_lines = 0, connected_lines = 0;
	FILE *fp;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	vgpuback_log_uninit();
	ck_assert_int_eq(vgpuback_log_init(3, 0, VGPUBACK_LOG_INFO, path, 0), 0);
	t0 = vgpuback_now_ns();
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	fe_publish(8);
	for (i = 0; i < 300; i++) {
		fe_state("3");
		ck_assert_int_eq(DEV.conn, VGPUBACK_CONNECTED);
		fe_state("5");
		fe_state("6");
	}
	/* 10 s windows, as in log.h's vb_info_rl. */
	windows = (vgpuback_now_ns() - t0) / 10000000000ull + 2;
	vgpuback_log_uninit();
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp)) {
		if (strstr(line, "state "))
			state_lines++;
		if (strstr(line, "connected: ring"))
			connected_lines++;
	}
	fclose(fp);
	unlink(path);
	ck_assert_int_ge(connected_lines, 1);
	ck_assert_msg((uint64_t)state_lines <= windows * (20 + 1),
		      "%d state lines for %d cycles", state_lines, i);
	ck_assert_msg((uint64_t)connected_lines <= windows * (20 + 1),
		      "%d connected lines for %d cycles", connected_lines, i);
	vgpuback_log_init(3, 0, VGPUBACK_LOG_ERROR, NULL, 0);
}
END_TEST

START_TEST(test_frontend_vanishes)
{
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	fe_publish(8);
	fe_state("3");
	ck_assert_str_eq(be_state(), "4");
	fake_rm(T, FE);
	vgpuback_xenbus_changed(&DEV);
	ck_assert_int_eq(DEV.conn, VGPUBACK_DISCONNECTED);
	ck_assert_str_eq(be_state(), "2");
}
END_TEST

START_TEST(test_new_instance_coalesced)
{
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	fe_publish(8);
	fe_state("3");
	ck_assert_str_eq(be_state(), "4");
	/* Module reload: Closed, Initialising, Initialised all coalesced
	 * into one event; only the ring-ref tells. */
	fe_publish(10);
	fe_state("3");
	ck_assert_int_eq(DEV.conn, VGPUBACK_CONNECTED);
	ck_assert_uint_eq(DEV.conn_refs[0], 10);
	ck_assert_str_eq(be_state(), "4");
}
END_TEST

START_TEST(test_domain_dies)
{
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	fe_publish(8);
	fe_state("3");
	T->domain_dead = true;
	vgpuback_xenbus_changed(&DEV);
	ck_assert(DEV.quit);
	ck_assert_int_eq(DEV.conn, VGPUBACK_DISCONNECTED);
}
END_TEST

START_TEST(test_backend_dir_removed)
{
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	fake_rm(T, BE);
	vgpuback_xenbus_changed(&DEV);
	ck_assert(DEV.quit);
}
END_TEST

START_TEST(test_restart_finds_stale_connection)
{
	fake_set(T, BE "/state", "4");
	fe_publish(8);
	fake_set(T, FE "/state", "4");
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	ck_assert_str_eq(be_state(), "5");
	vgpuback_xenbus_changed(&DEV);
	ck_assert_int_eq(DEV.conn, VGPUBACK_DISCONNECTED); /* no remap */
	fe_state("6");
	ck_assert_str_eq(be_state(), "2");
	fe_state("1");
	fe_publish(9);
	fe_state("3");
	ck_assert_str_eq(be_state(), "4");
}
END_TEST

START_TEST(test_policy_and_quota)
{
	fake_set(T, BE "/priority", "high");
	fake_set(T, BE "/pool", "3");
	fake_set(T, BE "/mem-quota", "1048576");
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	ck_assert_uint_eq(DEV.priority, VGPUIF_PRIO_HIGH);
	ck_assert_uint_eq(DEV.pool, 3);
	ck_assert_uint_eq(DEV.policy.mem_quota, 1048576);
	fake_set(T, BE "/priority", "urgent!!");
	fake_set(T, BE "/mem-quota", "-5");
	vgpuback_xenbus_changed(&DEV);
	ck_assert_uint_eq(DEV.priority, VGPUIF_PRIO_HIGH);
	ck_assert_uint_eq(DEV.policy.mem_quota, 1048576);
}
END_TEST

START_TEST(test_garbage_fe_state_ignored)
{
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	fe_state("banana");
	ck_assert_str_eq(be_state(), "2");
	fe_state("99");
	ck_assert_str_eq(be_state(), "2");
}
END_TEST

/* ------------------------------------------------- strict numbers */

static const struct { const char *s; uint64_t max; int rc; uint64_t v; } nums[] = {
	{ "0", 10, 0, 0 }, { "7", 10, 0, 7 }, { "10", 10, 0, 10 },
	{ "11", 10, -ERANGE, 0 }, { "", 10, -EINVAL, 0 }, { "-1", 10, -EINVAL, 0 },
	{ "+1", 10, -EINVAL, 0 }, { " 1", 10, -EINVAL, 0 }, { "1 ", 10, -EINVAL, 0 },
	{ "01", 10, -EINVAL, 0 }, { "0x1", 10, -EINVAL, 0 }, { "1e3", 9999, -EINVAL, 0 },
	{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
	{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
	{ "4294967296", UINT32_MAX, -ERANGE, 0 },
};

START_TEST(test_parse_u64_table)
{
	uint64_t v = 12345;
	int rc = vgpuback_parse_u64(nums[_i].s, nums[_i].max, &v);

	ck_assert_msg(rc == nums[_i].rc, "'%s': %d", nums[_i].s, rc);
	if (!rc)
		ck_assert_uint_eq(v, nums[_i].v);
}
END_TEST

/* ------------------------------------------------------ config */

static const struct { const char *text; int rc; const char *msg; } confs[] = {
	{ "# comment\n\nexecutor = cpu\nmem-quota = 2G\n", 0, NULL },
	{ "executor=cuda\nlog-level=debug # trailing\n", 0, NULL },
	{ "executor = gpu\n", -EINVAL, ":1: executor must be" },
	{ "protocol-revision = 1\n", 0, NULL },
	{ "protocol-revision = 3\n", 0, NULL },
	{ "protocol-revision = 4\n", -EINVAL, ":1: protocol-revision must be 1, 2 or 3" },
	{ "protocol-revision = 0\n", -EINVAL, ":1: protocol-revision must be 1, 2 or 3" },
	{ "\n\nbogus = 1\n", -EINVAL, ":3: unknown key" },
	{ "max-contexts = 300\n", -EINVAL, ":1: max-contexts must be" },
	{ "watchdog-ms\n", -EINVAL, ":1: expected 'key = value'" },
	{ "gpu = \n", -EINVAL, ":1: empty value" },
	{ "domid = 4\n", -EINVAL, ":1: 'domid' is per process" },
	{ "mem-quota = 12X\n", -EINVAL, ":1: mem-quota must be" },
	{ "persistent-grants = -1\n", -EINVAL, ":1: persistent-grants" },
	{ "persistent-grants = auto\n", 0, NULL },
	{ "persistent-grants = 1056\n", 0, NULL },
	{ "persistent-grants = automatic\n", -EINVAL, ":1: persistent-grants must be auto or" },
};

START_TEST(test_config_table)
{
	struct vgpuback_config c;
	char path[] = "/tmp/vgpuback-conf-XXXXXX", err[512] = "";
	int fd = mkstemp(path), rc;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, confs[_i].text, strlen(confs[_i].text)),
			 (ssize_t)strlen(confs[_i].text));
	close(fd);
	vgpuback_config_defaults(&c);
	rc = vgpuback_config_load(&c, path, err, sizeof(err));
	unlink(path);
	ck_assert_msg(rc == confs[_i].rc, "row %d: rc %d (%s)", _i, rc, err);
	if (confs[_i].msg)
		ck_assert_msg(strstr(err, confs[_i].msg), "row %d: message '%s'", _i, err);
	if (_i == 0) {
		ck_assert_str_eq(c.executor, "cpu");
		ck_assert_uint_eq(c.mem_quota, 2ull << 30);
	}
}
END_TEST

/*
 * The grant cache's bound at connect: persistent-grants auto follows the
 * guest's memory (XenStore memory/static-max, KiB) up to a default grant
 * table's worth; a count is used as it is; garbage there is ignored.
 */
static const struct { uint32_t setting; const char *static_max; uint32_t max; } bounds[] = {
	{ VGPUBACK_PERSISTENT_GRANTS_AUTO, NULL, 33280 },
	{ VGPUBACK_PERSISTENT_GRANTS_AUTO, "65536", 16384 + 512 },
	{ VGPUBACK_PERSISTENT_GRANTS_AUTO, "1048576", 33280 },
	{ VGPUBACK_PERSISTENT_GRANTS_AUTO, "99999999999999999999", 33280 },
	{ VGPUBACK_PERSISTENT_GRANTS_AUTO, "-1", 33280 },
	{ VGPUBACK_PERSISTENT_GRANTS_AUTO, "0", 33280 },
	{ VGPUBACK_PERSISTENT_GRANTS_AUTO, "8", 2 + 512 },
	{ 1056, "65536", 1056 },
	{ 0, NULL, 0 },
};

START_TEST(test_grant_cache_bound)
{
	CFG.persistent_grants = bounds[_i].setting;
	if (bounds[_i].static_max)
		fake_set(T, "/local/domain/3/memory/static-max", bounds[_i].static_max);
	ck_assert_int_eq(vgpuback_xenbus_init(&DEV), 0);
	fe_publish(8);
	fe_state("3");
	ck_assert_str_eq(be_state(), "4");
	ck_assert_uint_eq(DEV.gcache.max, bounds[_i].max);
	ck_assert(DEV.ring.persistent == (bounds[_i].max != 0));
}
END_TEST

START_TEST(test_config_missing_file)
{
	struct vgpuback_config c;
	char err[256];

	vgpuback_config_defaults(&c);
	ck_assert_int_eq(vgpuback_config_load(&c, "/nonexistent/backend.conf",
					      err, sizeof(err)), -ENOENT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenbus");
	TCase *tc = tcase_create("states");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_features_and_initwait);
	tcase_add_test(tc, test_features_retry_eagain);
	tcase_add_test(tc, test_revision1_features);
	tcase_add_test(tc, test_revision2_features);
	tcase_add_test(tc, test_wrong_frontend_path_refused);
	tcase_add_test(tc, test_connect_idempotent_close_reconnect);
	tcase_add_test(tc, test_reconnect_storm_log_bounded);
	tcase_add_test(tc, test_frontend_vanishes);
	tcase_add_test(tc, test_new_instance_coalesced);
	tcase_add_test(tc, test_domain_dies);
	tcase_add_test(tc, test_backend_dir_removed);
	tcase_add_test(tc, test_restart_finds_stale_connection);
	tcase_add_test(tc, test_policy_and_quota);
	tcase_add_test(tc, test_garbage_fe_state_ignored);
	tcase_add_loop_test(tc, test_grant_cache_bound, 0,
			    (int)(sizeof(bounds) / sizeof(bounds[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("parsers");
	tcase_add_loop_test(tc, test_parse_u64_table, 0, sizeof(nums) / sizeof(nums[0]));
	tcase_add_loop_test(tc, test_config_table, 0, sizeof(confs) / sizeof(confs[0]));
	tcase_add_test(tc, test_config_missing_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
