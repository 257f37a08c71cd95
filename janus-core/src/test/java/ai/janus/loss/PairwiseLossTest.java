package ai.janus.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Hand-checked values, invariants and argument checks of the SFT, DPO and Bradley-Terry losses
 * (their formulas and gradients are checked against libtorch in {@link LossOracleTest}).
 */
class PairwiseLossTest {
    /** ln 2 as the double nearest it (what −log σ(0) must be). */
    private static final double LN2 = 0.6931471805599453;

    @Test
    void logSigmoidOfZeroIsMinusLn2AndExtremesStayFinite() {
        assertEquals(-LN2, StableMath.logSigmoid(0.0));
        assertEquals(0.5, StableMath.sigmoid(0.0));
        assertEquals(-1000.0, StableMath.logSigmoid(-1000.0));
        assertEquals(-0.0, StableMath.logSigmoid(1000.0));
        assertEquals(0.0, StableMath.sigmoid(-1000.0));
        assertEquals(1.0, StableMath.sigmoid(1000.0));
    }

    @Test
    void dpoWithPolicyEqualToReferenceIsExactlyLn2PerPair() {
        Random r = new Random(3);
        int p = 5;
        double[] chosen = new double[p], rejected = new double[p];
        for (int i = 0; i < p; i++) {
            chosen[i] = -100 * r.nextDouble();
            rejected[i] = -100 * r.nextDouble();
        }
        DpoLoss.Result res = DpoLoss.janus().forward(chosen, rejected, chosen.clone(), rejected.clone(), 8);
        for (int i = 0; i < p; i++) {
            assertEquals(LN2, res.pairLoss()[i], "pair " + i); // exactly
            // dL/du = −σ(0) = −1/2, so dL/dS_π(c) = β·(−1/2)/P_step and the opposite for the rejected answer
            assertEquals(-0.1 / 2 / 8, res.dChosen()[i]);
            assertEquals(0.1 / 2 / 8, res.dRejected()[i]);
        }
        assertEquals(5 * LN2 / 8, res.loss(), 1e-15);
        assertEquals(new DpoLoss.Metrics(5, 0, 0, 0, 0), res.metrics());
    }

    @Test
    void dpoHandComputedPair() {
        // β = 0.1: chosen reward 0.1·(−10 + 12) = 0.2, rejected 0.1·(−15 + 14) = −0.1, u = 0.3
        DpoLoss.Result res = DpoLoss.janus().forward(new double[] {-10}, new double[] {-15}, new double[] {-12},
                new double[] {-14}, 1);
        // u carries the rounding of 0.2 + 0.1, hence 1e-13
        assertEquals(0.5543552444685349, res.loss(), 1e-13);            // log(1 + e^−0.3)
        assertEquals(-0.1 * 0.425557483188341, res.dChosen()[0], 1e-13); // −β·σ(−0.3)
        DpoLoss.Metrics m = res.metrics();
        assertEquals(0.2, m.chosenReward(), 1e-15);
        assertEquals(-0.1, m.rejectedReward(), 1e-15);
        assertEquals(0.3, m.margin(), 1e-15);
        assertEquals(1.0, m.accuracy());
    }

    @Test
    void dpoLabelSmoothingMixesBothDirections() {
        double u = 0.3, eps = 0.2;
        DpoLoss.Result res = new DpoLoss(1.0, eps).forward(new double[] {u}, new double[] {0}, new double[] {0},
                new double[] {0}, 1);
        // L = −0.8·log σ(0.3) − 0.2·log σ(−0.3), dL/du = −0.8·σ(−0.3) + 0.2·σ(0.3)
        assertEquals(0.8 * 0.5543552444685349 + 0.2 * 0.8543552444685349, res.loss(), 1e-13);
        assertEquals(-0.8 * 0.425557483188341 + 0.2 * 0.574442516811659, res.dChosen()[0], 1e-13);
    }

    @Test
    void dpoStaysFiniteFarFromZero() {
        DpoLoss.Result res = new DpoLoss(1.0, 0.1).forward(new double[] {-5000, 0}, new double[] {0, -5000},
                new double[] {0, 0}, new double[] {0, 0}, 2);
        assertTrue(Double.isFinite(res.loss()) && res.loss() > 2000, "" + res.loss());
        assertEquals(2, res.dChosen().length);
        for (double d : res.dChosen()) {
            assertTrue(Double.isFinite(d));
        }
        assertEquals(0.5, res.metrics().accuracy());
    }

