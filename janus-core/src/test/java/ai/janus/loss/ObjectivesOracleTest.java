package ai.janus.loss;

import static org.bytedeco.pytorch.global.torch.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.model.TokenBatch;
import ai.janus.oracle.TestCheckpoints.StoredType;
import ai.janus.oracle.TestCheckpoints;
import ai.janus.oracle.TorchMistral.Dims;
import ai.janus.oracle.TorchMistral;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The objectives end to end through a tiny model: {@link ModelLosses} (forward, loss, backward into
 * every parameter) against libtorch autograd through {@link TorchMistral}, each loss written below
 * from docs/spec/objectives.md. {@link LossOracleTest} pins each loss's gradient with respect to the logits
 * at 1e-5; this test shows the chaining into the model (segments, pair layout, EOS rows, value
 * head, backwardFromHidden) for every parameter.
 *
 * <p>The reward model has no lm_head, and TorchMistral ends with one: the oracle gets the final
 * hidden states as its "logits" by running with V = C and lm_head = I (exact in fp32). The reward
 * model directory is written by the independent test writer in OpenRLHF's layout and read by
 * {@link RewardModel#load}.
 *
 * <p>Criterion per parameter tensor: ‖g − g_ref‖ / ‖g_ref‖ ≤ 1e-4, as in MistralGradientOracleTest
 * (a gradient through every layer's GEMMs in another order costs ~1e-6 per layer; measured below);
 * the loss itself: relative 1e-5.
 */
@SuppressWarnings("try")
class ObjectivesOracleTest {
    static final double GRAD_REL_TOL = 1e-4;
    static final double LOSS_REL_TOL = 1e-5;

    private static final Dims DIMS = new Dims(48, 48, 96, 2, 4, 2, 12, 10000.0, TorchMistral.NO_WINDOW, 1e-5, false);
    private static final int EOS = 2;

    @TempDir
    Path dir;

    /** Sequences of the given lengths starting with BOS (1), ending with EOS; the first 3 tokens are the prompt. */
    private static int[][] sequences(long seed, int... lengths) {
        Random r = new Random(seed);
        int[][] out = new int[lengths.length][];
        for (int s = 0; s < lengths.length; s++) {
            out[s] = new int[lengths[s]];
            out[s][0] = 1;
            for (int t = 1; t < lengths[s] - 1; t++) {
                out[s][t] = 3 + r.nextInt(DIMS.vocab() - 3);
            }
            out[s][lengths[s] - 1] = EOS;
        }
        return out;
    }

    private static final int PROMPT = 3;

    /** Shifted labels: position t predicts token t+1 when it is past the prompt. */
    private static int[] labels(int[][] seqs) {
        List<Integer> out = new ArrayList<>();
        for (int[] s : seqs) {
            for (int t = 0; t < s.length; t++) {
                out.add(t + 1 < s.length && t + 1 >= PROMPT ? s[t + 1] : Backend.IGNORE_INDEX);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** libtorch: S (float64) of each sequence, log_softmax + gather in fp32. */
    private static List<org.bytedeco.pytorch.Tensor> torchSums(TorchMistral oracle, int[][] seqs) {
        List<org.bytedeco.pytorch.Tensor> sums = new ArrayList<>();
        for (int[] s : seqs) {
            long[] ids = Arrays.stream(s).asLongStream().toArray();
            long[] targets = new long[s.length - PROMPT];
            for (int t = PROMPT - 1; t + 1 < s.length; t++) {
                targets[t - PROMPT + 1] = s[t + 1];
            }
            org.bytedeco.pytorch.Tensor z = oracle.logitsWithGrad(ids).narrow(0, PROMPT - 1, targets.length);
            sums.add(log_softmax(z, 1).gather(1, LossOracleTest.longs(targets).unsqueeze(1), false).sum()
                    .to(ScalarType.Double));
        }
        return sums;
    }

    private static long supervised(int[] s) {
        return s.length - PROMPT;
    }

    @Test
    void sft() throws IOException {
        int[][] seqs = sequences(1, 9, 14, 7);
        long stepTokens = 40;
        compare("sft", seqs, (model, grads) -> ModelLosses.sft(model, TokenBatch.of(seqs), labels(seqs), stepTokens, grads,
                false).loss(), sums -> {
            org.bytedeco.pytorch.Tensor total = sums.get(0).add(sums.get(1)).add(sums.get(2));
            return total.neg().div(new Scalar((double) stepTokens));
        });
    }

    @Test
    void dpo() throws IOException {
        int[][] seqs = sequences(2, 10, 8, 13, 9); // chosen 0, 1; rejected 2, 3
        double[] refChosen = {-28.0, -22.5}, refRejected = {-40.0, -25.0};
        DpoLoss loss = new DpoLoss(0.3, 0.1);
        compare("dpo", seqs, (model, grads) -> ModelLosses.dpo(model, TokenBatch.of(seqs), labels(seqs), refChosen,
                refRejected, loss, 3, grads, true).loss(), sums -> {
            org.bytedeco.pytorch.Tensor total = null;
            for (int i = 0; i < 2; i++) {
                org.bytedeco.pytorch.Tensor u = sums.get(i).sub(new Scalar(refChosen[i]))
                        .sub(sums.get(2 + i).sub(new Scalar(refRejected[i]))).mul(new Scalar(0.3));
                org.bytedeco.pytorch.Tensor li = log_sigmoid(u).mul(new Scalar(-0.9)).sub(log_sigmoid(u.neg()).mul(new Scalar(0.1)));
                total = total == null ? li : total.add(li);
            }
            return total.div(new Scalar(3.0));
        });
    }

    @Test
    void dpoWithRpo() throws IOException {
        int[][] seqs = sequences(2, 10, 8, 13, 9); // chosen 0, 1; rejected 2, 3
        double[] refChosen = {-28.0, -22.5}, refRejected = {-40.0, -25.0};
        long stepChosenTokens = 30;
        DpoLoss loss = new DpoLoss(0.3, 0.1, 0.8);
        compare("dpo + rpo", seqs, (model, grads) -> ModelLosses.dpo(model, TokenBatch.of(seqs), labels(seqs), refChosen,
                refRejected, loss, 3, stepChosenTokens, grads, true).loss(), sums -> {
            org.bytedeco.pytorch.Tensor total = null;
            for (int i = 0; i < 2; i++) {
                org.bytedeco.pytorch.Tensor u = sums.get(i).sub(new Scalar(refChosen[i]))
                        .sub(sums.get(2 + i).sub(new Scalar(refRejected[i]))).mul(new Scalar(0.3));
                org.bytedeco.pytorch.Tensor li = log_sigmoid(u).mul(new Scalar(-0.9)).sub(log_sigmoid(u.neg()).mul(new Scalar(0.1)));
                total = total == null ? li : total.add(li);
            }
            // + α·NLL of the chosen answers, by the step's chosen tokens
            org.bytedeco.pytorch.Tensor nll = sums.get(0).add(sums.get(1)).neg().div(new Scalar((double) stepChosenTokens));
            return total.div(new Scalar(3.0)).add(nll.mul(new Scalar(0.8)));
        });
    }

    @Test
    void orpo() throws IOException {
        int[][] seqs = sequences(3, 11, 9, 8, 12);
        long stepChosenTokens = 30;
        compare("orpo", seqs, (model, grads) -> ModelLosses.orpo(model, TokenBatch.of(seqs), labels(seqs),
                new OrpoLoss(0.5), 4, stepChosenTokens, grads, false).loss(), sums -> {
            org.bytedeco.pytorch.Tensor nll = sums.get(0).add(sums.get(1)).neg().div(new Scalar((double) stepChosenTokens));
            org.bytedeco.pytorch.Tensor or = null;
            for (int i = 0; i < 2; i++) {
                org.bytedeco.pytorch.Tensor ac = sums.get(i).div(new Scalar((double) supervised(seqs[i])));
                org.bytedeco.pytorch.Tensor ar = sums.get(2 + i).div(new Scalar((double) supervised(seqs[2 + i])));
                // log1mexp(a) = log1p(−exp(a)): A ≈ −4 here, far below −ln 2
                org.bytedeco.pytorch.Tensor lo = ac.sub(ar).sub(ac.exp().neg().log1p().sub(ar.exp().neg().log1p()));
                org.bytedeco.pytorch.Tensor term = log_sigmoid(lo).neg();
                or = or == null ? term : or.add(term);
            }
            return nll.add(or.div(new Scalar(4.0)).mul(new Scalar(0.5)));
        });
    }

    interface Ours {
        double run(Mistral model, ParameterSet grads);
    }

    interface Reference {
        org.bytedeco.pytorch.Tensor loss(List<org.bytedeco.pytorch.Tensor> sums);
    }

    private void compare(String name, int[][] seqs, Ours ours, Reference reference) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            Map<String, org.bytedeco.pytorch.Tensor> weights = TestCheckpoints.randomWeights(DIMS, 21);
            TestCheckpoints.writeModel(dir, TestCheckpoints.configJson(DIMS), weights, StoredType.F32);
            Map<String, float[]> grads = new LinkedHashMap<>();
            double lossOurs;
            try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir); CpuBackend cpu = new CpuBackend();
                 ParameterSet g = loaded.parameters().zerosLike()) {
                lossOurs = ours.run(new Mistral(loaded.config(), loaded.weights(), cpu), g);
                for (ParameterSet.Spec s : g.specs()) {
                    grads.put(s.name(), g.get(s.name()).toFloatArray());
                }
            }
            weights.values().forEach(w -> w.requires_grad_(true));
            org.bytedeco.pytorch.Tensor loss = reference.loss(torchSums(new TorchMistral(DIMS, weights), seqs));
            loss.backward();
            report(name, lossOurs, loss.item_double(), grads, weights);
        }
    }

    @Test
    void rewardModel() throws IOException {
        int[][] seqs = sequences(4, 9, 12, 7, 10); // chosen 0, 1; rejected 2, 3
        double[] margins = {0.05, -0.02};
        try (PointerScope scope = new PointerScope()) {
            // an OpenRLHF-layout directory from the independent writer: model.* + value_head.weight, no lm_head
            Map<String, org.bytedeco.pytorch.Tensor> weights = TestCheckpoints.randomWeights(DIMS, 22);
            weights.remove("lm_head.weight");
            weights.put(RewardModel.VALUE_HEAD, randn(new long[] {1, DIMS.hidden()},
                    new GeneratorOptional(createCPUGenerator(23)), new TensorOptions(ScalarType.Float)).mul(new Scalar(0.3)));
            Map<String, Object> config = TestCheckpoints.configJson(DIMS);
            config.put("architectures", List.of("RewardModel"));
            TestCheckpoints.writeModel(dir, config, weights, StoredType.F32);

            int[] lastTokens = new int[seqs.length];
            for (int s = 0, at = 0; s < seqs.length; s++) {
                at += seqs[s].length;
                lastTokens[s] = at - 1;
            }
            Map<String, float[]> grads = new LinkedHashMap<>();
            double lossOurs;
            try (RewardModel.Loaded loaded = RewardModel.load(dir); CpuBackend cpu = new CpuBackend();
                 ParameterSet g = loaded.parameters().zerosLike()) {
                RewardModel rm = new RewardModel(loaded.config(), loaded.parameters(), cpu);
                lossOurs = ModelLosses.reward(rm, TokenBatch.of(seqs), lastTokens, margins, 3, g, true).loss();
                for (ParameterSet.Spec s : g.specs()) {
                    grads.put(s.name(), g.get(s.name()).toFloatArray());
                }
            }

            // libtorch: lm_head = I makes TorchMistral's logits the final hidden states (V = C)
            Map<String, org.bytedeco.pytorch.Tensor> oracleWeights = new LinkedHashMap<>(weights);
            oracleWeights.remove(RewardModel.VALUE_HEAD);
            oracleWeights.put("lm_head.weight", eye(DIMS.hidden()));
            weights.values().forEach(w -> w.requires_grad_(true));
            TorchMistral oracle = new TorchMistral(DIMS, oracleWeights);
            org.bytedeco.pytorch.Tensor w = weights.get(RewardModel.VALUE_HEAD);
            List<org.bytedeco.pytorch.Tensor> rewards = new ArrayList<>();
            for (int[] s : seqs) {
                org.bytedeco.pytorch.Tensor hidden = oracle.logitsWithGrad(Arrays.stream(s).asLongStream().toArray());
                // r = value_head(hidden at the EOS, the last position)
                rewards.add(hidden.narrow(0, s.length - 1, 1).matmul(w.t()).sum().to(ScalarType.Double));
            }
            org.bytedeco.pytorch.Tensor loss = null;
            for (int i = 0; i < 2; i++) {
                // −log σ(r_c − r_r − m), mean over the step's 3 pairs
                org.bytedeco.pytorch.Tensor term = log_sigmoid(rewards.get(i).sub(rewards.get(2 + i)).sub(new Scalar(margins[i])))
                        .neg();
                loss = loss == null ? term : loss.add(term);
            }
            loss = loss.div(new Scalar(3.0));
            loss.backward();
            report("reward model", lossOurs, loss.item_double(), grads, weights);
        }
    }

    private static void report(String name, double lossOurs, double lossRef, Map<String, float[]> grads,
                               Map<String, org.bytedeco.pytorch.Tensor> weights) {
        double worst = 0;
        String worstName = "";
        int compared = 0;
        for (Map.Entry<String, float[]> e : grads.entrySet()) {
            org.bytedeco.pytorch.Tensor ref = weights.get(e.getKey()).grad();
            double error = LossOracleTest.relativeError(e.getValue(), TorchMistral.toFloatArray(ref));
            assertTrue(error <= GRAD_REL_TOL, name + ": " + e.getKey() + " relative error " + error);
            if (error > worst) {
                worst = error;
                worstName = e.getKey();
            }
            compared++;
        }
        assertEquals(weights.size(), compared, "every parameter compared");
        double lossError = LossOracleTest.relativeError(lossOurs, lossRef);
        System.out.printf("end to end %-14s loss %.2e, %d gradients, worst %.2e (%s)%n", name, lossError, compared, worst,
                worstName);
        assertTrue(lossError <= LOSS_REL_TOL, name + ": loss " + lossOurs + " vs " + lossRef);
    }
}
