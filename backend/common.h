/* SPDX-License-Identifier: MIT */
/*
 * common.h - vgpu-backend's shared structures: the device (one guest
 * domain's vgpu device, served by this process), its ring and the requests
 * in flight. Split like xen-blkback: xenbus.c (control), ring.c (data
 * path), handles.c, grants.c, parse.c, sched.c (the arbiter hook).
 */
#ifndef VGPUBACK_COMMON_H
#define VGPUBACK_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vgpuif.h"
#include "executor.h"
#include "transport.h"
#include "config.h"
#include "grants.h"
#include "handles.h"
#include "parse.h"

struct vgpuback_device;

/* One request between get and response. */
struct vgpuback_req {
	struct vgpu_exec_op eop;        /* what the executor sees            */
	struct vgpuback_device *dev;
	uint64_t id;
	uint8_t  op;
	int      status;
	uint64_t result[2];
	uint64_t exec_ns;
	uint64_t t_get;                 /* when it was copied off the ring   */
	struct vgpuback_ctx *ctx;       /* counted in ctx->inflight          */
	struct vgpuback_obj *newobj;    /* ALLOC/LOAD/FUNC_GET: reserved slot */
	uint64_t newhandle;
	struct vgpuback_obj *freeobj;   /* MEM_FREE/MODULE_UNLOAD/
					 * STREAM_DESTROY/EVENT_DESTROY       */
	struct vgpuback_obj *globmod;   /* MODULE_GLOBAL: the module, and   */
	uint32_t globmod_gen;           /* its generation when asked        */
	uint32_t glob_name_len;
	struct vgpuback_gmap gmap;
	struct vgpuback_hostreg *hreg;  /* F_HOST_MEM copy: counted in users */
	struct vgpu_exec_iov iov_inline[VGPUIF_MAX_DIRECT_SEGMENTS];
	/* F_INLINE: the request's bytes, ours until the response. */
	uint8_t  inline_buf[VGPUIF_MAX_INLINE_BYTES];
	struct vgpu_exec_iov *iov;
	uint32_t niov;
	bool     submitted;             /* the executor owns it until done() */
	/*
	 * Quota (ring.c's quota_take): bytes of the domain's quota this
	 * request holds while in flight (MODULE_LOAD: all the quota left;
	 * LAUNCH: what its local memory may add), given back at finish
	 * where the executor's mem_charged is charged instead.
	 */
	uint64_t held;
	bool     held_mod;              /* a MODULE_LOAD's hold (mod_held)   */
	void    *sched_priv;            /* the arbiter hook's                */
	struct vgpuback_req *next;      /* free list / completion queue      */
};

enum vgpuback_conn {
	VGPUBACK_DISCONNECTED = 0,      /* no ring                           */
	VGPUBACK_CONNECTED,             /* ring mapped, consuming            */
	VGPUBACK_HALTED,                /* ring lied; consuming stopped       */
	VGPUBACK_DRAINING               /* disconnect waits for in-flight    */
};

struct vgpuback_ring {
	struct vgpuif_back_ring br;
	struct vgpuif_sring *sring;
	uint32_t nr_pages;
	uint32_t size;                  /* entries                            */
	int      port;                  /* local event-channel port, -1      */
	bool     persistent;            /* negotiated feature-persistent     */
};

struct vgpuback_stats {
	uint64_t requests, errors, responses, notifies_sent;
	uint64_t refused;               /* refusals (vgpuback_is_refusal)    */
	uint64_t events, spurious_events, throttled;
	uint64_t completion_wakeups;    /* eventfd writes by executor threads */
};

struct vgpuback_device {
	uint32_t domid, devid;
	const struct vgpuback_config *cfg;
	uint64_t guest_mem_kib;         /* XenStore memory/static-max; 0 = not
					 * known (sizes the grant cache)     */
	struct vgpuback_transport *t;
	struct vgpu_exec *exec;
	struct vgpu_exec_info einfo;
	int     gpu;                    /* ordinal the executor opened on    */
	uint32_t gpu_share;             /* operator's gpu-share %, 0 = none  */
	/* DEVICE_INFO: the executor's snapshot, or why there is none. */
	struct vgpuif_device_info dinfo;
	int      dinfo_status;          /* 0 or VGPUIF_RSP_EOPNOTSUPP        */

	/* ---- control (xenbus.c) ---- */
	char    *be_path;               /* backend/vgpu/<domid>/<devid>      */
	char    *fe_path;               /* device/vgpu/<devid> of the guest  */
	int      be_state;              /* what we last wrote                */
	int      fe_state;              /* what we last saw                  */
	bool     stale_connection;      /* a previous instance was connected */
	bool     domain_dead;
	bool     be_gone;               /* our directory was removed          */
	bool     leaving;               /* shutdown/detach: close, then quit  */
	bool     quit;                  /* leave the event loop               */
	uint32_t conn_refs[1u << VGPUIF_MAX_RING_PAGE_ORDER]; /* as mapped  */
	uint32_t conn_nr, conn_port;
	uint32_t priority, pool;        /* operator policy                   */
	struct vgpuback_policy policy;

