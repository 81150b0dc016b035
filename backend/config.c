/* SPDX-License-Identifier: MIT */
/*
 * config.c - defaults, the config file and per-key validation.
 *
 * File format: one "key = value" per line; '#' starts a comment; blank lines
 * are ignored. Keys are the long command-line flag names. Anything else is
 * an error naming the file and the line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuif.h"
#include "config.h"
#include "hostmem.h"
#include "grants.h"
#include "log.h"

void vgpuback_config_defaults(struct vgpuback_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->executor, "auto");
	strcpy(cfg->transport, "xen");
	cfg->log_level = VGPUBACK_LOG_INFO;
	cfg->max_contexts = VGPUIF_MAX_CTX_PER_DEVICE;
	cfg->max_handles_per_ctx = VGPUIF_MAX_HANDLES_PER_CTX;
	cfg->max_indirect_segments = VGPUIF_MAX_INDIRECT_SEGMENTS;
	cfg->max_ring_page_order = VGPUIF_MAX_RING_PAGE_ORDER;
	cfg->persistent_grants = VGPUBACK_DEFAULT_PERSISTENT_GRANTS;
	cfg->storm_limit = 20000;
	cfg->shutdown_timeout_ms = 10000;
	/*
	 * On by default: a guest kernel that never ends would hold its share
	 * of the GPU until the domain dies. Long enough for real kernels; an
	 * operator raises it per domain (watchdog-ms key) or host-wide.
	 */
	cfg->watchdog_ms = VGPUBACK_DEFAULT_WATCHDOG_MS;
	cfg->host_mem_limit = VGPUBACK_AUTO;
	cfg->host_mem_reserve = VGPUBACK_AUTO;
	cfg->poll_us = VGPUBACK_POLL_AUTO;
	cfg->gpu = -1;  /* auto: the GPU the arbiter places the domain on */
	cfg->protocol_revision = 3;
}

/* A size, or "auto". */
static int set_size_auto(uint64_t *dst, const char *v, const char **why,
			 const char *msg)
{
	if (!strcmp(v, "auto")) {
		*dst = VGPUBACK_AUTO;
		return 0;
	}
	if (vgpuback_config_parse_u64(v, true, dst) || *dst == VGPUBACK_AUTO) {
		*why = msg;
		return -EINVAL;
	}
	return 0;
}

