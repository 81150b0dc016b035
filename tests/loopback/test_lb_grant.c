/*
 * test_lb_grant.c - guest memory, grant tables and the backend's mapping of
 * grants (directly and through backend/transport.h): every way a ref can be
 * bad, read-only vs writable, end_access while mapped, one contiguous range
 * for several refs, across processes.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#include "lbtest.h"
#include "transport.h"

static uint8_t *mem1;
static size_t mem1_size;

static void setup(void)
{
	lbt_setup();
	ck_assert_int_eq(lb_domain_create_ex(lbt_w, 1, 0, 8 << 20), 0);
	ck_assert_int_eq(lb_domain_create_ex(lbt_w, 2, 0, 8 << 20), 0);
	mem1 = lb_mem_map(lbt_w, 1, &mem1_size);
	ck_assert_ptr_nonnull(mem1);
	ck_assert_uint_eq(mem1_size, 8 << 20);
}

static void teardown(void)
{
	lbt_teardown();
}

static uint8_t *frame_ptr(uint64_t f)
{
	return mem1 + f * LB_PAGE_SIZE;
}

START_TEST(test_frames)
{
	int64_t a, b;

	a = lb_frames_alloc(lbt_w, 1, 4);
	b = lb_frames_alloc(lbt_w, 1, 1);
	ck_assert_int_ge(a, 1);
	ck_assert_int_ge(b, 1);
	ck_assert(b < a || b >= a + 4);
	ck_assert_int_eq(lb_frames_free(lbt_w, 1, (uint64_t)a, 4), 0);
	ck_assert_int_eq(lb_frames_free(lbt_w, 1, (uint64_t)a, 4), -EINVAL);
	ck_assert_int_eq(lb_frames_free(lbt_w, 1, 0, 1), -EINVAL);
	ck_assert_int_eq(lb_frames_alloc(lbt_w, 1, 0), -EINVAL);
	ck_assert_int_eq(lb_frames_alloc(lbt_w, 1, 1u << 30), -ENOMEM);
	ck_assert_int_eq(lb_frames_alloc(lbt_w, 9, 1), -ESRCH);
	ck_assert_int_eq(lb_grant_access(lbt_w, 1, 0, mem1_size / LB_PAGE_SIZE,
					 false), -EINVAL);
	ck_assert_int_eq(lb_grant_access(lbt_w, 9, 0, 1, false), -ESRCH);
}
END_TEST

/* One row per way a map must fail, and the errno it must fail with. */
enum bad_kind { NEVER, REVOKED, OTHER_DOM, RO_AS_RW, REF_0, REF_7,
		REF_MAX, REF_HUGE, RAW_BAD_FRAME, DEAD_DOMAIN };
static const struct { enum bad_kind kind; int err; const char *what; } bad[] = {
	{ NEVER,         EFAULT, "never granted" },
	{ REVOKED,       EFAULT, "revoked" },
	{ OTHER_DOM,     EFAULT, "granted to domain 2" },
	{ RO_AS_RW,      EPERM,  "read-only mapped writable" },
	{ REF_0,         EFAULT, "ref 0 (reserved)" },
	{ REF_7,         EFAULT, "ref 7 (reserved)" },
	{ REF_MAX,       EFAULT, "ref LB_NR_GRANTS" },
	{ REF_HUGE,      EFAULT, "ref 0xffffffff" },
	{ RAW_BAD_FRAME, EFAULT, "entry naming a frame outside memory" },
	{ DEAD_DOMAIN,   ESRCH,  "granter destroyed" },
};

