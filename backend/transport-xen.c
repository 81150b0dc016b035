// SPDX-License-Identifier: MIT
/*
 * transport-xen.c - the backend's line to a real Xen: libxenstore for the
 * control plane, libxengnttab for the guest's ring and data pages,
 * libxenevtchn for notifications.
 *
 * Everything here is a thin, checked wrapper: arguments are validated before
 * any library is called (a bad value from the layers above must become an
 * errno, never a crash inside libxenstore), and errors come back as -errno
 * per transport.h. The libraries' own loggers are silenced: a hostile guest
 * that hands us bad grant refs would otherwise write a line to dom0's log on
 * every request; the backend reports the errno itself, naming the domain.
 *
 * Threads: the XenStore and event-channel pending/unmask calls are used by the
 * backend's control thread only. map_grants, unmap_grants and evtchn_notify
 * may be called from any thread: they are single ioctl/mmap/munmap calls on
 * the gntdev / evtchn file descriptors, which the kernel serialises, and they
 * touch no state of ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenstore.h>
#include <xengnttab.h>
#include <xenevtchn.h>
#include <xentoollog.h>
#include <xen/xen.h>
#include <xen/io/xs_wire.h>

#include "transport.h"

/* Most pages one map_grants call may map: a whole maximal request (indirect
 * segments included) is 8192 pages; leave room for a persistent-grant pool. */
#define VGPUBACK_XEN_MAX_MAP_PAGES  (1u << 18)

/* Grant-mapped ranges are whole 4 KiB pages (x86 Xen). */
#define VGPUBACK_XEN_PAGE_SIZE      4096u

/* Most entries in one permission list: owner + every possible domain. */
#define VGPUBACK_XEN_MAX_ACL        64u

/* Highest event-channel port of the FIFO ABI (2^17 - 1). */
#define VGPUBACK_XEN_MAX_PORT       ((1u << 17) - 1)

struct vgpuback_xen {
	struct vgpuback_transport base;  /* first: container_of by cast   */
	struct xs_handle *xs;            /* control thread only           */
	xengnttab_handle *gnt;           /* any thread (see top comment)  */
	xenevtchn_handle *evt;           /* notify: any thread; rest: ctl */
};

static inline struct vgpuback_xen *to_xen(struct vgpuback_transport *t)
{
	return (struct vgpuback_xen *)t;
}

/* ------------------------------------------------------------ quiet logger */

static void quiet_vmessage(struct xentoollog_logger *logger,
			   xentoollog_level level, int errnoval,
			   const char *context, const char *format, va_list al)
{
	(void)logger; (void)level; (void)errnoval; (void)context;
	(void)format; (void)al;
}

static void quiet_progress(struct xentoollog_logger *logger,
			   const char *context, const char *doing_what,
			   int percent, unsigned long done, unsigned long total)
{
	(void)logger; (void)context; (void)doing_what; (void)percent;
	(void)done; (void)total;
}

static void quiet_destroy(struct xentoollog_logger *logger)
{
	(void)logger;
}

static struct xentoollog_logger quiet_logger = {
	.vmessage = quiet_vmessage,
	.progress = quiet_progress,
	.destroy  = quiet_destroy,
};

/* --------------------------------------------------------- argument checks */

/* errno after a failed library call, never 0 (a 0 would read as success). */
static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

/*
 * A XenStore path we will send: absolute (or "@..." for the special watch
 * paths), within the protocol's limit, no NUL inside by construction.
 */
