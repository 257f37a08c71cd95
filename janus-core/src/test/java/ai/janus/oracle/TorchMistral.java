/*
 * TorchMistral: the test oracle of the Mistral forward pass, written in libtorch ops from
 * docs/spec/model.md alone (HF MistralForCausalLM), never from janus's own model code.
 *
 *   h = embed_tokens[ids]
 *   per layer:  a = RMSNorm(h);  q, k, v = a·Wqᵀ, a·Wkᵀ, a·Wvᵀ;  q, k = RoPE(q), RoPE(k)   (rotate_half)
 *               h += Attention(q, k, v)·Woᵀ        (causal, optional window W, scale 1/sqrt(D), GQA)
 *               m = RMSNorm(h);  h += (silu(m·Wgateᵀ) ⊙ m·Wupᵀ)·Wdownᵀ
 *   logits = RMSNorm(h, model.norm)·Wlmᵀ           (Wlm = embed_tokens when tied)
 *
 * Everything runs in fp32 on the CPU. It is janus-free (plain numbers and torch tensors keyed by
 * the HF checkpoint names) so that janus-bench can time it as the libtorch peer of janus.
 *
 * Legend: T tokens, C hidden, V vocab, H heads, KV kv heads, D head dim, F intermediate.
 */
package ai.janus.oracle;

import static org.bytedeco.pytorch.global.torch.*;

import java.util.Arrays;
import java.util.Map;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;

/** The libtorch reference forward of a Mistral model over sequences with positions 0..T-1. */
@SuppressWarnings("try") // PointerScope blocks free what torch allocates inside them; the scope itself is unused
public final class TorchMistral {

    /** Marks "no sliding window" (HF config {@code sliding_window: null}): full causal attention. */
    public static final int NO_WINDOW = -1;

    /**
     * The architecture numbers of HF {@code config.json}.
     *
     * @param slidingWindow W (query i sees keys j in [i − W, i]) or {@link #NO_WINDOW}
     * @param tied          true when lm_head is the embedding (no {@code lm_head.weight})
     */
    public record Dims(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim,
                       double ropeTheta, int slidingWindow, double rmsNormEps, boolean tied) {
        public Dims {
            if (vocab <= 0 || hidden <= 0 || intermediate <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0
                    || headDim <= 0) {
                throw new IllegalArgumentException("sizes must be positive: " + this);
            }
            if (heads % kvHeads != 0) {
                throw new IllegalArgumentException("heads " + heads + " is not a multiple of kvHeads " + kvHeads);
            }
            if (headDim % 2 != 0) {
                throw new IllegalArgumentException("headDim must be even for RoPE, got " + headDim);
            }
            if (slidingWindow < 0 && slidingWindow != NO_WINDOW) {
                throw new IllegalArgumentException("slidingWindow must be >= 0 or NO_WINDOW, got " + slidingWindow);
            }
        }

        /** The same model with another window (oracle variants in tests). */
        public Dims withSlidingWindow(int window) {
            return new Dims(vocab, hidden, intermediate, layers, heads, kvHeads, headDim, ropeTheta, window,
                    rmsNormEps, tied);
        }
    }

    private final Dims d;
    private final Map<String, Tensor> w;

    /**
     * @param weights fp32 tensors under the spec's checkpoint names, shape [out, in]; held by
     *                reference (the caller keeps them alive and frees them)
     */
    public TorchMistral(Dims dims, Map<String, Tensor> weights) {
        this.d = dims;
        this.w = weights;
        long qDim = (long) dims.heads() * dims.headDim(), kvDim = (long) dims.kvHeads() * dims.headDim();
        check("model.embed_tokens.weight", dims.vocab(), dims.hidden());
        for (int i = 0; i < dims.layers(); i++) {
            String p = "model.layers." + i + ".";
            check(p + "input_layernorm.weight", dims.hidden());
            check(p + "self_attn.q_proj.weight", qDim, dims.hidden());
            check(p + "self_attn.k_proj.weight", kvDim, dims.hidden());
            check(p + "self_attn.v_proj.weight", kvDim, dims.hidden());
            check(p + "self_attn.o_proj.weight", dims.hidden(), qDim);
            check(p + "post_attention_layernorm.weight", dims.hidden());
            check(p + "mlp.gate_proj.weight", dims.intermediate(), dims.hidden());
            check(p + "mlp.up_proj.weight", dims.intermediate(), dims.hidden());
            check(p + "mlp.down_proj.weight", dims.hidden(), dims.intermediate());
        }
        check("model.norm.weight", dims.hidden());
        if (!dims.tied()) {
            check("lm_head.weight", dims.vocab(), dims.hidden());
        }
    }

