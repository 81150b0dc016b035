// SPDX-License-Identifier: MIT
/*
 * vgpu-test-liar - a dom0 backend that lies, to test that vgpu-front.ko does
 * not trust its backend (tests/xen/scenarios/guest-liar.sh).
 *
 * On nodes written by the toolstack (lib.sh's vgpu_write_nodes), it plays a
 * backend up to Connected with a one-page ring and no indirect segments, then
 * answers the first request with one lie:
 *   bad-id         a response whose id names no outstanding request
 *   wrong-op       the right id, another op
 *   prod-overflow  a response producer index far ahead of the requests
 * and waits for the frontend to close (it must mark the device broken, fail
 * the request with EIO and report Closing), unmaps, writes Closed and exits.
 * Exit status 0 when the frontend closed in time, 1 otherwise, 2 on usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vgpuif.h"
#include "transport.h"

static struct vgpuback_transport *t;
static char be[128], *fe;

static char *rd(const char *dir, const char *key)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return t->ops->xs_read(t, VGPUBACK_XBT_NULL, p, NULL);
}

static int wr(const char *key, const char *val)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", be, key);
	return t->ops->xs_write(t, VGPUBACK_XBT_NULL, p, val);
}

static int fe_state(void)
{
	char *s = rd(fe, "state");
	int v = s ? atoi(s) : -1;

	free(s);
	return v;
}

static void nap(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Waits up to secs for the frontend's state to satisfy ok(). */
static int wait_fe(int secs, int want_lo, int want_hi)
{
	int i, s = -1;

	for (i = 0; i < secs * 50; i++) {
		s = fe_state();
		if (s >= want_lo && s <= want_hi)
			return s;
		nap();
	}
	fprintf(stderr, "vgpu-test-liar: frontend state %d after %d s, want %d..%d\n", s, secs,
		want_lo, want_hi);
	return -1;
}

int main(int argc, char **argv)
{
	struct vgpuif_back_ring br;
	struct vgpuif_sring *sring;
	struct vgpuif_request req;
	struct vgpuif_response *rsp;
	const char *why = NULL, *lie;
	char *s;
	uint32_t domid, ref, port;
	int local, i;

	if (argc != 3 || (strcmp(argv[2], "bad-id") && strcmp(argv[2], "wrong-op") &&
			  strcmp(argv[2], "prod-overflow"))) {
		fprintf(stderr, "usage: vgpu-test-liar DOMID bad-id|wrong-op|prod-overflow\n");
		return 2;
	}
	domid = (uint32_t)strtoul(argv[1], NULL, 10);
	lie = argv[2];
	t = vgpuback_transport_xen_open(&why);
	if (!t) {
		fprintf(stderr, "vgpu-test-liar: no Xen: %s\n", why ? why : strerror(errno));
		return 1;
	}
	snprintf(be, sizeof(be), "/local/domain/0/backend/vgpu/%u/0", domid);
	fe = rd(be, "frontend");
	if (!fe) {
		fprintf(stderr, "vgpu-test-liar: no %s/frontend\n", be);
		return 1;
	}
	wr(VGPUIF_XS_MAX_RING_PAGE_ORDER, "0");
	wr(VGPUIF_XS_FEATURE_MAX_INDIRECT, "0");
	wr(VGPUIF_XS_FEATURE_PERSISTENT, "0");
	wr(VGPUIF_XS_EXECUTOR, "cpu");
	wr(VGPUIF_XS_GPU_NAME, "liar");
	wr("state", "2");
	printf("liar: InitWait; waiting for the frontend\n");
	if (wait_fe(60, 3, 3) < 0)
		return 1;
	s = rd(fe, VGPUIF_XS_RING_REF);
	ref = s ? (uint32_t)strtoul(s, NULL, 10) : 0;
	free(s);
	s = rd(fe, VGPUIF_XS_EVENT_CHANNEL);
	port = s ? (uint32_t)strtoul(s, NULL, 10) : 0;
	free(s);
	sring = t->ops->map_grants(t, domid, 1, &ref, true);
	if (!sring) {
		fprintf(stderr, "vgpu-test-liar: cannot map ring-ref %u: %s\n", ref, strerror(errno));
		return 1;
	}
	local = t->ops->evtchn_bind(t, domid, port);
	if (local < 0) {
		fprintf(stderr, "vgpu-test-liar: cannot bind port %u: %s\n", port, strerror(-local));
		return 1;
	}
	BACK_RING_INIT(&br, sring, VGPUIF_PAGE_SIZE);
	wr("state", "4");
	printf("liar: Connected (ring-ref %u, port %u); waiting for a request\n", ref, port);
	for (i = 0; i < 60 * 50 && !RING_HAS_UNCONSUMED_REQUESTS(&br); i++)
		nap();
	if (!RING_HAS_UNCONSUMED_REQUESTS(&br)) {
		fprintf(stderr, "vgpu-test-liar: no request in 60 s\n");
		return 1;
	}
	xen_rmb();
	memcpy(&req, RING_GET_REQUEST(&br, br.req_cons), sizeof(req));
	br.req_cons++;
	printf("liar: request id %#llx op %s; answering with %s\n", (unsigned long long)req.id,
	       vgpuif_op_name(req.op), lie);
	rsp = RING_GET_RESPONSE(&br, br.rsp_prod_pvt);
	memset(rsp, 0, sizeof(*rsp));
	rsp->id = req.id;
	rsp->op = req.op;
	rsp->result[0] = 1;
	if (!strcmp(lie, "bad-id"))
		rsp->id = req.id + 0x10000 * 7 + 1;
	else if (!strcmp(lie, "wrong-op"))
		rsp->op = (uint8_t)(req.op + 1);
	br.rsp_prod_pvt++;
	if (!strcmp(lie, "prod-overflow")) {
		xen_wmb();
		sring->rsp_prod = br.rsp_prod_pvt + 1000;
	} else {
		RING_PUSH_RESPONSES(&br);
	}
	t->ops->evtchn_notify(t, local);
	printf("liar: lied; waiting for the frontend to close\n");
	if (wait_fe(30, 5, 6) < 0)
		return 1;
	t->ops->evtchn_unbind(t, local);
	t->ops->unmap_grants(t, sring, 1);
	wr("state", "6");
	printf("liar: the frontend closed (state %d); ring unmapped, Closed\n", fe_state());
	return 0;
}
