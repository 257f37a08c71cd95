package ai.janus.model;

import ai.janus.backend.Backend;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;

/**
 * The Mistral model (HF MistralForCausalLM) against a {@link Backend}: forward and backward, each
 * layer's two directions side by side, every activation in an explicit buffer.
 *
 * <pre>
 * h = embed_tokens[ids]
 * per layer:  a = RMSNorm(h);  q, k, v = a·Wqᵀ, a·Wkᵀ, a·Wvᵀ;  RoPE(q, k)
 *             h2 = h + Attention(q, k, v)·Woᵀ            (causal, optional window, GQA, packed)
 *             m = RMSNorm(h2);  h' = h2 + (silu(m·Wgateᵀ) ⊙ m·Wupᵀ)·Wdownᵀ
 * hidden = RMSNorm(h);  logits = hidden·Wlmᵀ;  logp[t] = log_softmax(logits[t])[labels[t]]
 * </pre>
 *
 * Inference ({@link #hidden}, {@link #logits}, {@link #tokenLogProbs}) keeps one residual buffer
 * and one set of layer activations. Training ({@link #forward} then {@link #backward}) keeps the
 * residual stream entering every layer and, unless gradient checkpointing is on, every layer's
 * activations; with checkpointing a layer's activations are recomputed from its input in the
 * backward, by the same code, so the gradients are bit-identical. Gradients accumulate into a
 * {@link ParameterSet} of the same specs as the parameters (typed with {@link MistralWeights}).
 *
 * <p>The residual additions run inside the o_proj and down_proj GEMMs (accumulate into a copy of
 * the stream), which saves a pass over h per addition.
 *
 * <p>Sharded training passes {@link LayerHooks}: the training forward and backward call them
 * around each layer (to gather a layer's weights, or reduce its gradients as soon as they are
 * complete); nothing else about the computation changes.
 */
public final class Mistral {
    private final MistralConfig config;
    private final MistralWeights weights;
    private final Backend backend;
    private final LayerHooks hooks;

    public Mistral(MistralConfig config, MistralWeights weights, Backend backend) {
        this(config, weights, backend, LayerHooks.NONE);
    }

    /** A model whose training forward and backward call {@code hooks} around every layer (sharded training). */
    public Mistral(MistralConfig config, MistralWeights weights, Backend backend, LayerHooks hooks) {
        this.config = config;
        this.weights = weights;
        this.backend = backend;
        this.hooks = hooks;
    }

    public MistralConfig config() {
        return config;
    }

    public MistralWeights weights() {
        return weights;
    }

    public Backend backend() {
        return backend;
    }

    // -------------------------------------------------------------------------------- buffers

    /** What every layer of one batch reads: token ids, sequence offsets, RoPE tables. */
    static final class BatchInputs implements AutoCloseable {
        final long n;
        final Tensor ids;     // (N) I32
        final Tensor cu;      // (S + 1) I32
        final Tensor cos;     // (N, D/2)
        final Tensor sin;     // (N, D/2)

        BatchInputs(MistralConfig c, TokenBatch batch) {
            n = batch.size();
            ids = Tensor.ofInts(batch.tokens());
            cu = Tensor.ofInts(batch.cuSeqlens());
            Tensor[] table = Rope.tables(batch.positions(), c.headDim(), c.ropeTheta());
            cos = table[0];
            sin = table[1];
        }

        @Override
        public void close() {
            closeAll(ids, cu, cos, sin);
        }
    }

    /** One layer's activations over N tokens: what its backward reads. */
    static final class LayerActivations implements AutoCloseable {
        final Tensor a;       // (N, C)   RMSNorm(h), input of q/k/v
        final Tensor rstd1;   // (N)
        final Tensor q;       // (N, H, D)  after RoPE
        final Tensor k;       // (N, KV, D) after RoPE
        final Tensor v;       // (N, KV, D)
        final Tensor att;     // (N, H, D)  attention output, input of o_proj
        final Tensor lse;     // (N, H)
        final Tensor h2;      // (N, C)   residual after attention
        final Tensor m;       // (N, C)   RMSNorm(h2), input of gate/up
        final Tensor rstd2;   // (N)
        final Tensor gate;    // (N, F)   m·Wgateᵀ, before silu
        final Tensor up;      // (N, F)
        final Tensor act;     // (N, F)   silu(gate) ⊙ up, input of down_proj

