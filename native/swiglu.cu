// swiglu.cu: the SwiGLU gate of the MLP and its backward.
//
//   forward:   out = silu(gate) ⊙ up,  silu(x) = x·σ(x)                 computed as (g·σ(g))·u
//   backward:  with s = σ(g):  dUp = dOut ⊙ (g·s)
//                              dGate = (dOut ⊙ up) ⊙ s·(1 + g·(1 − s))   (d silu/dg)
//
// Shapes: gate, up, out, dOut, dGate, dUp (N, F) flat; out may alias gate or up (each element is
// read before it is written by its own thread). Both backward outputs are overwritten.
// σ uses the CPU's exp (janus_exp, Simd.exp) and the same operation order as Simd.swiglu /
// Simd.swigluBackward, so results are bit-identical to CpuBackend.
// Launch: ceil(n/256) × 256.
#include "janus_common.cuh"

extern "C" __global__ void janus_swiglu_forward(float* out, const float* gate, const float* up, ll n) {
    ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float g = gate[i], u = up[i];
        out[i] = __fmul_rn(__fmul_rn(g, janus_sigmoid(g)), u);
    }
}

extern "C" __global__ void janus_swiglu_backward(float* dGate, float* dUp, const float* dOut, const float* gate,
                                                 const float* up, ll n) {
    ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float g = gate[i], u = up[i], d = dOut[i];
        float s = janus_sigmoid(g);
        float dSilu = __fmul_rn(s, __fadd_rn(1.0f, __fmul_rn(g, __fsub_rn(1.0f, s))));
        dGate[i] = __fmul_rn(__fmul_rn(d, u), dSilu);
        dUp[i] = __fmul_rn(d, __fmul_rn(g, s));
    }
}
