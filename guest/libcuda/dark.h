/* SPDX-License-Identifier: MIT */
/*
 * dark.h - the guest libcuda's private interface tables (cuGetExportTable)
 * and what the rest of the library must tell them. Private to libcuda.
 *
 * The tables live in dark.c (the tables and their slots), dark-cls.c
 * (context-local storage) and dark-hash.c (the integrity check's hash).
 * The design note, with every UUID, table size and slot contract, is the
 * comment at the top of dark.c.
 */
#ifndef VGPU_LIBCUDA_DARK_H
#define VGPU_LIBCUDA_DARK_H

#include <stddef.h>
#include <stdint.h>

#include "cuda.h"

/* ---- for the rest of libcuda ---- */

/*
 * A context is going away (cuCtxDestroy, cuDevicePrimaryCtxReset, the last
 * cuDevicePrimaryCtxRelease): runs the destructor of every context-local
 * storage entry of ctx, once, then forgets them. Call it while ctx is still
 * valid (the runtime's destructors may free its memory). Thread-safe; a
 * destructor may call the storage table again.
 */
void vgpu_cls_context_gone(CUcontext ctx);

/* ---- between the dark*.c files and their tests ---- */

/* Context-local storage (dark-cls.c); ctx NULL = the current context. */
CUresult vgpu_cls_put(CUcontext ctx, void *key, void *value,
		      void (*dtor)(CUcontext, void *, void *));
CUresult vgpu_cls_delete(CUcontext ctx, void *key);
CUresult vgpu_cls_get(void **value, CUcontext ctx, void *key);
/* Entries held now (tests). */
size_t vgpu_cls_count(void);

/* MD2 (RFC 1319) and HMAC-MD2 (RFC 2104 over MD2's 16-byte block). */
struct vgpu_md2 {
	uint8_t x[48];       /* state, block, state ^ block */
	uint8_t c[16];       /* checksum */
	uint8_t n;           /* bytes of the current block */
	uint8_t l;           /* last checksum byte */
};
void vgpu_md2_init(struct vgpu_md2 *m);
void vgpu_md2_update(struct vgpu_md2 *m, const void *data, size_t len);
void vgpu_md2_final(struct vgpu_md2 *m, uint8_t digest[16]);

/* One device's part of the integrity hash, as the runtime lays it out. */
struct vgpu_dark_device_hash {
	uint8_t uuid[16];
	int32_t pci_domain;
	int32_t pci_bus;
	int32_t pci_device;
};

/* Everything the integrity check hashes (see dark.c's note). */
struct vgpu_dark_integrity_in {
	uint32_t version;        /* the runtime's argument */
	uint64_t unix_seconds;   /* the runtime's argument */
	uint32_t driver_version; /* what cuDriverGetVersion answers */
	uint32_t pid;
	uint32_t tid;            /* low 32 bits of pthread_self() */
	uint64_t cudart_table;   /* address of the CUDART_INTERFACE table */
	uint64_t integrity_table;/* address of the INTEGRITY_CHECK table */
	uint64_t function;       /* address of the integrity check slot */
	const struct vgpu_dark_device_hash *devices;
	unsigned int nr_devices;
};
void vgpu_dark_integrity_hash(const struct vgpu_dark_integrity_in *in, uint64_t out[2]);

/* The name of the table at p ("CUDART_INTERFACE", ...), NULL if none. */
const char *vgpu_dark_table_name(const void *p);

/* Table sizes in slots (each slot is one pointer), for the tests. */
#define VGPU_DARK_CUDART_SLOTS      13
#define VGPU_DARK_TOOLS_TLS_SLOTS   4
#define VGPU_DARK_TOOLS_HOOKS_SLOTS 7
#define VGPU_DARK_CLS_SLOTS         4
#define VGPU_DARK_CTX_BYPASS_SLOTS  2
#define VGPU_DARK_HEAP_SLOTS        3
#define VGPU_DARK_DEVICE_EXT_SLOTS  26
#define VGPU_DARK_INTEGRITY_SLOTS   3
#define VGPU_DARK_CTX_CHECK_SLOTS   4

/* The tools-hooks scratch buffers (slots 2 and 6): what each reports. */
#define VGPU_DARK_TOOLS_BUF1_REPORTED 1024u
#define VGPU_DARK_TOOLS_BUF2_REPORTED 14u

#endif /* VGPU_LIBCUDA_DARK_H */
