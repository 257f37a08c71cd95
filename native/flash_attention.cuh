// flash_attention.cuh: what the FlashAttention-2 forward and backward kernels share: the packed
// sequence bounds, the mask, tile loads into padded shared memory and the mma fragment loads.
//
// Mask (AttentionSpec, FlashAttentionCpu.rowBounds): in a sequence of Tq queries and Tk keys, with
// off = Tk − Tq, query row i (0-based in its sequence) sees key j iff lo(i) ≤ j ≤ hi(i):
//   hi(i) = causal ? min(Tk − 1, i + off) : Tk − 1          (causal aligned to the bottom-right corner)
//   lo(i) = window ≥ 0 ? max(0, i + off − window) : 0       (sliding window)
// Both bounds grow with i, so a block of query rows [i0, i1] sees keys [lo(i0), hi(i1)] and a block of
// keys [j0, j1] is seen by queries [causal ? max(0, j0 − off) : 0, window ≥ 0 ? min(Tq−1, j1 + W − off) : Tq−1].
//
// Layouts (row-major, packed tokens): q, dOut (Nq, H, D) bf16; k, v (Nk, KV, D) bf16; out, dq (Nq, H, D)
// fp32; dk, dv (Nk, KV, D) fp32; lse, delta (Nq, H) fp32. Query head h reads kv head h / (H / KV).
// Shared tiles are (rows, FA_SMEM_STRIDE) bf16: FA_MAX_D columns plus 8 of padding, so that the 8
// rows a fragment load touches start 4 banks apart (conflict-free 32-bit loads and ldmatrix).
// Columns d..DMAX−1 and rows past the sequence are zero-filled, so they add nothing to any product.
#pragma once
#include "janus_common.cuh"

namespace fa {

struct Seq {
    int qStart, tq, kStart, tk, off;
};

__device__ __forceinline__ Seq sequence(const int* cuQ, const int* cuK, int s) {
    Seq q;
    q.qStart = cuQ[s];
    q.tq = cuQ[s + 1] - q.qStart;
    q.kStart = cuK[s];
    q.tk = cuK[s + 1] - q.kStart;
    q.off = q.tk - q.tq;
    return q;
}

__device__ __forceinline__ int hiKey(const Seq& q, int i, int causal) {
    return causal ? min(q.tk - 1, i + q.off) : q.tk - 1;
}

__device__ __forceinline__ int loKey(const Seq& q, int i, int window) {
    return window >= 0 ? max(0, i + q.off - window) : 0;
}

__device__ __forceinline__ bool allowed(const Seq& q, int i, int j, int causal, int window) {
    return j >= loKey(q, i, window) && j <= hiKey(q, i, causal);
}

// Rows [first, first + validRows) of head `head` (of `heads`) into a (R, FA_SMEM_STRIDE) tile, 16 bytes per
// store; columns ≥ d and rows ≥ validRows become 0. d % 16 == 0 and 16-byte aligned buffers (KERNELS.md).
template <int DMAX, int R>
__device__ __forceinline__ void loadTile(__nv_bfloat16* tile, const __nv_bfloat16* src, ll first, int validRows,
                                         int heads, int head, int d) {
    constexpr int CHUNKS = DMAX / 8;  // 8 bf16 per 16-byte chunk
    for (int c = threadIdx.x; c < R * CHUNKS; c += FA_THREADS) {
        int r = c / CHUNKS, col = (c % CHUNKS) * 8;
        uint4 v = make_uint4(0u, 0u, 0u, 0u);
        if (r < validRows && col < d) {
            v = *reinterpret_cast<const uint4*>(src + ((first + r) * heads + head) * (ll)d + col);
        }
        *reinterpret_cast<uint4*>(tile + r * FA_SMEM_STRIDE + col) = v;
    }
}

// A fragment (16x16, row-major) of rows row0..row0+15, columns kk·16.. of a tile.
__device__ __forceinline__ void loadA(uint32_t a[4], const __nv_bfloat16* tile, int row0, int kk, int g, int t) {
    const __nv_bfloat16* p = tile + (row0 + g) * FA_SMEM_STRIDE + kk * 16 + 2 * t;
    a[0] = janus_ld32(p);
    a[1] = janus_ld32(p + 8 * FA_SMEM_STRIDE);
    a[2] = janus_ld32(p + 8);
    a[3] = janus_ld32(p + 8 * FA_SMEM_STRIDE + 8);
}

// B fragment (16x8) of a product X·Tᵀ where the tile T holds the n index in its rows: B[k][n] = T[n0+n][kk·16+k].
__device__ __forceinline__ void loadBRows(uint32_t& b0, uint32_t& b1, const __nv_bfloat16* tile, int n0, int kk,
                                          int g, int t) {
    const __nv_bfloat16* p = tile + (n0 + g) * FA_SMEM_STRIDE + kk * 16 + 2 * t;
    b0 = janus_ld32(p);
    b1 = janus_ld32(p + 8);
}

// B fragments of two n-tiles (n0.., n0+8..) of a product X·T where the tile T holds the k index in its
// rows: B[k][n] = T[k0+k][n0+n]. r[0], r[1]: b0, b1 of n-tile n0; r[2], r[3]: of n-tile n0 + 8.
__device__ __forceinline__ void loadBCols(uint32_t r[4], const __nv_bfloat16* tile, int k0, int n0, int lane) {
    int m = lane >> 3;
    janus_ldmatrix_x4_trans(r, tile + (k0 + (m & 1) * 8 + (lane & 7)) * FA_SMEM_STRIDE + n0 + (m >> 1) * 8);
}

// The A fragment of k-step kk of a product P·X from P's accumulator tiles (C layout, 8 columns each):
// columns kk·16.. are accumulator tiles 2kk and 2kk+1, rounded to bf16.
__device__ __forceinline__ void accToA(uint32_t a[4], const float lo[4], const float hi[4]) {
    a[0] = janus_pack_bf16(lo[0], lo[1]);
    a[1] = janus_pack_bf16(lo[2], lo[3]);
    a[2] = janus_pack_bf16(hi[0], hi[1]);
    a[3] = janus_pack_bf16(hi[2], hi[3]);
}

}  // namespace fa
