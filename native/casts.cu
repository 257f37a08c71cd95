// casts.cu: fp32 <-> bf16 conversions of whole buffers.
//
//   janus_cast_f32_bf16:  out[i] = bf16(in[i])    round to nearest even (NaN stays NaN, ±inf kept)
//   janus_cast_bf16_f32:  out[i] = float(in[i])   exact
//
// Shapes: in, out (n) flat. Launch: ceil(n/256) × 256, thread per element.
// CPU reference: HalfFloats.floatToBf16 / bf16ToFloat (janus-core), which round the same way.
#include "janus_common.cuh"

extern "C" __global__ void janus_cast_f32_bf16(__nv_bfloat16* out, const float* in, ll n) {
    ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        out[i] = __float2bfloat16_rn(in[i]);
    }
}

extern "C" __global__ void janus_cast_bf16_f32(float* out, const __nv_bfloat16* in, ll n) {
    ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        out[i] = __bfloat162float(in[i]);
    }
}
