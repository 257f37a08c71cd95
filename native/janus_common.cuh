// janus_common.cuh: constants and device helpers shared by every kernel file in native/.
//
// The #defines below are part of the ABI (native/KERNELS.md lists their values; CudaKernels.java
// mirrors them). Every kernel of native/ is `extern "C" __global__` so its symbol is its name.
//
// Numerics rule of the non-attention kernels: where the CPU backend (janus-core) is written so
// that a per-element result is fully determined (no reduction), the kernel uses the explicitly
// rounded intrinsics (__fmul_rn, __fadd_rn, __fdiv_rn, __fsqrt_rn, __fmaf_rn) in the CPU's
// order, so nvcc cannot contract a*b+c into an fma the CPU does not do, and results are
// bit-identical to the CPU. Reductions use a fixed order (deterministic, but not the CPU's).
#pragma once

#ifdef JANUS_EMULATION
// Host threads stand in for a CTA (native/test/): threadIdx, barriers, shuffles, mma, ldmatrix.
#include "test/emulator.h"
#else
#include <cuda_bf16.h>
#endif
#include <stdint.h>

// ------------------------------------------------------------------------------------ constants

#define JANUS_THREADS 256

#define FA_BLOCK_M 64        // query rows per CTA (forward, dq)
#define FA_BLOCK_N 64        // key rows per CTA (dkdv) and per inner step (forward, dq)
#define FA_DKDV_BLOCK_M 32   // query rows per inner step of dkdv
#define FA_THREADS 128       // 4 warps; each warp owns 16 rows of the CTA's tile
#define FA_MAX_D 128         // largest head dim; d must be a multiple of 16
#define FA_SMEM_STRIDE (FA_MAX_D + 8)  // bf16 elements per shared row: +16 bytes, conflict-free fragments

#define FA_TILE_BYTES(rows) ((rows) * FA_SMEM_STRIDE * 2)
#define FA_FWD_SMEM_BYTES (3 * FA_TILE_BYTES(FA_BLOCK_M))                      // Q, K, V
#define FA_DQ_SMEM_BYTES (2 * FA_TILE_BYTES(FA_BLOCK_M) + 2 * FA_TILE_BYTES(FA_BLOCK_N))  // Q, dO, K, V
#define FA_DKDV_SMEM_BYTES \
    (2 * FA_TILE_BYTES(FA_BLOCK_N) + 2 * FA_TILE_BYTES(FA_DKDV_BLOCK_M) + 2 * FA_DKDV_BLOCK_M * 4)  // K, V, Q, dO, lse, delta

#define ADAMW8_BLOCK 2048    // elements per 8-bit quantization block
#define ADAMW8_PER_THREAD (ADAMW8_BLOCK / JANUS_THREADS)

#define JANUS_IGNORE_INDEX (-100)

static_assert(FA_BLOCK_M == 16 * (FA_THREADS / 32), "forward/dq: one warp per 16 query rows");
static_assert(FA_BLOCK_N == 16 * (FA_THREADS / 32), "dkdv: one warp per 16 key rows");
static_assert(FA_BLOCK_N % 16 == 0 && FA_DKDV_BLOCK_M % 16 == 0, "mma k-steps are 16 wide");
static_assert(FA_MAX_D % 16 == 0, "head dims are whole mma k-steps");
static_assert((FA_SMEM_STRIDE * 2) % 16 == 0, "ldmatrix rows and uint4 stores need 16-byte aligned rows");
static_assert(FA_FWD_SMEM_BYTES == 52224 && FA_DKDV_SMEM_BYTES == 52480 && FA_DQ_SMEM_BYTES == 69632,
              "KERNELS.md lists these numbers; change both together");
static_assert(FA_DQ_SMEM_BYTES <= 99 * 1024, "fits the opt-in shared memory of every sm_80+ part (99 KiB on sm_86/89)");
static_assert(ADAMW8_BLOCK % JANUS_THREADS == 0, "whole elements per thread");

typedef long long ll;

// ------------------------------------------------------------------------------ block reductions

// Sum over the block in a fixed order (warp butterfly, then warp 0 over the warp partials): the same
// inputs give the same bits on every launch. Every thread of the block must call it; all get the sum.
template <typename T>
static __device__ __forceinline__ T janus_block_sum(T x, T* scratch /* [32] shared */) {
    for (int o = 16; o > 0; o >>= 1) {
        x += __shfl_xor_sync(0xffffffffu, x, o);
    }
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) {
        scratch[warp] = x;
    }
    __syncthreads();
    T total = lane < warps ? scratch[lane] : T(0);
    for (int o = 16; o > 0; o >>= 1) {
        total += __shfl_xor_sync(0xffffffffu, total, o);
    }
    return total;
}

