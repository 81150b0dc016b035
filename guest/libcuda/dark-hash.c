/* SPDX-License-Identifier: MIT */
/*
 * dark-hash.c - the hash behind the INTEGRITY_CHECK table (dark.c).
 *
 * NVIDIA's runtime asks the driver for a 16-byte answer to (its version, the
 * time) and compares it with what it computes itself; on a mismatch every
 * later runtime call fails with cudaErrorSoftwareValidityNotEstablished
 * ("integrity checks failed"). ZLUDA worked out what is hashed and how; the
 * mixing it uses is MD2 (RFC 1319: its S table is the RFC's "PI_SUBST"),
 * keyed HMAC-style (RFC 2104 with MD2's 16-byte block): the inner hash of
 * key ^ 0x36 and the message, the outer of key ^ 0x5c and the inner digest.
 * This file implements MD2 and HMAC from the RFCs; the key and the two
 * fixed answers are facts about the runtime, quoted in dark.c's note.
 */
#include "dark-hash.h"

#include <string.h>

/* RFC 1319, 3.2: a permutation of 0..255 built from the digits of pi. */
static const uint8_t md2_s[256] = {
	0x29, 0x2e, 0x43, 0xc9, 0xa2, 0xd8, 0x7c, 0x01, 0x3d, 0x36, 0x54, 0xa1, 0xec, 0xf0, 0x06, 0x13,
	0x62, 0xa7, 0x05, 0xf3, 0xc0, 0xc7, 0x73, 0x8c, 0x98, 0x93, 0x2b, 0xd9, 0xbc, 0x4c, 0x82, 0xca,
	0x1e, 0x9b, 0x57, 0x3c, 0xfd, 0xd4, 0xe0, 0x16, 0x67, 0x42, 0x6f, 0x18, 0x8a, 0x17, 0xe5, 0x12,
	0xbe, 0x4e, 0xc4, 0xd6, 0xda, 0x9e, 0xde, 0x49, 0xa0, 0xfb, 0xf5, 0x8e, 0xbb, 0x2f, 0xee, 0x7a,
	0xa9, 0x68, 0x79, 0x91, 0x15, 0xb2, 0x07, 0x3f, 0x94, 0xc2, 0x10, 0x89, 0x0b, 0x22, 0x5f, 0x21,
	0x80, 0x7f, 0x5d, 0x9a, 0x5a, 0x90, 0x32, 0x27, 0x35, 0x3e, 0xcc, 0xe7, 0xbf, 0xf7, 0x97, 0x03,
	0xff, 0x19, 0x30, 0xb3, 0x48, 0xa5, 0xb5, 0xd1, 0xd7, 0x5e, 0x92, 0x2a, 0xac, 0x56, 0xaa, 0xc6,
	0x4f, 0xb8, 0x38, 0xd2, 0x96, 0xa4, 0x7d, 0xb6, 0x76, 0xfc, 0x6b, 0xe2, 0x9c, 0x74, 0x04, 0xf1,
	0x45, 0x9d, 0x70, 0x59, 0x64, 0x71, 0x87, 0x20, 0x86, 0x5b, 0xcf, 0x65, 0xe6, 0x2d, 0xa8, 0x02,
	0x1b, 0x60, 0x25, 0xad, 0xae, 0xb0, 0xb9, 0xf6, 0x1c, 0x46, 0x61, 0x69, 0x34, 0x40, 0x7e, 0x0f,
	0x55, 0x47, 0xa3, 0x23, 0xdd, 0x51, 0xaf, 0x3a, 0xc3, 0x5c, 0xf9, 0xce, 0xba, 0xc5, 0xea, 0x26,
	0x2c, 0x53, 0x0d, 0x6e, 0x85, 0x28, 0x84, 0x09, 0xd3, 0xdf, 0xcd, 0xf4, 0x41, 0x81, 0x4d, 0x52,
	0x6a, 0xdc, 0x37, 0xc8, 0x6c, 0xc1, 0xab, 0xfa, 0x24, 0xe1, 0x7b, 0x08, 0x0c, 0xbd, 0xb1, 0x4a,
	0x78, 0x88, 0x95, 0x8b, 0xe3, 0x63, 0xe8, 0x6d, 0xe9, 0xcb, 0xd5, 0xfe, 0x3b, 0x00, 0x1d, 0x39,
	0xf2, 0xef, 0xb7, 0x0e, 0x66, 0x58, 0xd0, 0xe4, 0xa6, 0x77, 0x72, 0xf8, 0xeb, 0x75, 0x4b, 0x0a,
	0x31, 0x44, 0x50, 0xb4, 0x8f, 0xed, 0x1f, 0x1a, 0xdb, 0x99, 0x8d, 0x33, 0x9f, 0x11, 0x83, 0x14,
};

