/*
 * test_lb_evtchn.c - interdomain event channels between two processes:
 * bind rules, notify in both directions, a fired port stays masked until
 * unmask, notifications coalesce, an unmask with an event pending fires
 * again, a vanished peer makes notify a no-op.
 */
#include <signal.h>
#include <sys/wait.h>

#include "lbtest.h"
#include "lb-private.h"   /* white-box: the shared layout */

static struct lb_evtchn *ev0, *ev1, *ev2;

static void setup(void)
{
	lbt_setup();
	ck_assert_int_eq(lb_domain_create(lbt_w, 1), 0);
	ck_assert_int_eq(lb_domain_create(lbt_w, 2), 0);
	ev0 = lb_evtchn_open(lbt_w, 0);
	ev1 = lb_evtchn_open(lbt_w, 1);
	ev2 = lb_evtchn_open(lbt_w, 2);
	ck_assert(ev0 && ev1 && ev2);
}

static void teardown(void)
{
	lb_evtchn_close(ev0);
	lb_evtchn_close(ev1);
	lb_evtchn_close(ev2);
	lbt_teardown();
}

enum { B_WRONG_DOM, B_PORT0, B_PORT_MAX, B_TWICE, B_DEAD, B_FREE_PORT,
       B_BAD_DOMID };
static const struct { int kind; int err; const char *what; } bind_rows[] = {
	{ B_WRONG_DOM, -EINVAL, "port offered to domain 2, bound by 0" },
	{ B_PORT0,     -EINVAL, "port 0" },
	{ B_PORT_MAX,  -EINVAL, "port LB_MAX_PORTS" },
	{ B_TWICE,     -EINVAL, "port already bound" },
	{ B_DEAD,      -ESRCH,  "remote domain destroyed" },
	{ B_FREE_PORT, -EINVAL, "port never allocated" },
	{ B_BAD_DOMID, -ESRCH,  "remote domid out of range" },
};

START_TEST(test_bind_errors)
{
	uint32_t dom = 1, port = 0;
	int p;

	switch (bind_rows[_i].kind) {
	case B_WRONG_DOM:
		port = (uint32_t)lb_evtchn_alloc_unbound(ev1, 2);
		break;
	case B_PORT0:
		port = 0;
		break;
	case B_PORT_MAX:
		port = LB_MAX_PORTS;
		break;
	case B_TWICE:
		port = (uint32_t)lb_evtchn_alloc_unbound(ev1, 0);
		ck_assert_int_ge(lb_evtchn_bind_interdomain(ev0, 1, port), 1);
		break;
	case B_DEAD:
		port = (uint32_t)lb_evtchn_alloc_unbound(ev1, 0);
		ck_assert_int_eq(lb_domain_destroy(lbt_w, 1), 0);
		break;
	case B_FREE_PORT:
		port = 77;
		break;
	case B_BAD_DOMID:
		dom = 100000;
		port = 1;
		break;
	}
	p = lb_evtchn_bind_interdomain(ev0, dom, port);
	ck_assert_msg(p == bind_rows[_i].err, "%s: got %d", bind_rows[_i].what, p);
}
END_TEST