        LayerActivations(MistralConfig c, long n) {
            long d = c.headDim(), hidden = c.hiddenSize(), ffn = c.intermediateSize();
            a = Tensor.allocate(DType.F32, n, hidden);
            rstd1 = Tensor.allocate(DType.F32, n);
            q = Tensor.allocate(DType.F32, n, c.numAttentionHeads(), d);
            k = Tensor.allocate(DType.F32, n, c.numKeyValueHeads(), d);
            v = Tensor.allocate(DType.F32, n, c.numKeyValueHeads(), d);
            att = Tensor.allocate(DType.F32, n, c.numAttentionHeads(), d);
            lse = Tensor.allocate(DType.F32, n, c.numAttentionHeads());
            h2 = Tensor.allocate(DType.F32, n, hidden);
            m = Tensor.allocate(DType.F32, n, hidden);
            rstd2 = Tensor.allocate(DType.F32, n);
            gate = Tensor.allocate(DType.F32, n, ffn);
            up = Tensor.allocate(DType.F32, n, ffn);
            act = Tensor.allocate(DType.F32, n, ffn);
        }

        Tensor[] all() {
            return new Tensor[] {a, rstd1, q, k, v, att, lse, h2, m, rstd2, gate, up, act};
        }

        long bytes() {
            long total = 0;
            for (Tensor t : all()) {
                total += t.byteSize();
            }
            return total;
        }

        @Override
        public void close() {
            closeAll(all());
        }
    }

    /**
     * What a training forward leaves for the backward. Close it after the backward (or when the
     * step is abandoned); {@link #logp()} is valid until then.
     */
    public static final class ForwardState implements AutoCloseable {
        final BatchInputs in;
        final Tensor[] residual;            // L + 1 × (N, C): input of layer l; [L] is the input of model.norm
        final LayerActivations[] layers;    // L sets, or one scratch set reused when checkpointing
        final boolean checkpointed;
        final Tensor hidden;                // (N, C) model.norm output
        final Tensor rstdFinal;             // (N)
        final Tensor labels;                // (N) I32, or null for a hidden-states-only forward
        final Tensor logp;                  // (N)
        final Tensor lse;                   // (N) log-sum-exp of the logits

        private ForwardState(MistralConfig c, TokenBatch batch, int[] labels, boolean checkpointed) {
            long n = batch.size();
            this.in = new BatchInputs(c, batch);
            this.checkpointed = checkpointed;
            this.residual = new Tensor[c.numHiddenLayers() + 1];
            for (int l = 0; l < residual.length; l++) {
                residual[l] = Tensor.allocate(DType.F32, n, c.hiddenSize());
            }
            this.layers = new LayerActivations[checkpointed ? 1 : c.numHiddenLayers()];
            for (int l = 0; l < layers.length; l++) {
                layers[l] = new LayerActivations(c, n);
            }
            this.hidden = Tensor.allocate(DType.F32, n, c.hiddenSize());
            this.rstdFinal = Tensor.allocate(DType.F32, n);
            this.labels = labels == null ? null : Tensor.ofInts(labels);
            this.logp = labels == null ? null : Tensor.allocate(DType.F32, n);
            this.lse = labels == null ? null : Tensor.allocate(DType.F32, n);
        }

        /** log p(labels[t]) per token, (N); 0 where the label is ignored. */
        public Tensor logp() {
            if (logp == null) {
                throw new IllegalStateException("this forward had no labels");
            }
            return logp;
        }

        /** Final hidden states after model.norm, (N, C) (the reward model's input). */
        public Tensor hidden() {
            return hidden;
        }

