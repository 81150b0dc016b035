// SPDX-License-Identifier: MIT
// drv_kernels.cu - the kernels of drv_tests.c (tests/gpu/cuda), built by run.sh
// twice: a fat binary with SASS for the GPU and PTX (loaded as it is), and PTX
// text alone (JIT-compiled by the driver at load). Plain C linkage: the host
// program finds them by name.

__constant__ float dk_coef[4];   // written by the host with cuModuleGetGlobal
__device__ unsigned int dk_hits;

extern "C" __global__ void dk_vadd(const float *a, const float *b, float *c, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		c[i] = a[i] + b[i];
}

extern "C" __global__ void dk_saxpy(int n, float a, const float *x, float *y)
{
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
		y[i] = a * x[i] + y[i];
}

// y = c0 + x * (c1 + x * c2), and a count of x == c3 in dk_hits.
extern "C" __global__ void dk_poly(const float *x, float *y, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n) {
		y[i] = dk_coef[0] + x[i] * (dk_coef[1] + x[i] * dk_coef[2]);
		if (x[i] == dk_coef[3])
			atomicAdd(&dk_hits, 1u);
	}
}

// One partial sum per block, in dynamic shared memory of blockDim.x words;
// the words past blockDim.x (a launch may give more) are written and read
// back too, so that an opt-in size beyond 48 KiB is really used.
extern "C" __global__ void dk_reduce(const unsigned int *in, unsigned long long *out, int n,
				     int extra_words)
{
	extern __shared__ unsigned int s[];
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	s[threadIdx.x] = i < n ? in[i] : 0u;
	for (int k = threadIdx.x; k < extra_words; k += blockDim.x)
		s[blockDim.x + k] = 1u;
	__syncthreads();
	for (int k = blockDim.x / 2; k > 0; k >>= 1) {
		if (threadIdx.x < k)
			s[threadIdx.x] += s[threadIdx.x + k];
		__syncthreads();
	}
	if (threadIdx.x == 0) {
		unsigned int ones = 0;

		for (int k = 0; k < extra_words; k++)
			ones += s[blockDim.x + k];
		atomicAdd(out, (unsigned long long)s[0]);
		atomicAdd(out + 1, (unsigned long long)ones);
	}
}

// p[i] = p[i] * m + k, for the streams test (each stream its own buffer).
extern "C" __global__ void dk_affine(unsigned int *p, unsigned int m, unsigned int k, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		p[i] = p[i] * m + k;
}

#define DK_T 16
extern "C" __global__ void dk_matmul(const float *A, const float *B, float *C, int n)
{
	__shared__ float As[DK_T][DK_T], Bs[DK_T][DK_T];
	int r = blockIdx.y * DK_T + threadIdx.y, c = blockIdx.x * DK_T + threadIdx.x;
	float acc = 0.0f;

	for (int t = 0; t < (n + DK_T - 1) / DK_T; t++) {
		As[threadIdx.y][threadIdx.x] =
			(r < n && t * DK_T + threadIdx.x < n) ? A[r * n + t * DK_T + threadIdx.x] : 0.0f;
		Bs[threadIdx.y][threadIdx.x] =
			(c < n && t * DK_T + threadIdx.y < n) ? B[(t * DK_T + threadIdx.y) * n + c] : 0.0f;
		__syncthreads();
		for (int k = 0; k < DK_T; k++)
			acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
		__syncthreads();
	}
	if (r < n && c < n)
		C[r * n + c] = acc;
}

extern "C" __global__ void dk_empty(void)
{
}
