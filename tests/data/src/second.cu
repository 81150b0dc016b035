// A second translation unit, so that an executable's .nv_fatbin section
// holds two fat binaries back to back (tests/data/make-cuda-data.sh).
__device__ double d_second[16];

extern "C" __global__ void second_fill(double v)
{
	d_second[threadIdx.x & 15] = v;
}