START_TEST(test_map_bad_refs)
{
	int64_t f = lb_frames_alloc(lbt_w, 1, 2);
	uint32_t refs[2];
	int good, r;
	void *p;

	ck_assert_int_ge(f, 1);
	/* refs[0] is always good; refs[1] is the bad one of this row. */
	good = lb_grant_access(lbt_w, 1, 0, (uint64_t)f, false);
	ck_assert_int_ge(good, LB_GNT_RESERVED);
	refs[0] = (uint32_t)good;
	switch (bad[_i].kind) {
	case NEVER:
		refs[1] = (uint32_t)good + 100;
		break;
	case REVOKED:
		r = lb_grant_access(lbt_w, 1, 0, (uint64_t)f + 1, false);
		ck_assert_int_eq(lb_end_access(lbt_w, 1, (uint32_t)r), 0);
		refs[1] = (uint32_t)r;
		break;
	case OTHER_DOM:
		refs[1] = (uint32_t)lb_grant_access(lbt_w, 1, 2, (uint64_t)f + 1,
						    false);
		break;
	case RO_AS_RW:
		refs[1] = (uint32_t)lb_grant_access(lbt_w, 1, 0, (uint64_t)f + 1,
						    true);
		break;
	case REF_0:
		refs[1] = 0;
		break;
	case REF_7:
		refs[1] = 7;
		break;
	case REF_MAX:
		refs[1] = LB_NR_GRANTS;
		break;
	case REF_HUGE:
		refs[1] = 0xffffffffu;
		break;
	case RAW_BAD_FRAME:
		refs[1] = (uint32_t)good + 1;
		ck_assert_int_eq(lb_grant_set_raw(lbt_w, 1, refs[1], LB_GTF_PERMIT,
						  0, 1u << 30), 0);
		break;
	case DEAD_DOMAIN:
		refs[1] = (uint32_t)lb_grant_access(lbt_w, 1, 0, (uint64_t)f + 1,
						    false);
		ck_assert_int_eq(lb_domain_destroy(lbt_w, 1), 0);
		break;
	}
	errno = 0;
	p = lb_map_grants(lbt_w, 0, 1, 2, refs, true);
	ck_assert_msg(p == NULL && errno == bad[_i].err, "%s: %p errno %d",
		      bad[_i].what, p, errno);
	/* Nothing stays mapped: the good ref is not counted as mapped. */
	if (bad[_i].kind != DEAD_DOMAIN) {
		ck_assert_int_eq(lb_grant_map_count(lbt_w, 1, refs[0]), 0);
		ck_assert_int_eq(lb_end_access(lbt_w, 1, refs[0]), 0);
	}
	/* The read-only grant maps fine read-only. */
	if (bad[_i].kind == RO_AS_RW) {
		p = lb_map_grants(lbt_w, 0, 1, 1, &refs[1], false);
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(lb_unmap_grants(lbt_w, p, 1), 0);
	}
}
END_TEST

/* Several refs of scattered frames make one contiguous range. */
START_TEST(test_map_contiguous)
{
	enum { N = 5 };
	uint32_t refs[N];
	int64_t f[N];
	uint8_t *p;

	for (int i = 0; i < N; i++) {
		f[i] = lb_frames_alloc(lbt_w, 1, 1);
		/* A hole between frames: they are not contiguous in memory. */
		ck_assert_int_ge(lb_frames_alloc(lbt_w, 1, 1), 1);
		memset(frame_ptr((uint64_t)f[i]), 'A' + i, LB_PAGE_SIZE);
	}
	/* Grant in reverse order of frames, so the order must come from refs. */
	for (int i = 0; i < N; i++) {
		int r = lb_grant_access(lbt_w, 1, 0, (uint64_t)f[N - 1 - i], false);

		ck_assert_int_ge(r, LB_GNT_RESERVED);
		refs[i] = (uint32_t)r;
	}
	p = lb_map_grants(lbt_w, 0, 1, N, refs, true);
	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(p[i * LB_PAGE_SIZE], 'A' + N - 1 - i);
		ck_assert_int_eq(p[i * LB_PAGE_SIZE + LB_PAGE_SIZE - 1],
				 'A' + N - 1 - i);
		ck_assert_int_eq(lb_grant_map_count(lbt_w, 1, refs[i]), 1);
	}
	/* Writes through the backend's mapping land in guest memory. */
	p[2 * LB_PAGE_SIZE + 7] = 'z';
	ck_assert_int_eq(frame_ptr((uint64_t)f[N - 3])[7], 'z');
	/* The guest cannot revoke while mapped (gnttab_end_foreign_access). */
	ck_assert_int_eq(lb_end_access(lbt_w, 1, refs[0]), -EBUSY);
	ck_assert_int_eq(lb_unmap_grants(lbt_w, p, N - 1), -EINVAL);
	ck_assert_int_eq(lb_unmap_grants(lbt_w, p, N), 0);
	ck_assert_int_eq(lb_unmap_grants(lbt_w, p, N), -EINVAL);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(lb_grant_map_count(lbt_w, 1, refs[i]), 0);
		ck_assert_int_eq(lb_end_access(lbt_w, 1, refs[i]), 0);
	}
	ck_assert_int_eq(lb_end_access(lbt_w, 1, refs[0]), -EINVAL);
	/* Now revoked: mapping fails. */
	ck_assert_ptr_null(lb_map_grants(lbt_w, 0, 1, 1, refs, false));
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_ptr_null(lb_map_grants(lbt_w, 0, 1, 0, refs, false));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* Runs of consecutive frames (mapped with one mmap each) and a lone one. */
START_TEST(test_map_runs)
{
	int64_t run = lb_frames_alloc(lbt_w, 1, 6);
	int64_t lone = lb_frames_alloc(lbt_w, 1, 1);
	uint64_t order[] = { 0, 1, 2, 5, 3, 4 };   /* run 0-2, 5, run 3-4 */
	uint32_t refs[7];
	uint8_t *p;

	ck_assert(run >= 1 && lone >= 1);
	for (int i = 0; i < 6; i++)
		memset(frame_ptr((uint64_t)run + i), '0' + i, LB_PAGE_SIZE);
	memset(frame_ptr((uint64_t)lone), 'L', LB_PAGE_SIZE);
	for (int i = 0; i < 6; i++)
		refs[i] = (uint32_t)lb_grant_access(lbt_w, 1, 0,
						    (uint64_t)run + order[i], true);
	refs[6] = (uint32_t)lb_grant_access(lbt_w, 1, 0, (uint64_t)lone, true);
	p = lb_map_grants(lbt_w, 0, 1, 7, refs, false);
	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(p[i * LB_PAGE_SIZE], '0' + (int)order[i]);
		ck_assert_int_eq(p[i * LB_PAGE_SIZE + 4095], '0' + (int)order[i]);
	}
	ck_assert_int_eq(p[6 * LB_PAGE_SIZE + 100], 'L');
	/*
	 * Where the pages live (another process maps the same ones: the cuda
	 * executor's worker): the memory file and each page's frame, which
	 * hold the same bytes as the mapping. Only for a range it returned.
	 */
	{
		uint64_t fr[7];
		int fd = lb_mapping_frames(lbt_w, p, 7, fr);
		uint8_t b;

		ck_assert_int_ge(fd, 0);
		for (int i = 0; i < 7; i++) {
			ck_assert_uint_eq(fr[i], i < 6 ? (uint64_t)run + order[i]
						       : (uint64_t)lone);
			ck_assert_int_eq(pread(fd, &b, 1, (off_t)(fr[i] * LB_PAGE_SIZE + 7)), 1);
			ck_assert_int_eq(b, p[i * LB_PAGE_SIZE + 7]);
		}
		ck_assert_int_eq(lb_mapping_frames(lbt_w, p, 6, fr), -EINVAL);
		ck_assert_int_eq(lb_mapping_frames(lbt_w, p + LB_PAGE_SIZE, 6, fr), -EINVAL);
	}
	ck_assert_int_eq(lb_unmap_grants(lbt_w, p, 7), 0);
	{
		uint64_t fr[7];

		ck_assert_int_eq(lb_mapping_frames(lbt_w, p, 7, fr), -EINVAL);
	}
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(lb_end_access(lbt_w, 1, refs[i]), 0);
}
END_TEST