        /**
         * Bytes held between forward and backward: the residual stream, the layer activations
         * (one reused set with checkpointing), the final norm and the log-prob outputs.
         */
        public long activationBytes() {
            long total = hidden.byteSize() + rstdFinal.byteSize();
            for (Tensor t : residual) {
                total += t.byteSize();
            }
            for (LayerActivations s : layers) {
                total += s.bytes();
            }
            if (labels != null) {
                total += labels.byteSize() + logp.byteSize() + lse.byteSize();
            }
            return total;
        }

        @Override
        public void close() {
            in.close();
            closeAll(residual);
            for (LayerActivations s : layers) {
                s.close();
            }
            closeAll(hidden, rstdFinal, labels, logp, lse);
        }
    }

    /** Gradients of one layer's activations, reused layer after layer in the backward. */
    private static final class LayerGradients implements AutoCloseable {
        final Tensor c;       // (N, C)   gradient of a (then of m)
        final Tensor q;       // (N, H, D)
        final Tensor k;       // (N, KV, D)
        final Tensor v;       // (N, KV, D)
        final Tensor att;     // (N, H, D)
        final Tensor gate;    // (N, F)
        final Tensor up;      // (N, F)
        final Tensor act;     // (N, F)

        LayerGradients(MistralConfig cfg, long n) {
            long d = cfg.headDim(), ffn = cfg.intermediateSize();
            c = Tensor.allocate(DType.F32, n, cfg.hiddenSize());
            q = Tensor.allocate(DType.F32, n, cfg.numAttentionHeads(), d);
            k = Tensor.allocate(DType.F32, n, cfg.numKeyValueHeads(), d);
            v = Tensor.allocate(DType.F32, n, cfg.numKeyValueHeads(), d);
            att = Tensor.allocate(DType.F32, n, cfg.numAttentionHeads(), d);
            gate = Tensor.allocate(DType.F32, n, ffn);
            up = Tensor.allocate(DType.F32, n, ffn);
            act = Tensor.allocate(DType.F32, n, ffn);
        }

        @Override
        public void close() {
            closeAll(c, q, k, v, att, gate, up, act);
        }
    }

    // ------------------------------------------------------------------------ one layer, both ways

    /**
     * Layer forward: {@code hOut = layer(hIn)}, activations into {@code s}. hIn and hOut may be
     * the same buffer (inference): hIn is read only before hOut is written.
     */
    private void layerForward(MistralWeights.Layer w, Tensor hIn, Tensor hOut, LayerActivations s, BatchInputs in) {
        layerForward(w, hIn, hOut, s, in, null, -1);
    }

    /** The layer forward; with a {@code cache}, this layer's new keys and values are appended and attended over. */
    private void layerForward(MistralWeights.Layer w, Tensor hIn, Tensor hOut, LayerActivations s, BatchInputs in,
                              KvCache cache, int layer) {
        long n = in.n;
        float eps = (float) config.rmsNormEps();
        // attention block: h2 = hIn + Attention(RoPE(a·Wqᵀ), RoPE(a·Wkᵀ), a·Wvᵀ)·Woᵀ, a = RMSNorm(hIn)
        backend.rmsNorm(s.a, s.rstd1, hIn, w.inputNorm(), eps);
        backend.matmul(flat(s.q, n), s.a, w.wq(), false);
        backend.matmul(flat(s.k, n), s.a, w.wk(), false);
        backend.matmul(flat(s.v, n), s.a, w.wv(), false);
        backend.rope(s.q, in.cos, in.sin);
        backend.rope(s.k, in.cos, in.sin);
        if (cache == null) {
            backend.attention(s.att, s.lse, s.q, s.k, s.v, in.cu, in.cu, config.attentionSpec());
        } else {
            attendOverCache(s, in, cache, layer);
        }
        backend.copy(s.h2, hIn);
        backend.matmul(s.h2, flat(s.att, n), w.wo(), true);
        // MLP block: hOut = h2 + (silu(m·Wgateᵀ) ⊙ m·Wupᵀ)·Wdownᵀ, m = RMSNorm(h2)
        backend.rmsNorm(s.m, s.rstd2, s.h2, w.postNorm(), eps);
        backend.matmul(s.gate, s.m, w.gate(), false);
        backend.matmul(s.up, s.m, w.up(), false);
        backend.swiglu(s.act, s.gate, s.up);
        backend.copy(hOut, s.h2);
        backend.matmul(hOut, s.act, w.down(), true);
    }

