// cudart_tests.cu - CUDA runtime API programs of issue #13, one binary with a
// test per argument. Built by run.sh with plain nvcc (static runtime) and
// with -cudart shared; run natively and through the guest libcuda.so.1 over
// the loopback transport. Every result is checked on the CPU; each test
// prints "PASS name" or "FAIL name: why" and the binary exits 1 on a FAIL.
//
//   vadd      vector add of 1M floats
//   matmul    tiled matrix multiply with shared memory (512 x 512)
//   symbols   cudaMemcpyToSymbol/FromSymbol on __constant__ and __device__
//   streams   4 streams, events, cudaStreamWaitEvent across streams
//   pinned    cudaMallocHost buffers with async copies
//   fault     a kernel writing to a bad address: cudaErrorIllegalAddress
//   props     cudaGetDeviceProperties, printed field by field
//   bench     launch latency, copy bandwidth sweep, matmul time (timings)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <vector>
#include <algorithm>
#include <chrono>
#include <cuda_runtime.h>

static int failures;

#define CK(call)                                                               \
	do {                                                                   \
		cudaError_t e_ = (call);                                       \
		if (e_ != cudaSuccess) {                                       \
			std::printf("FAIL %s: %s: %s\n", cur, #call,           \
				    cudaGetErrorString(e_));                   \
			failures++;                                            \
			return;                                                \
		}                                                              \
	} while (0)

static const char *cur = "";

static void verdict(bool ok, const char *why)
{
	if (ok) {
		std::printf("PASS %s\n", cur);
	} else {
		std::printf("FAIL %s: %s\n", cur, why);
		failures++;
	}
}

__global__ void k_vadd(const float *a, const float *b, float *c, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		c[i] = a[i] + b[i];
}

#define TILE 16
__global__ void k_matmul(const float *A, const float *B, float *C, int n)
{
	__shared__ float as[TILE][TILE], bs[TILE][TILE];
	int r = blockIdx.y * TILE + threadIdx.y, c = blockIdx.x * TILE + threadIdx.x;
	float acc = 0.f;

	for (int t = 0; t < n / TILE; t++) {
		as[threadIdx.y][threadIdx.x] = A[r * n + t * TILE + threadIdx.x];
		bs[threadIdx.y][threadIdx.x] = B[(t * TILE + threadIdx.y) * n + c];
		__syncthreads();
		for (int k = 0; k < TILE; k++)
			acc += as[threadIdx.y][k] * bs[k][threadIdx.x];
		__syncthreads();
	}
	C[r * n + c] = acc;
}

__constant__ int c_coef[64];
__device__ int d_data[64];

__global__ void k_symbols(int *out)
{
	int i = threadIdx.x;

	out[i] = c_coef[i] * 2 + d_data[i];
	d_data[i] = i * 3;
}

__global__ void k_add(float *x, float v, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		x[i] += v;
}

__global__ void k_fault(int *p)
{
	*(volatile int *)p = 1;
}

__global__ void k_empty(void)
{
}

