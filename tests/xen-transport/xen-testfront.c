// SPDX-License-Identifier: MIT
/*
 * vgpu-xen-testfront - a userspace vgpu frontend for a Xen guest, for
 * testing the backend's xen transport without the kernel module: it grants a
 * ring page with gntalloc (libxengnttab's xengntshr), allocates an unbound
 * event channel for dom0 (libxenevtchn), publishes them in its device
 * directory like vgpu-front.ko does, waits for the backend to connect, sends
 * NOP and GET_INFO requests (GET_INFO writes into a second granted page) and
 * checks every response, then closes the device.
 *
 * Runs in the guest as root, with the xen-gntalloc and xen-evtchn modules
 * loaded. Built into bin/ so the Xen testbed ships it to the guests.
 */
/* First: it sets the Xen interface version the ring macros' barriers need
 * before any libxen header includes xen/xen.h with the default. */
#include "vgpuif.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <xengnttab.h>
#include <xenevtchn.h>

#define PROG "vgpu-xen-testfront"

static const char usage_text[] =
"Usage: vgpu-xen-testfront [--devid N] [--count N] [--timeout SECS]\n"
"In a Xen guest: connect to vgpu device N (default 0) as a frontend from\n"
"user space (gntalloc + evtchn instead of vgpu-front.ko), send --count NOP\n"
"requests (default 16) and one GET_INFO, check the answers, close.\n"
"Prints one line per phase; exit 0 when every answer was right, 1 otherwise.\n"
"Needs root and the xen-gntalloc and xen-evtchn modules; vgpu-front.ko must\n"
"not be bound to the same device.\n";

static struct xs_handle *xs;
static char fe[128], be[160];
static unsigned int timeout_s = 60;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_state(const char *dir)
{
	char p[200], *v;
	unsigned int len;
	int st;

	snprintf(p, sizeof(p), "%s/state", dir);
	v = xs_read(xs, XBT_NULL, p, &len);
	if (!v)
		return -1;
	st = atoi(v);
	free(v);
	return st;
}

static int write_key(xs_transaction_t t, const char *key, const char *fmt,
		     unsigned int val)
{
	char p[200], v[32];

	snprintf(p, sizeof(p), "%s/%s", fe, key);
	snprintf(v, sizeof(v), fmt, val);
	return xs_write(xs, t, p, v, (unsigned int)strlen(v)) ? 0 : -1;
}

/* Wait for the backend's state to be in [lo, hi] (lo < 0: anything but hi). */
static int wait_backend(int want_lo, int want_hi, const char *what)
{
	double deadline = now_s() + timeout_s;
	int st;

	for (;;) {
		st = read_state(be);
		if (want_lo < 0 ? st != want_hi :
		    st >= want_lo && st <= want_hi)
			return st;
		if (now_s() > deadline) {
			fprintf(stderr, PROG ": backend %s state %d, waited %u s "
				"for %s\n", be, st, timeout_s, what);
			return -1;
		}
		usleep(50000);
	}
}