/* Map counts from two mappings of the same ref add up. */
START_TEST(test_map_twice)
{
	int64_t f = lb_frames_alloc(lbt_w, 1, 1);
	uint32_t ref = (uint32_t)lb_grant_access(lbt_w, 1, 0, (uint64_t)f, true);
	void *a, *b;

	a = lb_map_grants(lbt_w, 0, 1, 1, &ref, false);
	b = lb_map_grants(lbt_w, 0, 1, 1, &ref, false);
	ck_assert(a && b && a != b);
	ck_assert_int_eq(lb_grant_map_count(lbt_w, 1, ref), 2);
	ck_assert_int_eq(lb_unmap_grants(lbt_w, a, 1), 0);
	ck_assert_int_eq(lb_end_access(lbt_w, 1, ref), -EBUSY);
	ck_assert_int_eq(lb_unmap_grants(lbt_w, b, 1), 0);
	ck_assert_int_eq(lb_end_access(lbt_w, 1, ref), 0);
}
END_TEST

/*
 * The backend in another process, through backend/transport.h: it maps
 * what the guest granted, writes an answer, and a mapper that dies (-9)
 * does not pin the grant forever.
 */
START_TEST(test_transport_cross_process)
{
	struct lbt_sync s;
	int64_t f = lb_frames_alloc(lbt_w, 1, 2);
	uint32_t refs[2];
	pid_t pid;
	int st;

	memcpy(frame_ptr((uint64_t)f), "ping", 5);
	refs[0] = (uint32_t)lb_grant_access(lbt_w, 1, 0, (uint64_t)f, false);
	refs[1] = (uint32_t)lb_grant_access(lbt_w, 1, 0, (uint64_t)f + 1, false);
	lbt_sync_init(&s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *why = NULL;
		struct vgpuback_transport *t =
			vgpuback_transport_loopback_open(lbt_dir, &why);
		char *p;

		if (!t || strcmp(t->ops->name, "loopback"))
			_exit(1);
		p = t->ops->map_grants(t, 1, 2, refs, true);
		if (!p || strcmp(p, "ping"))
			_exit(2);
		memcpy(p + LB_PAGE_SIZE, "pong", 5);
		if (t->ops->domain_alive(t, 1) != 1)
			_exit(3);
		lbt_send(s.c2p[1], 'M');
		pause();                /* killed while mapping */
		_exit(0);
	}
	ck_assert_int_eq(lbt_recv(s.c2p[0]), 'M');
	ck_assert_str_eq((char *)frame_ptr((uint64_t)f + 1), "pong");
	ck_assert_int_eq(lb_end_access(lbt_w, 1, refs[0]), -EBUSY);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(lb_end_access(lbt_w, 1, refs[0]), 0);
	ck_assert_int_eq(lb_end_access(lbt_w, 1, refs[1]), 0);
}
END_TEST

