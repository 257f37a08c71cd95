package ai.janus.model;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.Backend;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;

/**
 * The Mistral forward pass (HF MistralForCausalLM), top to bottom, against a {@link Backend}:
 *
 * <pre>
 * h = embed_tokens[ids]
 * per layer:  a = RMSNorm(h);  q, k, v = a·Wqᵀ, a·Wkᵀ, a·Wvᵀ;  RoPE(q, k)
 *             h += Attention(q, k, v)·Woᵀ                 (causal, optional window, GQA, packed)
 *             m = RMSNorm(h);  h += (silu(m·Wgateᵀ) ⊙ m·Wupᵀ)·Wdownᵀ
 * h = RMSNorm(h);  logits = h·Wlmᵀ
 * </pre>
 *
 * Every buffer is explicit in {@link Buffers}. The residual additions run inside the o_proj and
 * down_proj GEMMs (accumulate into h), which saves two passes over h per layer.
 */
public final class Mistral {
    private final MistralConfig config;
    private final MistralWeights weights;
    private final Backend backend;

    public Mistral(MistralConfig config, MistralWeights weights, Backend backend) {
        this.config = config;
        this.weights = weights;
        this.backend = backend;
    }

    public MistralConfig config() {
        return config;
    }

    public MistralWeights weights() {
        return weights;
    }

    /** The activations of one forward over N tokens; reused by every layer. */
    private static final class Buffers implements AutoCloseable {
        final Tensor h;       // (N, C)  residual stream
        final Tensor a;       // (N, C)  normed input of attention / MLP
        final Tensor rstd;    // (N)     1/rms of the last norm
        final Tensor q;       // (N, H, D)
        final Tensor k;       // (N, KV, D)
        final Tensor v;       // (N, KV, D)
        final Tensor att;     // (N, H, D) attention output
        final Tensor lse;     // (N, H)  attention log-sum-exp
        final Tensor gate;    // (N, F)  then silu(gate) ⊙ up
        final Tensor up;      // (N, F)
        final Tensor cos;     // (N, D/2)
        final Tensor sin;     // (N, D/2)
        final Tensor ids;     // (N) I32
        final Tensor cu;      // (S + 1) I32

        Buffers(MistralConfig c, TokenBatch batch) {
            long n = batch.size(), d = c.headDim();
            h = Tensor.allocate(DType.F32, n, c.hiddenSize());
            a = Tensor.allocate(DType.F32, n, c.hiddenSize());
            rstd = Tensor.allocate(DType.F32, n);
            q = Tensor.allocate(DType.F32, n, c.numAttentionHeads(), d);
            k = Tensor.allocate(DType.F32, n, c.numKeyValueHeads(), d);
            v = Tensor.allocate(DType.F32, n, c.numKeyValueHeads(), d);
            att = Tensor.allocate(DType.F32, n, c.numAttentionHeads(), d);
            lse = Tensor.allocate(DType.F32, n, c.numAttentionHeads());
            gate = Tensor.allocate(DType.F32, n, c.intermediateSize());
            up = Tensor.allocate(DType.F32, n, c.intermediateSize());
            Tensor[] table = Rope.tables(batch.positions(), c.headDim(), c.ropeTheta());
            cos = table[0];
            sin = table[1];
            ids = Tensor.ofInts(batch.tokens());
            cu = Tensor.ofInts(batch.cuSeqlens());
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {h, a, rstd, q, k, v, att, lse, gate, up, cos, sin, ids, cu}) {
                t.close();
            }
        }
    }

    /** Final hidden states after model.norm: a new (N, C) tensor the caller closes. */
    public Tensor hidden(TokenBatch batch) {
        checkTokens(batch);
        long n = batch.size();
        Tensor out = Tensor.allocate(DType.F32, n, config.hiddenSize());
        try (Buffers b = new Buffers(config, batch)) {
            float eps = (float) config.rmsNormEps();
            AttentionSpec mask = config.attentionSpec();
            long qWidth = (long) config.numAttentionHeads() * config.headDim();
            long kvWidth = (long) config.numKeyValueHeads() * config.headDim();
            backend.embedding(b.h, weights.embed(), b.ids);
            for (MistralWeights.Layer w : weights.layers()) {
                // attention block
                backend.rmsNorm(b.a, b.rstd, b.h, w.inputNorm(), eps);
                backend.matmul(b.q.reshape(n, qWidth), b.a, w.wq(), false);
                backend.matmul(b.k.reshape(n, kvWidth), b.a, w.wk(), false);
                backend.matmul(b.v.reshape(n, kvWidth), b.a, w.wv(), false);
                backend.rope(b.q, b.cos, b.sin);
                backend.rope(b.k, b.cos, b.sin);
                backend.attention(b.att, b.lse, b.q, b.k, b.v, b.cu, b.cu, mask);
                backend.matmul(b.h, b.att.reshape(n, qWidth), w.wo(), true);
                // MLP block
                backend.rmsNorm(b.a, b.rstd, b.h, w.postNorm(), eps);
                backend.matmul(b.gate, b.a, w.gate(), false);
                backend.matmul(b.up, b.a, w.up(), false);
                backend.swiglu(b.gate, b.gate, b.up);
                backend.matmul(b.h, b.gate, w.down(), true);
            }
            backend.rmsNorm(out, b.rstd, b.h, weights.finalNorm(), eps);
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /** Full fp32 logits: a new (N, V) tensor the caller closes. Prefer {@link #tokenLogProbs} for losses. */
    public Tensor logits(TokenBatch batch) {
        try (Tensor h = hidden(batch)) {
            Tensor logits = Tensor.allocate(DType.F32, batch.size(), config.vocabSize());
            backend.matmul(logits, h, weights.lmHead(), false);
            return logits;
        }
    }

    /**
     * log p(labels[t] | tokens[..t]) per token, from logits computed in bounded chunks (no (N, V)
     * buffer). {@code labels[t]} is the target of position t (already shifted by the caller), or
     * {@link Backend#IGNORE_INDEX} for 0. Returns a new (N) tensor the caller closes.
     */
    public Tensor tokenLogProbs(TokenBatch batch, int[] labels) {
        if (labels.length != batch.size()) {
            throw new IllegalArgumentException(labels.length + " labels for " + batch.size() + " tokens");
        }
        try (Tensor h = hidden(batch); Tensor y = Tensor.ofInts(labels);
             Tensor lse = Tensor.allocate(DType.F32, batch.size())) {
            Tensor logp = Tensor.allocate(DType.F32, batch.size());
            backend.tokenLogProbs(logp, lse, h, weights.lmHead(), y);
            return logp;
        }
    }

    private void checkTokens(TokenBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            int t = batch.tokens()[i];
            if (t < 0 || t >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " at position " + i
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            if (batch.positions()[i] >= config.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("position " + batch.positions()[i] + " at token " + i
                        + " exceeds max_position_embeddings " + config.maxPositionEmbeddings());
            }
        }
    }
}
