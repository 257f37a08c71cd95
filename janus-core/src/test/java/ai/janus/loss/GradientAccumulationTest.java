package ai.janus.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Gradient accumulation alignment (docs/spec/reliability.md): one optimizer step over 8 samples of unequal
 * lengths gives the same loss and gradients as a batch of 8, as 4 × 2 accumulation steps, and as
 * 2 simulated ranks × 4 whose gradients are summed (an all-reduce), for every objective — because
 * each loss is normalised by a count of the whole step. Janus's per-micro-batch mean differs as
 * soon as the micro-batches hold different numbers of supervised tokens, so the comparison can fail.
 *
 * <p>Criterion (fp32): |ΔL| / |L| &lt; 1e-6 and ‖Δg‖ / ‖g‖ &lt; 1e-6 over the step's whole gradient
 * (every parameter's gradient as one vector: what clipping and the optimizer see); per parameter
 * tensor ‖Δg‖ / ‖g‖ &lt; 1e-5. The layouts differ only in fp32 rounding: the order in which
 * micro-batches' gradients are added (alone: 3e-8) and, dominating, OpenBLAS's sgemm, whose
 * result for a row depends on how many rows the call has (a sequence's activations differ in the
 * last bits between a batch of 4 and one of 8). Measured: whole gradient ≤ 4.5e-7, per tensor
 * ≤ 1.2e-6 (the 64-element norm weights of the reward model). HF's initialisation is used: with
 * weights scaled up (a model far from init) the same rounding is amplified to ~3e-6.
 */
class GradientAccumulationTest {
    /** The spec's bound, on the step's whole gradient (every parameter's gradient as one vector). */
    static final double REL_TOL = 1e-6;
    /** Per parameter tensor (see the class comment). */
    static final double TENSOR_REL_TOL = 1e-5;

    private static final MistralConfig CONFIG = MistralConfig.tiny(200);
    private static ParameterSet params;
    private static CpuBackend cpu;
    private static Mistral model;

    /** 16 sequences of unequal lengths (a pair's two answers are sequences i and 8 + i); prompts of 2..6 tokens. */
    private static final int[][] SEQS = new int[16][];
    private static final int[] PROMPTS = new int[16];

    @BeforeAll
    static void setUp() {
        params = ParameterSet.allocate(MistralWeights.specs(CONFIG));
        MistralWeights.initialize(CONFIG, params, 31);
        cpu = new CpuBackend();
        model = new Mistral(CONFIG, MistralWeights.of(CONFIG, params), cpu);
        Random r = new Random(7);
        int[] lengths = {6, 31, 9, 44, 12, 18, 7, 25, 14, 8, 37, 10, 21, 6, 29, 11};
        for (int s = 0; s < 16; s++) {
            SEQS[s] = new int[lengths[s]];
            SEQS[s][0] = 1;
            for (int t = 1; t < lengths[s] - 1; t++) {
                SEQS[s][t] = 3 + r.nextInt(CONFIG.vocabSize() - 3);
            }
            SEQS[s][lengths[s] - 1] = CONFIG.eosTokenId();
            PROMPTS[s] = 2 + r.nextInt(Math.min(5, lengths[s] - 2));
        }
    }

    @AfterAll
    static void tearDown() {
        cpu.close();
        params.close();
    }

    /** Sequences {@code ids} packed, with their shifted labels (answer tokens and EOS supervised). */
    private record Batch(TokenBatch tokens, int[] labels) {
        static Batch of(int... ids) {
            int[][] seqs = new int[ids.length][];
            int n = 0;
            for (int i = 0; i < ids.length; i++) {
                seqs[i] = SEQS[ids[i]];
                n += seqs[i].length;
            }
            int[] labels = new int[n];
            for (int i = 0, at = 0; i < ids.length; i++) {
                int[] s = seqs[i];
                for (int t = 0; t < s.length; t++) {
                    labels[at + t] = t + 1 < s.length && t + 1 >= PROMPTS[ids[i]] ? s[t + 1] : Backend.IGNORE_INDEX;
                }
                at += s.length;
            }
            return new Batch(TokenBatch.of(seqs), labels);
        }

        long supervised() {
            return Arrays.stream(labels).filter(y -> y != Backend.IGNORE_INDEX).count();
        }

        /** Indices of the last tokens (EOS) of every segment. */
        int[] lastTokens() {
            int[] cu = tokens.cuSeqlens();
            int[] last = new int[cu.length - 1];
            for (int s = 0; s < last.length; s++) {
                last[s] = cu[s + 1] - 1;
            }
            return last;
        }
    }

    private static int[] range(int from, int to) {
        return java.util.stream.IntStream.range(from, to).toArray();
    }

    /** Pairs [from, to): chosen answers first, then the rejected ones (sequence 8 + i). */
    private static Batch pairs(int from, int to) {
        int[] ids = new int[2 * (to - from)];
        for (int i = from; i < to; i++) {
            ids[i - from] = i;
            ids[to - from + i - from] = 8 + i;
        }
        return Batch.of(ids);
    }

    /** One objective run on one micro-batch: returns its loss share, accumulating gradients. */
    private interface MicroBatch {
        double run(int from, int to, ParameterSet grads);
    }

    /** Step loss and gradients for the micro-batches given as [from, to) bounds. */
    private static double step(MicroBatch objective, ParameterSet grads, int... bounds) {
        cpu.zero(grads.flat());
        double loss = 0;
        for (int b = 0; b + 1 < bounds.length; b++) {
            loss += objective.run(bounds[b], bounds[b + 1], grads);
        }
        return loss;
    }

    /** Batch 8, 4 × 2 accumulation, and 2 ranks × 4 summed: all equal within the criterion. */
    private static void assertAligned(String name, ParameterSet shape, MicroBatch objective) {
        try (ParameterSet whole = shape.zerosLike(); ParameterSet accumulated = shape.zerosLike();
             ParameterSet rank0 = shape.zerosLike(); ParameterSet rank1 = shape.zerosLike()) {
            double l8 = step(objective, whole, 0, 8);
            double l4x2 = step(objective, accumulated, 0, 4, 8);
            double lRanks = step(objective, rank0, 0, 4) + step(objective, rank1, 4, 8);
            cpu.add(rank0.flat(), rank1.flat()); // the all-reduce sum
            double global = Math.max(global(whole, accumulated), global(whole, rank0));
            double tensor = Math.max(worst(whole, accumulated), worst(whole, rank0));
            double lossError = Math.max(Math.abs(l4x2 - l8), Math.abs(lRanks - l8)) / Math.abs(l8);
            System.out.printf("accumulation %-6s loss %.2e, gradient %.2e, worst tensor %.2e%n", name, lossError, global,
                    tensor);
            assertTrue(lossError < REL_TOL, name + ": loss " + l8 + " vs " + l4x2 + " / " + lRanks);
            assertTrue(global < REL_TOL, name + ": gradient relative difference " + global);
            assertTrue(tensor < TENSOR_REL_TOL, name + ": a tensor's gradient relative difference " + tensor);
        }
    }

    /** ‖a − b‖ / ‖a‖ over all parameters together. */
    private static double global(ParameterSet a, ParameterSet b) {
        return LossOracleTest.relativeError(b.flat().toFloatArray(), a.flat().toFloatArray());
    }

    /** The largest ‖a − b‖ / ‖a‖ over the parameter tensors. */
    private static double worst(ParameterSet a, ParameterSet b) {
        double worst = 0;
        for (ParameterSet.Spec s : a.specs()) {
            float[] x = a.get(s.name()).toFloatArray(), y = b.get(s.name()).toFloatArray();
            worst = Math.max(worst, LossOracleTest.relativeError(y, x));
        }
        return worst;
    }

    @Test
    void sft() {
        long stepTokens = Batch.of(range(0, 8)).supervised(); // counted before the micro-batches run
        assertAligned("sft", params, (from, to, grads) -> {
            Batch b = Batch.of(range(from, to));
            return ModelLosses.sft(model, b.tokens(), b.labels(), stepTokens, grads, false).loss();
        });
    }

    @Test
    void sftPerMicroBatchMeanDiffersOnUnequalLengths() {
        Batch first = Batch.of(range(0, 4)), second = Batch.of(range(4, 8));
        assertTrue(first.supervised() != second.supervised(), first.supervised() + " == " + second.supervised());
        MicroBatch legacy = (from, to, grads) -> {
            Batch b = Batch.of(range(from, to));
            int microBatches = 8 / (to - from);
            try (Mistral.ForwardState st = model.forward(b.tokens(), b.labels(), false);
                 Tensor dLogp = Tensor.allocate(DType.F32, b.tokens().size())) {
                SequenceLogProbs seq = SequenceLogProbs.forward(st.logp(), b.labels(), b.tokens().cuSeqlens());
                SftLoss.Result r = SftLoss.perMicroBatchMean(seq.sums(0, seq.sequences()), seq.tokens(0, seq.sequences()),
                        microBatches);
                seq.backward(dLogp, r.dSums(), null);
                model.backward(st, dLogp, grads);
                return r.loss();
            }
        };
        try (ParameterSet whole = params.zerosLike(); ParameterSet accumulated = params.zerosLike()) {
            double l8 = step(legacy, whole, 0, 8), l4x2 = step(legacy, accumulated, 0, 4, 8);
            double lossDiff = Math.abs(l4x2 - l8) / l8, gradDiff = global(whole, accumulated);
            System.out.printf("accumulation legacy per-micro-batch mean: loss differs by %.2e, gradient by %.2e%n",
                    lossDiff, gradDiff);
            // per-token losses of an untrained model are all near ln V, so the loss moves less than its gradient
            assertTrue(lossDiff > 100 * REL_TOL, "loss differs by only " + lossDiff);
            assertTrue(gradDiff > 1000 * REL_TOL, "gradients differ by only " + gradDiff);
        }
    }

    @Test
    void dpo() {
        // reference sums: the policy's moved by a fixed offset per pair, so that u is not 0
        double[] refChosen = new double[8], refRejected = new double[8];
        try (Tensor logp = model.tokenLogProbs(pairs(0, 8).tokens(), pairs(0, 8).labels())) {
            SequenceLogProbs seq = SequenceLogProbs.forward(logp, pairs(0, 8).labels(), pairs(0, 8).tokens().cuSeqlens());
            for (int i = 0; i < 8; i++) {
                refChosen[i] = seq.sum(i) + (i % 3 - 1) * 2.5;
                refRejected[i] = seq.sum(8 + i) - (i % 2) * 4.0;
            }
        }
        DpoLoss loss = new DpoLoss(0.5, 0.05);
        assertAligned("dpo", params, (from, to, grads) -> {
            Batch b = pairs(from, to);
            return ModelLosses.dpo(model, b.tokens(), b.labels(), Arrays.copyOfRange(refChosen, from, to),
                    Arrays.copyOfRange(refRejected, from, to), loss, 8, grads, true).loss();
        });
    }

    @Test
    void dpoWithRpo() {
        double[] refChosen = new double[8], refRejected = new double[8];
        try (Tensor logp = model.tokenLogProbs(pairs(0, 8).tokens(), pairs(0, 8).labels())) {
            SequenceLogProbs seq = SequenceLogProbs.forward(logp, pairs(0, 8).labels(), pairs(0, 8).tokens().cuSeqlens());
            for (int i = 0; i < 8; i++) {
                refChosen[i] = seq.sum(i) + (i % 3 - 1) * 2.5;
                refRejected[i] = seq.sum(8 + i) - (i % 2) * 4.0;
            }
        }
        // the NLL term is normalised by the whole step's chosen tokens, so splitting the step changes nothing
        long stepChosenTokens = Batch.of(range(0, 8)).supervised();
        DpoLoss loss = new DpoLoss(0.5, 0.05, 1.0);
        assertAligned("dpo + rpo", params, (from, to, grads) -> {
            Batch b = pairs(from, to);
            return ModelLosses.dpo(model, b.tokens(), b.labels(), Arrays.copyOfRange(refChosen, from, to),
                    Arrays.copyOfRange(refRejected, from, to), loss, 8, stepChosenTokens, grads, true).loss();
        });
    }

    @Test
    void orpo() {
        long stepChosenTokens = Batch.of(range(0, 8)).supervised();
        assertAligned("orpo", params, (from, to, grads) -> {
            Batch b = pairs(from, to);
            return ModelLosses.orpo(model, b.tokens(), b.labels(), new OrpoLoss(0.5), 8, stepChosenTokens, grads, false)
                    .loss();
        });
    }

    @Test
    void rewardModel() {
        try (ParameterSet rmParams = RewardModel.fromCausalLm(CONFIG, params, 5)) {
            RewardModel rm = new RewardModel(CONFIG, rmParams, cpu);
            double[] margins = {0, 0.5, 0, -0.5, 1, 0, 0, 0.25};
            assertAligned("reward", rmParams, (from, to, grads) -> {
                Batch b = pairs(from, to);
                return ModelLosses.reward(rm, b.tokens(), b.lastTokens(), Arrays.copyOfRange(margins, from, to), 8, grads,
                        false).loss();
            });
        }
    }

    @Test
    void theCriterionSeesAOneInAMillionChange() {
        try (ParameterSet a = params.zerosLike(); ParameterSet b = params.zerosLike()) {
            a.flat().fill(1f);
            b.flat().fill(1f + 2e-6f);
            assertTrue(global(a, b) > REL_TOL);
            assertTrue(worst(a, b) > REL_TOL);
            assertEquals(0.0, global(a, a));
        }
    }
}
