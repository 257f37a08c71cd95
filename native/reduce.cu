// reduce.cu: the global gradient L2 norm (GradClip.norm): Σ over every gradient tensor of Σ g².
//
//   partial:   partial[b] = Σ_{i ≡ b·256 + t (mod gridDim·256)} double(x[i])²   (double accumulation)
//   finalize:  out[0] = Σ_b partial[b]            (or out[0] += … with accumulate = 1)
//
// The host runs one partial+finalize pair per gradient tensor, in tensor order, accumulating into
// one double, then takes sqrt on the host. Every sum has a fixed order (per-thread grid strides,
// then a fixed tree), so the norm is deterministic for a given grid; it equals the CPU's chunked
// double sum to double rounding (the orders differ), far below the float rounding of the gradients.
// Launch: partial min(ceil(n/4096), 1024) × 256 (n > 0); finalize 1 × 256.
#include "janus_common.cuh"

extern "C" __global__ void janus_sum_squares_partial(double* partial, const float* x, ll n) {
    __shared__ double scratch[32];
    double sum = 0.0;
    ll stride = (ll)gridDim.x * blockDim.x;
    for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        double xi = (double)x[i];
        sum += xi * xi;
    }
    sum = janus_block_sum(sum, scratch);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = sum;
    }
}

extern "C" __global__ void janus_sum_finalize(double* out, const double* partial, int parts, int accumulate) {
    __shared__ double scratch[32];
    double sum = 0.0;
    for (int i = threadIdx.x; i < parts; i += blockDim.x) {
        sum += partial[i];
    }
    sum = janus_block_sum(sum, scratch);
    if (threadIdx.x == 0) {
        out[0] = accumulate ? out[0] + sum : sum;
    }
}