	/* ---- data path (ring.c) ---- */
	enum vgpuback_conn conn;
	struct vgpuback_ring ring;
	struct vgpuback_handles handles;
	struct vgpuback_gcache gcache;
	struct vgpuback_req *reqs;      /* ring.size of them                 */
	struct vgpuback_req *free_reqs;
	uint32_t inflight;              /* requests not yet answered          */
	uint32_t max_inflight;
	bool     shutting_down;         /* SIGTERM: answer ESHUTDOWN         */
	bool     pending_push;          /* responses written, not pushed     */
	uint64_t unmask_at_ns;          /* storm throttle: unmask then; 0     */
	uint64_t storm_window_ns;
	uint32_t storm_count;
	struct vgpuback_stats stats;

	/* Completions from executor threads. */
	pthread_mutex_t done_lock;      /* protects done_head/done_tail      */
	struct vgpuback_req *done_head, *done_tail;
	int      done_fd;               /* eventfd: completions pending      */
	pthread_t ring_thread;
	bool     in_submit;             /* ring thread inside submit         */
	uint64_t poll_window_ns;        /* poll-us auto: the window now      */
	bool     ring_awake;            /* not asleep in poll(): done() need
					 * not write done_fd (atomic)          */

	struct vgpuif_segment *seg_buf; /* indirect descriptors, copied once */
	uint32_t hostreg_mode;          /* copy mode the latest HOST_REGISTER
					 * got (GET_INFO); 0 = none yet       */
	bool     kick_pending;          /* ring budget used up: run again    */
	bool     spinning;              /* busy-poll window (poll-us) open   */
	bool     backpressure;          /* stopped at max_inflight           */
	void    *sched;                 /* the arbiter hook's state          */
	/*
	 * Device memory besides MEM_ALLOC (ring.c): while a MODULE_LOAD under
	 * a quota is in flight it holds what the quota leaves (mod_held, by
	 * mod_holds requests), and MEM_ALLOCs and MODULE_LOADs wait in qwait
	 * (ring order) until it is answered, so that none of them can take
	 * quota the module turns out to need. mem_local: what launches made
	 * the executor reserve for local memory (part of handles.mem_used for
	 * the executor's life).
	 */
	uint64_t mod_held;
	uint32_t mod_holds;
	struct vgpuback_req *qwait_head, *qwait_tail;
	uint64_t mem_local;
};

/*
 * A refusal, not an error: the domain asked for memory past what it may
 * have (its quota, dom0's host memory) or for an object past a table's
 * bound (contexts, handles, a context's streams and events: EMFILE, which
 * means nothing else). vgpu-smi counts these in REFUSED.
 */
static inline bool vgpuback_is_refusal(uint8_t op, int status)
{
	/* EDQUOT: MEM_ALLOC, MODULE_LOAD, LAUNCH (its local memory) */
	if (status == VGPUIF_RSP_EDQUOT || status == VGPUIF_RSP_EMFILE)
		return true;
	return status == VGPUIF_RSP_ENOMEM &&
	       (op == VGPUIF_OP_MEM_ALLOC || op == VGPUIF_OP_MODULE_LOAD);
}

/* ---- xenbus.c ---- */
/* Paths and the operator's policy only (idempotent; init calls it too). */
int  vgpuback_xenbus_prepare(struct vgpuback_device *dev);
int  vgpuback_xenbus_init(struct vgpuback_device *dev);
void vgpuback_xenbus_uninit(struct vgpuback_device *dev);
/* A watch fired (or at start): re-read everything, act; idempotent. */
void vgpuback_xenbus_changed(struct vgpuback_device *dev);
/* The data path stopped (halt) or finished draining: tell xenbus. */
void vgpuback_xenbus_ring_halted(struct vgpuback_device *dev);
void vgpuback_xenbus_drained(struct vgpuback_device *dev);
/* SIGTERM: Closing, then Closed once drained. */
void vgpuback_xenbus_shutdown(struct vgpuback_device *dev);
/*
 * The kernel time limit for this device, before the executor opens: the
 * operator's watchdog-ms key in the backend directory (0 = none), else the
 * host-wide setting. Logs which applies.
 */
uint32_t vgpuback_xenbus_watchdog(struct vgpuback_transport *t,
				  const struct vgpuback_config *cfg);
/* Strict unsigned decimal parse of an untrusted XenStore value. */
int  vgpuback_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* ---- supervise.c ---- */
/*
 * The backend of (domid, devid) died without closing: state = Closed and
 * error = reason, unless the directory is gone or already Closed.
 */
int  vgpuback_mark_closed(struct vgpuback_transport *t, uint32_t domid,
			  uint32_t devid, const char *reason);