    /**
     * Layer backward. On entry {@code dh} is the gradient of the layer's output; on exit, of its
     * input {@code hIn}. Parameter gradients accumulate into {@code g}.
     */
    private void layerBackward(MistralWeights.Layer w, MistralWeights.Layer g, Tensor hIn, LayerActivations s,
                               BatchInputs in, Tensor dh, LayerGradients d) {
        long n = in.n;
        // hOut = h2 + act·Wdownᵀ
        backend.matmulInputGradient(d.act, dh, w.down(), false);
        backend.matmulWeightGradient(g.down(), dh, s.act);
        // act = silu(gate) ⊙ up
        backend.swigluBackward(d.gate, d.up, d.act, s.gate, s.up);
        // gate = m·Wgateᵀ, up = m·Wupᵀ
        backend.matmulInputGradient(d.c, d.gate, w.gate(), false);
        backend.matmulInputGradient(d.c, d.up, w.up(), true);
        backend.matmulWeightGradient(g.gate(), d.gate, s.m);
        backend.matmulWeightGradient(g.up(), d.up, s.m);
        // m = RMSNorm(h2); the residual path already carries dh into h2
        backend.rmsNormBackward(dh, g.postNorm(), d.c, s.h2, w.postNorm(), s.rstd2);
        // h2 = hIn + att·Woᵀ
        backend.matmulInputGradient(flat(d.att, n), dh, w.wo(), false);
        backend.matmulWeightGradient(g.wo(), dh, flat(s.att, n));
        // att = Attention(q, k, v)
        backend.attentionBackward(d.q, d.k, d.v, d.att, s.q, s.k, s.v, s.att, s.lse, in.cu, in.cu,
                config.attentionSpec());
        // q, k = RoPE(·)
        backend.ropeBackward(d.q, in.cos, in.sin);
        backend.ropeBackward(d.k, in.cos, in.sin);
        // q, k, v = a·Wqᵀ, a·Wkᵀ, a·Wvᵀ
        backend.matmulInputGradient(d.c, flat(d.q, n), w.wq(), false);
        backend.matmulInputGradient(d.c, flat(d.k, n), w.wk(), true);
        backend.matmulInputGradient(d.c, flat(d.v, n), w.wv(), true);
        backend.matmulWeightGradient(g.wq(), flat(d.q, n), s.a);
        backend.matmulWeightGradient(g.wk(), flat(d.k, n), s.a);
        backend.matmulWeightGradient(g.wv(), flat(d.v, n), s.a);
        // a = RMSNorm(hIn); dh now becomes the gradient of hIn
        backend.rmsNormBackward(dh, g.inputNorm(), d.c, hIn, w.inputNorm(), s.rstd1);
    }

    // ------------------------------------------------------------------------------- inference

