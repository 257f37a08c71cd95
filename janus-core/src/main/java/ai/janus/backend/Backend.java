package ai.janus.backend;

import ai.janus.tensor.Tensor;

/**
 * The ops the Mistral model is written against, each forward next to its backward. Every tensor
 * argument is F32 unless a parameter says I32; shapes use janus's one dimension legend
 * (docs/architecture.md, "Names": N tokens, C hidden, F ffn, V vocab, H heads, KV kv heads,
 * D head dim, S sequences). An op's name is its stem: every version of it, CPU, CUDA kernel and
 * backward, is found by grepping the stem case-insensitively.
 * Implementations validate shapes and throw {@link IllegalArgumentException} with the argument's
 * name on a mismatch.
 *
 * <p>Accumulation rule: forward outputs are overwritten; in a backward, gradients of parameters
 * ({@code dWeight}, {@code dTable}, {@code dLmHead}) always accumulate, and gradients of inputs are
 * overwritten unless the method says it accumulates. Every op is deterministic: the same inputs on
 * the same backend and thread count give bit-identical outputs.
 */
public interface Backend extends AutoCloseable {

    /** A short name for logs ("cpu", "cuda:0"). */
    String name();

    /**
     * Matrix product with the weight in checkpoint layout:
     * {@code out (M, N) = x (M, K) · w (N, K)ᵀ}, plus the old {@code out} when {@code accumulate}.
     */
    void matmul(Tensor out, Tensor x, Tensor w, boolean accumulate);

    /**
     * Backward of {@link #matmul} for its input: {@code dx (M, K) = dOut (M, N) · w (N, K)}, plus
     * the old {@code dx} when {@code accumulate}.
     */
    void matmulInputGradient(Tensor dx, Tensor dOut, Tensor w, boolean accumulate);

    /** Backward of {@link #matmul} for its weight: {@code dw (N, K) += dOut (M, N)ᵀ · x (M, K)}. */
    void matmulWeightGradient(Tensor dw, Tensor dOut, Tensor x);

    /** Row gather: {@code out (N, C) = table (V, C)[ids (N) I32]}; an id outside [0, V) is an error. */
    void embedding(Tensor out, Tensor table, Tensor ids);

    /** Backward of {@link #embedding}: {@code dTable[ids[n]] += dOut[n]} for every n, in order of n. */
    void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids);

    /**
     * RMSNorm: {@code rstd[n] = 1 / sqrt(mean_c(x[n,c]²) + eps)},
     * {@code out[n,c] = weight[c] · (x[n,c] · rstd[n])}. Shapes: out, x (N, C); weight (C); rstd (N),
     * saved for the backward. {@code out} may alias {@code x}.
     */
    void rmsNorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps);

    /**
     * Backward of {@link #rmsNorm}, with r = rstd[n] and g = weight ⊙ dOut[n]:
     * {@code dx[n] += r·g − r³·x[n]·(g·x[n])/C} (accumulates: it adds into the residual stream's
     * gradient) and {@code dWeight[c] += Σ_n dOut[n,c]·x[n,c]·r[n]}.
     */
    void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd);

    /**
     * Rotary embedding in place, HF rotate_half convention: for each head and j < D/2,
     * {@code x[j] ← x[j]·cos[j] − x[j+D/2]·sin[j]} and {@code x[j+D/2] ← x[j+D/2]·cos[j] + x[j]·sin[j]}.
     * Shapes: x (N, heads, D); cos, sin (N, D/2), one row per token's position.
     */
    void rope(Tensor x, Tensor cos, Tensor sin);

    /** Backward of {@link #rope} in place on the gradient: the inverse rotation (sin negated). */
    void ropeBackward(Tensor dx, Tensor cos, Tensor sin);

    /**
     * FlashAttention-2 forward over packed sequences. Sequence s owns query rows
     * [cuQ[s], cuQ[s+1]) and key rows [cuK[s], cuK[s+1]); no row attends across sequences.
     * Query head h reads kv head h / (H / KV). Softmax in fp32.
     *
     * @param out (Nq, H, D) attention output
     * @param lse (Nq, H) log-sum-exp of each row's scaled, masked scores (−inf for an empty row)
     * @param q   (Nq, H, D)
     * @param k   (Nk, KV, D)
     * @param v   (Nk, KV, D)
     * @param cuSeqlensQ (S + 1) I32 offsets of the query rows
     * @param cuSeqlensK (S + 1) I32 offsets of the key rows
     */
    void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                   Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec);

    /**
     * FlashAttention-2 backward: {@code dq (Nq, H, D)}, {@code dk} and {@code dv (Nk, KV, D)}
     * (overwritten) from {@code dOut (Nq, H, D)}, the forward's inputs, its output and its LSE.
     * P is recomputed from the LSE; dK and dV of a kv head sum over the query heads that read it.
     */
    void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out,
                           Tensor lse, Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec);

    /** SwiGLU: {@code out = silu(gate) ⊙ up}, silu(x) = x·sigmoid(x); all (N, F); out may alias either input. */
    void swiglu(Tensor out, Tensor gate, Tensor up);

    /**
     * Backward of {@link #swiglu}: {@code dUp = dOut ⊙ silu(gate)},
     * {@code dGate = dOut ⊙ up ⊙ σ(gate)·(1 + gate·(1 − σ(gate)))}; both overwritten, (N, F).
     */
    void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up);

    /** {@code acc += x}, same shape. */
    void add(Tensor acc, Tensor x);

    /** {@code dst = src}, same dtype and element count. */
    void copy(Tensor dst, Tensor src);

    /** Sets every byte of {@code t} to 0. */
    void zero(Tensor t);

    /**
     * Per-token log-probabilities of given labels without a full (N, V) logits buffer:
     * {@code z = hidden · lmHeadᵀ} in bounded row chunks, {@code lse[n] = logsumexp(z[n])},
     * {@code logp[n] = z[n, labels[n]] − lse[n]}; a label of {@link #IGNORE_INDEX} gives logp 0.
     * Shapes: logp, lse (N); hidden (N, C); lmHead (V, C); labels (N) I32.
     */
    void tokenLogProbs(Tensor logp, Tensor lse, Tensor hidden, Tensor lmHead, Tensor labels);

    /**
     * Backward of {@link #tokenLogProbs}, chunked the same way: with p = softmax(z[n]) from the
     * saved {@code lse}, {@code dz[n] = dLogp[n]·(onehot(labels[n]) − p)} (0 for ignored labels);
     * {@code dHidden (N, C) = dz · lmHead} (overwritten), {@code dLmHead (V, C) += dzᵀ · hidden}.
     */
    void tokenLogProbsBackward(Tensor dHidden, Tensor dLmHead, Tensor dLogp, Tensor hidden, Tensor lmHead,
                               Tensor labels, Tensor lse);

    /** The label value that marks a position as not supervised (PyTorch's ignore_index). */
    int IGNORE_INDEX = -100;

    /** Releases the backend's threads and buffers. */
    @Override
    void close();
}
