/*
 * arb-handoff - the arbiter's raw hand-off rate: N threads, each its own
 * domain of one class on one GPU with one turn, each taking and giving back
 * the turn in a loop. Every acquire after the first waits for another
 * domain's release, so the rate is how fast a turn moves between waiters
 * (lock, pick, wake-up). A private region; not a test.
 *
 * Usage: arb-handoff [DOMAINS (default 7)] [ITERATIONS per domain (3000)]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "arbiter.h"

static int iters = 3000;
static int failed;

static void *run(void *p)
{
	struct vgpu_arb_slot *s = p;

	for (int i = 0; i < iters; i++) {
		if (vgpu_arb_acquire(s, VGPU_ARB_FOREVER) || vgpu_arb_release(s, 1)) {
			failed = 1;
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct vgpu_arb_slot *s[64];
	struct vgpu_arb_config c;
	struct vgpu_arb *arb;
	struct timespec a, b;
	pthread_t t[64];
	const char *why = NULL;
	char name[64];
	int n = argc > 1 ? atoi(argv[1]) : 7;
	double sec;

	if (argc > 2)
		iters = atoi(argv[2]);
	if (n < 1 || n > 64 || iters < 1) {
		fprintf(stderr, "usage: arb-handoff [DOMAINS 1..64] [ITERATIONS >= 1]\n");
		return 2;
	}
	snprintf(name, sizeof(name), "vgpu-arb-handoff-%d", (int)getpid());
	vgpu_arb_config_default(&c);
	if (vgpu_arb_open(&arb, name, &c, 0, &why)) {
		fprintf(stderr, "arb-handoff: %s\n", why ? why : "open failed");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct vgpu_arb_domain d = { .domid = (uint32_t)i + 1,
					     .priority = VGPUIF_PRIO_MEDIUM, .gpu = -1 };
		if (vgpu_arb_register(arb, &d, &s[i])) {
			fprintf(stderr, "arb-handoff: register failed\n");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, s[i]);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("arb-handoff: %d domains, %d turns in %.3f s: %.0f turns/s, "
	       "%.2f us per turn\n", n, n * iters, sec, n * iters / sec,
	       sec * 1e6 / (n * iters));
	for (int i = 0; i < n; i++)
		vgpu_arb_unregister(s[i]);
	vgpu_arb_close(arb);
	vgpu_arb_unlink(name);
	return failed;
}
