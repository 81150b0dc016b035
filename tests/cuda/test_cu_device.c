/* SPDX-License-Identifier: MIT */
/*
 * test_cu_device.c - initialisation, versions and device queries of the
 * guest libcuda, against the snapshot dom0 gave (VGPU_TEST_DEVINFO, from
 * lcu-devinfo through libvgpu). Without VGPU_TEST_DEVINFO (run natively on
 * NVIDIA's driver) only the rules that hold for any driver are checked.
 */
#include <stdint.h>

#include "cutest.h"
#include "guest-attrs.h"

#define NATTR 256

static int snap_valid[NATTR], snap_attr[NATTR];
static char snap_name[256];
static unsigned long long snap_total, snap_quota;
static unsigned int snap_driver;
static int have_snap;

/*
 * The attributes the guest library answers itself (what it really does):
 * the library's own list, guest/libcuda/guest-attrs.h.
 */
static const struct { int a; int v; } guest_attrs[] = {
#define LCU_GA(a_, v_) { a_, v_ },
	LCU_GUEST_ATTRS(LCU_GA)
#undef LCU_GA
};

static int guest_attr(int a, int *v)
{
	size_t i;

	for (i = 0; i < sizeof(guest_attrs) / sizeof(guest_attrs[0]); i++)
		if (guest_attrs[i].a == a) {
			*v = guest_attrs[i].v;
			return 1;
		}
	return 0;
}

static void load_snapshot(void)
{
	const char *path = getenv("VGPU_TEST_DEVINFO");
	char line[512];
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "r");
	if (!f) {
		t_fail(__FILE__, __LINE__, "cannot read %s", path);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		int i, v;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "name ", 5))
			snprintf(snap_name, sizeof(snap_name), "%.255s", line + 5);
		else if (sscanf(line, "total_mem %llu", &snap_total) == 1)
			;
		else if (sscanf(line, "quota %llu", &snap_quota) == 1)
			;
		else if (sscanf(line, "driver %u", &snap_driver) == 1)
			;
		else if (sscanf(line, "attr %d %d", &i, &v) == 2 && i > 0 && i < NATTR) {
			snap_valid[i] = 1;
			snap_attr[i] = v;
		}
	}
	fclose(f);
	have_snap = 1;
}

static void before_init(void)
{
	CUdevice d;
	int n, v;
	char name[64];
	size_t sz;
	const char *s;

	CU_EXPECT(cuDeviceGet(&d, 0), CUDA_ERROR_NOT_INITIALIZED);
	CU_EXPECT(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
	CU_EXPECT(cuDeviceGetName(name, sizeof(name), 0), CUDA_ERROR_NOT_INITIALIZED);
	CU_EXPECT(cuDeviceTotalMem(&sz, 0), CUDA_ERROR_NOT_INITIALIZED);
	CU_EXPECT(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0),
		  CUDA_ERROR_NOT_INITIALIZED);
	/* These need no cuInit. */
	CU_OK(cuDriverGetVersion(&v));
	T_CHECK(v >= 2000, "driver version %d before cuInit", v);
	CU_EXPECT(cuDriverGetVersion(NULL), CUDA_ERROR_INVALID_VALUE);
	CU_OK(cuGetErrorName(CUDA_ERROR_INVALID_VALUE, &s));
	T_CHECK(!strcmp(s, "CUDA_ERROR_INVALID_VALUE"), "name %s", s);
	CU_OK(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &s));
	T_CHECK(s && *s, "no error string");
	CU_EXPECT(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
	/* Not comparable natively: NVIDIA's driver 580 writes through the NULL. */
	CU_EXPECT_GUEST(cuGetErrorString(CUDA_SUCCESS, NULL), CUDA_ERROR_INVALID_VALUE);
	/* Flags must be 0. */
	CU_EXPECT(cuInit(1), CUDA_ERROR_INVALID_VALUE);
}

