/* SPDX-License-Identifier: MIT */
/*
 * fuzz_xenbus.c - libFuzzer target for the backend's control path: the
 * guest (and the toolstack) write arbitrary values to the XenStore keys
 * xenbus.c reads, in any order, between watch events. After every input
 * the device is torn down as on detach and nothing may be left: no grant
 * mapped, no executor context alive. It traps on a crash, a sanitizer
 * report, a backend state that is not a xenbus state, or anything left.
 *
 * Input: records of 2 bytes + value: byte 0 = key (low 4 bits index the
 * table below; 0x80 removes the key instead of writing it; 0x40 runs no
 * watch event after this record, so that changes coalesce), byte 1 = value
 * length (at most 40), then the value bytes (a NUL inside ends the value).
 * Grefs 8..23 are granted, with initialised shared rings, so that a
 * plausible ring-ref connects.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "../backend/fake.h"

#define BE "/local/domain/0/backend/vgpu/3/0"
#define FE "/local/domain/3/device/vgpu/0"

static const char *const keys[16] = {
	FE "/state", FE "/ring-ref", FE "/ring-page-order",
	FE "/event-channel", FE "/protocol", FE "/feature-persistent",
	FE "/ring-ref0", FE "/ring-ref1", FE "/ring-ref2", FE "/ring-ref3",
	BE "/online", BE "/mem-quota", BE "/priority", BE "/pool",
	FE "/state", FE "/ring-ref",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vgpuback_config cfg;
	struct vgpuback_device dev;
	struct fake_transport *t;
	struct vgpu_exec *ex;
	const char *s;
	uint32_t g;

	if (!cfg.domid) {
		setenv("VGPU_ARB", "off", 1);
		vgpuback_log_init(3, 0, -1, NULL, 0);
		vgpuback_config_defaults(&cfg);
		cfg.domid = 3;
		cfg.persistent_grants = 8;
		cfg.max_contexts = 4;
		cfg.max_handles_per_ctx = 8;
	}
	t = fake_transport_new();
	if (!t)
		abort();
	fake_exec_reset();
	for (g = 8; g < 24; g++) {
		fake_grant(t, g, false);
		SHARED_RING_INIT((struct vgpuif_sring *)fake_page(t, g));
	}
	fake_set(t, BE "/frontend", FE);
	fake_set(t, BE "/frontend-id", "3");
	fake_set(t, BE "/state", "1");
	fake_set(t, FE "/state", "1");
	if (vgpu_exec_open(&ex, NULL, NULL) ||
	    vgpuback_dev_init(&dev, &cfg, &t->t, ex))
		abort();
	if (vgpuback_xenbus_init(&dev))
		abort();
	vgpuback_xenbus_changed(&dev);

	while (size >= 2 && !dev.quit) {
		uint8_t k = data[0], n = data[1];
		char val[41];

		data += 2;
		size -= 2;
		if (n > 40)
			n = 40;
		if (n > size)
			n = (uint8_t)size;
		memcpy(val, data, n);
		val[n] = '\0';
		data += n;
		size -= n;
		if (k & 0x80)
			fake_rm(t, keys[k & 0x0f]);
		else
			fake_set(t, keys[k & 0x0f], val);
		if (!(k & 0x40))
			vgpuback_xenbus_changed(&dev);
		/* What we wrote is always a xenbus state. */
		s = fake_get(t, BE "/state");
		if (!s || s[0] < '1' || s[0] > '6' || s[1])
			__builtin_trap();
		if (dev.conn == VGPUBACK_CONNECTED && strcmp(s, "4"))
			__builtin_trap();
	}

	/* Detach: close, release, quit. */
	fake_set(t, BE "/online", "0");
	vgpuback_xenbus_changed(&dev);
	if (!dev.quit || dev.conn != VGPUBACK_DISCONNECTED)
		__builtin_trap();
	vgpuback_xenbus_uninit(&dev);
	if (dev.handles.nr_ctx != 0)
		__builtin_trap();
	vgpuback_dev_uninit(&dev);
	vgpu_exec_close(ex);
	if (fake_live_maps(t) != 0 || fake_exec_stats().ctx_live != 0)
		__builtin_trap();
	fake_transport_free(t);
	return 0;
}