    @Test
    void metricsOfTwoMicroBatchesCombineAsOne() {
        DpoLoss loss = new DpoLoss(0.5, 0);
        double[] pc = {-3, -7, -2}, pr = {-4, -5, -9}, rc = {-3.5, -6, -2.5}, rr = {-4, -4, -8};
        DpoLoss.Metrics whole = loss.forward(pc, pr, rc, rr, 3).metrics();
        DpoLoss.Metrics split = loss.forward(new double[] {pc[0]}, new double[] {pr[0]}, new double[] {rc[0]},
                new double[] {rr[0]}, 3).metrics().plus(loss.forward(new double[] {pc[1], pc[2]},
                new double[] {pr[1], pr[2]}, new double[] {rc[1], rc[2]}, new double[] {rr[1], rr[2]}, 3).metrics());
        assertEquals(whole.pairs(), split.pairs());
        assertEquals(whole.accuracy(), split.accuracy(), 1e-15);
        assertEquals(whole.margin(), split.margin(), 1e-15);
        assertEquals(whole.chosenReward(), split.chosenReward(), 1e-15);
    }

    @Test
    void rpoAlphaZeroGivesPlainDpoBits() {
        Random r = new Random(11);
        int p = 6;
        double[] pc = new double[p], pr = new double[p], rc = new double[p], rr = new double[p];
        long[] tokens = new long[p];
        for (int i = 0; i < p; i++) {
            pc[i] = -80 * r.nextDouble();
            pr[i] = -80 * r.nextDouble();
            rc[i] = pc[i] + 6 * r.nextGaussian();
            rr[i] = pr[i] + 6 * r.nextGaussian();
            tokens[i] = 1 + r.nextInt(40);
        }
        for (DpoLoss plain : new DpoLoss[] {DpoLoss.janus(), new DpoLoss(0.7, 0.2)}) {
            DpoLoss.Result a = plain.forward(pc, pr, rc, rr, 9);
            DpoLoss.Result b = new DpoLoss(plain.beta(), plain.labelSmoothing(), 0).forward(pc, tokens, pr, rc, rr, 9, 500);
            assertEquals(Double.doubleToRawLongBits(a.loss()), Double.doubleToRawLongBits(b.loss()));
            assertArrayEquals(a.pairLoss(), b.pairLoss(), 0.0);
            assertArrayEquals(a.dChosen(), b.dChosen(), 0.0);
            assertArrayEquals(a.dRejected(), b.dRejected(), 0.0);
            DpoLoss.Metrics m = b.metrics();
            assertEquals(a.metrics(), new DpoLoss.Metrics(m.pairs(), m.chosenReward(), m.rejectedReward(), m.margin(),
                    m.accuracy()));
        }
    }

    @Test
    void rpoAddsAlphaTimesTheChosenNllPerStepToken() {
        // step 0 (policy = reference): DPO gives ln 2 per pair; the step has 8 pairs and 100 chosen tokens
        double[] chosen = {-12, -30}, rejected = {-20, -9};
        long[] tokens = {4, 6};
        DpoLoss.Result res = new DpoLoss(0.1, 0, 0.5).forward(chosen, tokens, rejected, chosen.clone(), rejected.clone(), 8,
                100);
        assertEquals(2 * LN2 / 8 + 0.5 * 42.0 / 100, res.loss(), 1e-15);
        assertArrayEquals(new double[] {LN2, LN2}, res.pairLoss(), 0.0); // the pair losses are DPO's alone
        for (int i = 0; i < 2; i++) {
            assertEquals(-0.1 / 2 / 8 - 0.5 / 100, res.dChosen()[i], 1e-17);
            assertEquals(0.1 / 2 / 8, res.dRejected()[i]);
        }
        assertEquals(10, res.metrics().chosenTokens());
        assertEquals(4.2, res.metrics().nll(), 1e-15);
        // the per-token NLL of two calls together is weighted by tokens
        DpoLoss.Metrics other = new DpoLoss.Metrics(1, 0, 0, 0, 1, 30, 1.0);
        assertEquals((42.0 + 30.0) / 40, res.metrics().plus(other).nll(), 1e-15);
        assertEquals(40, res.metrics().plus(other).chosenTokens());
    }

