package ai.janus.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The sampler against a reference written here from docs/spec/objectives.md ("Sampling and best-of-N"),
 * on fixed logits: penalty z/p for z > 0 and z·p otherwise on seen ids, before temperature and
 * top-p; top-p keeps the smallest most-likely set with mass ≥ p, never empty.
 */
class SamplerTest {

    /** The spec, step by step, in the plainest code: returns kept tokens and renormalised probabilities. */
    private static Object[] reference(float[] logits, BitSet seen, double temperature, double topP, double penalty) {
        double[] z = new double[logits.length];
        for (int i = 0; i < z.length; i++) {
            double v = logits[i];
            if (seen.get(i)) {
                v = v > 0 ? v / penalty : v * penalty;
            }
            z[i] = v / temperature;
        }
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double v : z) {
            max = Math.max(max, v);
        }
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(z[i] - max);
            sum += p[i];
        }
        List<Integer> kept = new ArrayList<>();
        boolean[] used = new boolean[z.length];
        double mass = 0;
        while (kept.isEmpty() || mass < topP) {
            int best = -1;
            for (int i = 0; i < z.length; i++) {
                if (!used[i] && (best < 0 || p[i] > p[best])) {
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            used[best] = true;
            kept.add(best);
            mass += p[best] / sum;
        }
        int[] tokens = kept.stream().mapToInt(Integer::intValue).toArray();
        double[] probs = new double[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            probs[i] = p[tokens[i]] / sum / mass;
        }
        return new Object[] {tokens, probs};
    }

    private static final float[] LOGITS = {2.0f, -1.0f, 0.5f, 3.0f, -0.25f, 1.5f, 0.0f, -3.0f};

    @Test
    void distributionMatchesTheSpecReference() {
        BitSet seen = new BitSet();
        seen.set(3);   // positive logit: divided
        seen.set(1);   // negative logit: multiplied
        for (double t : new double[] {0.5, 1.0, 1.7}) {
            for (double p : new double[] {0.3, 0.9, 1.0}) {
                for (double penalty : new double[] {1.0, 1.03, 2.5}) {
                    Sampler.Distribution d = new Sampler(new SamplingConfig(t, p, penalty, 1, 0)).distribution(LOGITS, seen);
                    Object[] ref = reference(LOGITS, seen, t, p, penalty);
                    String where = "T " + t + " top-p " + p + " penalty " + penalty;
                    assertArrayEquals((int[]) ref[0], d.tokens(), where);
                    assertArrayEquals((double[]) ref[1], d.probabilities(), 1e-12, where);
                }
            }
        }
    }

    @Test
    void penaltyDividesPositiveAndMultipliesNegativeLogits() {
        // With penalty 2.5 token 3 (logit 3 → 1.2) falls below token 0 (2.0): greedy picks 0.
        BitSet seen = new BitSet();
        seen.set(3);
        assertEquals(3, new Sampler(SamplingConfig.greedy(1)).sample(LOGITS, seen, 0.5));
        assertEquals(0, new Sampler(new SamplingConfig(0, 1, 2.5, 1, 0)).sample(LOGITS, seen, 0.5));
        // A seen negative logit becomes more negative: token 1 (−1 → −2.5) drops below token 4 (−0.25 → unchanged).
        Sampler.Distribution d = new Sampler(new SamplingConfig(1, 1, 2.5, 1, 0)).distribution(LOGITS, bitSet(1));
        assertEquals(7, d.tokens()[d.tokens().length - 1]);
        assertEquals(1, d.tokens()[d.tokens().length - 2]);
    }

    @Test
    void topPKeepsAtLeastOneTokenAndDrawsByInverseCdf() {
        Sampler tiny = new Sampler(new SamplingConfig(1, 1e-9, 1, 1, 0));
        assertArrayEquals(new int[] {3}, tiny.distribution(LOGITS, new BitSet()).tokens());
        Sampler s = new Sampler(new SamplingConfig(1, 0.9, 1, 1, 0));
        Object[] ref = reference(LOGITS, new BitSet(), 1, 0.9, 1);
        int[] tokens = (int[]) ref[0];
        double[] probs = (double[]) ref[1];
        double cumulative = 0;
        for (int i = 0; i < tokens.length; i++) {
            double lo = cumulative, hi = cumulative + probs[i];
            assertEquals(tokens[i], s.sample(LOGITS, new BitSet(), lo + 1e-12), "just above " + lo);
            assertEquals(tokens[i], s.sample(LOGITS, new BitSet(), Math.min(hi - 1e-12, Math.nextDown(1.0))));
            cumulative = hi;
        }
        assertThrows(IllegalArgumentException.class, () -> s.sample(LOGITS, new BitSet(), 1.0));
    }

    @Test
    void penaltyActsBeforeTopP() {
        // Token 3 alone holds > 0.5 of the mass; once penalised (3 → 1.2) it no longer does, so
        // top-p 0.5 must keep more than one token: the penalty shaped the set top-p cut.
        assertArrayEquals(new int[] {3}, new Sampler(new SamplingConfig(1, 0.5, 1, 1, 0))
                .distribution(LOGITS, new BitSet()).tokens());
        assertTrue(new Sampler(new SamplingConfig(1, 0.5, 2.5, 1, 0)).distribution(LOGITS, bitSet(3)).tokens().length > 1);
    }

    @Test
    void drawsFollowTheDistribution() {
        Sampler s = new Sampler(new SamplingConfig(1, 1, 1, 1, 0));
        Sampler.Distribution d = s.distribution(LOGITS, new BitSet());
        SplittableRandom rng = new SplittableRandom(4);
        int[] counts = new int[LOGITS.length];
        int n = 200_000;
        for (int i = 0; i < n; i++) {
            counts[s.sample(LOGITS, new BitSet(), rng.nextDouble())]++;
        }
        for (int i = 0; i < d.tokens().length; i++) {
            double expected = d.probabilities()[i] * n, sd = Math.sqrt(expected);
            assertEquals(expected, counts[d.tokens()[i]], 5 * sd + 1, "token " + d.tokens()[i]);
        }
    }

    private static BitSet bitSet(int... ids) {
        BitSet b = new BitSet();
        for (int id : ids) {
            b.set(id);
        }
        return b;
    }
}
