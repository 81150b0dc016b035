// Guest kernels of the GPU suite's revision-2 cases; their PTX is in
// gpu-kernels-r2.h (written by hand in nvcc's style: nvcc is not on the
// development machines; `nvcc --ptx -arch=compute_75 kernels-r2.cu` on the
// GPU machine gives equivalent code).
__device__ unsigned int vt_counter;
__device__ unsigned char vt_table[256];

// Spins until *flag is not 0: holds its stream until the test lets it go.
extern "C" __global__ void vt_gate(volatile unsigned int *flag)
{
	while (*flag == 0)
		;
}

extern "C" __global__ void vt_fill(unsigned int *p, unsigned int v, unsigned int n)
{
	unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		p[i] = v;
}

// One thread: out[0] = vt_counter++, out[1] = the table's second word.
extern "C" __global__ void vt_global_rw(unsigned int *out)
{
	unsigned int c = vt_counter;

	out[0] = c;
	vt_counter = c + 1;
	out[1] = ((unsigned int *)vt_table)[1];
}