    private void check(String name, long... shape) {
        Tensor t = w.get(name);
        if (t == null) {
            throw new IllegalArgumentException("missing weight " + name);
        }
        long[] found = new long[(int) t.dim()];
        for (int i = 0; i < found.length; i++) {
            found[i] = t.size(i);
        }
        if (!Arrays.equals(found, shape) || t.scalar_type().intern() != ScalarType.Float) {
            throw new IllegalArgumentException(name + ": expected fp32 " + Arrays.toString(shape)
                    + ", found " + t.scalar_type() + " " + Arrays.toString(found));
        }
    }

    public Dims dims() {
        return d;
    }

    /**
     * Logits of one sequence, positions 0..T-1: a new fp32 (T, V) tensor. It belongs to the
     * caller's innermost {@link PointerScope}; with none open, the caller closes it.
     */
    public Tensor logits(long[] ids) {
        return logits(new long[][] {ids});
    }

    /**
     * Logits of B sequences of equal length T in one batched forward (how a PyTorch user runs a
     * batch): a new fp32 (B·T, V) tensor, rows in sequence order; ownership as {@link #logits(long[])}.
     */
    public Tensor logits(long[][] rows) {
        PointerScope outer = PointerScope.getInnerScope();
        try (PointerScope scope = new PointerScope()) {
            new NoGradGuard(); // released last, when the scope closes
            Tensor out = forward(rows);
            if (outer != null) {
                outer.attach(out);
            } else {
                out.retainReference();
            }
            return out;
        }
    }

    /**
     * Logits of one sequence with autograd recording (for gradient oracles): a (T, V) tensor in the
     * caller's innermost {@link PointerScope}. Weights that {@code requires_grad} get gradients from
     * a {@code backward()} on anything computed from it.
     */
    public Tensor logitsWithGrad(long[] ids) {
        return forward(new long[][] {ids});
    }

    /** Batched {@link #logitsWithGrad(long[])}: B sequences of equal length, (B·T, V). */
    public Tensor logitsWithGrad(long[][] rows) {
        return forward(rows);
    }

