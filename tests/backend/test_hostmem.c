/* SPDX-License-Identifier: MIT */
/*
 * test_hostmem.c - dom0's memory as a backend reads it (hostmem.c) and the
 * host memory settings it derives (vgpuback_config_host_mem), over fake
 * /proc and /sys trees: one row per machine shape, with the limit and the
 * reserve it must get.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "hostmem.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)

static char root[256];

static void put(const char *rel, const char *text)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	ck_assert_int_eq(system(cmd), 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/vgpu-hostmem-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", root);
}

static const char meminfo_1g[] =
	"MemTotal:        1048576 kB\nMemFree:          500000 kB\n"
	"MemAvailable:     900000 kB\nBuffers:            1000 kB\n";

static const struct {
	const char *what;
	const char *cgroup;            /* proc/self/cgroup                 */
	const char *files[3][2];       /* extra files: path, contents      */
	uint64_t cgroup_limit;         /* UINT64_MAX = none                */
	uint64_t limit, reserve;       /* what auto settings give           */
} rows[] = {
	{ "no cgroup limit (v2 root): half of dom0", "0::/\n", { { NULL } },
	  UINT64_MAX, 512 * MIB, 64 * MIB },
	{ "v2 memory.max = max: half of dom0",
	  "0::/system.slice/vgpu-backend@5.service\n",
	  { { "/sys/fs/cgroup/system.slice/vgpu-backend@5.service/memory.max", "max\n" } },
	  UINT64_MAX, 512 * MIB, 64 * MIB },
	{ "v2 MemoryMax=50%: the limit less 64 MiB",
	  "0::/system.slice/vgpu-backend@5.service\n",
	  { { "/sys/fs/cgroup/system.slice/vgpu-backend@5.service/memory.max", "536870912\n" } },
	  512 * MIB, 448 * MIB, 64 * MIB },
	{ "v2 parent slice tighter than the unit",
	  "0::/system.slice/vgpu-backend@5.service\n",
	  { { "/sys/fs/cgroup/system.slice/vgpu-backend@5.service/memory.max", "536870912\n" },
	    { "/sys/fs/cgroup/system.slice/memory.max", "268435456\n" } },
	  256 * MIB, 192 * MIB, 64 * MIB },
	{ "v2 tiny limit: half of it",
	  "0::/a\n", { { "/sys/fs/cgroup/a/memory.max", "100000000\n" } },
	  100000000, 50000000, 64 * MIB },
	{ "v1 memory controller with a limit",
	  "4:memory:/vgpu\n0::/\n",
	  { { "/sys/fs/cgroup/memory/vgpu/memory.limit_in_bytes", "402653184\n" } },
	  384 * MIB, 320 * MIB, 64 * MIB },
	{ "v1 'no limit' (page-rounded LONG_MAX)",
	  "4:cpu,memory:/x\n",
	  { { "/sys/fs/cgroup/memory/x/memory.limit_in_bytes", "9223372036854771712\n" } },
	  UINT64_MAX, 512 * MIB, 64 * MIB },
	{ "cgroup limit above dom0's RAM: half of dom0",
	  "0::/big\n", { { "/sys/fs/cgroup/big/memory.max", "68719476736\n" } },
	  64 * GIB, 512 * MIB, 64 * MIB },
	{ "garbage in memory.max: no limit",
	  "0::/g\n", { { "/sys/fs/cgroup/g/memory.max", "lots\n" } },
	  UINT64_MAX, 512 * MIB, 64 * MIB },
};

