package ai.janus.model;

import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The HF tensor names and shapes of a Mistral model (shape [out, in], y = x·Wᵀ, no biases) and
 * typed views of them in a {@link ParameterSet}. With tied embeddings there is no lm_head
 * parameter and {@link #lmHead()} is the embedding. A parameter set may also hold only the
 * backbone ({@link #backboneSpecs}: every {@code model.*} tensor, no lm_head), as a reward model
 * does; its views then have no {@link #lmHead()}.
 */
public final class MistralWeights {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    /** One decoder layer's weights. */
    public record Layer(Tensor inputNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                        Tensor postNorm, Tensor gate, Tensor up, Tensor down) {}

    private final Tensor embed;
    private final List<Layer> layers;
    private final Tensor finalNorm;
    private final Tensor lmHead;

    private MistralWeights(Tensor embed, List<Layer> layers, Tensor finalNorm, Tensor lmHead) {
        this.embed = embed;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    /** The name of a layer tensor, e.g. {@code layer(3, "self_attn.q_proj.weight")}. */
    public static String layer(int i, String suffix) {
        return "model.layers." + i + "." + suffix;
    }

    /** Every parameter of {@code c} in checkpoint order, with its shape. */
    public static List<ParameterSet.Spec> specs(MistralConfig c) {
        long hidden = c.hiddenSize(), q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim(), ffn = c.intermediateSize();
        List<ParameterSet.Spec> specs = new ArrayList<>();
        specs.add(new ParameterSet.Spec(EMBED, new long[] {c.vocabSize(), hidden}));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            specs.add(new ParameterSet.Spec(layer(i, "input_layernorm.weight"), new long[] {hidden}));
            specs.add(new ParameterSet.Spec(layer(i, "self_attn.q_proj.weight"), new long[] {q, hidden}));
            specs.add(new ParameterSet.Spec(layer(i, "self_attn.k_proj.weight"), new long[] {kv, hidden}));
            specs.add(new ParameterSet.Spec(layer(i, "self_attn.v_proj.weight"), new long[] {kv, hidden}));
            specs.add(new ParameterSet.Spec(layer(i, "self_attn.o_proj.weight"), new long[] {hidden, q}));
            specs.add(new ParameterSet.Spec(layer(i, "post_attention_layernorm.weight"), new long[] {hidden}));
            specs.add(new ParameterSet.Spec(layer(i, "mlp.gate_proj.weight"), new long[] {ffn, hidden}));
            specs.add(new ParameterSet.Spec(layer(i, "mlp.up_proj.weight"), new long[] {ffn, hidden}));
            specs.add(new ParameterSet.Spec(layer(i, "mlp.down_proj.weight"), new long[] {hidden, ffn}));
        }
        specs.add(new ParameterSet.Spec(FINAL_NORM, new long[] {hidden}));
        if (!c.tieWordEmbeddings()) {
            specs.add(new ParameterSet.Spec(LM_HEAD, new long[] {c.vocabSize(), hidden}));
        }
        return specs;
    }

    /**
     * The backbone's parameters: {@link #specs} without {@code lm_head.weight} (the HF base model,
     * under its {@code model.} prefix). A reward model adds its value head to these.
     */
    public static List<ParameterSet.Spec> backboneSpecs(MistralConfig c) {
        return specs(c).stream().filter(s -> !s.name().equals(LM_HEAD)).toList();
    }

    /**
     * Typed views of {@code p}, which must hold {@link #backboneSpecs}(c), and lm_head too unless
     * the embeddings are tied or the set is a backbone alone (then {@link #lmHead()} refuses).
     * Other parameters of {@code p} are ignored.
     */
    public static MistralWeights of(MistralConfig c, ParameterSet p) {
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new Layer(
                    p.get(layer(i, "input_layernorm.weight")),
                    p.get(layer(i, "self_attn.q_proj.weight")),
                    p.get(layer(i, "self_attn.k_proj.weight")),
                    p.get(layer(i, "self_attn.v_proj.weight")),
                    p.get(layer(i, "self_attn.o_proj.weight")),
                    p.get(layer(i, "post_attention_layernorm.weight")),
                    p.get(layer(i, "mlp.gate_proj.weight")),
                    p.get(layer(i, "mlp.up_proj.weight")),
                    p.get(layer(i, "mlp.down_proj.weight"))));
        }
        Tensor embed = p.get(EMBED);
        Tensor lmHead = c.tieWordEmbeddings() ? embed : p.contains(LM_HEAD) ? p.get(LM_HEAD) : null;
        return new MistralWeights(embed, layers, p.get(FINAL_NORM), lmHead);
    }

    /**
     * HF's initialisation ({@code MistralPreTrainedModel._init_weights}): every matrix
     * ~ N(0, initializer_range²), every norm weight 1. Seeded and independent of thread count:
     * parameter i draws from its own stream split off the seed in order.
     */
    public static void initialize(MistralConfig c, ParameterSet p, long seed) {
        SplittableRandom root = new SplittableRandom(seed);
        double std = c.initializerRange();
        for (ParameterSet.Spec spec : p.specs()) {
            SplittableRandom rng = root.split();
            FloatBuffer values = p.get(spec.name()).floats();
            boolean norm = spec.shape().length == 1;
            for (int i = 0, n = values.capacity(); i < n; i++) {
                values.put(i, norm ? 1f : (float) (gaussian(rng) * std));
            }
        }
    }

    /** A standard normal draw (Box-Muller; one of the pair is discarded to stay stateless). */
    static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble(); // in (0, 1]
        double u2 = rng.nextDouble();
        return Math.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2.0 * Math.PI * u2); // StrictMath: same bits in every run
    }

    public Tensor embed() {
        return embed;
    }

    public List<Layer> layers() {
        return layers;
    }

    public Tensor finalNorm() {
        return finalNorm;
    }

    /** The output projection (V, C): lm_head, or the embedding when tied; a backbone alone has none. */
    public Tensor lmHead() {
        if (lmHead == null) {
            throw new IllegalStateException("these parameters hold a backbone without " + LM_HEAD
                    + " (a reward model): there are no token log-probs to compute");
        }
        return lmHead;
    }
}