// Max over the block, NaN-free inputs assumed (callers pass -inf for "nothing").
static __device__ __forceinline__ float janus_block_max(float x, float* scratch /* [32] shared */) {
    for (int o = 16; o > 0; o >>= 1) {
        x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    }
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    __syncthreads();
    if (lane == 0) {
        scratch[warp] = x;
    }
    __syncthreads();
    float m = lane < warps ? scratch[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) {
        m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    }
    return m;
}

// ------------------------------------------------------------------ CPU-identical exp and sigmoid

// The CPU backend's exp (Simd.exp, Cephes expf): exp(x) = 2^n·exp(r), n = round(x·log2 e),
// r = x − n·ln 2 in two parts, exp(r) by a degree-7 polynomial; 0 below ln(2^-126), +inf above
// ln(2^127.5). The same fmas and roundings, so the same bits as the CPU's scalar and vector exp.
#define JANUS_LOG2E 1.44269504088896341f
#define JANUS_LN2 0.693147180559945309f
static __device__ __forceinline__ float janus_exp(float x) {
    const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    const float ROUNDER = 12582912.0f;  // 1.5·2^23
    const int ROUNDER_BITS = 0x4B400000;
    const float EXP_MIN = -87.33654475f, EXP_MAX = 88.37626266f;
    const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
                P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    if (x < EXP_MIN) {
        return 0.0f;
    }
    if (x > EXP_MAX) {
        return INFINITY;
    }
    float t = __fmaf_rn(x, JANUS_LOG2E, ROUNDER);
    float n = __fsub_rn(t, ROUNDER);
    float r = __fmaf_rn(n, -LN2_LO, __fmaf_rn(n, -LN2_HI, x));
    float p = __fmaf_rn(__fmaf_rn(__fmaf_rn(__fmaf_rn(__fmaf_rn(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
    float y = __fadd_rn(__fmaf_rn(p, __fmul_rn(r, r), r), 1.0f);
    return __fmul_rn(y, __int_as_float((__float_as_int(t) - (ROUNDER_BITS - 127)) << 23));
}

// σ(x) = 1/(1 + e^−x) for x ≥ 0, e^x/(1 + e^x) below (Simd.sigmoid): exp never overflows.
static __device__ __forceinline__ float janus_sigmoid(float x) {
    float e = janus_exp(-fabsf(x));
    float onePlus = __fadd_rn(1.0f, e);
    return x >= 0.0f ? __fdiv_rn(1.0f, onePlus) : __fdiv_rn(e, onePlus);
}

// ------------------------------------------------------------ tensor-core fragments (sm_80 PTX)

// The dynamic shared memory of a kernel (size set at launch; FA_*_SMEM_BYTES), 16-byte aligned.
#ifndef JANUS_EMULATION
#define JANUS_DYNAMIC_SMEM(name) extern __shared__ uint4 name[]
#endif

// D (16x8 f32) += A (16x16 bf16, row-major) · B (16x8 bf16, "col": k-major pairs), PTX ISA
// "mma.sync.aligned.m16n8k16". With g = lane/4 and t = lane%4 (low half of a register = lower index):
//   A: a0 = (g, 2t..2t+1)  a1 = (g+8, 2t..2t+1)  a2 = (g, 2t+8..2t+9)  a3 = (g+8, 2t+8..2t+9)
//   B: b0 = (k 2t..2t+1, n g)  b1 = (k 2t+8..2t+9, n g)
//   C: c0,c1 = (g, 2t..2t+1)  c2,c3 = (g+8, 2t..2t+1)
#ifndef JANUS_EMULATION
static __device__ __forceinline__ void janus_mma_bf16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Four 8x8 bf16 matrices from shared memory, transposed: lane L gives the address of row L%8 of
// matrix L/8; register i of lane (g, t) receives {M_i[2t][g], M_i[2t+1][g]}, which is exactly the
// B fragment b0/b1 of a product whose B rows (the k index) are the stored rows.
static __device__ __forceinline__ void janus_ldmatrix_x4_trans(uint32_t r[4], const __nv_bfloat16* p) {
    uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(p));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
#endif

static __device__ __forceinline__ uint32_t janus_ld32(const __nv_bfloat16* p) {
    return *reinterpret_cast<const uint32_t*>(p);
}

// Two floats as one register of a bf16 A fragment (x in the low half), round to nearest even.
static __device__ __forceinline__ uint32_t janus_pack_bf16(float x, float y) {
    __nv_bfloat162 v = __floats2bfloat162_rn(x, y);
    return *reinterpret_cast<uint32_t*>(&v);
}