    @Test
    void rpoRefusesBadSettingsAndMissingTokens() {
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, 0, -0.5));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, 0, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, 0, Double.POSITIVE_INFINITY));
        DpoLoss rpo = new DpoLoss(0.1, 0, 1.0);
        double[] one = {-3};
        assertThrows(IllegalStateException.class, () -> rpo.forward(one, one, one, one, 1));
        assertThrows(IllegalArgumentException.class, () -> rpo.forward(one, null, one, one, one, 1, 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> rpo.forward(one, new long[] {5}, one, one, one, 1, 4));
        assertTrue(e.getMessage().contains("count every micro-batch"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> rpo.forward(one, new long[] {0}, one, one, one, 1, 4));
        assertThrows(IllegalArgumentException.class, () -> rpo.forward(one, new long[] {1, 1}, one, one, one, 1, 4));
    }

    @Test
    void dpoRefusesBadSettingsAndShapes() {
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, -0.1));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(Double.NaN, 0));
        DpoLoss loss = DpoLoss.janus();
        assertThrows(IllegalArgumentException.class,
                () -> loss.forward(new double[2], new double[2], new double[2], new double[1], 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> loss.forward(new double[2], new double[2], new double[2], new double[2], 1));
        assertTrue(e.getMessage().contains("fewer than the 2 of this micro-batch"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> loss.forward(new double[0], new double[0], new double[0], new double[0], 4));
    }

    @Test
    void sftDividesByTheStepsTokens() {
        SftLoss.Result r = SftLoss.forward(new double[] {-6, -2}, new long[] {3, 1}, 10);
        assertEquals(0.8, r.loss(), 1e-15);
        assertEquals(8.0, r.nll());
        assertEquals(4, r.tokens());
        assertArrayEquals(new double[] {-0.1, -0.1}, r.dSums());
        // Janus's variant: the micro-batch's own mean, over 2 micro-batches
        SftLoss.Result legacy = SftLoss.perMicroBatchMean(new double[] {-6, -2}, new long[] {3, 1}, 2);
        assertEquals(1.0, legacy.loss(), 1e-15);
        assertArrayEquals(new double[] {-0.125, -0.125}, legacy.dSums());
        assertThrows(IllegalArgumentException.class, () -> SftLoss.forward(new double[] {-1}, new long[] {5}, 4));
        assertThrows(IllegalArgumentException.class, () -> SftLoss.forward(new double[] {-1}, new long[] {0}, 4));
        assertThrows(IllegalArgumentException.class, () -> SftLoss.perMicroBatchMean(new double[] {-1}, new long[] {1}, 0));
    }

    @Test
    void bradleyTerryHandComputedWithMargin() {
        // x = 1.5 − 0.5 − 0.7 = 0.3: L = log(1 + e^−0.3); second pair x = 0 − 1 − 0 = −1
        BradleyTerryLoss.Result r = BradleyTerryLoss.forward(new double[] {1.5, 0}, new double[] {0.5, 1},
                new double[] {0.7, 0}, 4);
        assertEquals((0.5543552444685349 + 1.3132616875182228) / 4, r.loss(), 1e-13);
        assertEquals(-0.425557483188341 / 4, r.dChosen()[0], 1e-13);
        assertEquals(0.7310585786300049 / 4, r.dRejected()[1], 1e-13);
        assertEquals(0.5, r.metrics().accuracy());
        assertEquals(0.75, r.metrics().chosenReward());
        assertEquals(0.75, r.metrics().rejectedReward());
        // a margin changes the loss, never the accuracy
        assertEquals(0.5, BradleyTerryLoss.forward(new double[] {1.5, 0}, new double[] {0.5, 1}, null, 2)
                .metrics().accuracy());
        assertThrows(IllegalArgumentException.class,
                () -> BradleyTerryLoss.forward(new double[2], new double[2], new double[1], 2));
    }

    @Test
    void bradleyTerryEqualRewardsGiveLn2AndNoAccuracy() {
        BradleyTerryLoss.Result r = BradleyTerryLoss.forward(new double[] {0.25}, new double[] {0.25}, null, 1);
        assertEquals(LN2, r.loss());
        assertEquals(0.0, r.metrics().accuracy()); // ties do not count as correct
    }
}