START_TEST(test_same_process_rules)
{
	int gp = lb_evtchn_alloc_unbound(ev1, 0), bp;

	ck_assert_int_ge(gp, 1);
	bp = lb_evtchn_bind_interdomain(ev0, 1, (uint32_t)gp);
	ck_assert_int_ge(bp, 1);
	ck_assert_int_eq(lb_evtchn_pending(ev0), -EAGAIN);
	/* Coalescing: three notifies, one event. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)gp), 0);
	ck_assert_int_eq(lbt_ready(lb_evtchn_fd(ev0)), 1);
	ck_assert_int_eq(lb_evtchn_pending(ev0), bp);
	ck_assert_int_eq(lb_evtchn_pending(ev0), -EAGAIN);
	/* Masked: a new notify is held, not delivered... */
	ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)gp), 0);
	ck_assert_int_eq(lb_evtchn_pending(ev0), -EAGAIN);
	ck_assert_int_eq(lbt_ready(lb_evtchn_fd(ev0)), 0);
	/* ...until unmask, which fires it. */
	ck_assert_int_eq(lb_evtchn_unmask(ev0, (uint32_t)bp), 0);
	ck_assert_int_eq(lbt_ready(lb_evtchn_fd(ev0)), 1);
	ck_assert_int_eq(lb_evtchn_pending(ev0), bp);
	/* Unmask with nothing pending: quiet. */
	ck_assert_int_eq(lb_evtchn_unmask(ev0, (uint32_t)bp), 0);
	ck_assert_int_eq(lb_evtchn_pending(ev0), -EAGAIN);
	/* The other direction. */
	ck_assert_int_eq(lb_evtchn_notify(ev0, (uint32_t)bp), 0);
	ck_assert_int_eq(lb_evtchn_pending(ev1), gp);
	/* Someone else's port is not ours to notify or unmask. */
	ck_assert_int_eq(lb_evtchn_notify(ev2, (uint32_t)gp), -EINVAL);
	ck_assert_int_eq(lb_evtchn_unmask(ev2, (uint32_t)gp), -EINVAL);
	ck_assert_int_eq(lb_evtchn_notify(ev1, 0), -EINVAL);
	/* Peer gone: notify is a silent no-op; the guest port is unbound. */
	ck_assert_int_eq(lb_evtchn_unbind(ev0, (uint32_t)bp), 0);
	ck_assert_int_eq(lb_evtchn_unbind(ev0, (uint32_t)bp), -EINVAL);
	ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)gp), 0);
	ck_assert_int_eq(lb_evtchn_pending(ev0), -EAGAIN);
	/* ...and can be bound again, as after a backend restart. */
	ck_assert_int_ge(lb_evtchn_bind_interdomain(ev0, 1, (uint32_t)gp), 1);
}
END_TEST

/* Two ports pending at once are both delivered. */
START_TEST(test_two_ports)
{
	int g1 = lb_evtchn_alloc_unbound(ev1, 0);
	int g2 = lb_evtchn_alloc_unbound(ev2, 0);
	int b1 = lb_evtchn_bind_interdomain(ev0, 1, (uint32_t)g1);
	int b2 = lb_evtchn_bind_interdomain(ev0, 2, (uint32_t)g2);
	int a, b;

	ck_assert(b1 >= 1 && b2 >= 1 && b1 != b2);
	ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)g1), 0);
	ck_assert_int_eq(lb_evtchn_notify(ev2, (uint32_t)g2), 0);
	a = lb_evtchn_pending(ev0);
	ck_assert_int_eq(lbt_ready(lb_evtchn_fd(ev0)), 1);
	b = lb_evtchn_pending(ev0);
	ck_assert((a == b1 && b == b2) || (a == b2 && b == b1));
	ck_assert_int_eq(lb_evtchn_pending(ev0), -EAGAIN);
}
END_TEST

/*
 * A backend in a child process: binds to our port, we notify, it wakes on
 * its fd, answers; masking holds across processes too.
 */
