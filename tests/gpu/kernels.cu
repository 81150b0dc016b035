// Guest-side kernels of the GPU suite and benchmarks; their PTX is embedded
// in gpu-kernels.h (nvcc --ptx -arch=compute_75 kernels.cu).
extern "C" __global__ void vt_saxpy(float *y, const float *x, float a,
				    unsigned int n)
{
	unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		y[i] = a * x[i] + y[i];
}

extern "C" __global__ void vt_fault(int *p)
{
	*(volatile int *)p = 1;
}

extern "C" __global__ void vt_spin(unsigned long long cycles)
{
	long long t0 = clock64();

	while ((unsigned long long)(clock64() - t0) < cycles)
		;
}

extern "C" __global__ void vt_empty(void)
{
}
