// logprobs.cu: per-token log-probabilities of given labels over vocab chunks, without an (N, V)
// fp32 logits buffer (fused cross-entropy). The host computes one chunk of logits at a time,
// z = hidden · lmHead[vOffset : vOffset+vChunk]ᵀ (cuBLASLt, fp32 out, (N, vChunk) row-major), and
// calls the chunk kernel on it; after the last chunk, the finalize kernel.
//
//   chunk forward (online logsumexp, Milakov & Gimelshein 2018):
//     M_c = max_v z[n, v];  S_c = Σ_v exp(z[n, v] − M_c)
//     first chunk:  runMax = M_c, runSum = S_c
//     later:        m = max(runMax, M_c); runSum = runSum·exp(runMax − m) + S_c·exp(M_c − m); runMax = m
//     labelLogit[n] = z[n, labels[n] − vOffset] when the label falls in the chunk (0 on the first
//     chunk otherwise, so the buffer never holds garbage)
//   finalize:   lse[n] = runMax + log(runSum);  logp[n] = labelLogit[n] − lse[n]  (0 for label −100)
//   chunk backward (p = softmax(z) from the saved lse, w = dLogp[n], 0 for label −100):
//     dz[n, v] = w·(onehot(labels[n])[v] − exp(z[n, v] − lse[n]))     computed as (−w·p) + w at the label
//     rows with w = 0 are exactly 0; dz may alias the logits chunk (each element read then written
//     by one thread).
//
// Shapes: logits, dz (N, vChunk); runMax, runSum, labelLogit, logp, lse, dLogp (N); labels (N) I32,
// validated by the host (−100 or in [0, V)).
// Numerics: fp32 with expf/logf; reductions in a fixed order (each thread's strided elements, then
// a fixed tree), so deterministic; equal to CpuBackend.tokenLogProbs within float rounding.
// Launch: chunk kernels N × 256 (block per row); finalize ceil(N/256) × 256.
#include "janus_common.cuh"

extern "C" __global__ void janus_logprobs_chunk_forward(float* runMax, float* runSum, float* labelLogit,
                                                        const float* logits, const int* labels, int n, int vChunk,
                                                        int vOffset, int first) {
    __shared__ float scratch[32];
    int row = blockIdx.x;
    if (row >= n) {
        return;
    }
    const float* z = logits + (ll)row * vChunk;
    float m = -INFINITY;
    for (int v = threadIdx.x; v < vChunk; v += blockDim.x) {
        m = fmaxf(m, z[v]);
    }
    m = janus_block_max(m, scratch);
    float base = m == -INFINITY ? 0.0f : m;
    float sum = 0.0f;
    for (int v = threadIdx.x; v < vChunk; v += blockDim.x) {
        sum += expf(z[v] - base);
    }
    sum = janus_block_sum(sum, scratch);
    if (threadIdx.x == 0) {
        int label = labels[row];
        bool inChunk = label >= vOffset && label < vOffset + vChunk;
        if (first) {
            runMax[row] = m;
            runSum[row] = sum;
            labelLogit[row] = inChunk ? z[label - vOffset] : 0.0f;
        } else {
            float oldMax = runMax[row], oldSum = runSum[row];
            float newMax = fmaxf(oldMax, m);
            float shift = newMax == -INFINITY ? 0.0f : newMax;
            runSum[row] = oldSum * expf(oldMax - shift) + sum * expf(m - shift);
            runMax[row] = newMax;
            if (inChunk) {
                labelLogit[row] = z[label - vOffset];
            }
        }
    }
}

extern "C" __global__ void janus_logprobs_finalize(float* logp, float* lse, const float* runMax, const float* runSum,
                                                   const float* labelLogit, const int* labels, int n) {
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= n) {
        return;
    }
    float l = runMax[row] + logf(runSum[row]);
    lse[row] = l;
    logp[row] = labels[row] == JANUS_IGNORE_INDEX ? 0.0f : labelLogit[row] - l;
}

extern "C" __global__ void janus_logprobs_chunk_backward(float* dz, const float* logits, const float* lse,
                                                         const float* dLogp, const int* labels, int n, int vChunk,
                                                         int vOffset) {
    int row = blockIdx.x;
    if (row >= n) {
        return;
    }
    int label = labels[row];
    float w = label == JANUS_IGNORE_INDEX ? 0.0f : dLogp[row];
    float l = lse[row];
    const float* z = logits + (ll)row * vChunk;
    float* out = dz + (ll)row * vChunk;
    for (int v = threadIdx.x; v < vChunk; v += blockDim.x) {
        float g = 0.0f;
        if (w != 0.0f) {
            g = __fmul_rn(expf(z[v] - l), -w);
            if (vOffset + v == label) {
                g = __fadd_rn(g, w);
            }
        }
        out[v] = g;
    }
}