START_TEST(test_cross_process)
{
	struct lbt_sync s;
	int gp, st;
	pid_t pid;

	gp = lb_evtchn_alloc_unbound(ev1, 0);
	ck_assert_int_ge(gp, 1);
	lbt_sync_init(&s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lb_world *w = lb_world_open(lbt_dir, false);
		struct lb_evtchn *e = w ? lb_evtchn_open(w, 0) : NULL;
		int bp, n = 0;

		if (!e)
			_exit(1);
		bp = lb_evtchn_bind_interdomain(e, 1, (uint32_t)gp);
		if (bp < 1)
			_exit(2);
		lbt_send(s.c2p[1], 'B');
		/* Round 1: one event for however many notifies. */
		if (lbt_wait(lb_evtchn_fd(e)) != 1 || lb_evtchn_pending(e) != bp)
			_exit(3);
		lbt_send(s.c2p[1], 'R');
		/* The parent notified again while we were masked. */
		if (lbt_recv(s.p2c[0]) != 'N')
			_exit(4);
		if (lb_evtchn_pending(e) != -EAGAIN)
			_exit(5);
		lb_evtchn_unmask(e, (uint32_t)bp);
		while (lb_evtchn_pending(e) == bp)
			n++;
		if (n != 1)
			_exit(6);
		lb_evtchn_unmask(e, (uint32_t)bp);
		lb_evtchn_notify(e, (uint32_t)bp);
		lbt_recv(s.p2c[0]);
		_exit(0);
	}
	ck_assert_int_eq(lbt_recv(s.c2p[0]), 'B');
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)gp), 0);
	ck_assert_int_eq(lbt_recv(s.c2p[0]), 'R');
	ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)gp), 0);
	ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)gp), 0);
	lbt_send(s.p2c[1], 'N');
	ck_assert_int_eq(lbt_wait(lb_evtchn_fd(ev1)), 1);
	ck_assert_int_eq(lb_evtchn_pending(ev1), gp);
	lbt_send(s.p2c[1], 'X');
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "child status %d", WEXITSTATUS(st));
	/* The child's handle died with it: our port is unbound again. */
	ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)gp), 0);
}
END_TEST

START_TEST(test_port_exhaustion)
{
	int r = 0, n = 0;

	while ((r = lb_evtchn_alloc_unbound(ev1, 0)) > 0)
		n++;
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_int_eq(n, LB_MAX_PORTS - 1);
}
END_TEST

/*
 * White-box: a notifier dies after marking our port pending and claiming
 * our doorbell but before its wake-up left, (a) holding the lock, (b) just
 * after dropping it. The next lock holder (a) or the next notify (b) must
 * send the wake-up, or we would sleep forever.
 */
static const char *const lost_rows[] = { "died holding the lock",
					  "died after unlocking" };

START_TEST(test_lost_wakeup_recovered)
{
	struct lbt_sync s;
	int gp, bp, st;
	uint32_t conn;
	pid_t pid;

	gp = lb_evtchn_alloc_unbound(ev1, 0);
	bp = lb_evtchn_bind_interdomain(ev0, 1, (uint32_t)gp);
	ck_assert(gp >= 1 && bp >= 1);
	conn = lbt_w->shm->port[0][bp].conn;
	lbt_sync_init(&s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lb_world *w = lb_world_open(lbt_dir, false);
		struct lb_shm_port *p;

		if (!w || lb_world_lock(w))
			_exit(1);
		p = &w->shm->port[0][bp];
		p->pending = p->masked = p->queued = 1;
		w->shm->conn[conn].bell = getpid();
		if (_i == 1)
			pthread_mutex_unlock(&w->shm->lock);
		lbt_send(s.c2p[1], 'D');
		pause();
		_exit(0);
	}
	ck_assert_int_eq(lbt_recv(s.c2p[0]), 'D');
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(lbt_ready(lb_evtchn_fd(ev0)), 0);  /* nothing sent */
	if (_i == 0)
		ck_assert_int_eq(lb_domain_alive(lbt_w, 1), 1);  /* takes the lock */
	else
		ck_assert_int_eq(lb_evtchn_notify(ev1, (uint32_t)gp), 0);
	ck_assert_msg(lbt_wait(lb_evtchn_fd(ev0)) == 1, "%s: no wake-up",
		      lost_rows[_i]);
	ck_assert_int_eq(lb_evtchn_pending(ev0), bp);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("loopback-evtchn");
	TCase *tc;

	tc = tcase_create("bind");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bind_errors, 0,
			    sizeof(bind_rows) / sizeof(bind_rows[0]));
	tcase_add_test(tc, test_port_exhaustion);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_same_process_rules);
	tcase_add_test(tc, test_two_ports);
	tcase_add_test(tc, test_cross_process);
	tcase_add_loop_test(tc, test_lost_wakeup_recovered, 0, 2);
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
