// embedding.cu: token-embedding row gather and its backward.
//
//   forward:   out[i, :] = table[ids[i], :]                        (N, C) from (V, C), ids (N) I32
//   backward:  dTable[ids[i], :] += dOut[i, :]  for i = 0..N-1 in order   (accumulates)
//
// The backward gives every column to one thread, which walks the tokens in order: repeated ids
// add up in the CPU's order, so the result is bit-identical to CpuBackend.embeddingBackward and
// needs no atomics. ids are validated on the host (0 <= id < V).
// Launch: forward N × 256 (block per row); backward ceil(C/256) × 256 (thread per column).
#include "janus_common.cuh"

extern "C" __global__ void janus_embedding_forward(float* out, const float* table, const int* ids, int n, int c) {
    int row = blockIdx.x;
    if (row >= n) {
        return;
    }
    const float* src = table + (ll)ids[row] * c;
    float* dst = out + (ll)row * c;
    for (int col = threadIdx.x; col < c; col += blockDim.x) {
        dst[col] = src[col];
    }
}

extern "C" __global__ void janus_embedding_backward(float* dTable, const float* dOut, const int* ids, int n, int c) {
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= c) {
        return;
    }
    for (int i = 0; i < n; i++) {
        ll at = (ll)ids[i] * c + col;
        dTable[at] = __fadd_rn(dTable[at], dOut[(ll)i * c + col]);
    }
}
