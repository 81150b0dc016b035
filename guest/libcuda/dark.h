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
#include "dark-hash.h"

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

/* The name of the table at p ("CUDART_INTERFACE", ...), NULL if none. */
const char *vgpu_dark_table_name(const void *p);

/* Table sizes in slots (each slot is one pointer), for the tests. */
#define VGPU_DARK_CUDART_SLOTS      13
#define VGPU_DARK_TOOLS_TLS_SLOTS   3
#define VGPU_DARK_TOOLS_HOOKS_SLOTS 7
#define VGPU_DARK_CLS_SLOTS         4
#define VGPU_DARK_CTX_BYPASS_SLOTS  2
#define VGPU_DARK_HEAP_SLOTS        3
#define VGPU_DARK_DEVICE_EXT_SLOTS  26
#define VGPU_DARK_INTEGRITY_SLOTS   3
#define VGPU_DARK_CTX_CHECK_SLOTS   15

/* The tools-hooks scratch buffers (slots 2 and 6): what each reports. */
#define VGPU_DARK_TOOLS_BUF1_REPORTED 1024u
#define VGPU_DARK_TOOLS_BUF2_REPORTED 14u

#endif /* VGPU_LIBCUDA_DARK_H */
