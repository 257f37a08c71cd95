package ai.janus.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Sequence sums and means, and their backward, on a hand-computed batch. */
class SequenceLogProbsTest {
    private static final int X = ai.janus.backend.Backend.IGNORE_INDEX;

    // segment 0: packed, 4 tokens (prompt, prompt, answer, answer-end); segment 1: right-padded row of 5
    // (prompt, answer, answer, pad, pad); segment 2: one supervised token
    private static final int[] LABELS = {X, 7, 8, X, /**/ 3, 4, X, X, X, /**/ 9, X};
    private static final int[] CU = {0, 4, 9, 11};
    private static final float[] LOGP = {0f, -0.5f, -1.25f, 0f, /**/ -2f, -0.75f, 0f, 0f, 0f, /**/ -3.5f, 0f};

    @Test
    void sumsAndMeansOverSupervisedPositions() {
        try (Tensor logp = Tensor.of(LOGP, LOGP.length)) {
            SequenceLogProbs seq = SequenceLogProbs.forward(logp, LABELS, CU);
            assertEquals(3, seq.sequences());
            assertArrayEquals(new double[] {-1.75, -2.75, -3.5}, seq.sums(0, 3));
            assertArrayEquals(new long[] {2, 2, 1}, seq.tokens(0, 3));
            assertEquals(-0.875, seq.mean(0));
            assertEquals(-1.375, seq.mean(1));
            assertEquals(-3.5, seq.mean(2));
        }
    }

    @Test
    void backwardSpreadsEachSequencesGradientOverItsSupervisedTokens() {
        try (Tensor logp = Tensor.of(LOGP, LOGP.length); Tensor dLogp = Tensor.allocate(DType.F32, LOGP.length)) {
            SequenceLogProbs seq = SequenceLogProbs.forward(logp, LABELS, CU);
            dLogp.fill(99f); // overwritten everywhere, padding and prompts included
            seq.backward(dLogp, new double[] {1, -2, 0.5}, new double[] {4, 8, -1});
            // dlogp_t = dS_s + dA_s/|M_s|: segment 0: 1 + 4/2 = 3; segment 1: −2 + 8/2 = 2; segment 2: 0.5 − 1 = −0.5
            assertArrayEquals(new float[] {0, 3, 3, 0, 2, 2, 0, 0, 0, -0.5f, 0}, dLogp.toFloatArray());
            seq.backward(dLogp, null, new double[] {2, 2, 2});
            assertArrayEquals(new float[] {0, 1, 1, 0, 1, 1, 0, 0, 0, 2, 0}, dLogp.toFloatArray());
        }
    }

    @Test
    void aSegmentWithoutSupervisedTokensIsAnError() {
        int[] labels = LABELS.clone();
        labels[9] = X;
        try (Tensor logp = Tensor.of(LOGP, LOGP.length)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SequenceLogProbs.forward(logp, labels, CU));
            assertTrue(e.getMessage().startsWith("segment 2 (tokens 9..11) has no supervised token"), e.getMessage());
        }
    }

    @Test
    void mismatchedShapesAreErrors() {
        try (Tensor logp = Tensor.of(LOGP, LOGP.length); Tensor wrong = Tensor.allocate(DType.F32, 3)) {
            assertThrows(IllegalArgumentException.class, () -> SequenceLogProbs.forward(wrong, LABELS, CU));
            assertThrows(IllegalArgumentException.class, () -> SequenceLogProbs.forward(logp, LABELS, new int[] {0, 4, 10}));
            assertThrows(IllegalArgumentException.class, () -> SequenceLogProbs.forward(logp, LABELS, new int[] {0, 5, 4, 11}));
            SequenceLogProbs seq = SequenceLogProbs.forward(logp, LABELS, CU);
            assertThrows(IllegalArgumentException.class, () -> seq.backward(wrong, null, null));
            try (Tensor d = Tensor.allocate(DType.F32, LOGP.length)) {
                assertThrows(IllegalArgumentException.class, () -> seq.backward(d, new double[2], null));
            }
        }
    }
}
