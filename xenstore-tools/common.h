/* SPDX-License-Identifier: MIT */
/*
 * common.h - helpers shared by the dom0 tools (vgpu-attach, vgpu-detach,
 * vgpu-list, vgpu-smi): strict number parsing, XenStore connection with a
 * clear error, the transaction-retry loop, device paths and state names.
 *
 * Errno contract: int functions return 0 (or the value stated) on success
 * and -errno on failure; pointer functions return NULL and set errno.
 */
#ifndef VGPU_TOOLS_COMMON_H
#define VGPU_TOOLS_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xenstore.h>

/* Highest ordinary domain id (DOMID_FIRST_RESERVED - 1). */
#define VGPU_MAX_DOMID     0x7FEFu
/* Highest device id the tools accept (libxl's devid is an int too). */
#define VGPU_MAX_DEVID     65535u
/* Where vgpu-attach keeps pid files, env files for the unit, locks. */
#define VGPU_RUN_DIR       "/run/vgpu-xen"
#define VGPU_LOG_DIR       "/var/log/vgpu-xen"

/* Standard XenbusState values (xen/io/xenbus.h), named for our messages. */
enum vgpu_xb_state {
	VGPU_XB_UNKNOWN      = 0,
	VGPU_XB_INITIALISING = 1,
	VGPU_XB_INITWAIT     = 2,
	VGPU_XB_INITIALISED  = 3,
	VGPU_XB_CONNECTED    = 4,
	VGPU_XB_CLOSING      = 5,
	VGPU_XB_CLOSED       = 6,
	VGPU_XB_RECONFIGURING = 7,
	VGPU_XB_RECONFIGURED = 8,
};

/* ---- strict parsing: decimal digits only, no sign, space or overflow ---- */
int vgpu_parse_u32(const char *s, uint32_t max, uint32_t *out);
int vgpu_parse_u64(const char *s, uint64_t *out);
/* A size: digits with an optional binary suffix K, M, G, T (KiB...), or
 * "0"/"none"/"unlimited" for 0. */
int vgpu_parse_size(const char *s, uint64_t *out);
int vgpu_parse_domid(const char *s, uint32_t *out);
/* "high", "medium" or "low". */
bool vgpu_priority_valid(const char *s);

/* ---- XenStore ---- */
/*
 * Connect and prove the daemon answers within timeout_s seconds (a dom0
 * whose xenstored is not running would otherwise block forever on
 * /dev/xen/xenbus). On failure prints "PROG: <reason>" to stderr and
 * returns NULL.
 */
struct xs_handle *vgpu_xs_connect(const char *prog, unsigned int timeout_s);

/* Body of a transaction: 0, or -errno to abort it. */
typedef int (*vgpu_xs_txn_fn)(struct xs_handle *xs, xs_transaction_t t,
			      void *arg);
/*
 * Run fn in a transaction; restart it from the top when the commit says
 * EAGAIN (another writer got in), up to a bound. The one place that reports
 * a failed commit is the caller, from the -errno returned.
 */
int vgpu_xs_transact(struct xs_handle *xs, vgpu_xs_txn_fn fn, void *arg);

/* Read a value (malloc'd, NUL-terminated) at a printf-formatted path. */
char *vgpu_xs_readf(struct xs_handle *xs, xs_transaction_t t,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Write a printf-formatted value; -errno. */
int vgpu_xs_writef(struct xs_handle *xs, xs_transaction_t t, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Does a path exist? 1, 0, or -errno. */
int vgpu_xs_exists(struct xs_handle *xs, xs_transaction_t t, const char *path);
/* A XenbusState from path: the state, or -ENOENT when absent, -EINVAL when
 * the value is not a state number (a guest may write anything there). */
int vgpu_xs_read_state(struct xs_handle *xs, xs_transaction_t t,
		       const char *path);
/* Does domain domid exist (its /local/domain/<domid> node)? 1, 0, -errno. */
int vgpu_domain_exists(struct xs_handle *xs, uint32_t domid);

/* ---- names and paths ---- */
const char *vgpu_xb_state_name(int state);
/* /local/domain/<domid>/device/vgpu/<devid> */
int vgpu_fe_path(char *buf, size_t len, uint32_t domid, uint32_t devid);
/* /local/domain/0/backend/vgpu/<domid>/<devid> */
int vgpu_be_path(char *buf, size_t len, uint32_t domid, uint32_t devid);
/* The systemd instance of a device's backend: "<domid>" for devid 0, else
 * "<domid>-<devid>" (vgpu-backend@<instance>.service). */
int vgpu_instance(char *buf, size_t len, uint32_t domid, uint32_t devid);

/* Copy s into buf replacing anything not printable ASCII with '?': values
 * a guest wrote must not drive the operator's terminal. */
const char *vgpu_printable(const char *s, char *buf, size_t len);
/* Write s as a JSON string literal (quotes included). */
void vgpu_json_str(FILE *f, const char *s);

/* An errno as an operator-facing hint for XenStore failures. */
const char *vgpu_xs_strerror(int err);

/* ---- backend processes ---- */
#include <sys/types.h>
/* /run/vgpu-xen/backend-<instance>.pid (direct start) and .env (systemd). */
int vgpu_pidfile_path(char *buf, size_t len, uint32_t domid, uint32_t devid);
int vgpu_envfile_path(char *buf, size_t len, uint32_t domid, uint32_t devid);
/* Pid from a pid file: > 0, or -errno (-ENOENT: no file). */
pid_t vgpu_pidfile_read(const char *path);
/* Is pid a running (not zombie) process? */
bool vgpu_proc_alive(pid_t pid);
/* Is pid a running vgpu-backend (argv[0]'s basename)? Guards every kill
 * against a pid the kernel has reused. */
bool vgpu_proc_is_backend(pid_t pid);
/* Does systemd manage this host (/run/systemd/system exists)? */
bool vgpu_systemd_running(void);
/* Is the vgpu-backend@.service template installed where systemd looks? */
bool vgpu_systemd_unit_installed(void);
/* Run argv (PATH searched), wait; its exit status, or -errno. Its stdout
 * is discarded when quiet. */
int vgpu_run(char *const argv[], bool quiet);
/* mkdir -p of one level below an existing parent, mode 0755. */
int vgpu_mkdir(const char *path);

#endif /* VGPU_TOOLS_COMMON_H */
