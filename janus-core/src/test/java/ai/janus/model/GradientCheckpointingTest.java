package ai.janus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Gradient checkpointing recomputes each layer's activations from its saved input in the backward;
 * the recomputation runs the same code on the same inputs, so every gradient must be bit-identical
 * to the run that kept all activations, while far fewer bytes are held between forward and backward.
 */
class GradientCheckpointingTest {

    @Test
    void gradientsAreBitIdenticalAndActivationMemoryShrinks() {
        // GQA, a window shorter than the sequences, packed sequences, a multi-block length.
        MistralConfig c = MistralConfig.of(211, 64, 160, 3, 8, 2, 8, 10000.0, 40, false);
        SplittableRandom rng = new SplittableRandom(3);
        TokenBatch batch = TokenBatch.of(rng.ints(150, 0, c.vocabSize()).toArray(),
                rng.ints(37, 0, c.vocabSize()).toArray());
        int[] labels = MistralGradientOracleTest.nextTokenLabels(new int[][] {
                Arrays.copyOfRange(batch.tokens(), 0, 150), Arrays.copyOfRange(batch.tokens(), 150, 187)});
        long supervised = Arrays.stream(labels).filter(y -> y != Backend.IGNORE_INDEX).count();
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(c)); CpuBackend cpu = new CpuBackend();
             ParameterSet full = params.zerosLike(); ParameterSet checkpointed = params.zerosLike();
             Tensor dLogp = MistralGradientOracleTest.meanNllGradient(labels, supervised)) {
            MistralWeights.initialize(c, params, 5);
            Mistral model = new Mistral(c, MistralWeights.of(c, params), cpu);
            long fullBytes, checkpointedBytes;
            float[] fullLogp, checkpointedLogp;
            try (Mistral.ForwardState st = model.forward(batch, labels, false)) {
                fullBytes = st.activationBytes();
                fullLogp = st.logp().toFloatArray();
                model.backward(st, dLogp, full);
            }
            try (Mistral.ForwardState st = model.forward(batch, labels, true)) {
                checkpointedBytes = st.activationBytes();
                checkpointedLogp = st.logp().toFloatArray();
                model.backward(st, dLogp, checkpointed);
            }
            assertArrayEquals(fullLogp, checkpointedLogp);
            for (ParameterSet.Spec s : params.specs()) {
                float[] a = full.get(s.name()).toFloatArray(), b = checkpointed.get(s.name()).toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                        throw new AssertionError(s.name() + "[" + i + "]: " + a[i] + " vs " + b[i]);
                    }
                }
                assertTrue(Arrays.stream(box(a)).anyMatch(v -> v != 0), s.name() + " has a gradient");
            }
            System.out.printf("checkpointing: activations %,d bytes kept, %,d with checkpointing (%.1fx less)%n",
                    fullBytes, checkpointedBytes, (double) fullBytes / checkpointedBytes);
            assertTrue(checkpointedBytes * 2 < fullBytes, fullBytes + " vs " + checkpointedBytes);
        }
    }

    @Test
    void gradientsAccumulateAcrossBackwards() {
        // Two backwards into one gradient set equal twice one backward (gradient accumulation).
        MistralConfig c = MistralConfig.tiny(97);
        TokenBatch batch = TokenBatch.of(new SplittableRandom(4).ints(30, 0, 97).toArray());
        int[] labels = MistralGradientOracleTest.nextTokenLabels(new int[][] {batch.tokens()});
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(c)); CpuBackend cpu = new CpuBackend();
             ParameterSet once = params.zerosLike(); ParameterSet twice = params.zerosLike();
             Tensor dLogp = MistralGradientOracleTest.meanNllGradient(labels, 29)) {
            MistralWeights.initialize(c, params, 6);
            Mistral model = new Mistral(c, MistralWeights.of(c, params), cpu);
            for (ParameterSet target : new ParameterSet[] {once, twice, twice}) {
                try (Mistral.ForwardState st = model.forward(batch, labels, false)) {
                    model.backward(st, dLogp, target);
                }
            }
            float[] a = once.flat().toFloatArray(), b = twice.flat().toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertTrue(Math.abs(2 * a[i] - b[i]) <= 1e-6f * Math.abs(b[i]) + 1e-12f, "element " + i);
            }
        }
    }

    private static double[] box(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
