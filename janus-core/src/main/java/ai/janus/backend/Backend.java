package ai.janus.backend;

import ai.janus.tensor.Tensor;

/**
 * The ops the Mistral model is written against. Every tensor argument is F32 unless a parameter
 * says I32; shapes use the legend of {@code ai.janus.tensor} (N tokens, C hidden, F ffn, V vocab,
 * H heads, KV kv heads, D head dim, S sequences). Outputs are overwritten unless a method says it
 * accumulates. Implementations validate shapes and throw {@link IllegalArgumentException} with the
 * argument's name on a mismatch.
 */
public interface Backend extends AutoCloseable {

    /** A short name for logs ("cpu", "cuda:0"). */
    String name();

    /**
     * Matrix product with the weight in checkpoint layout:
     * {@code out (M, N) = x (M, K) · w (N, K)ᵀ}, plus the old {@code out} when {@code accumulate}.
     */
    void matmul(Tensor out, Tensor x, Tensor w, boolean accumulate);

    /** Row gather: {@code out (N, C) = table (V, C)[ids (N) I32]}; an id outside [0, V) is an error. */
    void embedding(Tensor out, Tensor table, Tensor ids);

    /**
     * RMSNorm: {@code rstd[n] = 1 / sqrt(mean_c(x[n,c]²) + eps)},
     * {@code out[n,c] = weight[c] · (x[n,c] · rstd[n])}. Shapes: out, x (N, C); weight (C); rstd (N),
     * saved for the backward. {@code out} may alias {@code x}.
     */
    void rmsNorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps);

    /**
     * Rotary embedding in place, HF rotate_half convention: for each head and j < D/2,
     * {@code x[j] ← x[j]·cos[j] − x[j+D/2]·sin[j]} and {@code x[j+D/2] ← x[j+D/2]·cos[j] + x[j]·sin[j]}.
     * Shapes: x (N, heads, D); cos, sin (N, D/2), one row per token's position.
     */
    void rope(Tensor x, Tensor cos, Tensor sin);

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

    /** SwiGLU: {@code out = silu(gate) ⊙ up}, silu(x) = x·sigmoid(x); all (N, F); out may alias either input. */
    void swiglu(Tensor out, Tensor gate, Tensor up);

    /** {@code acc += x}, same shape. */
    void add(Tensor acc, Tensor x);

    /**
     * Per-token log-probabilities of given labels without a full (N, V) logits buffer:
     * {@code z = hidden · lmHeadᵀ} in bounded row chunks, {@code lse[n] = logsumexp(z[n])},
     * {@code logp[n] = z[n, labels[n]] − lse[n]}; a label of {@link #IGNORE_INDEX} gives logp 0.
     * Shapes: logp, lse (N); hidden (N, C); lmHead (V, C); labels (N) I32.
     */
    void tokenLogProbs(Tensor logp, Tensor lse, Tensor hidden, Tensor lmHead, Tensor labels);

    /** The label value that marks a position as not supervised (PyTorch's ignore_index). */
    int IGNORE_INDEX = -100;

    /** Releases the backend's threads and buffers. */
    @Override
    void close();
}
