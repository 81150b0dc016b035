// Test-data kernels: nvcc's PTX/cubin/fatbin of these are checked into tests/data.
__constant__ float kc_coef[4];
__device__ int kd_counter;
__device__ float kd_table[256];
extern "C" __global__ void vadd(const float *a, const float *b, float *c, int n)
{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) c[i] = a[i] + b[i]; }
extern "C" __global__ void saxpy(int n, float a, const float *x, float *y)
{ for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) y[i] = a * x[i] + y[i]; }
#define T 16
extern "C" __global__ void matmul_tiled(const float *A, const float *B, float *C, int n)
{
	__shared__ float As[T][T], Bs[T][T];
	int r = blockIdx.y * T + threadIdx.y, c = blockIdx.x * T + threadIdx.x;
	float acc = 0.f;
	for (int t = 0; t < (n + T - 1) / T; t++) {
		As[threadIdx.y][threadIdx.x] = (r < n && t * T + threadIdx.x < n) ? A[r * n + t * T + threadIdx.x] : 0.f;
		Bs[threadIdx.y][threadIdx.x] = (c < n && t * T + threadIdx.y < n) ? B[(t * T + threadIdx.y) * n + c] : 0.f;
		__syncthreads();
		for (int k = 0; k < T; k++) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
		__syncthreads();
	}
	if (r < n && c < n) C[r * n + c] = acc;
}
extern "C" __global__ void reduce_sum(const float *in, float *out, int n)
{
	extern __shared__ float s[];
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	s[threadIdx.x] = i < n ? in[i] : 0.f;
	__syncthreads();
	for (int k = blockDim.x / 2; k > 0; k >>= 1) { if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k]; __syncthreads(); }
	if (threadIdx.x == 0) atomicAdd(out, s[0]);
}
extern "C" __global__ void fill_u32(unsigned *p, unsigned v, unsigned long long n)
{ for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n; i += (unsigned long long)blockDim.x * gridDim.x) p[i] = v; }
extern "C" __global__ void const_poly(const float *x, float *y, int n)
{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = kc_coef[0] + x[i] * (kc_coef[1] + x[i] * kc_coef[2]); }
extern "C" __global__ void count_hits(const int *v, int n, int want)
{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n && v[i] == want) atomicAdd(&kd_counter, 1); }
extern "C" __global__ void table_lookup(const int *idx, float *out, int n)
{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) out[i] = kd_table[idx[i] & 255]; }
extern "C" __global__ void fault_write(int *p) { p[threadIdx.x] = 1; }
extern "C" __global__ void spin_forever(volatile int *flag) { while (*flag == 0) { } }
extern "C" __global__ void empty_kernel() { }
struct Big { double d[3]; int k; char c; };
extern "C" __global__ void params_mixed(char c, short s, int i, long long l, float f, double d, Big b, float *out)
{ out[0] = c + s + i + (float)l + f + (float)d + (float)b.d[1] + b.k + b.c; }
