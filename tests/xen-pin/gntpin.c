// SPDX-License-Identifier: MIT
/*
 * vgpu-xen-gntpin - can dom0's kernel pin a guest's pages mapped through
 * /dev/xen/gntdev? (issue #14, item 4: cuMemHostRegister of such a mapping
 * would need the kernel to pin it; the testbed has no GPU, so we try the
 * kernel's own page-pinning users instead.)
 *
 *   vgpu-xen-gntpin share N SECONDS       (in a guest)
 *     grants N pages to domain 0 (gntalloc, writable), page i filled with
 *     byte 0xa0 + i, prints "refs R0 R1 ...", keeps them SECONDS (or until
 *     SIGTERM), then prints "page0 XX" (its first byte: what dom0 wrote).
 *
 *   vgpu-xen-gntpin pin DOMID BLOCKDEV R0 [R1 ...]   (in dom0)
 *     maps the refs through gntdev (libxengnttab) and tries, each against a
 *     control on an anonymous buffer of the same size:
 *       io_uring  IORING_REGISTER_BUFFERS of the mapping (long-term pin,
 *                 pin_user_pages(FOLL_LONGTERM), what a driver registering
 *                 host memory for DMA does)
 *       odirect-read   O_DIRECT read from BLOCKDEV into the mapping (the
 *                 block layer pins the pages for the device to write)
 *       odirect-write  O_DIRECT write from the mapping to BLOCKDEV
 *     and prints one "RESULT <what> <ok|errno NAME (N)> ..." line each, the
 *     mapping's VmFlags, and leaves in the guest's page 0 the device's
 *     byte 0x5a when the read succeeded, else 0x77 stored by the CPU (the
 *     guest prints it). Exit 0 when the experiment ran
 *     (the controls succeeded), 1 otherwise: a failed pin is a result.
 *
 *   vgpu-xen-gntpin front MIB NBUF REPS   (in a guest, no module loaded)
 *     a userspace frontend with persistent grants, for the grant cache's
 *     counts on Xen (see front() below).
 *
 *   vgpu-xen-gntpin trace FILE            (in dom0)
 *     PV hypercalls by kind in a xentrace file (see trace() below).
 *
 * Raw io_uring syscalls: no liburing needed.
 */
/* First: it sets the Xen interface version the ring macros' barriers need. */
#include "vgpuif.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#define PROG "vgpu-xen-gntpin"
#define PAGE 4096u

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int share(int argc, char **argv)
{
	xengntshr_handle *xgs;
	unsigned int n, secs, i;
	uint32_t *refs;
	uint8_t *p;

	if (argc != 4)
		return 2;
	n = (unsigned int)strtoul(argv[2], NULL, 10);
	secs = (unsigned int)strtoul(argv[3], NULL, 10);
	if (n == 0 || n > 1024)
		return 2;
	refs = calloc(n, sizeof(*refs));
	xgs = xengntshr_open(NULL, 0);
	if (!xgs || !refs) {
		fprintf(stderr, PROG ": xengntshr_open: %s (modprobe xen-gntalloc)\n",
			strerror(errno));
		return 1;
	}
	p = xengntshr_share_pages(xgs, 0, (int)n, refs, 1);
	if (!p) {
		fprintf(stderr, PROG ": xengntshr_share_pages: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++)
		memset(p + (size_t)i * PAGE, 0xa0 + (int)i, PAGE);
	printf("refs");
	for (i = 0; i < n; i++)
		printf(" %u", refs[i]);
	printf("\n");
	fflush(stdout);
	signal(SIGTERM, on_term);
	for (i = 0; i < secs * 10 && !stop; i++)
		usleep(100000);
	printf("page0 %02x\n", p[0]);
	fflush(stdout);
	xengntshr_unshare(xgs, p, n);
	xengntshr_close(xgs);
	return 0;
}

static void result(const char *what, long rc, int err, const char *more)
{
	if (rc >= 0)
		printf("RESULT %s ok (%ld)%s%s\n", what, rc, more ? " " : "",
		       more ? more : "");
	else
		printf("RESULT %s errno %s (%d)%s%s\n", what, strerrorname_np(err)
		       ? strerrorname_np(err) : "?", err, more ? " " : "",
		       more ? more : "");
	fflush(stdout);
}

/* io_uring_setup + IORING_REGISTER_BUFFERS of [p, p + len): 0 or -errno. */
static int uring_register(void *p, size_t len)
{
	struct io_uring_params par;
	struct iovec iov = { .iov_base = p, .iov_len = len };
	int fd, rc, err = 0;

	memset(&par, 0, sizeof(par));
	fd = (int)syscall(__NR_io_uring_setup, 4, &par);
	if (fd < 0)
		return -errno;
	rc = (int)syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS,
			  &iov, 1);
	if (rc < 0)
		err = -errno;
	else
		syscall(__NR_io_uring_register, fd, IORING_UNREGISTER_BUFFERS,
			NULL, 0);
	close(fd);
	return err;
}

/* The VmFlags line of the mapping at p (smaps), for the record. */
static void vmflags(void *p)
{
	char line[512], want[32];
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = !strncmp(line, want, strlen(want));
			if (in)
				printf("mapping %s", line);
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			printf("mapping %s", line);
		}
	}
	fclose(f);
}