    /** Final hidden states after model.norm: a new (N, C) tensor the caller closes. */
    public Tensor hidden(TokenBatch batch) {
        checkTokens(batch);
        long n = batch.size();
        Tensor out = Tensor.allocate(DType.F32, n, config.hiddenSize());
        try (BatchInputs in = new BatchInputs(config, batch); LayerActivations s = new LayerActivations(config, n);
             Tensor h = Tensor.allocate(DType.F32, n, config.hiddenSize());
             Tensor rstd = Tensor.allocate(DType.F32, n)) {
            backend.embedding(h, weights.embed(), in.ids);
            for (MistralWeights.Layer w : weights.layers()) {
                layerForward(w, h, h, s, in);
            }
            backend.rmsNorm(out, rstd, h, weights.finalNorm(), (float) config.rmsNormEps());
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
        checkLabels(batch, labels);
        try (Tensor h = hidden(batch); Tensor y = Tensor.ofInts(labels);
             Tensor lse = Tensor.allocate(DType.F32, batch.size())) {
            Tensor logp = Tensor.allocate(DType.F32, batch.size());
            backend.tokenLogProbs(logp, lse, h, weights.lmHead(), y);
            return logp;
        }
    }

    // -------------------------------------------------------------------------------- training

    /**
     * Training forward: every layer's input is kept, and every layer's activations unless
     * {@code checkpoint}. With {@code labels} (shifted targets, {@link Backend#IGNORE_INDEX} for
     * none) the state holds per-token log-probs; with null it stops at the final hidden states.
     */
    public ForwardState forward(TokenBatch batch, int[] labels, boolean checkpoint) {
        checkTokens(batch);
        if (labels != null) {
            checkLabels(batch, labels);
        }
        ForwardState st = new ForwardState(config, batch, labels, checkpoint);
        try {
            backend.embedding(st.residual[0], weights.embed(), st.in.ids);
            for (int l = 0; l < config.numHiddenLayers(); l++) {
                hooks.beforeForward(l);
                layerForward(weights.layers().get(l), st.residual[l], st.residual[l + 1],
                        st.layers[checkpoint ? 0 : l], st.in);
            }
            backend.rmsNorm(st.hidden, st.rstdFinal, st.residual[config.numHiddenLayers()], weights.finalNorm(),
                    (float) config.rmsNormEps());
            if (labels != null) {
                backend.tokenLogProbs(st.logp, st.lse, st.hidden, weights.lmHead(), st.labels);
            }
            return st;
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    /**
     * Backward from per-token log-prob gradients {@code dLogp (N)} (e.g. −1/|M| on the supervised
     * positions for mean token NLL). Accumulates every parameter's gradient into {@code grads}.
     */
    public void backward(ForwardState st, Tensor dLogp, ParameterSet grads) {
        if (st.labels == null) {
            throw new IllegalStateException("this forward had no labels; use backwardFromHidden");
        }
        MistralWeights g = MistralWeights.of(config, grads);
        try (Tensor dHidden = Tensor.allocate(DType.F32, st.in.n, config.hiddenSize())) {
            backend.tokenLogProbsBackward(dHidden, g.lmHead(), dLogp, st.hidden, weights.lmHead(), st.labels, st.lse);
            backwardFromHidden(st, dHidden, grads);
        }
    }

    /** Backward from a gradient of the final hidden states {@code dHidden (N, C)}; accumulates into {@code grads}. */
    public void backwardFromHidden(ForwardState st, Tensor dHidden, ParameterSet grads) {
        MistralWeights g = MistralWeights.of(config, grads);
        long n = st.in.n;
        int layers = config.numHiddenLayers();
        try (Tensor dh = Tensor.allocate(DType.F32, n, config.hiddenSize());
             LayerGradients d = new LayerGradients(config, n);
             Tensor recomputed = st.checkpointed ? Tensor.allocate(DType.F32, n, config.hiddenSize()) : null) {
            // hidden = RMSNorm(residual[L])
            backend.rmsNormBackward(dh, g.finalNorm(), dHidden, st.residual[layers], weights.finalNorm(), st.rstdFinal);
            for (int l = layers - 1; l >= 0; l--) {
                hooks.beforeBackward(l);
                MistralWeights.Layer w = weights.layers().get(l);
                LayerActivations s = st.layers[st.checkpointed ? 0 : l];
                if (st.checkpointed) {
                    layerForward(w, st.residual[l], recomputed, s, st.in);
                }
                layerBackward(w, g.layers().get(l), st.residual[l], s, st.in, dh, d);
                hooks.afterBackward(l);
            }
            backend.embeddingBackward(g.embed(), dh, st.in.ids);
        }
    }

    // ------------------------------------------------------------------------------ generation

    /**
     * One decode step over a {@link KvCache}: segment s of {@code step} holds sequence s's new
     * tokens (a whole prompt when prefilling, one token when decoding, none when it has finished);
     * their positions must continue the cache ({@code cache.length(s)}, +1, …). Their keys and
     * values are appended to the cache. Returns a new (S, V) tensor with the logits at each
     * sequence's last new token (rows of sequences without new tokens are 0); the caller closes it.
     */
    public Tensor decode(KvCache cache, TokenBatch step) {
        checkTokens(step);
        if (step.sequences() != cache.sequences()) {
            throw new IllegalArgumentException("the step has " + step.sequences() + " segments for a cache of "
                    + cache.sequences() + " sequences");
        }
        int[] cu = step.cuSeqlens(), counts = new int[cache.sequences()];
        for (int s = 0; s < counts.length; s++) {
            counts[s] = cu[s + 1] - cu[s];
            for (int t = cu[s]; t < cu[s + 1]; t++) {
                if (step.positions()[t] != cache.length(s) + (t - cu[s])) {
                    throw new IllegalArgumentException("token " + t + " of sequence " + s + " has position "
                            + step.positions()[t] + "; the cache continues at " + (cache.length(s) + t - cu[s]));
                }
            }
        }
        cache.checkRoom(counts);
        long n = step.size();
        Tensor logits = Tensor.allocate(DType.F32, cache.sequences(), config.vocabSize());
        try (BatchInputs in = new BatchInputs(config, step); LayerActivations s = new LayerActivations(config, n);
             Tensor h = Tensor.allocate(DType.F32, n, config.hiddenSize());
             Tensor last = Tensor.allocate(DType.F32, cache.sequences(), config.hiddenSize());
             Tensor rstd = Tensor.allocate(DType.F32, cache.sequences())) {
            backend.embedding(h, weights.embed(), in.ids);
            for (int l = 0; l < config.numHiddenLayers(); l++) {
                layerForward(weights.layers().get(l), h, h, s, in, cache, l);
            }
            for (int q = 0; q < counts.length; q++) {
                if (counts[q] > 0) {
                    backend.copy(last.rows(q, 1), h.rows(cu[q + 1] - 1, 1));
                }
            }
            backend.rmsNorm(last, rstd, last, weights.finalNorm(), (float) config.rmsNormEps());
            backend.matmul(logits, last, weights.lmHead(), false);
            for (int q = 0; q < counts.length; q++) {
                if (counts[q] == 0) {
                    backend.zero(logits.rows(q, 1));
                }
            }
            cache.advance(counts);
            return logits;
        } catch (RuntimeException e) {
            logits.close();
            throw e;
        }
    }

    /**
     * Attention of a decode step: per sequence, its new keys and values go after its cached rows
     * and its new queries attend over all of them (bottom-right causal alignment: query i of Tq new
     * tokens sees keys j ≤ i + Tk − Tq, i.e. every earlier token and itself).
     */
    private void attendOverCache(LayerActivations s, BatchInputs in, KvCache cache, int layer) {
        int[] cu = in.cu.toIntArray();
        for (int q = 0; q + 1 < cu.length; q++) {
            int count = cu[q + 1] - cu[q], cached = cache.length(q);
            if (count == 0) {
                continue;
            }
            Tensor keys = cache.keys(layer, q, count), values = cache.values(layer, q, count);
            backend.copy(keys.rows(cached, count), s.k.rows(cu[q], count));
            backend.copy(values.rows(cached, count), s.v.rows(cu[q], count));
            try (Tensor cuQ = Tensor.ofInts(new int[] {0, count});
                 Tensor cuK = Tensor.ofInts(new int[] {0, cached + count})) {
                backend.attention(s.att.rows(cu[q], count), s.lse.rows(cu[q], count), s.q.rows(cu[q], count), keys,
                        values, cuQ, cuK, config.attentionSpec());
            }
        }
    }

    // -------------------------------------------------------------------------------- helpers

    /** A (N, heads, D) tensor seen as (N, heads·D) for the projections. */
    private static Tensor flat(Tensor t, long n) {
        return t.reshape(n, t.numel() / Math.max(1, n));
    }

    private static void closeAll(Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t != null) {
                t.close();
            }
        }
    }

    private void checkLabels(TokenBatch batch, int[] labels) {
        if (labels.length != batch.size()) {
            throw new IllegalArgumentException(labels.length + " labels for " + batch.size() + " tokens");
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
