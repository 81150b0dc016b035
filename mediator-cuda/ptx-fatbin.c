/* SPDX-License-Identifier: MIT */
/*
 * ptx-fatbin.c - the PTX inside a fat binary. Reading containers is the
 * runtime's cuda-api/fatbin.c; until it is on main this answers every fat
 * binary -EOPNOTSUPP with a log line that says so.
 */
#include <errno.h>

#include "ptx-ir.h"

int ptx_fatbin_extract(const void *image, size_t len, char **text,
		       size_t *text_len, char *log, size_t log_cap)
{
	(void)image; (void)len;
	*text = NULL;
	*text_len = 0;
	ptx_log(log, log_cap, "ptx: error: fat binaries are not read by the "
		"cpu executor yet; load the PTX itself\n");
	return -EOPNOTSUPP;
}