static int pin(int argc, char **argv)
{
	unsigned int domid, n, i;
	xengnttab_handle *xgt;
	uint32_t *refs;
	uint8_t *map, *anon;
	size_t len;
	ssize_t got;
	int fd, rc, ok = 1;
	char more[128];

	if (argc < 5)
		return 2;
	domid = (unsigned int)strtoul(argv[2], NULL, 10);
	n = (unsigned int)(argc - 4);
	len = (size_t)n * PAGE;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return 1;
	for (i = 0; i < n; i++)
		refs[i] = (uint32_t)strtoul(argv[4 + i], NULL, 10);
	xgt = xengnttab_open(NULL, 0);
	if (!xgt) {
		fprintf(stderr, PROG ": xengnttab_open: %s\n", strerror(errno));
		return 1;
	}
	map = xengnttab_map_domain_grant_refs(xgt, n, domid, refs,
					      PROT_READ | PROT_WRITE);
	if (!map) {
		fprintf(stderr, PROG ": mapping %u refs of domain %u: %s\n", n,
			domid, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++)
		if (map[(size_t)i * PAGE] != (uint8_t)(0xa0 + i) ||
		    map[(size_t)i * PAGE + PAGE - 1] != (uint8_t)(0xa0 + i)) {
			fprintf(stderr, PROG ": page %u holds %02x, not the guest's %02x\n",
				i, map[(size_t)i * PAGE], 0xa0 + i);
			return 1;
		}
	printf("mapped %u pages of domain %u at %p; the guest's bytes are there\n",
	       n, domid, (void *)map);
	vmflags(map);
	anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (anon == MAP_FAILED)
		return 1;

	/* (a) io_uring fixed buffers: a long-term pin. */
	rc = uring_register(anon, len);
	result("io_uring-register control (anonymous memory)", rc, -rc, NULL);
	if (rc)
		ok = 0;
	rc = uring_register(map, len);
	result("io_uring-register gntdev mapping", rc, -rc, NULL);

	/* (b) O_DIRECT: the block layer pins the pages for the I/O. */
	fd = open(argv[3], O_RDWR | O_DIRECT);
	if (fd < 0) {
		result("odirect-open", -1, errno, argv[3]);
		return 1;
	}
	memset(anon, 0x5a, len);
	got = pwrite(fd, anon, len, 0);
	result("odirect-write control (anonymous memory)", got < 0 ? -1 : got,
	       errno, NULL);
	if (got != (ssize_t)len)
		ok = 0;
	memset(anon, 0, len);
	got = pread(fd, anon, len, 0);
	snprintf(more, sizeof(more), "(read back %02x)", anon[0]);
	result("odirect-read control (anonymous memory)", got < 0 ? -1 : got,
	       errno, more);
	if (got != (ssize_t)len || anon[0] != 0x5a || anon[len - 1] != 0x5a)
		ok = 0;

	errno = 0;
	got = pread(fd, map, len, 0);
	snprintf(more, sizeof(more), "(page 0 of the mapping now %02x, page %u %02x)",
		 map[0], n - 1, map[len - 1]);
	result("odirect-read into gntdev mapping", got < 0 ? -1 : got, errno,
	       more);
	if (got != (ssize_t)len) /* a CPU store, told apart from the device's 0x5a */
		map[0] = 0x77;
	/* Restore the guest's pattern in page 1.. (page 0 keeps 0x5a). */
	for (i = 1; i < n; i++)
		memset(map + (size_t)i * PAGE, 0xa0 + (int)i, PAGE);
	errno = 0;
	got = pwrite(fd, map + PAGE, len - PAGE, 0);
	memset(anon, 0, len);
	if (pread(fd, anon, PAGE, 0) != (ssize_t)PAGE)
		anon[0] = 0;
	snprintf(more, sizeof(more), "(device block 0 now %02x, the guest's page 1 is %02x)",
		 anon[0], 0xa1);
	result("odirect-write from gntdev mapping", got < 0 ? -1 : got, errno,
	       more);
	close(fd);
	munmap(anon, len);
	xengnttab_unmap(xgt, map, n);
	xengnttab_close(xgt);
	printf("controls %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------ front */

/*
 * front MIB NBUF REPS: a userspace frontend with feature-persistent=1 (the
 * module does not negotiate it), for the grant cache's counts on Xen. It
 * connects to vgpu device 0 like vgpu-xen-testfront (gntalloc ring, evtchn),
 * creates a context and MIB MiB of device memory, grants NBUF buffers of MIB
 * MiB once and copies them in turn (even ones H2D, odd ones D2H), in
 * requests of up to 32 MiB with their indirect pages granted once too: one
 * pass to warm up, then the XenStore barrier <fe>/gp-warm -> gp-go (dom0
 * reads the backend's counters), REPS passes, gp-done -> gp-end, close.
 */
static struct xs_handle *xs;
static char fe[64], be[128];

static int xs_int(const char *dir, const char *key)
{
	char p[200], *v;
	unsigned int len;
	int r;

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	v = xs_read(xs, XBT_NULL, p, &len);
	if (!v)
		return -1;
	r = atoi(v);
	free(v);
	return r;
}

static int xs_put(const char *key, const char *val)
{
	char p[200];

	snprintf(p, sizeof(p), "%s/%s", fe, key);
	return xs_write(xs, XBT_NULL, p, val, (unsigned int)strlen(val)) ? 0 : -1;
}

/* Wait (up to secs) until dir/key reads want (want < 0: exists). */
static int xs_wait(const char *dir, const char *key, int want, int secs)
{
	for (int i = 0; i < secs * 20; i++) {
		int v = xs_int(dir, key);

		if (want < 0 ? v >= 0 : v == want)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, PROG ": %s/%s never became %d\n", dir, key, want);
	return -1;
}

struct fring {
	struct vgpuif_front_ring r;
	xenevtchn_handle *xce;
	int port;
};

static int fcall(struct fring *f, struct vgpuif_request *rq, uint64_t *res0)
{
	static uint64_t id = 0x100;
	struct vgpuif_response rsp;
	int notify;

	rq->id = ++id;
	memcpy(RING_GET_REQUEST(&f->r, f->r.req_prod_pvt), rq, sizeof(*rq));
	f->r.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->r, notify);
	if (notify)
		xenevtchn_notify(f->xce, (evtchn_port_t)f->port);
	for (;;) {
		RING_IDX rp = f->r.sring->rsp_prod;
		int more;

		xen_rmb();
		if (f->r.rsp_cons != rp)
			break;
		RING_FINAL_CHECK_FOR_RESPONSES(&f->r, more);
		if (more)
			continue;
		struct pollfd pfd = { .fd = xenevtchn_fd(f->xce), .events = POLLIN };
		if (poll(&pfd, 1, 120000) <= 0) {
			fprintf(stderr, PROG ": no answer to op %u\n", rq->op);
			return -1;
		}
		int p = xenevtchn_pending(f->xce);
		if (p >= 0)
			xenevtchn_unmask(f->xce, (evtchn_port_t)p);
	}
	memcpy(&rsp, RING_GET_RESPONSE(&f->r, f->r.rsp_cons), sizeof(rsp));
	f->r.rsp_cons++;
	if (rsp.id != rq->id || rsp.status) {
		fprintf(stderr, PROG ": op %u: id %llu status %d (%s)\n", rq->op,
			(unsigned long long)rsp.id, rsp.status,
			vgpuif_status_str(rsp.status));
		return -1;
	}
	if (res0)
		*res0 = rsp.result[0];
	return 0;
}

struct fbuf {
	uint8_t *data;
	uint32_t *refs;         /* one per page                          */
	uint32_t nchunks;
	uint8_t **ind;          /* per chunk: its indirect pages         */
	uint32_t (*indref)[VGPUIF_MAX_INDIRECT_PAGES];
};

#define CHUNK_PAGES VGPUIF_MAX_INDIRECT_SEGMENTS

static int fbuf_init(xengntshr_handle *xgs, int bid, struct fbuf *b, uint32_t pages)
{
	uint32_t c, i;

	b->refs = calloc(pages, sizeof(*b->refs));
	b->data = b->refs ? xengntshr_share_pages(xgs, bid, (int)pages, b->refs, 1) : NULL;
	if (!b->data)
		return -1;
	b->nchunks = (pages + CHUNK_PAGES - 1) / CHUNK_PAGES;
	b->ind = calloc(b->nchunks, sizeof(*b->ind));
	b->indref = calloc(b->nchunks, sizeof(*b->indref));
	if (!b->ind || !b->indref)
		return -1;
	for (c = 0; c < b->nchunks; c++) {
		uint32_t n = pages - c * CHUNK_PAGES, np;
		struct vgpuif_segment *sg;

		if (n > CHUNK_PAGES)
			n = CHUNK_PAGES;
		np = vgpuif_indirect_pages(n);
		b->ind[c] = xengntshr_share_pages(xgs, bid, (int)np, b->indref[c], 0);
		if (!b->ind[c])
			return -1;
		sg = (struct vgpuif_segment *)b->ind[c];
		for (i = 0; i < n; i++) {
			sg[i].gref = b->refs[c * CHUNK_PAGES + i];
			sg[i].offset = 0;
			sg[i].length = PAGE;
		}
	}
	return 0;
}

static int fbuf_copy(struct fring *f, struct fbuf *b, uint32_t pages, uint8_t op,
		     uint32_t ctx, uint64_t mem)
{
	for (uint32_t c = 0; c < b->nchunks; c++) {
		struct vgpuif_request rq;
		uint32_t n = pages - c * CHUNK_PAGES, np;

		if (n > CHUNK_PAGES)
			n = CHUNK_PAGES;
		np = vgpuif_indirect_pages(n);
		memset(&rq, 0, sizeof(rq));
		rq.op = op;
		rq.ctx = ctx;
		rq.flags = VGPUIF_F_INDIRECT;
		rq.nr_segments = (uint16_t)n;
		rq.args.memcpy.mem = mem;
		rq.args.memcpy.offset = (uint64_t)c * CHUNK_PAGES * PAGE;
		rq.args.memcpy.length = (uint64_t)n * PAGE;
		for (uint32_t i = 0; i < np; i++)
			rq.u.indirect_gref[i] = b->indref[c][i];
		if (fcall(f, &rq, NULL))
			return -1;
	}
	return 0;
}

static int front(int argc, char **argv)
{
	unsigned int mib, nbuf, reps, i, k, bid;
	xengntshr_handle *xgs;
	struct vgpuif_sring *sring;
	struct vgpuif_request rq;
	struct fbuf b[4];
	struct fring f;
	uint32_t ring_ref, pages, ctx;
	uint64_t mem, v;
	xs_transaction_t t;
	char pth[200], *s;
	unsigned int len;
	int rc = 1;

	if (argc != 5)
		return 2;
	mib = (unsigned int)strtoul(argv[2], NULL, 10);
	nbuf = (unsigned int)strtoul(argv[3], NULL, 10);
	reps = (unsigned int)strtoul(argv[4], NULL, 10);
	if (!mib || mib > 128 || !nbuf || nbuf > 4)
		return 2;
	pages = mib * 256;
	xs = xs_open(0);
	if (!xs)
		return 1;
	snprintf(fe, sizeof(fe), "device/vgpu/0");
	snprintf(pth, sizeof(pth), "%s/backend", fe);
	s = xs_read(xs, XBT_NULL, pth, &len);
	if (!s) {
		fprintf(stderr, PROG ": no vgpu device 0\n");
		return 1;
	}
	snprintf(be, sizeof(be), "%s", s);
	free(s);
	bid = (unsigned int)(xs_int(fe, "backend-id") < 0 ? 0 : xs_int(fe, "backend-id"));
	if (xs_wait(be, VGPUIF_XS_STATE, 2, 60))
		return 1;
	xgs = xengntshr_open(NULL, 0);
	f.xce = xenevtchn_open(NULL, 0);
	if (!xgs || !f.xce)
		return 1;
	sring = xengntshr_share_pages(xgs, bid, 1, &ring_ref, 1);
	if (!sring)
		return 1;
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&f.r, sring, PAGE);
	f.port = xenevtchn_bind_unbound_port(f.xce, bid);
	if (f.port < 0)
		return 1;
	for (;;) {
		char val[32];

		t = xs_transaction_start(xs);
		snprintf(val, sizeof(val), "%u", ring_ref);
		snprintf(pth, sizeof(pth), "%s/%s", fe, VGPUIF_XS_RING_REF);
		xs_write(xs, t, pth, val, (unsigned int)strlen(val));
		snprintf(val, sizeof(val), "%d", f.port);
		snprintf(pth, sizeof(pth), "%s/%s", fe, VGPUIF_XS_EVENT_CHANNEL);
		xs_write(xs, t, pth, val, (unsigned int)strlen(val));
		snprintf(pth, sizeof(pth), "%s/%s", fe, VGPUIF_XS_PROTOCOL);
		xs_write(xs, t, pth, VGPUIF_PROTOCOL, strlen(VGPUIF_PROTOCOL));
		snprintf(pth, sizeof(pth), "%s/%s", fe, VGPUIF_XS_FEATURE_PERSISTENT);
		xs_write(xs, t, pth, "1", 1);
		snprintf(pth, sizeof(pth), "%s/%s", fe, VGPUIF_XS_STATE);
		xs_write(xs, t, pth, "3", 1);
		if (xs_transaction_end(xs, t, false))
			break;
		if (errno != EAGAIN)
			return 1;
	}
	if (xs_wait(be, VGPUIF_XS_STATE, 4, 60))
		goto out;
	xs_put(VGPUIF_XS_STATE, "4");
	memset(&rq, 0, sizeof(rq));
	rq.op = VGPUIF_OP_CTX_CREATE;
	if (fcall(&f, &rq, &v))
		goto out;
	ctx = (uint32_t)v;
	memset(&rq, 0, sizeof(rq));
	rq.op = VGPUIF_OP_MEM_ALLOC;
	rq.ctx = ctx;
	rq.args.mem_alloc.size = (uint64_t)mib << 20;
	if (fcall(&f, &rq, &mem))
		goto out;
	for (k = 0; k < nbuf; k++) {
		if (fbuf_init(xgs, (int)bid, &b[k], pages)) {
			fprintf(stderr, PROG ": granting buffer %u (%u pages): %s "
				"(gntalloc's limit, the grant table)\n", k, pages,
				strerror(errno));
			goto out;
		}
		memset(b[k].data, 0x30 + (int)k, (size_t)pages * PAGE);
	}
	printf("connected, feature-persistent 1; %u buffer(s) of %u MiB granted\n",
	       nbuf, mib);
	fflush(stdout);
	for (i = 0; i < 1 + reps; i++) {
		if (i == 1) {
			xs_put("gp-warm", "1");
			if (xs_wait(fe, "gp-go", 1, 120))
				goto out;
		}
		for (k = 0; k < nbuf; k++)
			if (fbuf_copy(&f, &b[k], pages, k & 1 ? VGPUIF_OP_MEMCPY_D2H :
				      VGPUIF_OP_MEMCPY_H2D, ctx, mem))
				goto out;
	}
	if (nbuf > 1 && b[1].data[0] != 0x30) {
		fprintf(stderr, PROG ": D2H did not bring back what H2D sent\n");
		goto out;
	}
	xs_put("gp-done", "1");
	if (xs_wait(fe, "gp-end", 1, 120))
		goto out;
	printf("%u pass(es) of %u x %u MiB copied after the warm-up\n", reps, nbuf, mib);
	rc = 0;
out:
	xs_put(VGPUIF_XS_STATE, "5");
	for (i = 0; i < 100 && xs_int(be, VGPUIF_XS_STATE) == 4; i++)
		usleep(50000);
	xs_put(VGPUIF_XS_STATE, "6");
	fflush(stdout);
	return rc;
}

/* ------------------------------------------------------------ trace */

/*
 * trace FILE: count the PV hypercalls in a xentrace file (xentrace -e
 * 0x0020f000: TRC_PV), by hypercall, for all domains together, and the
 * records Xen lost. Records: a header word (event in bits 0-27, extra
 * words in 28-30, a TSC pair when bit 31 is set), then the words.
 */
#define TRC_LOST_RECORDS_EV      0x0001f001u
#define TRC_PV_HYPERCALL_V2_EV   0x0020100du
#define TRC_PV_HYPERCALL_SUB_EV  0x0020200eu

static const char *const hc_names[43] = {
	[1] = "mmu_update", [6] = "sched_op_compat", [12] = "memory_op",
	[13] = "multicall", [14] = "update_va_mapping", [15] = "set_timer_op",
	[17] = "xen_version", [18] = "console_io", [20] = "grant_table_op",
	[23] = "iret", [24] = "vcpu_op", [26] = "mmuext_op", [29] = "sched_op",
	[32] = "event_channel_op", [33] = "physdev_op", [35] = "sysctl",
	[36] = "domctl",
};

static int trace(int argc, char **argv)
{
	unsigned long long hc[64] = { 0 }, sub[64] = { 0 }, lost = 0, recs = 0;
	uint32_t h, w[9];
	FILE *f;

	if (argc != 3)
		return 2;
	f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	while (fread(&h, 4, 1, f) == 1) {
		uint32_t ev = h & 0x0fffffffu, n = (h >> 28) & 7u;

		if (h >> 31)
			n += 2;
		if (n && fread(w, 4, n, f) != n)
			break;
		recs++;
		if (h >> 31) /* the TSC comes first */
			memmove(w, w + 2, (n - 2) * 4);
		if (ev == TRC_LOST_RECORDS_EV)
			lost++;
		else if (ev == TRC_PV_HYPERCALL_V2_EV && n)
			hc[(w[0] & 0xfffffu) < 64 ? w[0] & 0xfffffu : 63]++;
		else if (ev == TRC_PV_HYPERCALL_SUB_EV && n)
			sub[(w[0] & 0xfffffu) < 64 ? w[0] & 0xfffffu : 63]++;
	}
	fclose(f);
	printf("TRACE records %llu, lost-records events %llu\n", recs, lost);
	for (int i = 0; i < 64; i++)
		if (hc[i] || sub[i])
			printf("TRACE hypercall %d %s %llu (in multicalls %llu)\n", i,
			       i < 43 && hc_names[i] ? hc_names[i] : "?", hc[i], sub[i]);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && !strcmp(argv[1], "share"))
		rc = share(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "pin"))
		rc = pin(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "front"))
		rc = front(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "trace"))
		rc = trace(argc, argv);
	if (rc == 2)
		fprintf(stderr, "usage: " PROG " share N SECONDS | pin DOMID BLOCKDEV REF... | front MIB NBUF REPS | trace FILE\n");
	return rc;
}
