package ai.janus.demo;

import ai.janus.backend.AttentionSpec;
import ai.janus.model.MistralConfig;

/**
 * Every size, step count and rate of the demo, in one place. {@link #FULL} is what
 * {@code janus demo} runs; {@link #REDUCED} is the seconds-long version the test suite runs to
 * check that every stage produces its artefacts.
 *
 * @param seed                data, initialisation, data order and sampling all derive from it
 * @param trainInstructions   instructions of the training split (three system messages each)
 * @param heldOutInstructions instructions of the held-out split (three held-out system messages each)
 * @param model               the tiny Mistral (vocabulary: the shipped tokenizer's)
 * @param sft                 SFT from the random base, on every training row
 * @param dpo                 DPO from the SFT model (its frozen reference) on the pairs
 * @param orpo                ORPO from the random base on the pairs
 * @param rm                  the reward model from the SFT model on the pairs
 * @param dpoBeta             DPO's β
 * @param rpoAlpha            DPO's RPO weight α (TRL's rpo_alpha: + α·NLL of the chosen answers; 0: plain DPO)
 * @param orpoAlpha           ORPO's λ
 * @param bestOfN             samples per prompt for best-of-N
 * @param bestOfNTemperature  their temperature (top-p 0.9 and repetition penalty 1.03, as the paper)
 * @param maxNewTokens        answer budget in evaluation (gold answers take at most ~50 tokens)
 */
public record DemoSettings(long seed, int trainInstructions, int heldOutInstructions, Model model, Stage sft, Stage dpo,
                           Stage orpo, Stage rm, double dpoBeta, double rpoAlpha, double orpoAlpha, int bestOfN,
                           double bestOfNTemperature, int maxNewTokens) {
    /** The tiny Mistral's shape. */
    public record Model(int hidden, int layers, int heads, int kvHeads, int ffn) {
        public Model {
            if (hidden < 1 || layers < 1 || heads < 1 || kvHeads < 1 || ffn < 1 || hidden % heads != 0
                    || heads % kvHeads != 0) {
                throw new IllegalArgumentException("a model needs positive sizes, hidden divisible by heads and heads by"
                        + " kv heads: " + this);
            }
        }

        /** The config for {@code vocab} pieces: head dim hidden/heads, RoPE θ 10,000, no sliding window, untied. */
        public MistralConfig config(int vocab) {
            return MistralConfig.of(vocab, hidden, ffn, layers, heads, kvHeads, hidden / heads, 10000.0,
                    AttentionSpec.NO_WINDOW, false);
        }
    }

    /**
     * One training stage: optimizer steps, samples per step (packed rows of {@link #SEQUENCE_LEN}
     * tokens for SFT, pairs otherwise), peak learning rate of the cosine schedule and its warmup.
     */
    public record Stage(int steps, int microBatchSize, double learningRate, int warmupSteps) {
        public Stage {
            if (steps < 1 || microBatchSize < 1 || !(learningRate > 0) || warmupSteps < 0) {
                throw new IllegalArgumentException("a stage needs steps and batch >= 1, a positive learning rate and"
                        + " warmup >= 0: " + this);
            }
        }
    }

    /** Packed-row length in SFT and the maximum sequence length everywhere (the longest example is ~170 tokens). */
    public static final int SEQUENCE_LEN = 512;

    public DemoSettings {
        if (trainInstructions < 1 || heldOutInstructions < 1
                || (long) trainInstructions + heldOutInstructions > TaskGenerator.instructionCount()) {
            throw new IllegalArgumentException("instructions: " + trainInstructions + " training + " + heldOutInstructions
                    + " held-out, each at least 1 and together at most " + TaskGenerator.instructionCount());
        }
        if (!(rpoAlpha >= 0) || Double.isInfinite(rpoAlpha)) {
            throw new IllegalArgumentException("rpo alpha must be >= 0 and finite, got " + rpoAlpha);
        }
        if (!(dpoBeta > 0) || !(orpoAlpha > 0) || bestOfN < 1 || !(bestOfNTemperature > 0) || maxNewTokens < 1) {
            throw new IllegalArgumentException("dpo beta, orpo alpha and the temperature must be > 0, best-of-N and the"
                    + " token budget >= 1");
        }
    }

    /**
     * What {@code janus demo} runs: about four minutes on 2 cores (BENCHMARKS.md). Sizes, steps and
     * rates were chosen by measurement on the held-out split; the sweeps are in
     * docs/design-notes.md ("Demo sizes and rates").
     */
    public static final DemoSettings FULL = new DemoSettings(1234, 1500, 60,
            new Model(128, 4, 4, 2, 384),
            new Stage(640, 4, 2e-3, 10),
            new Stage(188, 8, 1e-5, 5),
            new Stage(750, 8, 2e-3, 10),
            new Stage(340, 8, 3e-4, 10),
            0.1, 0.0, 0.1, 8, 0.3, 64);

    /**
     * The test suite's pipeline: the same stages on a toy scale, seconds instead of minutes. SFT
     * gets enough steps (about 18 epochs of 300 rows) to name the topics' items: with fewer, a
     * 64-wide model answers off-topic and scores the base's 1.00 (measured: SFT 2.75, 2.50 and 1.63
     * over base 1.00 for seeds 1234, 7 and 99; 100 steps gave 1.00–1.17).
     */
    public static final DemoSettings REDUCED = new DemoSettings(1234, 100, 4,
            new Model(64, 2, 2, 1, 128),
            new Stage(300, 4, 3e-3, 5),
            new Stage(4, 4, 1e-5, 0),
            new Stage(4, 4, 3e-3, 0),
            new Stage(4, 4, 1e-4, 0),
            0.1, 0.0, 0.1, 2, 0.3, 24);

    /** These settings under another seed. */
    public DemoSettings withSeed(long newSeed) {
        return new DemoSettings(newSeed, trainInstructions, heldOutInstructions, model, sft, dpo, orpo, rm, dpoBeta,
                rpoAlpha, orpoAlpha, bestOfN, bestOfNTemperature, maxNewTokens);
    }
}