static void init_and_count(void)
{
	CUdevice d = -1;
	int n = 0, v = 0;

	CU_MUST(cuInit(0));
	CU_OK(cuInit(0));   /* again: the same answer */
	CU_OK(cuDeviceGetCount(&n));
	T_CHECK(n >= 1, "%d devices", n);
	CU_OK(cuDeviceGet(&d, 0));
	T_CHECK(d == 0, "device %d", d);
	CU_EXPECT(cuDeviceGet(&d, n), CUDA_ERROR_INVALID_DEVICE);
	CU_EXPECT(cuDeviceGet(&d, -1), CUDA_ERROR_INVALID_DEVICE);
	CU_EXPECT(cuDeviceGet(NULL, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDeviceGetCount(NULL), CUDA_ERROR_INVALID_VALUE);
	CU_OK(cuDriverGetVersion(&v));
	if (have_snap)
		T_CHECK(v == (snap_driver ? (int)snap_driver : CUDA_VERSION),
			"driver version %d, dom0 says %u", v, snap_driver);
}

static void name_mem_uuid(void)
{
	char name[256], small[4];
	size_t total = 0;
	CUuuid u1, u2;

	CU_OK(cuDeviceGetName(name, sizeof(name), 0));
	if (have_snap)
		T_CHECK(!strcmp(name, snap_name), "name \"%s\", dom0 says \"%s\"", name, snap_name);
	CU_OK(cuDeviceGetName(small, sizeof(small), 0));
	T_CHECK(strlen(small) <= 3 && !strncmp(small, name, strlen(small)), "truncated \"%s\"", small);
	CU_EXPECT(cuDeviceGetName(NULL, 10, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDeviceGetName(name, sizeof(name), 1), CUDA_ERROR_INVALID_DEVICE);
	CU_OK(cuDeviceTotalMem(&total, 0));
	if (have_snap) {
		unsigned long long want = snap_quota && snap_quota < snap_total ? snap_quota : snap_total;

		T_CHECK(total == want, "total %zu, expected %llu (quota %llu)", total, want,
			snap_quota);
	}
	CU_EXPECT(cuDeviceTotalMem(NULL, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDeviceTotalMem(&total, 7), CUDA_ERROR_INVALID_DEVICE);
	CU_OK(cuDeviceGetUuid(&u1, 0));
	CU_OK(cuDeviceGetUuid(&u2, 0));
	T_CHECK(!memcmp(&u1, &u2, sizeof(u1)), "the uuid changed");
	CU_EXPECT(cuDeviceGetUuid(NULL, 0), CUDA_ERROR_INVALID_VALUE);
}

static void attributes(void)
{
	int a, v, want, maj, min;

	for (a = 1; a < NATTR; a++) {
		CUresult r = cuDeviceGetAttribute(&v, (CUdevice_attribute)a, 0);

		t_checks++;
		if (a >= CU_DEVICE_ATTRIBUTE_MAX) {
			/* Past the API's range: no attribute, as a driver says. */
			if (r != CUDA_ERROR_INVALID_VALUE)
				t_fail(__FILE__, __LINE__, "attribute %d (past the range): %s", a,
				       t_name(r));
			continue;
		}
		/*
		 * Every attribute of the range has an answer, but for the
		 * numbers a real driver refuses (its enum leaves some out):
		 * natively any refusal is the driver's own answer; in a guest,
		 * what dom0's driver refused (the snapshot lacks it) is refused
		 * the same way, unless the library answers it itself, and with
		 * the cpu executor (driver 0) everything has an answer.
		 */
		if (r != CUDA_SUCCESS) {
			int own = guest_attr(a, &want);

			if (r == CUDA_ERROR_INVALID_VALUE &&
			    (!have_snap || (snap_driver && !snap_valid[a] && !own)))
				continue;
			t_fail(__FILE__, __LINE__, "attribute %d: %s", a, t_name(r));
			continue;
		}
		if (!have_snap)
			continue;
		if (guest_attr(a, &want)) {
			if (r != CUDA_SUCCESS || v != want)
				t_fail(__FILE__, __LINE__, "attribute %d: %s %d, the library's own "
				       "answer is %d", a, t_name(r), v, want);
		} else if (snap_valid[a]) {
			if (r != CUDA_SUCCESS || v != snap_attr[a])
				t_fail(__FILE__, __LINE__, "attribute %d: %s %d, dom0 says %d", a,
				       t_name(r), v, snap_attr[a]);
		} else if (snap_driver) {
			/* Refused by dom0's driver: refused here too (above). */
			t_fail(__FILE__, __LINE__, "attribute %d, which dom0's driver refused, "
			       "answered %d", a, v);
		} else {
			/* Unknown to the cpu executor's device: 0. */
			if (v != 0)
				t_fail(__FILE__, __LINE__, "attribute %d unknown to dom0 answered %d",
				       a, v);
		}
	}
	CU_EXPECT(cuDeviceGetAttribute(NULL, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0),
		  CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDeviceGetAttribute(&v, (CUdevice_attribute)0, 0), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDeviceGetAttribute(&v, (CUdevice_attribute)100000, 0),
		  CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 3),
		  CUDA_ERROR_INVALID_DEVICE);
	CU_OK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0));
	T_CHECK(v == 32, "warp size %d", v);
	CU_OK(cuDeviceComputeCapability(&maj, &min, 0));
	CU_OK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0));
	T_CHECK(v == maj, "major %d vs %d", v, maj);
	CU_OK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0));
	T_CHECK(v == min, "minor %d vs %d", v, min);
	CU_EXPECT(cuDeviceComputeCapability(NULL, &min, 0), CUDA_ERROR_INVALID_VALUE);
}

static void pci(void)
{
	char id[64];
	CUdevice d = -1;
	int peer;

	CU_OK(cuDeviceGetPCIBusId(id, sizeof(id), 0));
	/* domain:bus:device.function as NVIDIA's driver 580 writes it: 0000:00:06.0 */
	T_CHECK(strlen(id) == 12 && id[4] == ':' && id[7] == ':' && id[10] == '.',
		"bus id \"%s\"", id);
	CU_OK(cuDeviceGetByPCIBusId(&d, id));
	T_CHECK(d == 0, "by bus id: %d", d);
	CU_OK(cuDeviceGetByPCIBusId(&d, id + 5));   /* without the domain */
	CU_EXPECT(cuDeviceGetByPCIBusId(&d, "zz"), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDeviceGetByPCIBusId(NULL, id), CUDA_ERROR_INVALID_VALUE);
	CU_EXPECT(cuDeviceGetPCIBusId(NULL, 10, 0), CUDA_ERROR_INVALID_VALUE);
	/* Itself: no peer, CUDA_SUCCESS (NVIDIA's driver 580 agrees). */
	peer = -1;
	CU_OK(cuDeviceCanAccessPeer(&peer, 0, 0));
	T_CHECK(peer == 0, "a device its own peer: %d", peer);
	CU_EXPECT(cuDeviceCanAccessPeer(&peer, 0, 1), CUDA_ERROR_INVALID_DEVICE);
}

int main(void)
{
	load_snapshot();
	T_RUN(before_init);
	T_RUN(init_and_count);
	T_RUN(name_mem_uuid);
	T_RUN(attributes);
	T_RUN(pci);
	return t_done("test_cu_device");
}