/* ---- ring.c ---- */
/* GET_INFO's copy mode: what registered host memory gets (or would). */
uint32_t vgpuback_copy_mode(const struct vgpuback_device *dev);
int  vgpuback_dev_init(struct vgpuback_device *dev,
		       const struct vgpuback_config *cfg,
		       struct vgpuback_transport *t, struct vgpu_exec *exec);
void vgpuback_dev_uninit(struct vgpuback_device *dev);
/* The executor, once opened on the GPU vgpuback_sched_place chose. */
int  vgpuback_dev_set_exec(struct vgpuback_device *dev, struct vgpu_exec *exec);
/*
 * Map the ring (nr_pages grants) and bind the event channel. 0 or -errno,
 * with *why a reason for the log and the error node.
 */
int  vgpuback_ring_connect(struct vgpuback_device *dev, const uint32_t *refs,
			   uint32_t nr_pages, uint32_t remote_port,
			   bool persistent, const char **why);
/* Stop consuming; finish in-flight; then unmap and free (drained()). */
void vgpuback_ring_disconnect(struct vgpuback_device *dev);
/* Event channel fired: drain the ring. */
void vgpuback_ring_event(struct vgpuback_device *dev);
/* eventfd fired: answer finished requests. */
void vgpuback_ring_completions(struct vgpuback_device *dev);
/* Consume what is on the ring (also after backpressure lifts). */
void vgpuback_ring_kick(struct vgpuback_device *dev);
/* Busy-poll mode (config poll-us): anything to do without an event? */
bool vgpuback_ring_has_work(struct vgpuback_device *dev);
/* Do it (answer completions, consume requests): true if anything moved. */
bool vgpuback_ring_poll(struct vgpuback_device *dev);
/* How long to keep polling after work, from poll-us (auto: adaptive). */
uint64_t vgpuback_ring_poll_window_ns(const struct vgpuback_device *dev);
/* Woken from a sleep by work quiet_ns after the last: adapt the window. */
void vgpuback_ring_poll_slept(struct vgpuback_device *dev, uint64_t quiet_ns);
/*
 * Around a sleeping poll(): prepare_sleep() makes executor threads signal
 * done_fd from now on and says false when a completion is already queued
 * (do not sleep then); woke() after poll() returns.
 */
bool vgpuback_ring_prepare_sleep(struct vgpuback_device *dev);
void vgpuback_ring_woke(struct vgpuback_device *dev);
/* Open/close the busy-poll window (closing re-arms req_event). */
void vgpuback_ring_spin(struct vgpuback_device *dev, bool on);
/* Poll timeout for the storm throttle: ms, or -1. */
int  vgpuback_ring_timeout_ms(struct vgpuback_device *dev);
void vgpuback_ring_timer(struct vgpuback_device *dev);
void vgpuback_ring_log_stats(struct vgpuback_device *dev);

/*
 * The get and parse stages on one copied request, without executing:
 * copies indirect descriptors into segs (capacity
 * VGPUIF_MAX_INDIRECT_SEGMENTS) and validates. For the fuzz target and the
 * unit tests; the ring uses the same code.
 */
int  vgpuback_get_parse(struct vgpuback_device *dev,
			const struct vgpuif_request *req,
			struct vgpuif_segment *segs,
			struct vgpuback_parsed *parsed);

/* ---- sched.c: the single hook between the execute stage and the GPU ---- */
int  vgpuback_sched_init(struct vgpuback_device *dev);
/*
 * Register with the arbiter now (after vgpuback_xenbus_prepare read the
 * pool and priority) and return the GPU ordinal the domain is placed on:
 * the configured --gpu, else the least-loaded GPU of its pool; without an
 * arbiter the configured GPU, or 0.
 */
int  vgpuback_sched_place(struct vgpuback_device *dev);
void vgpuback_sched_uninit(struct vgpuback_device *dev);
/* Submit one validated op: 0 (done() will come) or a status (it won't). */
int  vgpuback_sched_submit(struct vgpuback_device *dev,
			   struct vgpuback_req *req);
/* On the ring thread, after done(), before the response is written. */
void vgpuback_sched_complete(struct vgpuback_device *dev,
			     struct vgpuback_req *req);
/*
 * A request refused before it reached the hook (parse: the quota): bring
 * the domain's figures up to date (registering it if it was not yet).
 */
void vgpuback_sched_refused(struct vgpuback_device *dev);
/*
 * The executor opened after registration (placement comes first): pass on
 * what its get_info says the arbiter shows per domain (ctx_overhead).
 */
void vgpuback_sched_exec_info(struct vgpuback_device *dev);
/*
 * A domain of a higher priority uses this domain's GPU (the arbiter's
 * hint as the last submit saw it; racy, cheap): poll-us auto then does not
 * poll, so that the higher domain's threads get the CPUs.
 */
bool vgpuback_sched_yielding(const struct vgpuback_device *dev);

#endif /* VGPUBACK_COMMON_H */
