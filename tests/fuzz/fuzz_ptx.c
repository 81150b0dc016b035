/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ptx.c - libFuzzer target for the cpu executor's PTX library
 * (mediator-cuda/ptx*.c, compiled in): the lexer, parser, instruction
 * decoder and layout on arbitrary bytes, then, for a module that loads,
 * every kernel run on the interpreter: one block of 33 threads (a warp and
 * a straggler), parameters that are the input's own bytes, every module
 * variable in a region of its own, and a small instruction budget.
 *
 * Input: byte 0 = control (0x01 run the kernels, 0x02 grid of 2x1x1,
 * 0x04 a parameter buffer pointing at the first region), then the image.
 * Traps on: a crash or sanitizer report (an access the interpreter let
 * through outside the regions would be one: the regions are exactly sized
 * heap blocks), a load that returns success without a module or fails
 * without a log line, a status outside the documented ones, a log that is
 * not NUL-terminated within its buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ptx.h"

#define BASE 0x0000700000000000ull

static void run_kernels(struct ptx_module *m, const uint8_t *data, size_t size,
			uint8_t ctl)
{
	unsigned int ng = ptx_module_nglobals(m);
	struct ptx_region *rg = calloc(ng + 1, sizeof(*rg));
	unsigned char scratch[256];
	uint64_t next = BASE;

	if (!rg)
		return;
	/* an allocation of 256 bytes, then the module's variables */
	memset(scratch, 0, sizeof(scratch));
	rg[0].addr = next;
	rg[0].size = sizeof(scratch);
	rg[0].host = scratch;
	next += 8192;
	for (unsigned int i = 0; i < ng; i++) {
		struct ptx_global_info gi;

		ptx_module_global(m, i, &gi);
		/* huge variables stay unplaced: the launch refuses them */
		if (gi.size > (1u << 20))
			goto out;
		rg[i + 1].size = gi.size;
		rg[i + 1].host = calloc(1, (size_t)gi.size);
		if (!rg[i + 1].host)
			goto out;
		if (gi.init_len)
			memcpy(rg[i + 1].host, gi.init, (size_t)gi.init_len);
		rg[i + 1].addr = next;
		rg[i + 1].is_const = gi.is_const;
		ptx_module_bind_global(m, i, next);
		next += (gi.size + 8191) & ~4095ull;
	}
	for (unsigned int k = 0; k < ptx_module_nentries(m); k++) {
		const struct ptx_kernel *kn = ptx_module_entry(m, k);
		struct ptx_kernel_attrs a;
		struct ptx_launch l;
		unsigned char *params;
		int rc;

		ptx_kernel_attrs(kn, &a);
		if (a.param_bytes > VGPUIF_MAX_PARAM_BYTES)
			continue;
		params = calloc(1, a.param_bytes + 8);
		if (!params)
			break;
		memcpy(params, data, size < a.param_bytes ? size : a.param_bytes);
		if ((ctl & 0x04) && a.param_bytes >= 8)
			memcpy(params, &rg[0].addr, 8);
		memset(&l, 0, sizeof(l));
		l.kernel = kn;
		l.grid[0] = ctl & 0x02 ? 2 : 1;
		l.grid[1] = l.grid[2] = 1;
		l.block[0] = 33;
		l.block[1] = l.block[2] = 1;
		if (a.reqntid[0])
			memcpy(l.block, a.reqntid, sizeof(l.block));
		l.shared_mem = 64;
		l.params = params;
		l.param_len = a.param_bytes;
		l.regions = rg;
		l.nregions = ng + 1;
		l.budget = 20000;
		rc = ptx_launch(&l);
		if (rc != 0 && rc != -EINVAL && rc != -EFAULT && rc != -ETIMEDOUT &&
		    rc != -ENOMEM)
			__builtin_trap();
		if (rc && !l.why[0])
			__builtin_trap();
		free(params);
	}
out:
	for (unsigned int i = 1; i <= ng; i++)
		free(rg[i].host);
	free(rg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ptx_module *m = NULL;
	char log[512];
	uint8_t ctl;
	int rc;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	memset(log, 0x55, sizeof(log));
	rc = ptx_module_load(data, size, &m, log, sizeof(log));
	if (!memchr(log, '\0', sizeof(log)))
		__builtin_trap();
	if (rc == 0) {
		if (!m || log[0])
			__builtin_trap();
		if (ctl & 0x01)
			run_kernels(m, data, size, ctl);
		ptx_module_free(m);
		return 0;
	}
	if (m || (rc != -ENOEXEC && rc != -EOPNOTSUPP && rc != -ENOMEM))
		__builtin_trap();
	if (rc != -ENOMEM && !log[0])
		__builtin_trap();
	return 0;
}
