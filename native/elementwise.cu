// elementwise.cu: the element-wise helpers of the backend and the optimizer.
//
//   janus_add:    acc[i] += x[i]      (Backend.add; residual-stream gradient sums)
//   janus_scale:  x[i]   *= factor    (GradClip.clip's g.mul_(coef), coef rounded to float on the host)
//
// Shapes: flat (n). Launch: ceil(n/256) × 256. One rounding per element, as on the CPU: bit-identical.
#include "janus_common.cuh"

extern "C" __global__ void janus_add(float* acc, const float* x, ll n) {
    ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        acc[i] = __fadd_rn(acc[i], x[i]);
    }
}

extern "C" __global__ void janus_scale(float* x, ll n, float factor) {
    ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        x[i] = __fmul_rn(x[i], factor);
    }
}
