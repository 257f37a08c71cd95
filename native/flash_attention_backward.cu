// flash_attention_backward.cu: FlashAttention-2 backward over packed variable-length sequences,
// deterministic: three kernels, every output element has exactly one writer, no float atomics.
//
//   delta:  D_i = rowsum(dO_i ⊙ O_i)                                    (Nq, H), from fp32 dO and O
//   with S = Q_i·K_jᵀ·scale (masked), P = exp(S − LSE_i) recomputed from the forward's LSE (never stored;
//   LSE = −inf, an empty row, gives P = 0), dP = dO_i·V_jᵀ and dS = P ⊙ (dP − D_i):
//   dkdv:   dV_j = Σ_h Σ_i Pᵀ·dO_i     dK_j = scale · Σ_h Σ_i dSᵀ·Q_i      (overwritten)
//           per (key block j of FA_BLOCK_N keys, kv head, sequence); h runs over the group's query heads
//           kvHead·G .. kvHead·G + G − 1 in order (GQA sum, G = H / KV), i over the query blocks
//           (FA_DKDV_BLOCK_M rows) that see block j in order: a fixed summation order.
//   dq:     dQ_i = scale · Σ_j dS·K_j                                    (overwritten)
//           per (query block i of FA_BLOCK_M rows, query head, sequence), j over the key blocks it sees.
// This is FlashAttentionCpu.backward's two-pass scheme (its pass A = dkdv, pass B = dq), which recomputes
// S and dP once more than the single pass with atomics on dQ of docs/spec/model.md, in exchange for
// bit-reproducible gradients. Mask and layouts: flash_attention.cuh. Products: bf16 mma.sync m16n8k16
// with fp32 accumulation (why mma.sync and not wmma: flash_attention_forward.cu); P and dS are rounded
// to bf16 as the A operand of their products.
//
// dkdv computes the transposed tiles Sᵀ = K_j·Q_iᵀ and dPᵀ = V_j·dO_iᵀ, so that each warp owns 16 keys:
// Pᵀ and dSᵀ then sit in the accumulator layout that is directly the A operand of Pᵀ·dO_i and dSᵀ·Q_i
// (whose B operands come from ldmatrix.trans), and dK, dV stay in registers for the whole CTA.
// dq: each warp owns 16 query rows; dS·K_j takes K's B fragments from ldmatrix.trans.
// Head dims: d % 16 == 0, 16 ≤ d ≤ 128 (DMAX 64 or 128).
// Launch: delta ceil(Nq·H/8) × 256 (a warp per row); dkdv (ceil(max Tk / FA_BLOCK_N), KV, S) × FA_THREADS
// with FA_DKDV_SMEM_BYTES; dq (ceil(max Tq / FA_BLOCK_M), H, S) × FA_THREADS with FA_DQ_SMEM_BYTES.
#include "flash_attention.cuh"