static int check_path(const char *path, bool allow_special)
{
	size_t len;

	if (!path)
		return -EINVAL;
	len = strlen(path);
	if (len == 0)
		return -EINVAL;
	if (path[0] != '/' && !(allow_special && path[0] == '@'))
		return -EINVAL;
	if (len > XENSTORE_ABS_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int check_domid(uint32_t domid)
{
	return domid < DOMID_FIRST_RESERVED ? 0 : -EINVAL;
}

/* --------------------------------------------------------------- XenStore */

static char *xen_xs_read(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			 const char *path, unsigned int *len)
{
	struct vgpuback_xen *x = to_xen(t);
	unsigned int l = 0;
	char *v;
	int rc;

	rc = check_path(path, false);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	errno = 0;
	v = xs_read(x->xs, xbt, path, &l);
	if (!v) {
		if (!errno)
			errno = EIO;
		return NULL;
	}
	/* libxenstore NUL-terminates the value. */
	if (len)
		*len = l;
	return v;
}

static int xen_xs_write(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			const char *path, const char *value)
{
	struct vgpuback_xen *x = to_xen(t);
	size_t vlen;
	int rc;

	rc = check_path(path, false);
	if (rc)
		return rc;
	if (!value)
		return -EINVAL;
	vlen = strlen(value);
	/* The request carries "path\0value" in one payload. */
	if (strlen(path) + 1 + vlen > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	errno = 0;
	if (!xs_write(x->xs, xbt, path, value, (unsigned int)vlen))
		return neg_errno();
	return 0;
}

static int xen_xs_mkdir(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			const char *path)
{
	struct vgpuback_xen *x = to_xen(t);
	int rc;

	rc = check_path(path, false);
	if (rc)
		return rc;
	errno = 0;
	if (!xs_mkdir(x->xs, xbt, path))
		return neg_errno();
	return 0;
}

static int xen_xs_rm(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
		     const char *path)
{
	struct vgpuback_xen *x = to_xen(t);
	int rc;

	rc = check_path(path, false);
	if (rc)
		return rc;
	/* Removing the root or a domain's whole tree is never the backend's
	 * business; refuse it rather than trust the caller's path building. */
	if (strcmp(path, "/") == 0 || strcmp(path, "/local") == 0 ||
	    strcmp(path, "/local/domain") == 0)
		return -EPERM;
	errno = 0;
	if (!xs_rm(x->xs, xbt, path))
		return neg_errno();
	return 0;
}

static char **xen_xs_directory(struct vgpuback_transport *t,
			       vgpuback_xbt_t xbt, const char *path,
			       unsigned int *num)
{
	struct vgpuback_xen *x = to_xen(t);
	unsigned int n = 0;
	char **d;
	int rc;

	rc = check_path(path, false);
	if (rc || !num) {
		errno = rc ? -rc : EINVAL;
		return NULL;
	}
	errno = 0;
	d = xs_directory(x->xs, xbt, path, &n);
	if (!d) {
		if (!errno)
			errno = EIO;
		return NULL;
	}
	*num = n;
	return d;
}

static int xen_xs_set_perms(struct vgpuback_transport *t, vgpuback_xbt_t xbt,
			    const char *path,
			    const struct vgpuback_xs_acl *acl, unsigned int n)
{
	struct vgpuback_xen *x = to_xen(t);
	struct xs_permissions p[VGPUBACK_XEN_MAX_ACL];
	unsigned int i;
	int rc;

	rc = check_path(path, false);
	if (rc)
		return rc;
	if (!acl || n == 0)
		return -EINVAL;
	if (n > VGPUBACK_XEN_MAX_ACL)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (check_domid(acl[i].domid))
			return -EINVAL;
		switch (acl[i].perm) {
		case VGPUBACK_XS_PERM_NONE:
			p[i].perms = XS_PERM_NONE;
			break;
		case VGPUBACK_XS_PERM_READ:
			p[i].perms = XS_PERM_READ;
			break;
		case VGPUBACK_XS_PERM_WRITE:
			p[i].perms = XS_PERM_WRITE;
			break;
		case VGPUBACK_XS_PERM_BOTH:
			p[i].perms = XS_PERM_READ | XS_PERM_WRITE;
			break;
		default:
			return -EINVAL;
		}
		p[i].id = acl[i].domid;
	}
	errno = 0;
	if (!xs_set_permissions(x->xs, xbt, path, p, n))
		return neg_errno();
	return 0;
}

static int xen_xs_transaction_start(struct vgpuback_transport *t,
				    vgpuback_xbt_t *xbt)
{
	struct vgpuback_xen *x = to_xen(t);
	xs_transaction_t id;

	if (!xbt)
		return -EINVAL;
	errno = 0;
	id = xs_transaction_start(x->xs);
	if (id == XBT_NULL)
		return neg_errno();
	*xbt = id;
	return 0;
}

static int xen_xs_transaction_end(struct vgpuback_transport *t,
				  vgpuback_xbt_t xbt, bool abort)
{
	struct vgpuback_xen *x = to_xen(t);

	if (xbt == VGPUBACK_XBT_NULL)
		return -EINVAL;
	errno = 0;
	if (!xs_transaction_end(x->xs, xbt, abort))
		return neg_errno();   /* -EAGAIN: the caller retries */
	return 0;
}

static int check_token(const char *path, const char *token)
{
	size_t tl;

	if (!token)
		return -EINVAL;
	tl = strlen(token);
	if (tl == 0)
		return -EINVAL;
	if (strlen(path) + 1 + tl + 1 > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	return 0;
}

static int xen_xs_watch(struct vgpuback_transport *t, const char *path,
			const char *token)
{
	struct vgpuback_xen *x = to_xen(t);
	int rc;

	rc = check_path(path, true);
	if (rc)
		return rc;
	rc = check_token(path, token);
	if (rc)
		return rc;
	errno = 0;
	if (!xs_watch(x->xs, path, token))
		return neg_errno();
	return 0;
}

static int xen_xs_unwatch(struct vgpuback_transport *t, const char *path,
			  const char *token)
{
	struct vgpuback_xen *x = to_xen(t);
	int rc;

	rc = check_path(path, true);
	if (rc)
		return rc;
	rc = check_token(path, token);
	if (rc)
		return rc;
	errno = 0;
	if (!xs_unwatch(x->xs, path, token))
		return neg_errno();
	return 0;
}

static int xen_xs_watch_fd(struct vgpuback_transport *t)
{
	struct vgpuback_xen *x = to_xen(t);
	int fd;

	errno = 0;
	fd = xs_fileno(x->xs);
	return fd >= 0 ? fd : neg_errno();
}

static int xen_xs_read_watch(struct vgpuback_transport *t, char **path,
			     char **token)
{
	struct vgpuback_xen *x = to_xen(t);
	char **ev;
	char *p, *k;

	if (!path || !token)
		return -EINVAL;
	errno = 0;
	ev = xs_check_watch(x->xs);
	if (!ev)
		return errno == EAGAIN ? 0 : neg_errno();
	p = strdup(ev[XS_WATCH_PATH]);
	k = strdup(ev[XS_WATCH_TOKEN]);
	free(ev);
	if (!p || !k) {
		free(p);
		free(k);
		return -ENOMEM;
	}
	*path = p;
	*token = k;
	return 1;
}

/*
 * A domain is alive while xenstored has it introduced and the toolstack has
 * not removed its /local/domain/<domid> tree. xenstored drops the
 * introduction (and fires @releaseDomain) once the hypervisor has destroyed
 * the domain; libxl removes the tree while destroying it, a little earlier.
 * Either one gone means the backend must let the domain go.
 */
static int xen_domain_alive(struct vgpuback_transport *t, uint32_t domid)
{
	struct vgpuback_xen *x = to_xen(t);
	char path[64];
	unsigned int len;
	bool introduced;
	int node_err;
	char *v;

	if (check_domid(domid))
		return -EINVAL;
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	errno = 0;
	v = xs_read(x->xs, XBT_NULL, path, &len);
	node_err = v ? 0 : (errno ? errno : EIO);
	free(v);
	if (node_err == ENOENT)
		return 0;
	errno = 0;
	introduced = xs_is_domain_introduced(x->xs, domid);
	if (introduced)
		return node_err ? -node_err : 1;
	/* false is both "F" (not introduced) and a failed call: tell apart. */
	if (errno && errno != ENOENT && errno != ESRCH)
		return -errno;
	return 0;
}

/* ----------------------------------------------------------------- grants */

static void *xen_map_grants(struct vgpuback_transport *t, uint32_t domid,
			    uint32_t count, const uint32_t *refs,
			    bool writable)
{
	struct vgpuback_xen *x = to_xen(t);
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	void *addr;

	if (check_domid(domid) || !refs || count == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (count > VGPUBACK_XEN_MAX_MAP_PAGES) {
		errno = E2BIG;
		return NULL;
	}
	errno = 0;
	/* libxengnttab takes a non-const array but only reads it. */
	addr = xengnttab_map_domain_grant_refs(x->gnt, count, domid,
					       (uint32_t *)refs, prot);
	if (!addr) {
		/*
		 * gntdev reports any failed GNTTABOP_map_grant_ref (bad ref,
		 * not granted to us, read-only grant mapped writable) as
		 * EINVAL from mmap; our arguments were checked above, so it
		 * is the guest's grant that is bad: EFAULT, per transport.h.
		 */
		if (errno == EINVAL || errno == 0)
			errno = EFAULT;
		return NULL;
	}
	return addr;
}

static int xen_unmap_grants(struct vgpuback_transport *t, void *addr,
			    uint32_t count)
{
	struct vgpuback_xen *x = to_xen(t);

	if (!addr || count == 0 || count > VGPUBACK_XEN_MAX_MAP_PAGES ||
	    ((uintptr_t)addr & (VGPUBACK_XEN_PAGE_SIZE - 1)))
		return -EINVAL;
	errno = 0;
	if (xengnttab_unmap(x->gnt, addr, count))
		return neg_errno();
	return 0;
}

/* --------------------------------------------------------- event channels */

static int check_port(int port)
{
	return port >= 0 && (unsigned int)port <= VGPUBACK_XEN_MAX_PORT ?
	       0 : -EINVAL;
}

static int xen_evtchn_bind(struct vgpuback_transport *t, uint32_t domid,
			   uint32_t remote_port)
{
	struct vgpuback_xen *x = to_xen(t);
	xenevtchn_port_or_error_t p;

	if (check_domid(domid) || remote_port == 0 ||
	    remote_port > VGPUBACK_XEN_MAX_PORT)
		return -EINVAL;
	errno = 0;
	p = xenevtchn_bind_interdomain(x->evt, domid, remote_port);
	if (p < 0)
		return neg_errno();
	return (int)p;
}

static int xen_evtchn_unbind(struct vgpuback_transport *t, int local_port)
{
	struct vgpuback_xen *x = to_xen(t);

	if (check_port(local_port))
		return -EINVAL;
	errno = 0;
	if (xenevtchn_unbind(x->evt, (evtchn_port_t)local_port) < 0)
		return neg_errno();
	return 0;
}

static int xen_evtchn_notify(struct vgpuback_transport *t, int local_port)
{
	struct vgpuback_xen *x = to_xen(t);

	if (check_port(local_port))
		return -EINVAL;
	errno = 0;
	if (xenevtchn_notify(x->evt, (evtchn_port_t)local_port) < 0)
		return neg_errno();
	return 0;
}

static int xen_evtchn_fd(struct vgpuback_transport *t)
{
	struct vgpuback_xen *x = to_xen(t);
	int fd;

	errno = 0;
	fd = xenevtchn_fd(x->evt);
	return fd >= 0 ? fd : neg_errno();
}

static int xen_evtchn_pending(struct vgpuback_transport *t)
{
	struct vgpuback_xen *x = to_xen(t);
	xenevtchn_port_or_error_t p;

	errno = 0;
	p = xenevtchn_pending(x->evt);   /* the fd is non-blocking */
	if (p < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ?
		       -EAGAIN : neg_errno();
	return (int)p;
}

static int xen_evtchn_unmask(struct vgpuback_transport *t, int local_port)
{
	struct vgpuback_xen *x = to_xen(t);

	if (check_port(local_port))
		return -EINVAL;
	errno = 0;
	if (xenevtchn_unmask(x->evt, (evtchn_port_t)local_port) < 0)
		return neg_errno();
	return 0;
}

/* ------------------------------------------------------------ open/close */

static void xen_close(struct vgpuback_transport *t)
{
	struct vgpuback_xen *x = to_xen(t);

	if (!x)
		return;
	if (x->evt)
		xenevtchn_close(x->evt);
	if (x->gnt)
		xengnttab_close(x->gnt);
	if (x->xs)
		xs_close(x->xs);
	free(x);
}

static const struct vgpuback_transport_ops vgpuback_xen_ops = {
	.name                 = "xen",
	.close                = xen_close,
	.xs_read              = xen_xs_read,
	.xs_write             = xen_xs_write,
	.xs_mkdir             = xen_xs_mkdir,
	.xs_rm                = xen_xs_rm,
	.xs_directory         = xen_xs_directory,
	.xs_set_perms         = xen_xs_set_perms,
	.xs_transaction_start = xen_xs_transaction_start,
	.xs_transaction_end   = xen_xs_transaction_end,
	.xs_watch             = xen_xs_watch,
	.xs_unwatch           = xen_xs_unwatch,
	.xs_watch_fd          = xen_xs_watch_fd,
	.xs_read_watch        = xen_xs_read_watch,
	.domain_alive         = xen_domain_alive,
	.map_grants           = xen_map_grants,
	.unmap_grants         = xen_unmap_grants,
	.evtchn_bind          = xen_evtchn_bind,
	.evtchn_unbind        = xen_evtchn_unbind,
	.evtchn_notify        = xen_evtchn_notify,
	.evtchn_fd            = xen_evtchn_fd,
	.evtchn_pending       = xen_evtchn_pending,
	.evtchn_unmask        = xen_evtchn_unmask,
};

/* Are we running on Xen at all? Only used to word an error well. */
static bool on_xen(void)
{
	char buf[8] = "";
	FILE *f = fopen("/sys/hypervisor/type", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		if (strncmp(buf, "xen", 3) == 0)
			return true;
	}
	return access("/proc/xen/capabilities", F_OK) == 0 ||
	       access("/dev/xen", F_OK) == 0;
}

static const char *why_xs(int err)
{
	if (!on_xen())
		return "not running on Xen (no /sys/hypervisor/type = xen, no "
		       "/dev/xen): the xen transport needs a Xen dom0; use "
		       "--transport loopback on other machines";
	if (err == EACCES || err == EPERM)
		return "permission denied connecting to XenStore "
		       "(/run/xenstored/socket, /dev/xen/xenbus): run as root";
	return "cannot connect to XenStore: neither /run/xenstored/socket nor "
	       "/dev/xen/xenbus answers (is xenstored running? is xenfs "
	       "mounted on /proc/xen?)";
}

static const char *why_gnt(int err)
{
	if (err == EACCES || err == EPERM)
		return "permission denied opening /dev/xen/gntdev: run as root";
	return "cannot open /dev/xen/gntdev (grant mapping): load the "
	       "xen-gntdev module (modprobe xen-gntdev)";
}

static const char *why_evt(int err)
{
	if (err == EACCES || err == EPERM)
		return "permission denied opening /dev/xen/evtchn: run as root";
	return "cannot open /dev/xen/evtchn (event channels): load the "
	       "xen-evtchn module (modprobe xen-evtchn)";
}

struct vgpuback_transport *vgpuback_transport_xen_open(const char **why)
{
	struct vgpuback_xen *x;
	const char *reason = NULL;
	int err, fd, fl;

	x = calloc(1, sizeof(*x));
	if (!x) {
		reason = "out of memory";
		err = ENOMEM;
		goto out;
	}
	x->base.ops = &vgpuback_xen_ops;

	/* Filter: no stale event for a token after xs_unwatch returns. */
	errno = 0;
	x->xs = xs_open(XS_UNWATCH_FILTER);
	if (!x->xs) {
		err = errno ? errno : ENOENT;
		reason = why_xs(err);
		goto out_free;
	}

	errno = 0;
	x->gnt = xengnttab_open(&quiet_logger, 0);
	if (!x->gnt) {
		err = errno ? errno : ENOENT;
		reason = why_gnt(err);
		goto out_close_xs;
	}

	errno = 0;
	x->evt = xenevtchn_open(&quiet_logger, 0);
	if (!x->evt) {
		err = errno ? errno : ENOENT;
		reason = why_evt(err);
		goto out_close_gnt;
	}

	/* evtchn_pending must not block: the backend polls the fd first. */
	fd = xenevtchn_fd(x->evt);
	fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = errno ? errno : EIO;
		reason = "cannot make the event-channel fd non-blocking";
		goto out_close_evt;
	}

	if (why)
		*why = NULL;
	return &x->base;

out_close_evt:
	xenevtchn_close(x->evt);
out_close_gnt:
	xengnttab_close(x->gnt);
out_close_xs:
	xs_close(x->xs);
out_free:
	free(x);
out:
	if (why)
		*why = reason;
	errno = err;
	return NULL;
}