int vgpuback_config_parse_u64(const char *s, bool size_suffix, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (*p && size_suffix) {
		switch (toupper((unsigned char)*p)) {
		case 'K': mul = 1ull << 10; break;
		case 'M': mul = 1ull << 20; break;
		case 'G': mul = 1ull << 30; break;
		case 'T': mul = 1ull << 40; break;
		default: return -EINVAL;
		}
		p++;
		if (toupper((unsigned char)*p) == 'I' &&
		    toupper((unsigned char)p[1]) == 'B')
			p += 2;
		else if (toupper((unsigned char)*p) == 'B')
			p++;
	}
	if (*p)
		return -EINVAL;
	if (v && mul > UINT64_MAX / v)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int set_u32(uint32_t *dst, const char *v, uint64_t min, uint64_t max,
		   const char **why, const char *msg)
{
	uint64_t x;

	if (vgpuback_config_parse_u64(v, false, &x) || x < min || x > max) {
		*why = msg;
		return -EINVAL;
	}
	*dst = (uint32_t)x;
	return 0;
}

static int set_str(char *dst, size_t len, const char *v, const char **why)
{
	if (strlen(v) >= len) {
		*why = "value too long";
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

int vgpuback_config_set(struct vgpuback_config *cfg, const char *key,
			const char *v, const char **why)
{
	uint32_t u;
	int err;

	*why = NULL;
	if (!strcmp(key, "executor")) {
		if (strcmp(v, "auto") && strcmp(v, "cuda") && strcmp(v, "cpu")) {
			*why = "executor must be auto, cuda or cpu";
			return -EINVAL;
		}
		return set_str(cfg->executor, sizeof(cfg->executor), v, why);
	}
	if (!strcmp(key, "transport")) {
		if (strcmp(v, "xen") && strcmp(v, "loopback")) {
			*why = "transport must be xen or loopback";
			return -EINVAL;
		}
		return set_str(cfg->transport, sizeof(cfg->transport), v, why);
	}
	if (!strcmp(key, "loopback-dir"))
		return set_str(cfg->loopback_dir, sizeof(cfg->loopback_dir), v, why);
	if (!strcmp(key, "log-file"))
		return set_str(cfg->log_file, sizeof(cfg->log_file), v, why);
	if (!strcmp(key, "log-level")) {
		int l = vgpuback_log_level_parse(v);

		if (l < 0) {
			*why = "log level must be error, warn, info or debug";
			return -EINVAL;
		}
		cfg->log_level = l;
		return 0;
	}
	if (!strcmp(key, "gpu")) {
		if (!strcmp(v, "auto")) {
			cfg->gpu = -1;
			return 0;
		}
		err = set_u32(&u, v, 0, 63, why,
			      "gpu must be auto or a CUDA ordinal 0..63");
		if (!err)
			cfg->gpu = (int)u;
		return err;
	}
	if (!strcmp(key, "watchdog-ms"))
		return set_u32(&cfg->watchdog_ms, v, 0, 3600000, why,
			       "watchdog-ms must be 0..3600000 (0 = off)");
	if (!strcmp(key, "cpu-op-delay-us"))
		return set_u32(&cfg->cpu_op_delay_us, v, 0, 60000000, why,
			       "cpu-op-delay-us must be 0..60000000");
	if (!strcmp(key, "max-inflight"))
		return set_u32(&cfg->max_inflight, v, 0, 1u << 20, why,
			       "max-inflight must be 0 (ring size) or a count");
	if (!strcmp(key, "max-contexts"))
		return set_u32(&cfg->max_contexts, v, 1,
			       VGPUIF_MAX_CTX_PER_DEVICE, why,
			       "max-contexts must be 1..256");
	if (!strcmp(key, "max-handles-per-context"))
		return set_u32(&cfg->max_handles_per_ctx, v, 1,
			       VGPUIF_MAX_HANDLES_PER_CTX, why,
			       "max-handles-per-context must be 1..4096");
	if (!strcmp(key, "max-indirect-segments"))
		return set_u32(&cfg->max_indirect_segments, v, 0,
			       VGPUIF_MAX_INDIRECT_SEGMENTS, why,
			       "max-indirect-segments must be 0..8192");
	if (!strcmp(key, "max-ring-page-order"))
		return set_u32(&cfg->max_ring_page_order, v, 0,
			       VGPUIF_MAX_RING_PAGE_ORDER, why,
			       "max-ring-page-order must be 0..4");
	if (!strcmp(key, "persistent-grants")) {
		if (!strcmp(v, "auto")) {
			cfg->persistent_grants = VGPUBACK_PERSISTENT_GRANTS_AUTO;
			return 0;
		}
		return set_u32(&cfg->persistent_grants, v, 0, 1u << 20, why,
			       "persistent-grants must be auto or a count of pages (0 = off)");
	}
	if (!strcmp(key, "storm-limit"))
		return set_u32(&cfg->storm_limit, v, 0, 100000000, why,
			       "storm-limit must be events per second (0 = off)");
	if (!strcmp(key, "shutdown-timeout-ms"))
		return set_u32(&cfg->shutdown_timeout_ms, v, 0, 600000, why,
			       "shutdown-timeout-ms must be 0..600000");
	if (!strcmp(key, "poll-us")) {
		if (!strcmp(v, "auto")) {
			cfg->poll_us = VGPUBACK_POLL_AUTO;
			return 0;
		}
		return set_u32(&cfg->poll_us, v, 0, 1000000, why,
			       "poll-us must be auto or 0..1000000 (0 = never busy-poll)");
	}
	if (!strcmp(key, "host-mem-limit")) {
		int err = set_size_auto(&cfg->host_mem_limit, v, why,
					"host-mem-limit must be auto or bytes, optionally with K/M/G/T");

		if (!err && cfg->host_mem_limit == 0) {
			*why = "host-mem-limit must be auto or more than 0 bytes";
			return -EINVAL;
		}
		return err;
	}
	if (!strcmp(key, "host-mem-reserve"))
		return set_size_auto(&cfg->host_mem_reserve, v, why,
				     "host-mem-reserve must be auto or bytes (K/M/G/T; 0 = no check)");
	if (!strcmp(key, "ctx-heap") || !strcmp(key, "ctx-printf") ||
	    !strcmp(key, "ctx-stack")) {
		uint64_t n, max = key[4] == 'h' ? 16ull << 30 :
				  key[4] == 'p' ? 1ull << 30 : 512ull << 10;

		if (vgpuback_config_parse_u64(v, true, &n) || n > max) {
			*why = key[4] == 'h' ? "ctx-heap must be bytes up to 16G (0 = CUDA's 8 MiB)" :
			       key[4] == 'p' ? "ctx-printf must be bytes up to 1G (0 = the driver's default)" :
			       "ctx-stack must be bytes per thread up to 512K (0 = CUDA's 1 KiB)";
			return -EINVAL;
		}
		if (key[4] == 'h')
			cfg->ctx_heap_bytes = n;
		else if (key[4] == 'p')
			cfg->ctx_printf_bytes = n;
		else
			cfg->ctx_stack_bytes = (uint32_t)n;
		return 0;
	}
	if (!strcmp(key, "protocol-revision"))
		return set_u32(&cfg->protocol_revision, v, 1, 3, why,
			       "protocol-revision must be 1, 2 or 3");
	if (!strcmp(key, "mem-quota")) {
		if (vgpuback_config_parse_u64(v, true, &cfg->mem_quota)) {
			*why = "mem-quota must be bytes, optionally with K/M/G/T";
			return -EINVAL;
		}
		return 0;
	}
	*why = "unknown key";
	return -ENOENT;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int vgpuback_config_load(struct vgpuback_config *cfg, const char *path,
			 char *errbuf, size_t errlen)
{
	char line[1024];
	unsigned int lineno = 0;
	FILE *fp = fopen(path, "re");
	int err = 0;

	if (!fp) {
		err = -errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return err;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *hash, *eq, *key, *val;
		const char *why;

		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			snprintf(errbuf, errlen, "%s:%u: line too long", path,
				 lineno);
			err = -EINVAL;
			break;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(errbuf, errlen,
				 "%s:%u: expected 'key = value', got '%s'",
				 path, lineno, key);
			err = -EINVAL;
			break;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		if (!*key || !*val) {
			snprintf(errbuf, errlen, "%s:%u: empty %s", path,
				 lineno, *key ? "value" : "key");
			err = -EINVAL;
			break;
		}
		if (!strcmp(key, "domid") || !strcmp(key, "devid") ||
		    !strcmp(key, "foreground") || !strcmp(key, "config")) {
			snprintf(errbuf, errlen,
				 "%s:%u: '%s' is per process: give it on the command line",
				 path, lineno, key);
			err = -EINVAL;
			break;
		}
		err = vgpuback_config_set(cfg, key, val, &why);
		if (err) {
			snprintf(errbuf, errlen, "%s:%u: %s: %s '%s'", path,
				 lineno, why, key, val);
			err = -EINVAL;
			break;
		}
	}
	fclose(fp);
	return err;
}

void vgpuback_config_host_mem(const struct vgpuback_config *cfg,
			      const struct vgpu_hostmem *m,
			      uint64_t *limit, uint64_t *reserve,
			      char *note, size_t notelen)
{
	uint64_t auto_limit = vgpu_hostmem_default_limit(m);

	if (note && notelen)
		note[0] = '\0';
	*reserve = cfg->host_mem_reserve == VGPUBACK_AUTO ?
		   vgpu_hostmem_default_reserve(m) : cfg->host_mem_reserve;
	if (cfg->host_mem_limit == VGPUBACK_AUTO) {
		*limit = auto_limit;
		return;
	}
	*limit = cfg->host_mem_limit;
	/* Past the cgroup's limit, the kernel would kill us before we refuse. */
	if (m->cgroup_limit != UINT64_MAX && *limit > auto_limit) {
		if (note && notelen)
			snprintf(note, notelen,
				 "host-mem-limit %llu is above what this backend's cgroup allows (memory.max %llu): using %llu",
				 (unsigned long long)*limit,
				 (unsigned long long)m->cgroup_limit,
				 (unsigned long long)auto_limit);
		*limit = auto_limit;
	}
}

static const char *size_or_auto(uint64_t v, char *buf)
{
	if (v == VGPUBACK_AUTO)
		return "auto";
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

void vgpuback_config_dump(const struct vgpuback_config *c, FILE *out)
{
	char gpu[16], lim[24], res[24], pg[16];

	snprintf(pg, sizeof(pg), "%u", c->persistent_grants);
	if (c->gpu < 0)
		snprintf(gpu, sizeof(gpu), "auto");
	else
		snprintf(gpu, sizeof(gpu), "%d", c->gpu);
	fprintf(out, "executor = %s\ngpu = %s\nwatchdog-ms = %u\n"
		"transport = %s\nloopback-dir = %s\nlog-level = %s\n"
		"log-file = %s\nmax-inflight = %u\nmax-contexts = %u\n"
		"max-handles-per-context = %u\nmax-indirect-segments = %u\n"
		"max-ring-page-order = %u\npersistent-grants = %s\n"
		"mem-quota = %llu\nstorm-limit = %u\nshutdown-timeout-ms = %u\n"
		"cpu-op-delay-us = %u\nprotocol-revision = %u\n"
		"host-mem-limit = %s\nhost-mem-reserve = %s\npoll-us = ",
		c->executor, gpu, c->watchdog_ms, c->transport,
		c->loopback_dir[0] ? c->loopback_dir : "(default)",
		vgpuback_log_level_name(c->log_level),
		c->log_file[0] ? c->log_file : "(stderr)",
		c->max_inflight, c->max_contexts, c->max_handles_per_ctx,
		c->max_indirect_segments, c->max_ring_page_order,
		c->persistent_grants == VGPUBACK_PERSISTENT_GRANTS_AUTO ? "auto" :
		pg, (unsigned long long)c->mem_quota,
		c->storm_limit, c->shutdown_timeout_ms, c->cpu_op_delay_us,
		c->protocol_revision,
		size_or_auto(c->host_mem_limit, lim),
		size_or_auto(c->host_mem_reserve, res));
	if (c->poll_us == VGPUBACK_POLL_AUTO)
		fprintf(out, "auto\n");
	else
		fprintf(out, "%u\n", c->poll_us);
	fprintf(out, "ctx-heap = %llu\nctx-printf = %llu\nctx-stack = %u\n",
		(unsigned long long)c->ctx_heap_bytes,
		(unsigned long long)c->ctx_printf_bytes, c->ctx_stack_bytes);
}
