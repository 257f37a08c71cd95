// flash_attention_forward.cu: FlashAttention-2 forward (Dao 2023) over packed variable-length sequences.
//
// Per (query block of FA_BLOCK_M rows, query head h, sequence s); kv head = h / (H / KV) (GQA):
//   m = −inf, l = 0, acc = 0                                   (per row, fp32, in registers)
//   for each key block j (FA_BLOCK_N keys, from lo(first row) to hi(last row)):
//     S = Q_i·K_jᵀ · scale·log2(e), entries outside [lo(i), hi(i)] = −inf      (base-2 logits)
//     m_new = max(m, rowmax(S));  base = m_new, or 0 when m_new = −inf
//     P = 2^(S − base);  alpha = 2^(m − base)
//     l = l·alpha + rowsum(P);  acc = acc·alpha + bf16(P)·V_j;  m = m_new
//   O = acc / l  (l = 0: O = 0)        LSE = m·ln 2 + ln l  (l = 0: −inf)      O fp32 (Nq,H,D), LSE (Nq,H)
// which is docs/spec/model.md's algorithm with exp(x) = 2^(x·log2 e) (ex2 is one SFU op).
// Mask, layouts: flash_attention.cuh. CPU reference: FlashAttentionCpu.forward (fp32 everywhere; here
// Q, K, V and P are bf16 in the products, accumulation fp32, so equal within bf16 tolerance).
//
// Tensor cores: mma.sync m16n8k16 bf16 by inline PTX, not nvcuda::wmma: the online softmax needs each
// thread to know which rows and columns its accumulator registers hold (to take row maxima with two
// quad shuffles and to turn S's accumulators straight into the A operand of P·V without a round trip
// through shared memory); mma.sync's fragment layout is specified by the PTX ISA, wmma's is opaque.
// Each of the 4 warps owns 16 query rows; S for a 64-key block is 8 accumulator tiles per warp; O is
// DMAX/8 tiles. Q, K and V tiles live in padded shared memory (FA_FWD_SMEM_BYTES of dynamic shared
// memory, opt-in attribute set by the host); V's B fragments come from ldmatrix.trans.
// Head dims: d % 16 == 0, 16 ≤ d ≤ 128; compiled for DMAX 64 (d ≤ 64) and 128, columns past d are 0.
// Launch: grid (ceil(max Tq / FA_BLOCK_M), H, S), FA_THREADS threads, FA_FWD_SMEM_BYTES dynamic smem.
// A CTA whose block starts past its sequence's end exits; a row that sees no key gets O = 0, LSE = −inf.
#include "flash_attention.cuh"

