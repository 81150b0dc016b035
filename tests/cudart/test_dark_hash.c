/*
 * test_dark_hash.c - guest/libcuda/dark-hash.c: MD2 against RFC 1319's test
 * suite, and the integrity check's hash against the intermediate states
 * ZLUDA recorded from NVIDIA's driver (its dark_api tests): after the keyed
 * first block, after the 48-byte record of a known call, after a device.
 * The whole check is only proven on the GPU (the runtime compares); these
 * pin every piece of it here.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dark-hash.h"

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

START_TEST(test_md2_rfc1319)
{
	static const struct { const char *in, *digest; } rows[] = {
		{ "", "8350e5a3e24c153df2275c9f80692773" },
		{ "a", "32ec01ec4a6dac72c0ab96fb34c0b5d1" },
		{ "abc", "da853b0d3f88d99b30283a69e6ded6bb" },
		{ "message digest", "ab4f496bfb2a530b219ff33031fe06b0" },
		{ "abcdefghijklmnopqrstuvwxyz", "4e8ddff3650292ab5a4108c3aa47940b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "da33def2a42df13975352846c30338cd" },
		{ "1234567890123456789012345678901234567890123456789012345678901234567890"
		  "1234567890", "d5976f79d83d3a0dc9806c3c66f3efd8" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vgpu_md2 m;
		uint8_t d[16];
		char h[33];

		vgpu_md2_init(&m);
		/* In two pieces: the split must not matter. */
		vgpu_md2_update(&m, rows[i].in, strlen(rows[i].in) / 3);
		vgpu_md2_update(&m, rows[i].in + strlen(rows[i].in) / 3,
				strlen(rows[i].in) - strlen(rows[i].in) / 3);
		vgpu_md2_final(&m, d);
		hex(d, h);
		ck_assert_msg(!strcmp(h, rows[i].digest), "row %zu (\"%s\"): %s", i,
			      rows[i].in, h);
	}
}
END_TEST

/* The state (x, checksum, count, last) as 66 bytes. */
static void state_bytes(const struct vgpu_md2 *m, uint8_t out[66])
{
	memcpy(out, m->x, 48);
	memcpy(out + 48, m->c, 16);
	out[64] = m->n;
	out[65] = m->l;
}

static const uint8_t after_key[66] = {
	0x8b, 0x21, 0x9a, 0x49, 0xe8, 0x6d, 0x1a, 0xee, 0xf2, 0x37, 0xf9, 0xb5, 0x4a, 0x8c,
	0x3c, 0x75, 0xc7, 0x1e, 0xee, 0x21, 0xcf, 0x29, 0x8a, 0xe5, 0x13, 0x83, 0xf4, 0xec,
	0x33, 0x04, 0xe2, 0xfd, 0xb0, 0x2f, 0x09, 0x01, 0x4f, 0xf7, 0x68, 0x6d, 0x69, 0x46,
	0x43, 0x7e, 0xb6, 0x2b, 0x21, 0xed, 0x57, 0xa1, 0x10, 0x86, 0x0e, 0x60, 0x44, 0x1e,
	0x70, 0x5f, 0x67, 0xd1, 0xeb, 0x67, 0xa1, 0x3d, 0x00, 0x3d,
};

START_TEST(test_integrity_states)
{
	static const uint8_t after_record[66] = {
		0x0a, 0xfd, 0xab, 0xc9, 0xff, 0x9b, 0xa0, 0xbe, 0x4d, 0x30, 0x32, 0x82, 0x74, 0x4f,
		0xa7, 0x48, 0x9d, 0x23, 0x82, 0xa3, 0x87, 0xfa, 0x6c, 0xdb, 0x92, 0x49, 0xd9, 0xb5,
		0x4b, 0x2b, 0x5e, 0x51, 0x6e, 0xf7, 0xf9, 0x4d, 0x28, 0x8a, 0x64, 0x06, 0x19, 0xb3,
		0xe6, 0xbe, 0xa4, 0xec, 0x7e, 0x54, 0x64, 0x28, 0xd9, 0xe1, 0xd4, 0x34, 0xc0, 0xa9,
		0x49, 0x88, 0xc9, 0x61, 0x58, 0xdd, 0x66, 0x74, 0x00, 0x74,
	};
	struct vgpu_dark_integrity_in in = {
		.driver_version = 0x2f30, .version = 12082, .pid = 0x002fa423,
		.tid = 0xf79c1000, .cudart_table = 0x00007ffff6958240ull,
		.integrity_table = 0x00007ffff6958220ull, .function = 0x00007ffff2aaf4a0ull,
		.unix_seconds = 0x682b9cee,
	};
	uint8_t key[16], rec[48], st[66];
	struct vgpu_md2 m;

	vgpu_dark_integrity_key(key);
	for (int i = 0; i < 16; i++)
		key[i] ^= 0x36;
	vgpu_md2_init(&m);
	vgpu_md2_update(&m, key, 16);
	state_bytes(&m, st);
	ck_assert_int_eq(memcmp(st, after_key, 66), 0);
	vgpu_dark_integrity_record(&in, rec);
	vgpu_md2_update(&m, rec, sizeof(rec));
	state_bytes(&m, st);
	ck_assert_int_eq(memcmp(st, after_record, 66), 0);
}
END_TEST

