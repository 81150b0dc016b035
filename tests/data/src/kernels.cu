// Test data for cuda-api/fatbin.c (not run by CI: tests/data/make-cuda-data.sh
// compiles it once on the GPU machine; the outputs are checked in next to
// it). Small on purpose: every kind of thing the walker and the cubin reader
// must find, once.
//   c_coeff    __constant__, 64 ints           -> .nv.constant3 (256 bytes)
//   d_table    __device__, no initialiser      -> .nv.global (NOBITS, 1 KiB)
//   d_counter  __device__ with an initialiser  -> .nv.global.init (4 bytes)
__constant__ int c_coeff[64];
__device__ float d_table[256];
__device__ int d_counter = 7;

extern "C" __global__ void vadd(const float *a, const float *b, float *c, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		c[i] = a[i] + b[i];
}

// A C++ (mangled) name: _Z5scalePffi
__global__ void scale(float *x, float s, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		x[i] *= s;
}

extern "C" __global__ void uses_tables(int *out)
{
	int t = threadIdx.x & 63;

	out[threadIdx.x] = c_coeff[t] + (int)d_table[threadIdx.x & 255] + d_counter;
}

extern "C" __global__ void block_sum(const float *in, float *out)
{
	__shared__ float buf[128];
	int t = threadIdx.x;

	buf[t] = in[blockIdx.x * 128 + t];
	__syncthreads();
	for (int s = 64; s > 0; s >>= 1) {
		if (t < s)
			buf[t] += buf[t + s];
		__syncthreads();
	}
	if (t == 0)
		out[blockIdx.x] = buf[0];
}
