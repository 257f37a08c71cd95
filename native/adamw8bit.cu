// adamw8bit.cu: blockwise 8-bit AdamW (bitsandbytes 0.43 adamw_bnb_8bit), docs/spec/adamw8bit.md
// and AdamW8bit.blockUpdate / fp32StateUpdate (janus-core) operation for operation.
//
// State per parameter tensor of n ≥ 4096 elements: code1, code2 (n) uint8 codes into the signed map
// qmap1 (m) and the unsigned map qmap2 (v); absmax1, absmax2 (ceil(n/2048)) fp32 block scales.
// One step, per block b of 2048 elements (the last one partial), with the host's float32
// coefficients (AdamW8bit.Coefficients: stepSize = −lr·c2/c1, c2eps = c2·eps, decay = 1 − lr·wd):
//
//   for j in block:  if g_j finite:  s1 = β1·(qmap1[code1_j]·absmax1[b]) + (1−β1)·g_j
//                                    s2 = β2·(qmap2[code2_j]·absmax2[b]) + (1−β2)·(g_j·g_j)
//                    else:           s1 = s2 = 0                 (a non-finite gradient resets the moments)
//   new1 = max_j |s1|,  new2 = max_j s2       (as comparisons from 0: a NaN moment never becomes a scale)
//   for j with g_j finite:  p_j ← p_j + (stepSize·s1) / (sqrt(s2) + c2eps);  if decays: p_j ← p_j·decay
//   code1_j = new1 = 0 ? 127 : signedCode(s1/new1, s1);  code2_j = new2 = 0 ? 0 : quantize(qmap2, s2/new2)
//
// quantize is the spec's fixed 7-step binary search with the midpoint rule (QuantizationMaps.quantize;
// the CPU's QuantizerTable returns the same code for every float), signedCode moves the code one step
// towards the moment's side when the code's value has the other sign (Math.signum semantics: NaN and
// ±0 compare as themselves). All float ops are explicitly rounded intrinsics in the CPU's order (Java
// has no fma contraction), so with fp32 parameters the codes, scales and weights are bit-identical to
// the CPU. The block max is order-independent (max of non-NaN values), so the tree reduction is exact.
//
// Tensors of n < 4096 elements keep fp32 m and v: janus_adamw8bit_fp32state_step, the same formula
// without quantization (AdamW8bit.fp32StateUpdate).
//
// Launch: janus_adamw8bit_step ceil(n/2048) × 256 (a CTA per quantization block, 8 elements per
// thread, strided by 256 for coalescing); janus_adamw8bit_fp32state_step ceil(n/256) × 256.
#include "janus_common.cuh"

namespace {

__device__ __forceinline__ bool janus_is_finite(float x) {
    return isfinite(x);
}

// Java's Math.signum(float): ±1, or x itself for ±0 and NaN.
__device__ __forceinline__ float janus_signum(float x) {
    return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);
}

// QuantizationMaps.quantize: the spec's fixed search over a sorted 256-entry map.
__device__ __forceinline__ int janus_quantize(const float* code, float x, bool isSigned) {
    int pivot = 127, upperPivot = 255, lowerPivot = 0;
    float lower = isSigned ? -1.0f : 0.0f, upper = 1.0f;
    float val = code[127];
#pragma unroll
    for (int i = 64; i > 0; i >>= 1) {
        if (x > val) {
            lowerPivot = pivot;
            lower = val;
            pivot += i;
        } else {
            upperPivot = pivot;
            upper = val;
            pivot -= i;
        }
        val = code[pivot];
    }
    if (x > val) {
        return x > __fdiv_rn(__fadd_rn(upper, val), 2.0f) ? upperPivot : pivot;
    }
    return x < __fdiv_rn(__fadd_rn(lower, val), 2.0f) ? lowerPivot : pivot;
}

// The moment update of one element with finite g (blockUpdate / fp32StateUpdate).
__device__ __forceinline__ float janus_first_moment(float m, float g, float beta1, float oneMinusBeta1) {
    return __fadd_rn(__fmul_rn(beta1, m), __fmul_rn(oneMinusBeta1, g));
}

__device__ __forceinline__ float janus_second_moment(float v, float g, float beta2, float oneMinusBeta2) {
    return __fadd_rn(__fmul_rn(beta2, v), __fmul_rn(oneMinusBeta2, __fmul_rn(g, g)));
}

// p + stepSize·s1 / (sqrt(s2) + c2eps), then the decay when on (Java: ((stepSize·s1) / denom), left to right).
__device__ __forceinline__ float janus_weight(float p, float s1, float s2, float stepSize, float c2eps, float decay,
                                              int decays) {
    float x = __fadd_rn(p, __fdiv_rn(__fmul_rn(stepSize, s1), __fadd_rn(__fsqrt_rn(s2), c2eps)));
    return decays ? __fmul_rn(x, decay) : x;
}