static void t_vadd(void)
{
	const int n = 1 << 20;
	std::vector<float> a(n), b(n), c(n);
	float *da, *db, *dc;
	int bad = 0;

	for (int i = 0; i < n; i++) {
		a[i] = (float)i;
		b[i] = (float)(2 * i + 1);
	}
	CK(cudaMalloc(&da, n * sizeof(float)));
	CK(cudaMalloc(&db, n * sizeof(float)));
	CK(cudaMalloc(&dc, n * sizeof(float)));
	CK(cudaMemcpy(da, a.data(), n * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(db, b.data(), n * sizeof(float), cudaMemcpyHostToDevice));
	k_vadd<<<(n + 255) / 256, 256>>>(da, db, dc, n);
	CK(cudaGetLastError());
	CK(cudaMemcpy(c.data(), dc, n * sizeof(float), cudaMemcpyDeviceToHost));
	for (int i = 0; i < n; i++)
		bad += c[i] != a[i] + b[i];
	CK(cudaFree(da));
	CK(cudaFree(db));
	CK(cudaFree(dc));
	verdict(bad == 0, "wrong sums");
}

static void cpu_matmul(const std::vector<float> &A, const std::vector<float> &B,
		       std::vector<float> &C, int n)
{
	for (int r = 0; r < n; r++)
		for (int c = 0; c < n; c++) {
			double acc = 0;
			for (int k = 0; k < n; k++)
				acc += (double)A[r * n + k] * B[k * n + c];
			C[r * n + c] = (float)acc;
		}
}

static float matmul_ms;

static void t_matmul(void)
{
	const int n = 512;
	std::vector<float> A(n * n), B(n * n), C(n * n), R(n * n);
	float *dA, *dB, *dC;
	cudaEvent_t e0, e1;
	double worst = 0;

	for (int i = 0; i < n * n; i++) {
		A[i] = (float)((i * 7) % 13) / 13.f;
		B[i] = (float)((i * 5) % 11) / 11.f;
	}
	CK(cudaMalloc(&dA, n * n * sizeof(float)));
	CK(cudaMalloc(&dB, n * n * sizeof(float)));
	CK(cudaMalloc(&dC, n * n * sizeof(float)));
	CK(cudaMemcpy(dA, A.data(), n * n * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dB, B.data(), n * n * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	dim3 grid(n / TILE, n / TILE), block(TILE, TILE);
	k_matmul<<<grid, block>>>(dA, dB, dC, n); /* warm-up (and lazy load) */
	CK(cudaEventRecord(e0));
	k_matmul<<<grid, block>>>(dA, dB, dC, n);
	CK(cudaEventRecord(e1));
	CK(cudaEventSynchronize(e1));
	CK(cudaEventElapsedTime(&matmul_ms, e0, e1));
	CK(cudaMemcpy(C.data(), dC, n * n * sizeof(float), cudaMemcpyDeviceToHost));
	cpu_matmul(A, B, R, n);
	for (int i = 0; i < n * n; i++)
		worst = std::max(worst, (double)std::fabs(C[i] - R[i]));
	CK(cudaFree(dA));
	CK(cudaFree(dB));
	CK(cudaFree(dC));
	std::printf("matmul %dx%d: %.3f ms on the GPU, max error %.2e\n", n, n, matmul_ms, worst);
	verdict(worst < 1e-2, "result differs from the CPU's");
}

static void t_symbols(void)
{
	int coef[64], data[64], out[64], back[64], *dout, bad = 0;

	for (int i = 0; i < 64; i++) {
		coef[i] = i + 1;
		data[i] = 100 - i;
	}
	CK(cudaMemcpyToSymbol(c_coef, coef, sizeof(coef)));
	CK(cudaMemcpyToSymbol(d_data, data, sizeof(data)));
	CK(cudaMalloc(&dout, sizeof(out)));
	k_symbols<<<1, 64>>>(dout);
	CK(cudaGetLastError());
	CK(cudaMemcpy(out, dout, sizeof(out), cudaMemcpyDeviceToHost));
	CK(cudaMemcpyFromSymbol(back, d_data, sizeof(back)));
	for (int i = 0; i < 64; i++)
		bad += out[i] != coef[i] * 2 + data[i] || back[i] != i * 3;
	/* And an offset into a symbol. */
	CK(cudaMemcpyFromSymbol(back, d_data, 8 * sizeof(int), 8 * sizeof(int)));
	for (int i = 0; i < 8; i++)
		bad += back[i] != (i + 8) * 3;
	CK(cudaFree(dout));
	verdict(bad == 0, "symbol contents wrong");
}

static void t_streams(void)
{
	const int n = 1 << 16, ns = 4;
	cudaStream_t s[ns];
	cudaEvent_t done[ns];
	float *d[ns];
	std::vector<float> h(n);
	int bad = 0;

	for (int i = 0; i < ns; i++) {
		CK(cudaStreamCreate(&s[i]));
		CK(cudaEventCreate(&done[i]));
		CK(cudaMalloc(&d[i], n * sizeof(float)));
		CK(cudaMemsetAsync(d[i], 0, n * sizeof(float), s[i]));
		for (int k = 0; k < 10; k++)
			k_add<<<n / 256, 256, 0, s[i]>>>(d[i], 1.f, n);
		CK(cudaEventRecord(done[i], s[i]));
	}
	/* Stream 0 waits for every other stream, then adds their results. */
	for (int i = 1; i < ns; i++)
		CK(cudaStreamWaitEvent(s[0], done[i], 0));
	for (int i = 1; i < ns; i++)
		k_vadd<<<n / 256, 256, 0, s[0]>>>(d[0], d[i], d[0], n);
	CK(cudaStreamSynchronize(s[0]));
	CK(cudaMemcpy(h.data(), d[0], n * sizeof(float), cudaMemcpyDeviceToHost));
	for (int i = 0; i < n; i++)
		bad += h[i] != 10.f * ns;
	for (int i = 0; i < ns; i++) {
		CK(cudaEventQuery(done[i]));
		CK(cudaFree(d[i]));
		CK(cudaEventDestroy(done[i]));
		CK(cudaStreamDestroy(s[i]));
	}
	verdict(bad == 0, "ordering across streams broken");
}

static void t_pinned(void)
{
	const size_t n = 4 << 20;
	float *h1, *h2, *d;
	cudaStream_t s;
	int bad = 0;

	CK(cudaMallocHost(&h1, n * sizeof(float)));
	CK(cudaMallocHost(&h2, n * sizeof(float)));
	CK(cudaMalloc(&d, n * sizeof(float)));
	CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	for (size_t i = 0; i < n; i++)
		h1[i] = (float)(i % 1000);
	CK(cudaMemcpyAsync(d, h1, n * sizeof(float), cudaMemcpyHostToDevice, s));
	k_add<<<(unsigned)(n / 256), 256, 0, s>>>(d, 0.5f, (int)n);
	CK(cudaMemcpyAsync(h2, d, n * sizeof(float), cudaMemcpyDeviceToHost, s));
	CK(cudaStreamSynchronize(s));
	for (size_t i = 0; i < n; i++)
		bad += h2[i] != (float)(i % 1000) + 0.5f;
	CK(cudaStreamDestroy(s));
	CK(cudaFree(d));
	CK(cudaFreeHost(h1));
	CK(cudaFreeHost(h2));
	verdict(bad == 0, "async copy contents wrong");
}

static void t_fault(void)
{
	cudaError_t e;

	k_fault<<<1, 1>>>((int *)0x10);
	e = cudaDeviceSynchronize();
	std::printf("fault: %s (%d)\n", cudaGetErrorName(e), (int)e);
	verdict(e == cudaErrorIllegalAddress, "expected cudaErrorIllegalAddress");
}

static void t_props(void)
{
	cudaDeviceProp p;
	int dev, n;

	CK(cudaGetDeviceCount(&n));
	CK(cudaGetDevice(&dev));
	CK(cudaGetDeviceProperties(&p, dev));
	std::printf("prop name=%s\n", p.name);
	std::printf("prop totalGlobalMem=%zu\n", p.totalGlobalMem);
	std::printf("prop sharedMemPerBlock=%zu\n", p.sharedMemPerBlock);
	std::printf("prop regsPerBlock=%d\n", p.regsPerBlock);
	std::printf("prop warpSize=%d\n", p.warpSize);
	std::printf("prop memPitch=%zu\n", p.memPitch);
	std::printf("prop maxThreadsPerBlock=%d\n", p.maxThreadsPerBlock);
	std::printf("prop maxThreadsDim=%d,%d,%d\n", p.maxThreadsDim[0], p.maxThreadsDim[1],
		    p.maxThreadsDim[2]);
	std::printf("prop maxGridSize=%d,%d,%d\n", p.maxGridSize[0], p.maxGridSize[1],
		    p.maxGridSize[2]);
	std::printf("prop totalConstMem=%zu\n", p.totalConstMem);
	std::printf("prop major.minor=%d.%d\n", p.major, p.minor);
	std::printf("prop textureAlignment=%zu\n", p.textureAlignment);
	std::printf("prop multiProcessorCount=%d\n", p.multiProcessorCount);
	std::printf("prop integrated=%d\n", p.integrated);
	std::printf("prop canMapHostMemory=%d\n", p.canMapHostMemory);
	std::printf("prop concurrentKernels=%d\n", p.concurrentKernels);
	std::printf("prop ECCEnabled=%d\n", p.ECCEnabled);
	std::printf("prop pciBusID=%d pciDeviceID=%d pciDomainID=%d\n", p.pciBusID,
		    p.pciDeviceID, p.pciDomainID);
	std::printf("prop asyncEngineCount=%d\n", p.asyncEngineCount);
	std::printf("prop unifiedAddressing=%d\n", p.unifiedAddressing);
	std::printf("prop memoryBusWidth=%d\n", p.memoryBusWidth);
	std::printf("prop l2CacheSize=%d\n", p.l2CacheSize);
	std::printf("prop maxThreadsPerMultiProcessor=%d\n", p.maxThreadsPerMultiProcessor);
	std::printf("prop sharedMemPerMultiprocessor=%zu\n", p.sharedMemPerMultiprocessor);
	std::printf("prop regsPerMultiprocessor=%d\n", p.regsPerMultiprocessor);
	std::printf("prop managedMemory=%d\n", p.managedMemory);
	std::printf("prop sharedMemPerBlockOptin=%zu\n", p.sharedMemPerBlockOptin);
	std::printf("prop maxBlocksPerMultiProcessor=%d\n", p.maxBlocksPerMultiProcessor);
	std::printf("prop uuid=");
	for (int i = 0; i < 16; i++)
		std::printf("%02x", (unsigned char)p.uuid.bytes[i]);
	std::printf("\n");
	verdict(n >= 1 && p.major >= 1, "no device");
}

static double usec(std::chrono::steady_clock::time_point a,
		   std::chrono::steady_clock::time_point b)
{
	return std::chrono::duration<double, std::micro>(b - a).count();
}

static void t_bench(void)
{
	std::vector<double> t;
	const int reps = 2000;

	k_empty<<<1, 1>>>();
	CK(cudaDeviceSynchronize());
	for (int i = 0; i < reps; i++) {
		auto a = std::chrono::steady_clock::now();
		k_empty<<<1, 1>>>();
		cudaDeviceSynchronize();
		t.push_back(usec(a, std::chrono::steady_clock::now()));
	}
	std::sort(t.begin(), t.end());
	std::printf("bench launch+sync: p50 %.1f us p99 %.1f us (%d)\n", t[reps / 2],
		    t[reps * 99 / 100], reps);
	for (size_t sz = 4096; sz <= (64u << 20); sz *= 4) {
		void *h, *d;
		int n = sz < (1 << 20) ? 200 : 20;

		CK(cudaMallocHost(&h, sz));
		CK(cudaMalloc(&d, sz));
		for (int dir = 0; dir < 2; dir++) {
			t.clear();
			for (int i = 0; i < n; i++) {
				auto a = std::chrono::steady_clock::now();
				CK(cudaMemcpy(dir ? h : d, dir ? d : h, sz,
					      dir ? cudaMemcpyDeviceToHost : cudaMemcpyHostToDevice));
				t.push_back(usec(a, std::chrono::steady_clock::now()));
			}
			std::sort(t.begin(), t.end());
			std::printf("bench %s pinned %zu B: p50 %.1f us %.2f GB/s\n",
				    dir ? "D2H" : "H2D", sz, t[n / 2], sz / t[n / 2] / 1e3);
		}
		CK(cudaFree(d));
		CK(cudaFreeHost(h));
	}
	cur = "matmul";
	t_matmul();
	std::printf("bench matmul 512: %.3f ms\n", matmul_ms);
	cur = "bench";
	verdict(true, "");
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "vadd", t_vadd }, { "matmul", t_matmul }, { "symbols", t_symbols },
		{ "streams", t_streams }, { "pinned", t_pinned }, { "fault", t_fault },
		{ "props", t_props }, { "bench", t_bench },
	};
	if (argc < 2) {
		std::fprintf(stderr, "usage: %s TEST...  (vadd matmul symbols streams "
			     "pinned fault props bench)\n", argv[0]);
		return 2;
	}
	for (int a = 1; a < argc; a++) {
		bool found = false;

		for (auto &t : tests) {
			if (!std::strcmp(argv[a], t.name)) {
				cur = t.name;
				t.fn();
				found = true;
			}
		}
		if (!found) {
			std::fprintf(stderr, "%s: no test %s\n", argv[0], argv[a]);
			return 2;
		}
	}
	return failures ? 1 : 0;
}
