// emulator.h: runs the kernels of native/ on host threads, to check their index math, masks and
// fragment bookkeeping on a machine without a GPU (native/test/run.sh). One std::thread per CUDA
// thread of a CTA, CTAs one after another; __syncthreads and the warp collectives (shuffles,
// mma.sync m16n8k16, ldmatrix.x4.trans) are barriers plus an exchange through per-warp slots. The
// mma and ldmatrix stand-ins implement the fragment layouts as the PTX ISA specifies them (the same
// layouts janus_common.cuh documents), so the test checks the kernels against that specification;
// it does not replace a run on a GPU (timing, the hardware's own layouts, memory model).
#pragma once
#include <cuda_bf16.h>
#include <vector_types.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#undef __global__
#undef __device__
#undef __forceinline__
#undef __launch_bounds__
#undef __shared__
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
using std::max;
using std::min;
using std::isfinite;

struct EmuDim {
    unsigned x = 0, y = 0, z = 0;
};
inline thread_local EmuDim threadIdx, blockIdx;
inline EmuDim gridDim, blockDim;

struct EmuWarp {
    std::barrier<> bar{32};
    uint64_t slot[32][12];
    const void* addr[32];
};

struct EmuCta {
    explicit EmuCta(int threads, size_t smemBytes)
        : bar(threads), warps((threads + 31) / 32), smem((smemBytes + 15) / 16 + 1) {}
    std::barrier<> bar;
    std::vector<std::unique_ptr<EmuWarp>> warpStore;
    int warps;
    std::vector<uint4> smem;
};
inline EmuCta* emuCta;
inline std::vector<std::unique_ptr<EmuWarp>>* emuWarps;

inline EmuWarp& emuWarp() { return *(*emuWarps)[threadIdx.x >> 5]; }
inline void __syncthreads() { emuCta->bar.arrive_and_wait(); }

#define JANUS_DYNAMIC_SMEM(name) uint4* name = emuCta->smem.data()

template <typename T>
inline T __shfl_xor_sync(unsigned, T x, int offset) {
    static_assert(sizeof(T) <= 8, "one slot");
    EmuWarp& w = emuWarp();
    int lane = threadIdx.x & 31;
    uint64_t bits = 0;
    std::memcpy(&bits, &x, sizeof(T));
    w.slot[lane][0] = bits;
    w.bar.arrive_and_wait();
    uint64_t other = w.slot[lane ^ offset][0];
    w.bar.arrive_and_wait();
    T y;
    std::memcpy(&y, &other, sizeof(T));
    return y;
}

inline float emuBf16(uint32_t reg, int half) {
    uint32_t bits = half ? (reg & 0xffff0000u) : (reg << 16);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// D = A·B + C with the m16n8k16 fragment layouts (g = lane/4, t = lane%4):
// A a0 (g, 2t..) a1 (g+8, 2t..) a2 (g, 2t+8..) a3 (g+8, 2t+8..); B b0 (k 2t.., n g) b1 (k 2t+8.., n g);
// C c0,c1 (g, 2t..2t+1) c2,c3 (g+8, 2t..2t+1).
static inline void janus_mma_bf16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    EmuWarp& w = emuWarp();
    int lane = threadIdx.x & 31;
    for (int i = 0; i < 4; i++) w.slot[lane][i] = a[i];
    w.slot[lane][4] = b0;
    w.slot[lane][5] = b1;
    w.bar.arrive_and_wait();
    float A[16][16], B[16][8];
    for (int l = 0; l < 32; l++) {
        int g = l >> 2, t = l & 3;
        for (int hf = 0; hf < 2; hf++) {
            A[g][2 * t + hf] = emuBf16((uint32_t)w.slot[l][0], hf);
            A[g + 8][2 * t + hf] = emuBf16((uint32_t)w.slot[l][1], hf);
            A[g][2 * t + 8 + hf] = emuBf16((uint32_t)w.slot[l][2], hf);
            A[g + 8][2 * t + 8 + hf] = emuBf16((uint32_t)w.slot[l][3], hf);
            B[2 * t + hf][g] = emuBf16((uint32_t)w.slot[l][4], hf);
            B[2 * t + 8 + hf][g] = emuBf16((uint32_t)w.slot[l][5], hf);
        }
    }
    w.bar.arrive_and_wait();
    int g = lane >> 2, t = lane & 3;
    for (int e = 0; e < 4; e++) {
        int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
        float sum = c[e];
        for (int k = 0; k < 16; k++) sum += A[row][k] * B[k][col];
        c[e] = sum;
    }
}

// ldmatrix.x4.trans: lane L names row L%8 of matrix L/8; register i of lane (g, t) gets
// {M_i[2t][g], M_i[2t+1][g]} (low half first).
static inline void janus_ldmatrix_x4_trans(uint32_t r[4], const __nv_bfloat16* p) {
    EmuWarp& w = emuWarp();
    int lane = threadIdx.x & 31;
    w.addr[lane] = p;
    w.bar.arrive_and_wait();
    int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; i++) {
        const uint16_t* r0 = static_cast<const uint16_t*>(w.addr[8 * i + 2 * t]);
        const uint16_t* r1 = static_cast<const uint16_t*>(w.addr[8 * i + 2 * t + 1]);
        r[i] = (uint32_t)r0[g] | ((uint32_t)r1[g] << 16);
    }
    w.bar.arrive_and_wait();
}

inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }

// Runs grid × threads: CTAs in order, each with `threads` host threads.
inline void emuLaunch(EmuDim grid, int threads, size_t smemBytes, const std::function<void()>& kernel) {
    gridDim = grid;
    blockDim = EmuDim{(unsigned)threads, 1, 1};
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                EmuCta cta(threads, smemBytes);
                std::vector<std::unique_ptr<EmuWarp>> warps;
                for (int i = 0; i < cta.warps; i++) warps.push_back(std::make_unique<EmuWarp>());
                emuCta = &cta;
                emuWarps = &warps;
                std::vector<std::thread> pool;
                for (int i = 0; i < threads; i++) {
                    pool.emplace_back([&, i] {
                        threadIdx = EmuDim{(unsigned)i, 0, 0};
                        blockIdx = EmuDim{x, y, z};
                        kernel();
                        // a thread that leaves early must not hold the others at a barrier
                        (*emuWarps)[i >> 5]->bar.arrive_and_drop();
                        emuCta->bar.arrive_and_drop();
                    });
                }
                for (auto& th : pool) th.join();
            }
}