namespace {

template <int DMAX>
__device__ __forceinline__ void forward(float* out, float* lse, const __nv_bfloat16* q, const __nv_bfloat16* k,
                                        const __nv_bfloat16* v, const int* cuQ, const int* cuK, int h, int kvh,
                                        int d, int causal, int window, float scale) {
    constexpr int BM = FA_BLOCK_M, BN = FA_BLOCK_N, NT = BN / 8, DT = DMAX / 8;
    JANUS_DYNAMIC_SMEM(smemRaw);
    __nv_bfloat16* sQ = reinterpret_cast<__nv_bfloat16*>(smemRaw);
    __nv_bfloat16* sK = sQ + BM * FA_SMEM_STRIDE;
    __nv_bfloat16* sV = sK + BN * FA_SMEM_STRIDE;

    const fa::Seq sq = fa::sequence(cuQ, cuK, blockIdx.z);
    const int head = blockIdx.y, i0 = blockIdx.x * BM;
    if (i0 >= sq.tq) {
        return;
    }
    const int kvHead = head / (h / kvh);
    const int rows = min(BM, sq.tq - i0);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int rA = warp * 16 + g, rB = rA + 8;  // this thread's two rows of the tile
    const int iA = i0 + rA, iB = i0 + rB;        // ... in the sequence
    const float scaleLog2 = scale * JANUS_LOG2E;

    fa::loadTile<DMAX, BM>(sQ, q, sq.qStart + i0, rows, h, head, d);

    float o[DT][4];
#pragma unroll
    for (int n = 0; n < DT; n++) {
        o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    }
    float mA = -INFINITY, mB = -INFINITY, lA = 0.0f, lB = 0.0f;  // l: this thread's partial row sums

    const int jBegin = fa::loKey(sq, i0, window), jEnd = fa::hiKey(sq, i0 + rows - 1, causal);
    // Tiles where every valid row sees every key need no mask.
    const int loLast = fa::loKey(sq, i0 + rows - 1, window), hiFirst = fa::hiKey(sq, i0, causal);
    for (int j0 = jBegin; j0 <= jEnd; j0 += BN) {
        __syncthreads();  // the previous tile's readers are done (and sQ is written, first time)
        const int cols = min(BN, sq.tk - j0);
        fa::loadTile<DMAX, BN>(sK, k, sq.kStart + j0, cols, kvh, kvHead, d);
        fa::loadTile<DMAX, BN>(sV, v, sq.kStart + j0, cols, kvh, kvHead, d);
        __syncthreads();

        // S = Q_i · K_jᵀ                                                     (16 x BN per warp)
        float s[NT][4];
#pragma unroll
        for (int n = 0; n < NT; n++) {
            s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
        }
#pragma unroll
        for (int kk = 0; kk < DMAX / 16; kk++) {
            uint32_t a[4];
            fa::loadA(a, sQ, warp * 16, kk, g, t);
#pragma unroll
            for (int n = 0; n < NT; n++) {
                uint32_t b0, b1;
                fa::loadBRows(b0, b1, sK, n * 8, kk, g, t);
                janus_mma_bf16(s[n], a, b0, b1);
            }
        }

        // scale to base 2, mask, row maxima
        const bool full = loLast <= j0 && j0 + BN - 1 <= hiFirst;
        float maxA = -INFINITY, maxB = -INFINITY;
#pragma unroll
        for (int n = 0; n < NT; n++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float x = s[n][e] * scaleLog2;
                if (!full) {
                    int j = j0 + n * 8 + 2 * t + (e & 1);
                    if (!fa::allowed(sq, e < 2 ? iA : iB, j, causal, window)) {
                        x = -INFINITY;
                    }
                }
                s[n][e] = x;
            }
            maxA = fmaxf(maxA, fmaxf(s[n][0], s[n][1]));
            maxB = fmaxf(maxB, fmaxf(s[n][2], s[n][3]));
        }
#pragma unroll
        for (int o2 = 1; o2 <= 2; o2 <<= 1) {  // the 4 threads of a quad hold one row
            maxA = fmaxf(maxA, __shfl_xor_sync(0xffffffffu, maxA, o2));
            maxB = fmaxf(maxB, __shfl_xor_sync(0xffffffffu, maxB, o2));
        }
        const float newA = fmaxf(mA, maxA), newB = fmaxf(mB, maxB);
        const float baseA = newA == -INFINITY ? 0.0f : newA, baseB = newB == -INFINITY ? 0.0f : newB;
        const float alphaA = exp2f(mA - baseA), alphaB = exp2f(mB - baseB);
        float sumA = 0.0f, sumB = 0.0f;
#pragma unroll
        for (int n = 0; n < NT; n++) {
            s[n][0] = exp2f(s[n][0] - baseA);
            s[n][1] = exp2f(s[n][1] - baseA);
            s[n][2] = exp2f(s[n][2] - baseB);
            s[n][3] = exp2f(s[n][3] - baseB);
            sumA += s[n][0] + s[n][1];
            sumB += s[n][2] + s[n][3];
        }
        lA = lA * alphaA + sumA;
        lB = lB * alphaB + sumB;
        mA = newA;
        mB = newB;
#pragma unroll
        for (int n = 0; n < DT; n++) {
            o[n][0] *= alphaA;
            o[n][1] *= alphaA;
            o[n][2] *= alphaB;
            o[n][3] *= alphaB;
        }

        // acc += bf16(P) · V_j                                               (16 x DMAX per warp)
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
            uint32_t a[4];
            fa::accToA(a, s[2 * kk], s[2 * kk + 1]);
#pragma unroll
            for (int np = 0; np < DMAX / 16; np++) {
                uint32_t b[4];
                fa::loadBCols(b, sV, kk * 16, np * 16, lane);
                janus_mma_bf16(o[2 * np], a, b[0], b[1]);
                janus_mma_bf16(o[2 * np + 1], a, b[2], b[3]);
            }
        }
    }

    // O = acc / l, LSE = m·ln 2 + ln l
#pragma unroll
    for (int o2 = 1; o2 <= 2; o2 <<= 1) {
        lA += __shfl_xor_sync(0xffffffffu, lA, o2);
        lB += __shfl_xor_sync(0xffffffffu, lB, o2);
    }
    const float invA = lA == 0.0f ? 0.0f : 1.0f / lA, invB = lB == 0.0f ? 0.0f : 1.0f / lB;
    const ll rowA = (ll)(sq.qStart + iA) * h + head, rowB = (ll)(sq.qStart + iB) * h + head;
#pragma unroll
    for (int n = 0; n < DT; n++) {
        int col = n * 8 + 2 * t;
        if (col < d) {
            if (rA < rows) {
                *reinterpret_cast<float2*>(out + rowA * d + col) = make_float2(o[n][0] * invA, o[n][1] * invA);
            }
            if (rB < rows) {
                *reinterpret_cast<float2*>(out + rowB * d + col) = make_float2(o[n][2] * invB, o[n][3] * invB);
            }
        }
    }
    if (t == 0) {
        if (rA < rows) {
            lse[rowA] = lA == 0.0f ? -INFINITY : mA * JANUS_LN2 + logf(lA);
        }
        if (rB < rows) {
            lse[rowB] = lB == 0.0f ? -INFINITY : mB * JANUS_LN2 + logf(lB);
        }
    }
}

}  // namespace

extern "C" __global__ void __launch_bounds__(FA_THREADS)
    janus_flash_attention_forward(float* out, float* lse, const __nv_bfloat16* q, const __nv_bfloat16* k,
                                  const __nv_bfloat16* v, const int* cuQ, const int* cuK, int h, int kvh, int d,
                                  int causal, int window, float scale) {
    if (d <= 64) {
        forward<64>(out, lse, q, k, v, cuQ, cuK, h, kvh, d, causal, window, scale);
    } else {
        forward<128>(out, lse, q, k, v, cuQ, cuK, h, kvh, d, causal, window, scale);
    }
}
