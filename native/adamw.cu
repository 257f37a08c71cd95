// adamw.cu: AdamW with fp32 moments (PyTorch torch.optim.AdamW semantics), one element per thread.
//
//   p ← p · decayFactor                                   decoupled decay first (1 − lr·wd; 1 = none)
//   m ← fma(g, 1−β1, m·β1)                                ATen's add with alpha is an fma
//   v ← v·β2 + ((1−β2)·g)·g                               addcmul: no fma
//   p ← p + (negStepSize·m) / (sqrt(v) / sqrtBiasCorrection2 + eps)     addcdiv: no fma
//
// with negStepSize = −lr/(1 − β1^t) and sqrtBiasCorrection2 = sqrt(1 − β2^t), computed on the host
// in double and rounded to float as AdamW.Coefficients does. The operations and their order are
// AdamWKernel.update's (fma exactly where it has one, written as __fmaf_rn; every other op an
// explicitly rounded intrinsic so nvcc cannot contract it), so the result is bit-identical to the
// CPU for fp32 parameters. A non-finite gradient propagates, as in PyTorch.
//
// Shapes: p, g, m, v (n) flat, one parameter tensor (or the whole flat parameter buffer).
// Launch: ceil(n/256) × 256.
#include "janus_common.cuh"

extern "C" __global__ void janus_adamw_step(float* p, const float* g, float* m, float* v, ll n, float beta1,
                                            float oneMinusBeta1, float beta2, float oneMinusBeta2, float eps,
                                            float sqrtBiasCorrection2, float negStepSize, float decayFactor) {
    ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    float gi = g[i];
    float pi = __fmul_rn(p[i], decayFactor);
    float mi = __fmaf_rn(gi, oneMinusBeta1, __fmul_rn(m[i], beta1));
    float vi = __fadd_rn(__fmul_rn(v[i], beta2), __fmul_rn(__fmul_rn(gi, oneMinusBeta2), gi));
    float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), sqrtBiasCorrection2), eps);
    m[i] = mi;
    v[i] = vi;
    p[i] = __fadd_rn(pi, __fdiv_rn(__fmul_rn(mi, negStepSize), denom));
}
