package ai.janus.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.tensor.HalfFloats;
import org.junit.jupiter.api.Test;

/**
 * ORPO where its odds are hard to compute: mean log-probs of −1e-7 (an answer the model is almost
 * sure of) and −50. The stable log1mexp keeps the loss and its gradient finite and accurate; the
 * naive log(1 − e^a) loses every digit there or, in the training precision bf16, becomes −∞.
 * Formula and gradient in general are checked against libtorch in {@link LossOracleTest}.
 */
class OrpoLossTest {
    /**
     * log(1 − e^a) from series written here, not from {@link StableMath}: for small |a|,
     * 1 − e^a = −a·(1 + a/2 + a²/6 + a³/24 + …); for very negative a, log(1 − x) = −x − x²/2 with x = e^a.
     */
    private static double log1mexpReference(double a) {
        if (a > -1e-3) {
            return Math.log(-a) + Math.log1p(a / 2 + a * a / 6 + a * a * a / 24);
        }
        double x = Math.exp(a);
        return -x - x * x / 2;
    }

    @Test
    void log1mexpIsAccurateAtBothEnds() {
        assertEquals(log1mexpReference(-1e-7), StableMath.log1mexp(-1e-7), 1e-15 * 16.2);
        assertEquals(-16.118095700958, StableMath.log1mexp(-1e-7), 1e-11);
        assertEquals(log1mexpReference(-50), StableMath.log1mexp(-50), 1e-15 * 1.93e-22);
        assertEquals(-1.9287498479639178e-22, StableMath.log1mexp(-50));
        assertEquals(Double.NEGATIVE_INFINITY, StableMath.log1mexp(0.0));
        // both branches meet at a = −ln 2, where 1 − e^a = 1/2
        assertEquals(-Math.log(2), StableMath.log1mexp(-Math.log(2) + 1e-12), 1e-11);
        assertEquals(-Math.log(2), StableMath.log1mexp(-Math.log(2) - 1e-12), 1e-11);
    }

    @Test
    void orpoIsFiniteAtMeanLogProbsOfMinus1e7AndMinus50() {
        OrpoLoss loss = OrpoLoss.janus();
        // one token each so that A = S; pair 0: chosen almost certain, rejected at −50; pair 1 the other way round
        double[] chosen = {-1e-7, -50}, rejected = {-50, -1e-7};
        long[] ones = {1, 1};
        OrpoLoss.Result r = loss.forward(chosen, ones, rejected, ones, 2, 2);
        assertTrue(Double.isFinite(r.loss()), "loss " + r.loss());
        for (int i = 0; i < 2; i++) {
            assertTrue(Double.isFinite(r.dChosen()[i]) && Double.isFinite(r.dRejected()[i]), "pair " + i);
        }
        // lo = (A_c − A_r) − (log1mexp(A_c) − log1mexp(A_r)), with the references above
        double lo0 = (-1e-7 + 50) - (log1mexpReference(-1e-7) - log1mexpReference(-50));
        double lo1 = -lo0;
        double expectedOr = (Math.log1p(Math.exp(-lo0)) + (-lo1 + Math.log1p(Math.exp(lo1)))) / 2;
        double expectedNll = (1e-7 + 50) / 2;
        assertEquals(expectedNll + 0.1 * expectedOr, r.loss(), 1e-12 * r.loss());
        assertEquals(66.11809560095833, lo0, 1e-12); // 50 − 1e-7 + 16.118095700958
        assertEquals((lo0 + lo1) / 2, r.metrics().logOdds(), 1e-12);
        // pair 1 (chosen at −50, rejected almost certain): dlo/dA_r = 1/expm1(A_r) ≈ −1e7, σ(−lo) ≈ 1
        assertEquals(-0.1 / 2 * 1 * (1 / Math.expm1(-1e-7)), r.dRejected()[1], 1e-6 * 5e5);
    }

    @Test
    void theNaiveFormFailsThere() {
        // Naive log(1 − e^a) in bf16, Janus's training precision (TRL evaluates the odds in the
        // model's dtype): e^−1e-7 rounds to 1, so log(0) = −∞ and the log-odds are infinite.
        float e = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16((float) Math.exp(-1e-7)));
        assertEquals(1f, e);
        double naiveBf16 = Math.log(1 - e);
        assertEquals(Double.NEGATIVE_INFINITY, naiveBf16);
        // the loss of a pair whose rejected answer sits at −1e-7 becomes +∞, and with the chosen
        // answer there the log-odds are +∞ and the gradient ∞·0 = NaN
        double loNaive = (-50 + 1e-7) - (Math.log(1 - Math.exp(-50)) - naiveBf16);
        assertEquals(Double.NEGATIVE_INFINITY, loNaive);
        assertEquals(Double.POSITIVE_INFINITY, -StableMath.logSigmoid(loNaive));
        double loChosenNaive = (1e-7 - 50) - (naiveBf16 - Math.log(1 - Math.exp(-50)));
        double dNaive = StableMath.sigmoid(-loChosenNaive) * (-Math.exp(-1e-7) / (1 - e)); // σ(−lo)·d log(1−e^a)/da
        assertTrue(Double.isNaN(dNaive), "" + dNaive);
        // in fp32 it stays finite but is 0.18 nats off (e^a rounds to 1 − 2^−23)
        float e32 = (float) Math.exp(-1e-7f);
        assertEquals(-15.942385152878742, Math.log(1f - e32), 1e-12);
        assertTrue(Math.abs(Math.log(1f - e32) - log1mexpReference(-1e-7)) > 0.17);
        // at −50, 1 − e^a rounds to 1 in any precision: the naive form (and log(−expm1(a)))
        // gives 0, no correct digit; the stable form gives −1.93e-22
        assertEquals(0.0, Math.log(1 - Math.exp(-50)));
        assertEquals(0.0, Math.log(-Math.expm1(-50)));
        assertFalse(StableMath.log1mexp(-50) == 0.0);
    }

    @Test
    void aMeanLogProbOfZeroIsRefusedNamingThePair() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OrpoLoss.janus()
                .forward(new double[] {-1, 0}, new long[] {2, 3}, new double[] {-2, -4}, new long[] {2, 3}, 2, 5));
        assertTrue(e.getMessage().startsWith("pair 1: the chosen answer's mean log-prob is 0.0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OrpoLoss.janus()
                .forward(new double[] {-1}, new long[] {2}, new double[] {Double.NaN}, new long[] {2}, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> new OrpoLoss(-0.1));
        assertThrows(IllegalArgumentException.class, () -> OrpoLoss.janus()
                .forward(new double[] {-1}, new long[] {0}, new double[] {-1}, new long[] {2}, 1, 2));
    }

    @Test
    void withLambdaZeroOrpoIsTheChosenAnswersSftLoss() {
        double[] chosen = {-6, -2}, rejected = {-1, -9};
        long[] tokens = {3, 1};
        OrpoLoss.Result r = new OrpoLoss(0).forward(chosen, tokens, rejected, tokens, 4, 10);
        SftLoss.Result sft = SftLoss.forward(chosen, tokens, 10);
        assertEquals(sft.loss(), r.loss());
        assertEquals(sft.dSums()[0], r.dChosen()[0]);
        assertEquals(0.0, r.dRejected()[0]);
        assertEquals(2.0, r.metrics().nll()); // 8 nats over 4 tokens
    }
}
