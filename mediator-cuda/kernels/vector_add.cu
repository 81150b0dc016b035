// The built-in VECTOR_ADD kernel of the cuda executor. Its PTX is embedded
// in vector_add_ptx.h (regenerate: scripts in the header's comment).
extern "C" __global__ void vgpu_vector_add(const float *a, const float *b,
					   float *c, unsigned int n)
{
	unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		c[i] = a[i] + b[i];
}
