/* SPDX-License-Identifier: MIT */
/* lf-internal.h - what ops.c needs from loopfront.c. */
#ifndef VGPU_LF_INTERNAL_H
#define VGPU_LF_INTERNAL_H

#include "loopfront.h"

/* A page of guest memory owned by the handle, for small replies. */
struct loopfront_buf *lf_scratch(struct loopfront *lf);
/* Record a failure message (loopfront_error). */
void lf_set_error(struct loopfront *lf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