extern "C" __global__ void janus_flash_attention_backward_delta(float* delta, const float* dOut, const float* out,
                                                                int nq, int h, int d) {
    const ll row = ((ll)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (row >= (ll)nq * h) {
        return;  // whole warps leave together: row is uniform per warp
    }
    const float* a = dOut + row * d;
    const float* b = out + row * d;
    float sum = 0.0f;
    for (int c = lane; c < d; c += 32) {
        sum = fmaf(a[c], b[c], sum);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        sum += __shfl_xor_sync(0xffffffffu, sum, o);
    }
    if (lane == 0) {
        delta[row] = sum;
    }
}

namespace {

template <int DMAX>
__device__ __forceinline__ void dkdv(float* dk, float* dv, const __nv_bfloat16* q, const __nv_bfloat16* k,
                                     const __nv_bfloat16* v, const __nv_bfloat16* dOut, const float* lse,
                                     const float* delta, const int* cuQ, const int* cuK, int h, int kvh, int d,
                                     int causal, int window, float scale) {
    constexpr int BN = FA_BLOCK_N, BM = FA_DKDV_BLOCK_M, QT = BM / 8, DT = DMAX / 8;
    JANUS_DYNAMIC_SMEM(smemRaw);
    __nv_bfloat16* sK = reinterpret_cast<__nv_bfloat16*>(smemRaw);
    __nv_bfloat16* sV = sK + BN * FA_SMEM_STRIDE;
    __nv_bfloat16* sQ = sV + BN * FA_SMEM_STRIDE;
    __nv_bfloat16* sdO = sQ + BM * FA_SMEM_STRIDE;
    float* sLse = reinterpret_cast<float*>(sdO + BM * FA_SMEM_STRIDE);  // LSE·log2(e), −inf for no row
    float* sDelta = sLse + BM;

    const fa::Seq sq = fa::sequence(cuQ, cuK, blockIdx.z);
    const int kvHead = blockIdx.y, j0 = blockIdx.x * BN;
    if (j0 >= sq.tk) {
        return;
    }
    const int group = h / kvh;
    const int cols = min(BN, sq.tk - j0);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int kA = warp * 16 + g, kB = kA + 8;  // this thread's two keys of the tile
    const int jA = j0 + kA, jB = j0 + kB;
    const float scaleLog2 = scale * JANUS_LOG2E;

    fa::loadTile<DMAX, BN>(sK, k, sq.kStart + j0, cols, kvh, kvHead, d);
    fa::loadTile<DMAX, BN>(sV, v, sq.kStart + j0, cols, kvh, kvHead, d);

    float accK[DT][4], accV[DT][4];
#pragma unroll
    for (int n = 0; n < DT; n++) {
        accK[n][0] = accK[n][1] = accK[n][2] = accK[n][3] = 0.0f;
        accV[n][0] = accV[n][1] = accV[n][2] = accV[n][3] = 0.0f;
    }

    const int iFirst = causal ? max(0, j0 - sq.off) : 0;
    const int iLast = window >= 0 ? min(sq.tq - 1, j0 + cols - 1 + window - sq.off) : sq.tq - 1;
    for (int hh = 0; hh < group; hh++) {
        const int head = kvHead * group + hh;
        for (int i0 = iFirst; i0 <= iLast; i0 += BM) {
            const int rows = min(BM, sq.tq - i0);
            __syncthreads();  // previous readers of sQ/sdO/sLse are done (and sK/sV are written)
            fa::loadTile<DMAX, BM>(sQ, q, sq.qStart + i0, rows, h, head, d);
            fa::loadTile<DMAX, BM>(sdO, dOut, sq.qStart + i0, rows, h, head, d);
            for (int r = threadIdx.x; r < BM; r += FA_THREADS) {
                ll at = (ll)(sq.qStart + i0 + r) * h + head;
                sLse[r] = r < rows ? lse[at] * JANUS_LOG2E : -INFINITY;
                sDelta[r] = r < rows ? delta[at] : 0.0f;
            }
            __syncthreads();

            // Sᵀ = K_j·Q_iᵀ and dPᵀ = V_j·dO_iᵀ                              (16 keys x BM queries per warp)
            float st[QT][4], dpt[QT][4];
#pragma unroll
            for (int n = 0; n < QT; n++) {
                st[n][0] = st[n][1] = st[n][2] = st[n][3] = 0.0f;
                dpt[n][0] = dpt[n][1] = dpt[n][2] = dpt[n][3] = 0.0f;
            }
#pragma unroll
            for (int kk = 0; kk < DMAX / 16; kk++) {
                uint32_t aK[4], aV[4];
                fa::loadA(aK, sK, warp * 16, kk, g, t);
                fa::loadA(aV, sV, warp * 16, kk, g, t);
#pragma unroll
                for (int n = 0; n < QT; n++) {
                    uint32_t b0, b1;
                    fa::loadBRows(b0, b1, sQ, n * 8, kk, g, t);
                    janus_mma_bf16(st[n], aK, b0, b1);
                    fa::loadBRows(b0, b1, sdO, n * 8, kk, g, t);
                    janus_mma_bf16(dpt[n], aV, b0, b1);
                }
            }

            // Pᵀ = exp(Sᵀ·scale − LSE) where allowed; dSᵀ = Pᵀ ⊙ (dPᵀ − D)   (st ← Pᵀ, dpt ← dSᵀ)
#pragma unroll
            for (int n = 0; n < QT; n++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int c = n * 8 + 2 * t + (e & 1);  // query column in the tile
                    const int j = e < 2 ? jA : jB;
                    const float l2 = sLse[c];
                    float p = 0.0f;
                    if (c < rows && l2 != -INFINITY && fa::allowed(sq, i0 + c, j, causal, window)) {
                        p = exp2f(fmaf(st[n][e], scaleLog2, -l2));
                    }
                    st[n][e] = p;
                    dpt[n][e] = p * (dpt[n][e] - sDelta[c]);
                }
            }

            // dV_j += Pᵀ·dO_i;  dK_j += dSᵀ·Q_i                               (16 keys x DMAX per warp)
#pragma unroll
            for (int kk = 0; kk < BM / 16; kk++) {
                uint32_t aP[4], aS[4];
                fa::accToA(aP, st[2 * kk], st[2 * kk + 1]);
                fa::accToA(aS, dpt[2 * kk], dpt[2 * kk + 1]);
#pragma unroll
                for (int np = 0; np < DMAX / 16; np++) {
                    uint32_t b[4];
                    fa::loadBCols(b, sdO, kk * 16, np * 16, lane);
                    janus_mma_bf16(accV[2 * np], aP, b[0], b[1]);
                    janus_mma_bf16(accV[2 * np + 1], aP, b[2], b[3]);
                    fa::loadBCols(b, sQ, kk * 16, np * 16, lane);
                    janus_mma_bf16(accK[2 * np], aS, b[0], b[1]);
                    janus_mma_bf16(accK[2 * np + 1], aS, b[2], b[3]);
                }
            }
        }
    }

    // Keys of the block that no query sees keep dK = dV = 0 (overwritten, never left stale).
    const ll rowA = (ll)(sq.kStart + jA) * kvh + kvHead, rowB = (ll)(sq.kStart + jB) * kvh + kvHead;
#pragma unroll
    for (int n = 0; n < DT; n++) {
        int col = n * 8 + 2 * t;
        if (col < d) {
            if (kA < cols) {
                *reinterpret_cast<float2*>(dk + rowA * d + col) = make_float2(accK[n][0] * scale, accK[n][1] * scale);
                *reinterpret_cast<float2*>(dv + rowA * d + col) = make_float2(accV[n][0], accV[n][1]);
            }
            if (kB < cols) {
                *reinterpret_cast<float2*>(dk + rowB * d + col) = make_float2(accK[n][2] * scale, accK[n][3] * scale);
                *reinterpret_cast<float2*>(dv + rowB * d + col) = make_float2(accV[n][2], accV[n][3]);
            }
        }
    }
}

template <int DMAX>
__device__ __forceinline__ void dq(float* dq, const __nv_bfloat16* q, const __nv_bfloat16* k,
                                   const __nv_bfloat16* v, const __nv_bfloat16* dOut, const float* lse,
                                   const float* delta, const int* cuQ, const int* cuK, int h, int kvh, int d,
                                   int causal, int window, float scale) {
    constexpr int BM = FA_BLOCK_M, BN = FA_BLOCK_N, NT = BN / 8, DT = DMAX / 8;
    JANUS_DYNAMIC_SMEM(smemRaw);
    __nv_bfloat16* sQ = reinterpret_cast<__nv_bfloat16*>(smemRaw);
    __nv_bfloat16* sdO = sQ + BM * FA_SMEM_STRIDE;
    __nv_bfloat16* sK = sdO + BM * FA_SMEM_STRIDE;
    __nv_bfloat16* sV = sK + BN * FA_SMEM_STRIDE;

    const fa::Seq sq = fa::sequence(cuQ, cuK, blockIdx.z);
    const int head = blockIdx.y, i0 = blockIdx.x * BM;
    if (i0 >= sq.tq) {
        return;
    }
    const int kvHead = head / (h / kvh);
    const int rows = min(BM, sq.tq - i0);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int rA = warp * 16 + g, rB = rA + 8;
    const int iA = i0 + rA, iB = i0 + rB;
    const float scaleLog2 = scale * JANUS_LOG2E;
    const ll rowA = (ll)(sq.qStart + iA) * h + head, rowB = (ll)(sq.qStart + iB) * h + head;
    // LSE·log2(e) and D of this thread's rows; −inf (P = 0) for rows past the sequence
    const float lseA = rA < rows ? lse[rowA] * JANUS_LOG2E : -INFINITY;
    const float lseB = rB < rows ? lse[rowB] * JANUS_LOG2E : -INFINITY;
    const float deltaA = rA < rows ? delta[rowA] : 0.0f, deltaB = rB < rows ? delta[rowB] : 0.0f;

    fa::loadTile<DMAX, BM>(sQ, q, sq.qStart + i0, rows, h, head, d);
    fa::loadTile<DMAX, BM>(sdO, dOut, sq.qStart + i0, rows, h, head, d);

    float acc[DT][4];
#pragma unroll
    for (int n = 0; n < DT; n++) {
        acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
    }
    const int jBegin = fa::loKey(sq, i0, window), jEnd = fa::hiKey(sq, i0 + rows - 1, causal);
    for (int j0 = jBegin; j0 <= jEnd; j0 += BN) {
        __syncthreads();
        const int cols = min(BN, sq.tk - j0);
        fa::loadTile<DMAX, BN>(sK, k, sq.kStart + j0, cols, kvh, kvHead, d);
        fa::loadTile<DMAX, BN>(sV, v, sq.kStart + j0, cols, kvh, kvHead, d);
        __syncthreads();

        // S = Q_i·K_jᵀ, dP = dO_i·V_jᵀ                                      (16 x BN per warp)
        float s[NT][4], dp[NT][4];
#pragma unroll
        for (int n = 0; n < NT; n++) {
            s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
            dp[n][0] = dp[n][1] = dp[n][2] = dp[n][3] = 0.0f;
        }
#pragma unroll
        for (int kk = 0; kk < DMAX / 16; kk++) {
            uint32_t aQ[4], aO[4];
            fa::loadA(aQ, sQ, warp * 16, kk, g, t);
            fa::loadA(aO, sdO, warp * 16, kk, g, t);
#pragma unroll
            for (int n = 0; n < NT; n++) {
                uint32_t b0, b1;
                fa::loadBRows(b0, b1, sK, n * 8, kk, g, t);
                janus_mma_bf16(s[n], aQ, b0, b1);
                fa::loadBRows(b0, b1, sV, n * 8, kk, g, t);
                janus_mma_bf16(dp[n], aO, b0, b1);
            }
        }

        // P = exp(S·scale − LSE) where allowed; dS = P ⊙ (dP − D)            (s ← dS)
#pragma unroll
        for (int n = 0; n < NT; n++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int j = j0 + n * 8 + 2 * t + (e & 1);
                const bool rowA_ = e < 2;
                const float l2 = rowA_ ? lseA : lseB;
                float p = 0.0f;
                if (l2 != -INFINITY && fa::allowed(sq, rowA_ ? iA : iB, j, causal, window)) {
                    p = exp2f(fmaf(s[n][e], scaleLog2, -l2));
                }
                s[n][e] = p * (dp[n][e] - (rowA_ ? deltaA : deltaB));
            }
        }

        // dQ_i += dS·K_j                                                      (16 x DMAX per warp)
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
            uint32_t a[4];
            fa::accToA(a, s[2 * kk], s[2 * kk + 1]);
#pragma unroll
            for (int np = 0; np < DMAX / 16; np++) {
                uint32_t b[4];
                fa::loadBCols(b, sK, kk * 16, np * 16, lane);
                janus_mma_bf16(acc[2 * np], a, b[0], b[1]);
                janus_mma_bf16(acc[2 * np + 1], a, b[2], b[3]);
            }
        }
    }