void vgpu_md2_init(struct vgpu_md2 *m)
{
	memset(m, 0, sizeof(*m));
}

/* RFC 1319, 3.4: 18 rounds over the 48-byte state. */
static void md2_compress(struct vgpu_md2 *m)
{
	uint8_t t = 0;
	int j, k;

	for (j = 0; j < 18; j++) {
		for (k = 0; k < 48; k++)
			t = m->x[k] ^= md2_s[t];
		t = (uint8_t)(t + j);
	}
}

static void md2_byte(struct vgpu_md2 *m, uint8_t b)
{
	/* The block byte, its xor with the state, and the checksum (3.2). */
	m->x[16 + m->n] = b;
	m->x[32 + m->n] = m->x[m->n] ^ b;
	m->l = m->c[m->n] ^= md2_s[b ^ m->l];
	if (++m->n == 16) {
		md2_compress(m);
		m->n = 0;
	}
}

void vgpu_md2_update(struct vgpu_md2 *m, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len--)
		md2_byte(m, *p++);
}

void vgpu_md2_final(struct vgpu_md2 *m, uint8_t digest[16])
{
	uint8_t pad = (uint8_t)(16 - m->n), c[16];
	int i;

	/* 3.1: i bytes of value i; 3.3: then the checksum as one block. */
	for (i = 0; i < pad; i++)
		md2_byte(m, pad);
	memcpy(c, m->c, sizeof(c));
	for (i = 0; i < 16; i++)
		md2_byte(m, c[i]);
	memcpy(digest, m->x, 16);
}

/* The runtime's key (ZLUDA, dark_api: the constant first pass). */
static const uint8_t integrity_key[16] = {
	0x14, 0x6a, 0xdd, 0xae, 0x53, 0xa9, 0xa7, 0x52,
	0xaa, 0x08, 0x41, 0x36, 0x0b, 0xf5, 0x5a, 0x9f,
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

void vgpu_dark_integrity_record(const struct vgpu_dark_integrity_in *in, uint8_t rec[48])
{
	/* A 48-byte record as a 64-bit runtime lays it out. */
	put32(rec + 0, in->driver_version);
	put32(rec + 4, in->version);
	put32(rec + 8, in->pid);
	put32(rec + 12, in->tid);
	put64(rec + 16, in->cudart_table);
	put64(rec + 24, in->integrity_table);
	put64(rec + 32, in->function);
	put64(rec + 40, in->unix_seconds);
}

void vgpu_dark_device_record(const struct vgpu_dark_device_hash *d, uint8_t rec[28])
{
	/* 16 + 3 * 4 bytes, no padding. */
	memcpy(rec, d->uuid, 16);
	put32(rec + 16, (uint32_t)d->pci_domain);
	put32(rec + 20, (uint32_t)d->pci_bus);
	put32(rec + 24, (uint32_t)d->pci_device);
}

void vgpu_dark_integrity_key(uint8_t key[16])
{
	memcpy(key, integrity_key, 16);
}

void vgpu_dark_integrity_hash(const struct vgpu_dark_integrity_in *in, uint64_t out[2])
{
	uint8_t pad[16], inner[16], rec[48], digest[16], dev[28];
	struct vgpu_md2 m;
	unsigned int i;

	/* Versions ending in 0 or 1 get fixed answers (dark.c's note). */
	if (in->version % 10 == 0) {
		out[0] = 0x3341181c03cb675cull;
		out[1] = 0x8ed383aa1f4cd1e8ull;
		return;
	}
	if (in->version % 10 == 1) {
		out[0] = 0x1841181c03cb675cull;
		out[1] = 0x8ed383aa1f4cd1e8ull;
		return;
	}
	vgpu_md2_init(&m);
	for (i = 0; i < 16; i++)
		pad[i] = integrity_key[i] ^ 0x36;
	vgpu_md2_update(&m, pad, sizeof(pad));
	vgpu_dark_integrity_record(in, rec);
	vgpu_md2_update(&m, rec, sizeof(rec));
	for (i = 0; i < in->nr_devices; i++) {
		vgpu_dark_device_record(&in->devices[i], dev);
		vgpu_md2_update(&m, dev, sizeof(dev));
	}
	vgpu_md2_final(&m, inner);

	vgpu_md2_init(&m);
	for (i = 0; i < 16; i++)
		pad[i] = integrity_key[i] ^ 0x5c;
	vgpu_md2_update(&m, pad, sizeof(pad));
	vgpu_md2_update(&m, inner, sizeof(inner));
	vgpu_md2_final(&m, digest);
	memcpy(&out[0], digest, 8);
	memcpy(&out[1], digest + 8, 8);
}