/* The store half of backend/transport.h, as the backend calls it. */
START_TEST(test_transport_store_ops)
{
	const char *why = NULL;
	struct vgpuback_transport *t =
		vgpuback_transport_loopback_open(lbt_dir, &why);
	struct vgpuback_xs_acl acl[2] = { { 0, VGPUBACK_XS_PERM_NONE },
					  { 1, VGPUBACK_XS_PERM_READ } };
	struct lb_xs *g = lb_xs_open(lbt_w, 1);
	vgpuback_xbt_t xbt;
	unsigned int n;
	char **d, *v, *path, *tok;

	ck_assert_msg(t, "%s", why);
	ck_assert_int_eq(t->ops->xs_mkdir(t, 0, "/local/domain/0/backend/x"), 0);
	ck_assert_int_eq(t->ops->xs_set_perms(t, 0, "/local/domain/0/backend/x",
					      acl, 2), 0);
	ck_assert_int_eq(t->ops->xs_set_perms(t, 0, "/local/domain/0/backend/x",
					      acl, 0), -EINVAL);
	/* A transaction, retried on EAGAIN as the backend does. */
	do {
		ck_assert_int_eq(t->ops->xs_transaction_start(t, &xbt), 0);
		ck_assert_int_eq(t->ops->xs_write(t, xbt,
			"/local/domain/0/backend/x/k", "v"), 0);
	} while (t->ops->xs_transaction_end(t, xbt, false) == -EAGAIN);
	v = lb_xs_read(g, 0, "/local/domain/0/backend/x/k", NULL);
	ck_assert_str_eq(v, "v");      /* the guest may read it */
	free(v);
	ck_assert_int_eq(lb_xs_write(g, 0, "/local/domain/0/backend/x/k", "w"),
			 -EACCES);
	d = t->ops->xs_directory(t, 0, "/local/domain/0/backend/x", &n);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(d[0], "k");
	free(d);
	ck_assert_int_eq(t->ops->xs_watch(t, "/local/domain/1/data", "w"), 0);
	ck_assert_int_eq(lbt_wait(t->ops->xs_watch_fd(t)), 1);
	ck_assert_int_eq(t->ops->xs_read_watch(t, &path, &tok), 1);
	ck_assert_str_eq(tok, "w");
	free(path);
	free(tok);
	ck_assert_int_eq(lb_xs_write(g, 0, "data/z", "1"), 0);
	ck_assert_int_eq(lbt_wait(t->ops->xs_watch_fd(t)), 1);
	ck_assert_int_eq(t->ops->xs_read_watch(t, &path, &tok), 1);
	ck_assert_str_eq(path, "/local/domain/1/data/z");
	free(path);
	free(tok);
	ck_assert_int_eq(t->ops->xs_read_watch(t, &path, &tok), 0);
	ck_assert_int_eq(t->ops->xs_unwatch(t, "/local/domain/1/data", "w"), 0);
	ck_assert_int_eq(t->ops->xs_rm(t, 0, "/local/domain/0/backend/x"), 0);
	ck_assert_ptr_null(t->ops->xs_read(t, 0, "/local/domain/0/backend/x/k",
					   NULL));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(t->ops->evtchn_notify(t, 0), -EINVAL);
	ck_assert_int_eq(t->ops->evtchn_pending(t), -EAGAIN);
	lb_xs_close(g);
	t->ops->close(t);
}
END_TEST

START_TEST(test_transport_open_errors)
{
	const char *why = NULL;

	errno = 0;
	ck_assert_ptr_null(vgpuback_transport_loopback_open(
		"/nonexistent/vgpu-world", &why));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(why);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("loopback-grant");
	TCase *tc;

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_frames);
	suite_add_tcase(s, tc);

	tc = tcase_create("map");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_map_bad_refs, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_map_contiguous);
	tcase_add_test(tc, test_map_twice);
	tcase_add_test(tc, test_map_runs);
	suite_add_tcase(s, tc);

	tc = tcase_create("transport");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_transport_cross_process);
	tcase_add_test(tc, test_transport_open_errors);
	tcase_add_test(tc, test_transport_store_ops);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