/* Wait for our event channel to fire (or time out). */
static int wait_event(xenevtchn_handle *xce, int port)
{
	struct pollfd pfd = { .fd = xenevtchn_fd(xce), .events = POLLIN };
	int p, rc;

	rc = poll(&pfd, 1, (int)timeout_s * 1000);
	if (rc <= 0) {
		fprintf(stderr, PROG ": no event from the backend within %u s\n",
			timeout_s);
		return -1;
	}
	p = xenevtchn_pending(xce);
	if (p < 0)
		return -1;
	if (p != port)
		fprintf(stderr, PROG ": event on port %d, expected %d\n", p, port);
	xenevtchn_unmask(xce, (evtchn_port_t)p);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "devid", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int devid = 0, count = 16, backend_id, i, done = 0, events = 0;
	struct vgpuif_front_ring ring;
	struct vgpuif_sring *sring = NULL;
	struct vgpuif_info *info = NULL;
	xengntshr_handle *xgs = NULL;
	xenevtchn_handle *xce = NULL;
	uint32_t ring_ref, info_ref;
	xs_transaction_t t;
	char *v, p[200];
	unsigned int len;
	int c, port = -1, rc = 1, notify;
	uint64_t next_id = 0x1000;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': devid = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'c': count = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 't': timeout_s = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}

	xs = xs_open(0);
	if (!xs) {
		perror(PROG ": xs_open");
		return 1;
	}
	snprintf(fe, sizeof(fe), "device/vgpu/%u", devid);
	snprintf(p, sizeof(p), "%s/backend", fe);
	v = xs_read(xs, XBT_NULL, p, &len);
	if (!v) {
		fprintf(stderr, PROG ": no %s: no vgpu device %u here\n", p, devid);
		goto out;
	}
	snprintf(be, sizeof(be), "%s", v);
	free(v);
	snprintf(p, sizeof(p), "%s/backend-id", fe);
	v = xs_read(xs, XBT_NULL, p, &len);
	backend_id = v ? (unsigned int)atoi(v) : 0;
	free(v);
	printf("device %s, backend %s (domain %u)\n", fe, be, backend_id);

	if (wait_backend(2, 2, "InitWait") < 0)
		goto out;

	xgs = xengntshr_open(NULL, 0);
	xce = xenevtchn_open(NULL, 0);
	if (!xgs || !xce) {
		fprintf(stderr, PROG ": cannot open %s: %s (modprobe xen-gntalloc "
			"xen-evtchn)\n", xgs ? "/dev/xen/evtchn" : "/dev/xen/gntalloc",
			strerror(errno));
		goto out;
	}
	sring = xengntshr_share_pages(xgs, backend_id, 1, &ring_ref, 1);
	info = xengntshr_share_pages(xgs, backend_id, 1, &info_ref, 1);
	if (!sring || !info) {
		perror(PROG ": xengntshr_share_pages");
		goto out;
	}
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&ring, sring, VGPUIF_PAGE_SIZE);
	memset(info, 0, VGPUIF_PAGE_SIZE);
	port = xenevtchn_bind_unbound_port(xce, backend_id);
	if (port < 0) {
		perror(PROG ": xenevtchn_bind_unbound_port");
		goto out;
	}
	printf("ring granted as ref %u, info page ref %u, event channel port %d\n",
	       ring_ref, info_ref, port);

	for (;;) {
		t = xs_transaction_start(xs);
		if (t == XBT_NULL)
			goto out;
		snprintf(p, sizeof(p), "%s/%s", fe, VGPUIF_XS_PROTOCOL);
		if (write_key(t, VGPUIF_XS_RING_REF, "%u", ring_ref) ||
		    write_key(t, VGPUIF_XS_EVENT_CHANNEL, "%u", (unsigned int)port) ||
		    !xs_write(xs, t, p, VGPUIF_PROTOCOL, strlen(VGPUIF_PROTOCOL)) ||
		    write_key(t, VGPUIF_XS_STATE, "%u", 3)) {
			xs_transaction_end(xs, t, true);
			perror(PROG ": writing the frontend keys");
			goto out;
		}
		if (xs_transaction_end(xs, t, false))
			break;
		if (errno != EAGAIN)
			goto out;
	}
	printf("frontend Initialised; waiting for the backend to connect\n");
	if (wait_backend(4, 4, "Connected") < 0)
		goto out;
	write_key(XBT_NULL, VGPUIF_XS_STATE, "%u", 4);
	printf("backend Connected\n");

	/* count NOPs, one at a time, then one GET_INFO. */
	for (i = 0; i <= count; i++) {
		struct vgpuif_request *req;
		struct vgpuif_response rsp;
		bool get_info = i == count;
		uint64_t id = next_id++;
		RING_IDX rp;

		req = RING_GET_REQUEST(&ring, ring.req_prod_pvt);
		memset(req, 0, sizeof(*req));
		req->id = id;
		req->op = get_info ? VGPUIF_OP_GET_INFO : VGPUIF_OP_NOP;
		if (get_info) {
			req->nr_segments = 1;
			req->u.seg[0].gref = info_ref;
			req->u.seg[0].offset = 0;
			req->u.seg[0].length = sizeof(struct vgpuif_info);
		}
		ring.req_prod_pvt++;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ring, notify);
		if (notify)
			xenevtchn_notify(xce, (evtchn_port_t)port);
		for (;;) {
			int more;

			rp = ring.sring->rsp_prod;
			xen_rmb(); /* read responses up to rp */
			if (ring.rsp_cons != rp)
				break;
			RING_FINAL_CHECK_FOR_RESPONSES(&ring, more);
			if (more)
				continue;
			if (wait_event(xce, port) < 0)
				goto out_close;
			events++;
		}
		memcpy(&rsp, RING_GET_RESPONSE(&ring, ring.rsp_cons), sizeof(rsp));
		ring.rsp_cons++;
		if (rsp.id != id || rsp.status != 0) {
			fprintf(stderr, PROG ": request %llu (op %u): response id "
				"%llu status %d (%s)\n", (unsigned long long)id,
				req->op, (unsigned long long)rsp.id, rsp.status,
				vgpuif_status_str(rsp.status));
			goto out_close;
		}
		done++;
	}
	printf("%u NOP and 1 GET_INFO answered, %u event(s) from dom0\n",
	       count, events);
	printf("GET_INFO: protocol %u, executor %u, gpu '%.63s', domid %u, "
	       "priority %u, quota %llu\n", info->protocol_version,
	       info->executor, info->gpu_name, info->domid, info->priority,
	       (unsigned long long)info->mem_quota);
	if (info->protocol_version != VGPUIF_PROTOCOL_VERSION) {
		fprintf(stderr, PROG ": GET_INFO did not fill the granted page\n");
		goto out_close;
	}
	rc = 0;

out_close:
	write_key(XBT_NULL, VGPUIF_XS_STATE, "%u", 5);
	/* Closing, Closed, or already back in InitWait for the next one. */
	wait_backend(-1, 4, "the backend to leave Connected");
	write_key(XBT_NULL, VGPUIF_XS_STATE, "%u", 6);
	printf("frontend Closed (%u requests answered)\n", done);
out:
	if (xce) {
		if (port >= 0)
			xenevtchn_unbind(xce, (evtchn_port_t)port);
		xenevtchn_close(xce);
	}
	if (xgs) {
		if (sring)
			xengntshr_unshare(xgs, sring, 1);
		if (info)
			xengntshr_unshare(xgs, info, 1);
		xengntshr_close(xgs);
	}
	xs_close(xs);
	return rc;
}