    private Tensor forward(long[][] rows) {
        int B = rows.length, T = rows[0].length, H = d.heads(), KV = d.kvHeads(), D = d.headDim();
        long[] flat = new long[B * T];
        for (int b = 0; b < B; b++) {
            if (rows[b].length != T) {
                throw new IllegalArgumentException("rows must have equal lengths: " + rows[b].length + " != " + T);
            }
            System.arraycopy(rows[b], 0, flat, b * T, T);
        }
        Tensor tokens;
        try (LongPointer p = new LongPointer(flat)) {
            tokens = from_blob(p, new long[] {B, T}, new TensorOptions(ScalarType.Long)).clone();
        }
        Tensor[] rope = ropeCosSin(T);                            // (T, D) each
        Tensor mask = d.slidingWindow() == NO_WINDOW ? null : windowMask(T, d.slidingWindow()); // (T, T) bool

        Tensor h = embedding(w.get("model.embed_tokens.weight"), tokens);             // (B, T, C)
        for (int i = 0; i < d.layers(); i++) {
            String p = "model.layers." + i + ".";
            Tensor a = rmsNorm(h, w.get(p + "input_layernorm.weight"));
            Tensor q = heads(linear(a, w.get(p + "self_attn.q_proj.weight")), H, D);  // (B, H, T, D)
            Tensor k = heads(linear(a, w.get(p + "self_attn.k_proj.weight")), KV, D); // (B, KV, T, D)
            Tensor v = heads(linear(a, w.get(p + "self_attn.v_proj.weight")), KV, D); // (B, KV, T, D)
            q = applyRope(q, rope[0], rope[1]);
            k = applyRope(k, rope[0], rope[1]);
            // GQA per spec: query head h reads kv head h / (H/KV), i.e. repeat_interleave on the head axis.
            if (H != KV) {
                k = k.repeat_interleave(H / KV, new LongOptional(1),
                        new LongOptional());
                v = v.repeat_interleave(H / KV, new LongOptional(1),
                        new LongOptional());
            }
            DoubleOptional scale = new DoubleOptional(1.0 / Math.sqrt(D));
            Tensor o = mask == null
                    // Full causal, Tq == Tk: the fused path (flash attention on CPU where torch has it).
                    ? scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, true, scale, false)
                    // Sliding window: the explicit boolean mask of the spec (true = may attend).
                    : scaled_dot_product_attention(q, k, v, new TensorOptional(mask), 0.0, false, scale, false);
            o = o.transpose(1, 2).reshape(B, T, (long) H * D);                          // (B, T, H·D)
            h = h.add(linear(o, w.get(p + "self_attn.o_proj.weight")));

            Tensor m = rmsNorm(h, w.get(p + "post_attention_layernorm.weight"));
            Tensor gate = silu(linear(m, w.get(p + "mlp.gate_proj.weight")));          // (T, F)
            Tensor up = linear(m, w.get(p + "mlp.up_proj.weight"));                    // (T, F)
            h = h.add(linear(gate.mul(up), w.get(p + "mlp.down_proj.weight")));
        }
        h = rmsNorm(h, w.get("model.norm.weight"));
        return linear(h, w.get(d.tied() ? "model.embed_tokens.weight" : "lm_head.weight"))   // (B, T, V)
                .reshape((long) B * T, d.vocab());
    }

    /** RMSNorm(x, w) = w ⊙ x · rsqrt(mean(x²) + eps), all fp32, over the last axis. */
    private Tensor rmsNorm(Tensor x, Tensor weight) {
        Tensor rstd = x.pow(new Scalar(2.0)).mean(new long[] {-1}, true, new ScalarTypeOptional())
                .add(new Scalar(d.rmsNormEps())).rsqrt();
        return x.mul(rstd).mul(weight);
    }

    /** (B, T, n·D) → (B, n, T, D). */
    private static Tensor heads(Tensor x, long n, long D) {
        return x.reshape(x.size(0), x.size(1), n, D).transpose(1, 2);
    }

    /**
     * cos and sin (T, D) of the spec: inv_freq[i] = 1 / theta^(2i/D) computed in fp32 as HF does
     * ({@code 1 / theta ** (arange(0, D, 2).float() / D)}), angle[p, i] = p · inv_freq[i],
     * taken over cat(angle, angle).
     */
    private Tensor[] ropeCosSin(int T) {
        int D = d.headDim();
        TensorOptions f32 = new TensorOptions(ScalarType.Float);
        Tensor exponent = arange(new Scalar(0), new Scalar(D), new Scalar(2), new TensorOptions(ScalarType.Long))
                .to(ScalarType.Float).div(new Scalar((float) D));
        Tensor invFreq = pow(new Scalar(d.ropeTheta()), exponent).reciprocal();        // (D/2) fp32
        Tensor pos = arange(new Scalar(T), f32);                                      // (T)
        Tensor angle = outer(pos, invFreq);                                           // (T, D/2)
        Tensor emb = cat(new TensorVector(angle, angle), 1);                          // (T, D)
        return new Tensor[] {emb.cos(), emb.sin()};
    }

    /** x' = x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x[D/2:], x[:D/2]): dim j pairs with j + D/2. */
    private static Tensor applyRope(Tensor x, Tensor cos, Tensor sin) {
        long half = x.size(3) / 2;
        Tensor rotated = cat(new TensorVector(x.narrow(3, half, half).neg(), x.narrow(3, 0, half)), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }

    /** (T, T) bool, true where query i may see key j: j ∈ [i − W, i]. */
    private static Tensor windowMask(int T, int window) {
        Tensor i = arange(new Scalar(T), new TensorOptions(ScalarType.Long)).unsqueeze(1);
        Tensor j = arange(new Scalar(T), new TensorOptions(ScalarType.Long)).unsqueeze(0);
        Tensor back = i.sub(j);                                                       // i − j
        return back.ge(new Scalar(0)).logical_and(back.le(new Scalar(window)));
    }

    /** The values of a tensor of any float dtype, widened to fp32, row-major. */
    public static float[] toFloatArray(Tensor t) {
        try (PointerScope scope = new PointerScope()) {
            Tensor c = t.to(ScalarType.Float).contiguous();
            float[] out = new float[Math.toIntExact(c.numel())];
            c.data_ptr_float().get(out);
            return out;
        }
    }
}
