package ai.janus.model;

import ai.janus.backend.Backend;
import ai.janus.io.InvalidFileException;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A reward model in OpenRLHF's layout (docs/spec/objectives.md, "Reward model"): the Mistral backbone
 * without lm_head, and a value head {@code Linear(hidden, 1, bias=False)} read at each sequence's
 * EOS position.
 *
 * <pre>
 * hidden = Mistral backbone(tokens)          (N, C)  after model.norm
 * r_s    = hidden[e_s] · value_head[0]        e_s = index of sequence s's last token, which must be EOS
 * </pre>
 *
 * Checkpoint layout (what OpenRLHF's {@code get_llm_for_sequence_regression} saves and loads):
 * the backbone's tensors under {@code model.*}, {@code value_head.weight [1, C]}, no
 * {@code lm_head.weight}; config.json is the backbone's with {@code architectures: ["RewardModel"]}
 * (the class name HF's save_pretrained records for OpenRLHF's reward model) and, once measured on
 * held-out pairs, {@code mean} and {@code std} ({@link RewardNormalization}), which OpenRLHF reads
 * back into its normalisation buffers.
 *
 * <p>A sequence is identified by the index of its last real token in the batch, so any layout
 * works: packed, right-padded (padding after the EOS, inside the segment, out of the causal view
 * of the real tokens), or left-padded with the padding as a segment of its own. The dot product
 * and the value head's gradients are computed in double.
 */
public final class RewardModel {
    /** The value head's tensor name (OpenRLHF's default {@code value_head_prefix}). */
    public static final String VALUE_HEAD = "value_head.weight";
    /** config.json fields of the stored normalisation. */
    public static final String MEAN_FIELD = "mean", STD_FIELD = "std";
    /** config.json {@code architectures} of a saved reward model. */
    public static final String ARCHITECTURE = "RewardModel";

    private final MistralConfig config;
    private final Mistral backbone;
    private final Tensor valueHead;   // (1, C)

    /** A reward model over {@code parameters}, which hold {@link #specs}(config); held by reference. */
    public RewardModel(MistralConfig config, ParameterSet parameters, Backend backend) {
        this(config, parameters, backend, LayerHooks.NONE);
    }

    /** A reward model whose backbone calls {@code hooks} in training (sharded training). */
    public RewardModel(MistralConfig config, ParameterSet parameters, Backend backend, LayerHooks hooks) {
        this.config = config;
        this.backbone = new Mistral(config, MistralWeights.of(config, parameters), backend, hooks);
        this.valueHead = parameters.get(VALUE_HEAD);
    }

    /** The backbone's tensors ({@link MistralWeights#backboneSpecs}) and {@code value_head.weight [1, C]}. */
    public static List<ParameterSet.Spec> specs(MistralConfig c) {
        List<ParameterSet.Spec> specs = new ArrayList<>(MistralWeights.backboneSpecs(c));
        specs.add(new ParameterSet.Spec(VALUE_HEAD, new long[] {1, c.hiddenSize()}));
        return specs;
    }

    /**
     * Draws the value head ~ N(0, σ²) with σ = 1/(C + 1), OpenRLHF's initialisation
     * ({@code normal_(mean=0, std=1/(hidden_size+1))}); seeded, the same bits in every run.
     */
    public static void initializeValueHead(MistralConfig c, ParameterSet p, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double std = 1.0 / (c.hiddenSize() + 1);
        FloatBuffer w = p.get(VALUE_HEAD).floats();
        for (int i = 0; i < w.capacity(); i++) {
            w.put(i, (float) (MistralWeights.gaussian(rng) * std));
        }
    }

    /**
     * A new F32 reward model's parameters from a causal LM's (the SFT model the reward model starts
     * from): every backbone tensor copied, lm_head dropped, the value head drawn with {@code seed}.
     */
    public static ParameterSet fromCausalLm(MistralConfig c, ParameterSet lm, long seed) {
        ParameterSet rm = ParameterSet.allocate(specs(c));
        try {
            for (ParameterSet.Spec s : MistralWeights.backboneSpecs(c)) {
                Tensor from = lm.get(s.name());
                if (from.dtype() != DType.F32) {
                    throw new IllegalArgumentException("the causal LM's parameters must be F32, " + s.name() + " is "
                            + from.dtype());
                }
                rm.get(s.name()).bytes().put(from.bytes());
            }
            initializeValueHead(c, rm, seed);
            return rm;
        } catch (RuntimeException e) {
            rm.close();
            throw e;
        }
    }

    public MistralConfig config() {
        return config;
    }

    // ------------------------------------------------------------------------------ value head

    /**
     * Value head forward: {@code r[s] = hidden[lastTokens[s]] · w[0]}, in double.
     * Shapes: hidden (N, C); w (1, C); returns (S).
     */
    public static double[] valueForward(Tensor hidden, int[] lastTokens, Tensor w) {
        int c = Math.toIntExact(hidden.dim(1));
        FloatBuffer h = hidden.floats(), wb = w.floats();
        double[] r = new double[lastTokens.length];
        for (int s = 0; s < r.length; s++) {
            long row = (long) lastTokens[s] * c;
            double dot = 0;
            for (int j = 0; j < c; j++) {
                dot += (double) h.get(Math.toIntExact(row + j)) * wb.get(j);
            }
            r[s] = dot;
        }
        return r;
    }

    /**
     * Backward of {@link #valueForward}; both gradients accumulate:
     * {@code dHidden[lastTokens[s]] += dR[s]·w[0]} and {@code dW[0] += Σ_s dR[s]·hidden[lastTokens[s]]}.
     */
    public static void valueBackward(Tensor dHidden, Tensor dW, double[] dR, Tensor hidden, int[] lastTokens, Tensor w) {
        int c = Math.toIntExact(hidden.dim(1));
        FloatBuffer h = hidden.floats(), wb = w.floats(), dh = dHidden.floats(), dw = dW.floats();
        double[] sum = new double[c];
        for (int s = 0; s < lastTokens.length; s++) {
            int row = Math.toIntExact((long) lastTokens[s] * c);
            for (int j = 0; j < c; j++) {
                // r = hidden[e]·w: dhidden[e] = dr·w, dw = dr·hidden[e]
                dh.put(row + j, (float) (dh.get(row + j) + dR[s] * wb.get(j)));
                sum[j] += dR[s] * h.get(row + j);
            }
        }
        for (int j = 0; j < c; j++) {
            dw.put(j, (float) (dw.get(j) + sum[j]));
        }
    }

    // ------------------------------------------------------------------------------- model

    /** What a training forward leaves for the backward: the backbone's state and the rewards. */
    public static final class ForwardState implements AutoCloseable {
        private final Mistral.ForwardState backbone;
        private final int[] lastTokens;
        private final double[] rewards;

        private ForwardState(Mistral.ForwardState backbone, int[] lastTokens, double[] rewards) {
            this.backbone = backbone;
            this.lastTokens = lastTokens;
            this.rewards = rewards;
        }

        /** (S) the reward of each sequence. */
        public double[] rewards() {
            return rewards.clone();
        }

        @Override
        public void close() {
            backbone.close();
        }
    }

    /**
     * Training forward. {@code lastTokens[s]} is the index in {@code batch} of sequence s's last
     * real token, which must be EOS (error naming the sequence otherwise).
     */
    public ForwardState forward(TokenBatch batch, int[] lastTokens, boolean checkpoint) {
        int[] last = checkLastTokens(batch, lastTokens);
        Mistral.ForwardState st = backbone.forward(batch, null, checkpoint);
        try {
            return new ForwardState(st, last, valueForward(st.hidden(), last, valueHead));
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    /** Backward from {@code dRewards (S)} = dLoss/dr; accumulates every parameter's gradient into {@code grads}. */
    public void backward(ForwardState st, double[] dRewards, ParameterSet grads) {
        if (dRewards.length != st.lastTokens.length) {
            throw new IllegalArgumentException(dRewards.length + " reward gradients for " + st.lastTokens.length
                    + " sequences");
        }
        Tensor hidden = st.backbone.hidden();
        try (Tensor dHidden = Tensor.allocate(DType.F32, hidden.dim(0), hidden.dim(1))) {
            valueBackward(dHidden, grads.get(VALUE_HEAD), dRewards, hidden, st.lastTokens, valueHead);
            backbone.backwardFromHidden(st.backbone, dHidden, grads);
        }
    }

    /** Inference: the reward of each sequence (see {@link #forward}), keeping no activations. */
    public double[] rewards(TokenBatch batch, int[] lastTokens) {
        int[] last = checkLastTokens(batch, lastTokens);
        try (Tensor hidden = backbone.hidden(batch)) {
            return valueForward(hidden, last, valueHead);
        }
    }

    private int[] checkLastTokens(TokenBatch batch, int[] lastTokens) {
        if (lastTokens.length == 0) {
            throw new IllegalArgumentException("no sequences to score");
        }
        int eos = config.eosTokenId();
        for (int s = 0; s < lastTokens.length; s++) {
            int at = lastTokens[s];
            if (at < 0 || at >= batch.size()) {
                throw new IllegalArgumentException("sequence " + s + ": last-token index " + at + " is outside the batch of "
                        + batch.size() + " tokens");
            }
            if (batch.tokens()[at] != eos) {
                throw new IllegalArgumentException("sequence " + s + " does not end with EOS: its last token (batch index "
                        + at + ") is id " + batch.tokens()[at] + ", not " + eos
                        + "; a reward is read at the EOS that ends each reward-model input");
            }
        }
        return lastTokens.clone();
    }

    // ------------------------------------------------------------------------------ checkpoint

    /**
     * A loaded reward model: config, parameters ({@link #specs}; owned, close them), the stored
     * normalisation (null when the directory has none) and load warnings.
     */
    public record Loaded(MistralConfig config, ParameterSet parameters, RewardNormalization normalization,
                         List<String> warnings) implements AutoCloseable {
        @Override
        public void close() {
            parameters.close();
        }
    }

    /** Loads a reward model directory (OpenRLHF layout, see the class comment); all or nothing. */
    public static Loaded load(Path directory) throws InvalidFileException {
        HfCheckpoint.Loaded loaded = HfCheckpoint.load(directory, RewardModel::specs);
        try {
            RewardNormalization norm = readNormalization(directory.resolve(HfCheckpoint.CONFIG_FILE), loaded.config());
            return new Loaded(withoutNormalization(loaded.config()), loaded.parameters(), norm, loaded.warnings());
        } catch (InvalidFileException | RuntimeException e) {
            loaded.close();
            throw e;
        }
    }

    /**
     * Writes {@code parameters} ({@link #specs}) in the OpenRLHF layout, stored as {@code storeAs},
     * with {@code normalization} in config.json (none when null).
     */
    public static void save(Path directory, MistralConfig config, ParameterSet parameters, RewardNormalization normalization,
                            DType storeAs) throws IOException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("architectures", List.of(ARCHITECTURE));
        if (normalization != null) {
            fields.put(MEAN_FIELD, normalization.mean());
            fields.put(STD_FIELD, normalization.std());
        }
        HfCheckpoint.save(directory, withoutNormalization(config), parameters, storeAs, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES,
                fields);
    }

    private static RewardNormalization readNormalization(Path configFile, MistralConfig config)
            throws InvalidFileException {
        Object mean = config.extra().get(MEAN_FIELD), std = config.extra().get(STD_FIELD);
        if (mean == null && std == null) {
            return null;
        }
        if (!(mean instanceof Number m) || !(std instanceof Number s)) {
            throw new InvalidFileException(configFile, "fields \"mean\" and \"std\" must both be numbers, found "
                    + mean + " and " + std);
        }
        try {
            return new RewardNormalization(m.doubleValue(), s.doubleValue());
        } catch (IllegalArgumentException e) {
            throw new InvalidFileException(configFile, e.getMessage());
        }
    }

    /** The config without stored normalisation fields: they belong to {@link Loaded#normalization()}. */
    private static MistralConfig withoutNormalization(MistralConfig c) {
        Map<String, Object> extra = new LinkedHashMap<>(c.extra());
        extra.remove(MEAN_FIELD);
        extra.remove(STD_FIELD);
        return new MistralConfig(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(),
                c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.maxPositionEmbeddings(), c.ropeTheta(),
                c.slidingWindow(), c.rmsNormEps(), c.tieWordEmbeddings(), c.bosTokenId(), c.eosTokenId(),
                c.attentionDropout(), c.initializerRange(), c.torchDtype(), extra);
    }
}