#pragma unroll
    for (int n = 0; n < DT; n++) {
        int col = n * 8 + 2 * t;
        if (col < d) {
            if (rA < rows) {
                *reinterpret_cast<float2*>(dq + rowA * d + col) = make_float2(acc[n][0] * scale, acc[n][1] * scale);
            }
            if (rB < rows) {
                *reinterpret_cast<float2*>(dq + rowB * d + col) = make_float2(acc[n][2] * scale, acc[n][3] * scale);
            }
        }
    }
}

}  // namespace

extern "C" __global__ void __launch_bounds__(FA_THREADS)
    janus_flash_attention_backward_dkdv(float* dk, float* dv, const __nv_bfloat16* q, const __nv_bfloat16* k,
                                        const __nv_bfloat16* v, const __nv_bfloat16* dOut, const float* lse,
                                        const float* delta, const int* cuQ, const int* cuK, int h, int kvh, int d,
                                        int causal, int window, float scale) {
    if (d <= 64) {
        dkdv<64>(dk, dv, q, k, v, dOut, lse, delta, cuQ, cuK, h, kvh, d, causal, window, scale);
    } else {
        dkdv<128>(dk, dv, q, k, v, dOut, lse, delta, cuQ, cuK, h, kvh, d, causal, window, scale);
    }
}

extern "C" __global__ void __launch_bounds__(FA_THREADS)
    janus_flash_attention_backward_dq(float* dqOut, const __nv_bfloat16* q, const __nv_bfloat16* k,
                                      const __nv_bfloat16* v, const __nv_bfloat16* dOut, const float* lse,
                                      const float* delta, const int* cuQ, const int* cuK, int h, int kvh, int d,
                                      int causal, int window, float scale) {
    if (d <= 64) {
        dq<64>(dqOut, q, k, v, dOut, lse, delta, cuQ, cuK, h, kvh, d, causal, window, scale);
    } else {
        dq<128>(dqOut, q, k, v, dOut, lse, delta, cuQ, cuK, h, kvh, d, causal, window, scale);
    }
}