START_TEST(test_machine_rows)
{
	struct vgpuback_config cfg;
	struct vgpu_hostmem m;
	uint64_t limit, reserve;
	unsigned int f;

	put("/proc/meminfo", meminfo_1g);
	put("/proc/self/cgroup", rows[_i].cgroup);
	for (f = 0; f < 3 && rows[_i].files[f][0]; f++)
		put(rows[_i].files[f][0], rows[_i].files[f][1]);
	ck_assert_int_eq(vgpu_hostmem_read(root, &m), 0);
	ck_assert_uint_eq(m.total, GIB);
	ck_assert_uint_eq(m.available, 900000ull * 1024);
	ck_assert_msg(m.cgroup_limit == rows[_i].cgroup_limit,
		      "%s: cgroup limit %llu", rows[_i].what,
		      (unsigned long long)m.cgroup_limit);
	vgpuback_config_defaults(&cfg);
	vgpuback_config_host_mem(&cfg, &m, &limit, &reserve, NULL, 0);
	ck_assert_msg(limit == rows[_i].limit && reserve == rows[_i].reserve,
		      "%s: limit %llu reserve %llu", rows[_i].what,
		      (unsigned long long)limit, (unsigned long long)reserve);
}
END_TEST

/* Settings over the 1 GiB machine with MemoryMax = 512 MiB. */
static const struct {
	const char *limit, *reserve;   /* config values                    */
	int err;                       /* of setting them                  */
	uint64_t want_limit, want_reserve;
	bool note;                     /* a log line says it was lowered   */
} set_rows[] = {
	{ "auto", "auto", 0, 448 * MIB, 64 * MIB, false },
	{ "256M", "0", 0, 256 * MIB, 0, false },
	{ "4G", "128M", 0, 448 * MIB, 128 * MIB, true },   /* above the cgroup */
	{ "0", "auto", -EINVAL, 0, 0, false },
	{ "lots", "auto", -EINVAL, 0, 0, false },
	{ "auto", "-1", -EINVAL, 0, 0, false },
	{ "18446744073709551615", "auto", -EINVAL, 0, 0, false }, /* = auto's marker */
};

START_TEST(test_setting_rows)
{
	struct vgpuback_config cfg;
	struct vgpu_hostmem m = { GIB, 900 * MIB, 512 * MIB };
	uint64_t limit, reserve;
	const char *why;
	char note[256];
	int err;

	vgpuback_config_defaults(&cfg);
	err = vgpuback_config_set(&cfg, "host-mem-limit", set_rows[_i].limit, &why);
	if (!err)
		err = vgpuback_config_set(&cfg, "host-mem-reserve",
					  set_rows[_i].reserve, &why);
	ck_assert_int_eq(err, set_rows[_i].err);
	if (err)
		return;
	vgpuback_config_host_mem(&cfg, &m, &limit, &reserve, note, sizeof(note));
	ck_assert_uint_eq(limit, set_rows[_i].want_limit);
	ck_assert_uint_eq(reserve, set_rows[_i].want_reserve);
	ck_assert_int_eq(note[0] != '\0', set_rows[_i].note);
}
END_TEST

START_TEST(test_no_meminfo)
{
	struct vgpu_hostmem m;

	ck_assert_int_lt(vgpu_hostmem_read(root, &m), 0);
	ck_assert_uint_eq(m.cgroup_limit, UINT64_MAX);
	ck_assert_uint_eq(vgpu_hostmem_available(root), 0);
}
END_TEST

/* The real machine: something sane, whatever it is. */
START_TEST(test_this_machine)
{
	struct vgpu_hostmem m;

	ck_assert_int_eq(vgpu_hostmem_read(NULL, &m), 0);
	ck_assert_uint_gt(m.total, 0);
	ck_assert_uint_le(m.available, m.total);
	ck_assert_uint_gt(vgpu_hostmem_default_limit(&m), 0);
	ck_assert_uint_le(vgpu_hostmem_default_limit(&m), m.total);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hostmem");
	TCase *tc = tcase_create("hostmem");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_machine_rows, 0, sizeof(rows) / sizeof(rows[0]));
	tcase_add_loop_test(tc, test_setting_rows, 0,
			    sizeof(set_rows) / sizeof(set_rows[0]));
	tcase_add_test(tc, test_no_meminfo);
	tcase_add_test(tc, test_this_machine);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
