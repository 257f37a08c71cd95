// rope.cu: rotary position embedding, HF "rotate_half" convention, in place.
//
//   for each token n, head h, j < D/2, with c = cos[n, j] and s = sinSign·sin[n, j]:
//     x[n,h,j]       <- x[n,h,j]·c − x[n,h,j+D/2]·s
//     x[n,h,j+D/2]   <- x[n,h,j+D/2]·c + x[n,h,j]·s
//   forward sinSign = +1; backward (on the gradient) sinSign = −1: the transpose of a rotation is
//   the rotation by the opposite angle.
//
// Shapes: x (N, heads, D); cos, sin (N, D/2), one row per token's position (positions restart at
// 0 per packed sequence; the host builds the rows). D even.
// Launch: N × min(1024, roundup32(heads·D/2)); a thread per (head, j) pair, looping when there
// are more pairs than threads. Same products and order as CpuBackend.rotate: bit-identical.
#include "janus_common.cuh"

extern "C" __global__ void janus_rope(float* x, const float* cos, const float* sin, int n, int heads, int d,
                                      float sinSign) {
    int token = blockIdx.x;
    if (token >= n) {
        return;
    }
    int half = d / 2;
    float* row = x + (ll)token * heads * d;
    const float* c = cos + (ll)token * half;
    const float* s = sin + (ll)token * half;
    for (int pair = threadIdx.x; pair < heads * half; pair += blockDim.x) {
        int h = pair / half, j = pair - h * half;
        float* base = row + (ll)h * d;
        float x1 = base[j], x2 = base[j + half];
        float cj = c[j], sj = __fmul_rn(sinSign, s[j]);
        base[j] = __fsub_rn(__fmul_rn(x1, cj), __fmul_rn(x2, sj));
        base[j + half] = __fadd_rn(__fmul_rn(x2, cj), __fmul_rn(x1, sj));
    }
}