// max as a comparison (blockUpdate's `if (a > new) new = a`): NaN never wins.
__device__ __forceinline__ float janus_cmp_max(float current, float a) {
    return a > current ? a : current;
}

}  // namespace

extern "C" __global__ void __launch_bounds__(JANUS_THREADS)
    janus_adamw8bit_step(float* p, const float* g, unsigned char* code1, unsigned char* code2, float* absmax1,
                         float* absmax2, const float* qmapSigned, const float* qmapUnsigned, ll n, float beta1,
                         float oneMinusBeta1, float beta2, float oneMinusBeta2, float stepSize, float c2eps,
                         float decay, int decays) {
    __shared__ float map1[256], map2[256];
    __shared__ float max1[JANUS_THREADS / 32], max2[JANUS_THREADS / 32];
    const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
    const ll block = blockIdx.x;
    const ll start = block * ADAMW8_BLOCK;
    map1[t] = qmapSigned[t];
    map2[t] = qmapUnsigned[t];
    __syncthreads();

    const float scale1 = absmax1[block], scale2 = absmax2[block];
    float s1[ADAMW8_PER_THREAD], s2[ADAMW8_PER_THREAD];
    bool finite[ADAMW8_PER_THREAD];
    float new1 = 0.0f, new2 = 0.0f;
#pragma unroll
    for (int k = 0; k < ADAMW8_PER_THREAD; k++) {
        ll j = start + t + k * JANUS_THREADS;
        s1[k] = 0.0f;
        s2[k] = 0.0f;
        finite[k] = false;
        if (j < n) {
            float gj = g[j];
            finite[k] = janus_is_finite(gj);
            if (finite[k]) {
                s1[k] = janus_first_moment(__fmul_rn(map1[code1[j]], scale1), gj, beta1, oneMinusBeta1);
                s2[k] = janus_second_moment(__fmul_rn(map2[code2[j]], scale2), gj, beta2, oneMinusBeta2);
            }
            new1 = janus_cmp_max(new1, fabsf(s1[k]));
            new2 = janus_cmp_max(new2, s2[k]);
        }
    }
    // Block max: values are ≥ 0 and NaN-free here, so any order gives the same result.
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        new1 = janus_cmp_max(new1, __shfl_xor_sync(0xffffffffu, new1, o));
        new2 = janus_cmp_max(new2, __shfl_xor_sync(0xffffffffu, new2, o));
    }
    if (lane == 0) {
        max1[warp] = new1;
        max2[warp] = new2;
    }
    __syncthreads();
    new1 = 0.0f;
    new2 = 0.0f;
#pragma unroll
    for (int w = 0; w < JANUS_THREADS / 32; w++) {
        new1 = janus_cmp_max(new1, max1[w]);
        new2 = janus_cmp_max(new2, max2[w]);
    }
    if (t == 0) {
        absmax1[block] = new1;
        absmax2[block] = new2;
    }

#pragma unroll
    for (int k = 0; k < ADAMW8_PER_THREAD; k++) {
        ll j = start + t + k * JANUS_THREADS;
        if (j < n) {
            if (finite[k]) {
                p[j] = janus_weight(p[j], s1[k], s2[k], stepSize, c2eps, decay, decays);
            }
            int c1;
            if (new1 == 0.0f) {
                c1 = 127;  // QuantizationMaps.SIGNED_ZERO_CODE
            } else {
                c1 = janus_quantize(map1, __fdiv_rn(s1[k], new1), true);
                if (janus_signum(map1[c1]) != janus_signum(s1[k])) {
                    c1 += s1[k] > 0.0f ? 1 : -1;
                }
            }
            int c2 = new2 == 0.0f ? 0 : janus_quantize(map2, __fdiv_rn(s2[k], new2), false);  // UNSIGNED_ZERO_CODE
            code1[j] = (unsigned char)(c1 & 0xff);
            code2[j] = (unsigned char)(c2 & 0xff);
        }
    }
}

extern "C" __global__ void janus_adamw8bit_fp32state_step(float* p, const float* g, float* m, float* v, ll n,
                                                          float beta1, float oneMinusBeta1, float beta2,
                                                          float oneMinusBeta2, float stepSize, float c2eps,
                                                          float decay, int decays) {
    ll j = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) {
        return;
    }
    float gj = g[j];
    if (!janus_is_finite(gj)) {
        m[j] = 0.0f;
        v[j] = 0.0f;
        return;
    }
    float mj = janus_first_moment(m[j], gj, beta1, oneMinusBeta1);
    float vj = janus_second_moment(v[j], gj, beta2, oneMinusBeta2);
    m[j] = mj;
    v[j] = vj;
    p[j] = janus_weight(p[j], mj, vj, stepSize, c2eps, decay, decays);
}