START_TEST(test_integrity_device)
{
	static const uint8_t before[66] = {
		0x84, 0xfd, 0x93, 0x10, 0xc6, 0xdb, 0xb3, 0xbc, 0x49, 0xc2, 0x25, 0xe7, 0xda, 0x6e,
		0x22, 0x6f, 0x9b, 0xbd, 0x81, 0x59, 0xc3, 0x01, 0x9a, 0x7a, 0x26, 0x34, 0x39, 0x0f,
		0x2a, 0x56, 0x13, 0xb1, 0xf6, 0xbc, 0x7f, 0xa1, 0x8f, 0x04, 0xa5, 0x4d, 0x0d, 0x78,
		0xab, 0x20, 0xf8, 0x23, 0x20, 0xa5, 0x3f, 0x67, 0x36, 0xe2, 0xde, 0x8a, 0xe5, 0xdf,
		0xe1, 0xf2, 0x03, 0x94, 0xad, 0xdc, 0x9a, 0xda, 0x00, 0xda,
	};
	static const uint8_t after[66] = {
		0x1f, 0xd8, 0x25, 0xd2, 0xdf, 0xfa, 0x64, 0xc7, 0xb6, 0x1a, 0xaf, 0x22, 0xb8, 0x79,
		0xfb, 0x96, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x7c, 0x9d, 0x46, 0xd2, 0x1f, 0xd8, 0x25, 0xd2, 0xdd, 0xfa, 0x64, 0xc7, 0xb6, 0x1a,
		0xaf, 0x22, 0xe6, 0x17, 0xbd, 0x3a, 0xd7, 0xdd, 0x5f, 0x82, 0x8c, 0x87, 0xce, 0x86,
		0x66, 0xaf, 0xa0, 0x50, 0x7a, 0x7d, 0xbb, 0xbc, 0x0c, 0x50,
	};
	struct vgpu_dark_device_hash d = {
		.uuid = { 0x9a, 0xfe, 0x2b, 0x8a, 0xac, 0x25, 0x2d, 0x38,
			  0xea, 0x37, 0xae, 0xc5, 0x6d, 0x71, 0x32, 0x5f },
		.pci_domain = 0, .pci_bus = 2, .pci_device = 0,
	};
	struct vgpu_md2 m;
	uint8_t rec[28], st[66];

	memcpy(m.x, before, 48);
	memcpy(m.c, before + 48, 16);
	m.n = before[64];
	m.l = before[65];
	vgpu_dark_device_record(&d, rec);
	vgpu_md2_update(&m, rec, sizeof(rec));
	state_bytes(&m, st);
	ck_assert_int_eq(memcmp(st, after, 66), 0);
}
END_TEST

START_TEST(test_integrity_answers)
{
	struct vgpu_dark_device_hash dev = { .pci_bus = 0x19 };
	struct vgpu_dark_integrity_in in = { .version = 13000, .driver_version = 13000,
					     .devices = &dev, .nr_devices = 1 };
	uint64_t a[2], b[2];

	/* The fixed answers of versions ending in 0 and 1. */
	vgpu_dark_integrity_hash(&in, a);
	ck_assert_uint_eq(a[0], 0x3341181c03cb675cull);
	ck_assert_uint_eq(a[1], 0x8ed383aa1f4cd1e8ull);
	in.version = 12081;
	vgpu_dark_integrity_hash(&in, a);
	ck_assert_uint_eq(a[0], 0x1841181c03cb675cull);
	/* Otherwise a hash of every input: the same twice, another for a change. */
	in.version = 13002;
	in.unix_seconds = 1764672000;
	vgpu_dark_integrity_hash(&in, a);
	vgpu_dark_integrity_hash(&in, b);
	ck_assert(a[0] == b[0] && a[1] == b[1]);
	ck_assert(a[0] != 0x3341181c03cb675cull);
	in.unix_seconds++;
	vgpu_dark_integrity_hash(&in, b);
	ck_assert(a[0] != b[0] || a[1] != b[1]);
	in.unix_seconds--;
	dev.pci_bus++;
	vgpu_dark_integrity_hash(&in, b);
	ck_assert(a[0] != b[0] || a[1] != b[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dark_hash");
	TCase *t = tcase_create("hash");
	SRunner *sr;
	int failed;

	tcase_add_test(t, test_md2_rfc1319);
	tcase_add_test(t, test_integrity_states);
	tcase_add_test(t, test_integrity_device);
	tcase_add_test(t, test_integrity_answers);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
