/* SPDX-License-Identifier: MIT */
/*
 * dark-hash.h - MD2, HMAC-MD2 and the integrity check's hash (dark-hash.c),
 * without the CUDA declarations, so that it also builds and is tested on
 * its own. Private to libcuda.
 */
#ifndef VGPU_LIBCUDA_DARK_HASH_H
#define VGPU_LIBCUDA_DARK_HASH_H

#include <stddef.h>
#include <stdint.h>

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
/* The pieces, for the tests: the record, a device's 28 bytes, the key. */
void vgpu_dark_integrity_record(const struct vgpu_dark_integrity_in *in, uint8_t rec[48]);
void vgpu_dark_device_record(const struct vgpu_dark_device_hash *d, uint8_t rec[28]);
void vgpu_dark_integrity_key(uint8_t key[16]);
void vgpu_dark_integrity_hash(const struct vgpu_dark_integrity_in *in, uint64_t out[2]);

#endif /* VGPU_LIBCUDA_DARK_HASH_H */
