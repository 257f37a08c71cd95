package ai.janus.generate;

import java.util.Arrays;
import java.util.BitSet;

/**
 * One next-token draw, in the spec's order (HF/vLLM semantics):
 * <ol>
 *   <li>repetition penalty: for every id in {@code seen} (prompt and output so far),
 *       z ← z / penalty if z > 0, else z · penalty;</li>
 *   <li>temperature: z ← z / T (T = 0: argmax, lowest id on ties);</li>
 *   <li>top-p: p = softmax(z); sort by p descending (lower id first on ties) and keep the shortest
 *       prefix whose mass reaches topP (at least one token);</li>
 *   <li>draw: with u uniform in [0, 1), the first kept token whose cumulative mass exceeds
 *       u · (kept mass).</li>
 * </ol>
 * Probabilities are computed in double from the float logits. The uniform number comes from
 * the caller, so a draw is a pure function of (logits, seen, u).
 */
public final class Sampler {
    private final SamplingConfig config;

    public Sampler(SamplingConfig config) {
        this.config = config;
    }

    /** The kept tokens, most likely first, with their renormalised probabilities. */
    public record Distribution(int[] tokens, double[] probabilities) {}

    /** Steps 1–3 on a copy of {@code logits}: what {@link #sample} draws from (greedy: one token, probability 1). */
    public Distribution distribution(float[] logits, BitSet seen) {
        double[] z = new double[logits.length];
        for (int i = 0; i < z.length; i++) {
            z[i] = logits[i];
        }
        if (config.repetitionPenalty() != 1) {
            for (int id = seen.nextSetBit(0); id >= 0 && id < z.length; id = seen.nextSetBit(id + 1)) {
                z[id] = z[id] > 0 ? z[id] / config.repetitionPenalty() : z[id] * config.repetitionPenalty();
            }
        }
        if (config.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < z.length; i++) {
                if (z[i] > z[best]) {
                    best = i;
                }
            }
            return new Distribution(new int[] {best}, new double[] {1});
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < z.length; i++) {
            z[i] /= config.temperature();
            max = Math.max(max, z[i]);
        }
        double sum = 0;
        for (int i = 0; i < z.length; i++) {
            z[i] = StrictMath.exp(z[i] - max); // StrictMath: the same draw in every run
            sum += z[i];
        }
        Integer[] order = new Integer[z.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        double[] p = z;
        final double total = sum;
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int kept = 0;
        double mass = 0;
        while (kept < order.length && (kept == 0 || mass < config.topP())) {
            mass += p[order[kept]] / total;
            kept++;
        }
        int[] tokens = new int[kept];
        double[] probabilities = new double[kept];
        for (int i = 0; i < kept; i++) {
            tokens[i] = order[i];
            probabilities[i] = p[order[i]] / total / mass;
        }
        return new Distribution(tokens, probabilities);
    }

    /** The token drawn for uniform {@code u} in [0, 1). */
    public int sample(float[] logits, BitSet seen, double u) {
        if (!(u >= 0 && u < 1)) {
            throw new IllegalArgumentException("u must be in [0, 1), got " + u);
        }
        Distribution d = distribution(logits, seen);
        double cumulative = 0;
        for (int i = 0; i < d.tokens().length; i++) {
            cumulative += d.probabilities()[i];
            if (u < cumulative) {
                return d.tokens()[i];
            }
        }
        return d.tokens()[d.tokens().length - 1]; // u just below 1 and rounding left the sum a hair short
    }
}
