// rmsnorm.cu: RMSNorm forward and backward (Mistral's input/post-attention/final norms).
//
//   forward:   rstd[n] = float(1 / sqrt(double(float(Σ_c x[n,c]² / C) + eps)))
//              out[n,c] = w[c] · (x[n,c] · rstd[n])
//   backward:  with r = rstd[n], g = w ⊙ dOut[n]:
//              dx[n,c] += r·g[c] − (r³·(g·x[n]) / C)·x[n,c]            (accumulates: residual stream)
//              dw[c]   += Σ_n dOut[n,c]·x[n,c]·r[n]                      (accumulates; rows in order)
//
// Shapes: x, out, dOut, dx (N, C); w, dw (C); rstd (N), saved by the forward. out may alias x (a
// block reads its whole row into the reduction before any thread writes; each thread rewrites only
// the elements it read itself).
// Numerics: the squares are float products summed in double as CpuBackend.rmsNorm does (the sum's
// order differs: per-thread strides then a fixed tree), then the CPU's float/double steps. dw walks
// the rows in order with the CPU's products: bit-identical to CpuBackend. dx's dot product is a
// fixed-order float tree (the CPU's is lane-wise fma): equal to within float rounding.
// Launch: forward and dx N × 256 (block per row); dw ceil(C/256) × 256 (thread per column).
#include "janus_common.cuh"

extern "C" __global__ void janus_rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int n, int c,
                                                 float eps) {
    __shared__ double scratch[32];
    int row = blockIdx.x;
    if (row >= n) {
        return;
    }
    const float* xr = x + (ll)row * c;
    float* outr = out + (ll)row * c;
    double sum = 0.0;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        float xi = xr[i];
        sum += (double)__fmul_rn(xi, xi);
    }
    sum = janus_block_sum(sum, scratch);
    float meanSquare = (float)(sum / (double)c);
    float s = (float)(1.0 / sqrt((double)__fadd_rn(meanSquare, eps)));
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        outr[i] = __fmul_rn(w[i], __fmul_rn(xr[i], s));
    }
    if (threadIdx.x == 0) {
        rstd[row] = s;
    }
}

extern "C" __global__ void janus_rmsnorm_backward_dx(float* dx, const float* dOut, const float* x, const float* w,
                                                     const float* rstd, int n, int c) {
    __shared__ float scratch[32];
    int row = blockIdx.x;
    if (row >= n) {
        return;
    }
    const float* xr = x + (ll)row * c;
    const float* gr = dOut + (ll)row * c;
    float* dr = dx + (ll)row * c;
    float dot = 0.0f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        dot = __fadd_rn(dot, __fmul_rn(__fmul_rn(gr[i], w[i]), xr[i]));
    }
    dot = janus_block_sum(dot, scratch);
    float s = rstd[row];
    float coef = __fdiv_rn(__fmul_rn(__fmul_rn(__fmul_rn(s, s), s), dot), (float)c);
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        float g = __fmul_rn(gr[i], w[i]);
        dr[i] = __fadd_rn(dr[i], __fsub_rn(__fmul_rn(s, g), __fmul_rn(coef, xr[i])));
    }
}

extern "C" __global__ void janus_rmsnorm_backward_dw(float* dw, const float* dOut, const float* x, const float* rstd,
                                                     int n, int c) {
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= c) {
        return;
    }
    float acc = 0.0f;
    for (int t = 0; t < n; t++) {
        ll at = (ll)t * c + col;
        acc = __fadd_rn(acc, __fmul_rn(__fmul_rn(dOut[at], x[at]), rstd[t]));
    }
    dw[col] = __fadd_rn(dw[col], acc);
}
