package ai.janus.loss;

import ai.janus.backend.Backend;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;

/**
 * Sequence scores from per-token log-probs (docs/spec/objectives.md, "Sequence log-prob"): for every
 * segment s of a batch (cu_seqlens), with M_s its positions whose shifted label is not ignored,
 *
 * <pre>
 * S_s = Σ_{t∈M_s} logp_t          (sum)
 * A_s = S_s / |M_s|               (mean)
 * </pre>
 *
 * Packed and padded batches are the same case: padding sits inside a segment with ignored labels,
 * so it adds nothing. Sums run in double over the fp32 log-probs. Every segment must have at least
 * one supervised position; rows without one are rejected when the data is loaded, so an empty
 * segment here is a bug upstream and an error.
 *
 * <p>{@link #backward} turns per-sequence gradients dL/dS and dL/dA into the per-token dL/dlogp
 * that {@code Mistral.backward} takes: {@code dLogp[t] = dS_s + dA_s / |M_s|} on M_s, 0 elsewhere.
 */
public final class SequenceLogProbs {
    private final int[] labels;     // (N) shifted targets or IGNORE_INDEX
    private final int[] cuSeqlens;  // (S + 1)
    private final double[] sums;    // (S)
    private final long[] tokens;    // (S) |M_s|

    private SequenceLogProbs(int[] labels, int[] cuSeqlens, double[] sums, long[] tokens) {
        this.labels = labels;
        this.cuSeqlens = cuSeqlens;
        this.sums = sums;
        this.tokens = tokens;
    }

    /**
     * Scores every segment of a batch.
     *
     * @param logp      (N) F32 per-token log p(label), 0 where the label is ignored ({@code ForwardState.logp()})
     * @param labels    (N) the labels the log-probs were taken for; held by reference for the backward
     * @param cuSeqlens (S + 1) segment offsets, 0 to N ({@code TokenBatch.cuSeqlens()}); held by reference
     */
    public static SequenceLogProbs forward(Tensor logp, int[] labels, int[] cuSeqlens) {
        int n = labels.length;
        if (logp.dtype() != DType.F32 || logp.numel() != n) {
            throw new IllegalArgumentException("logp must be F32 (" + n + "), got " + logp);
        }
        checkSegments(cuSeqlens, n);
        int segments = cuSeqlens.length - 1;
        double[] sums = new double[segments];
        long[] tokens = new long[segments];
        FloatBuffer lp = logp.floats();
        for (int s = 0; s < segments; s++) {
            double sum = 0;
            long count = 0;
            for (int t = cuSeqlens[s]; t < cuSeqlens[s + 1]; t++) {
                if (labels[t] != Backend.IGNORE_INDEX) {
                    sum += lp.get(t);
                    count++;
                }
            }
            if (count == 0) {
                throw new IllegalArgumentException("segment " + s + " (tokens " + cuSeqlens[s] + ".." + cuSeqlens[s + 1]
                        + ") has no supervised token; rows without one must be rejected when the data is loaded");
            }
            sums[s] = sum;
            tokens[s] = count;
        }
        return new SequenceLogProbs(labels, cuSeqlens, sums, tokens);
    }

    /**
     * Backward of {@link #forward}: overwrites {@code dLogp (N)} with
     * {@code dSum[s] + dMean[s] / |M_s|} on the supervised positions of segment s and 0 elsewhere.
     * Either gradient may be null (zero).
     */
    public void backward(Tensor dLogp, double[] dSum, double[] dMean) {
        int n = labels.length;
        if (dLogp.dtype() != DType.F32 || dLogp.numel() != n) {
            throw new IllegalArgumentException("dLogp must be F32 (" + n + "), got " + dLogp);
        }
        checkLength("dSum", dSum);
        checkLength("dMean", dMean);
        FloatBuffer out = dLogp.floats();
        for (int s = 0; s < sums.length; s++) {
            // S_s = Σ logp_t and A_s = S_s / |M_s|: dlogp_t = dS_s + dA_s / |M_s|
            double g = (dSum == null ? 0 : dSum[s]) + (dMean == null ? 0 : dMean[s] / tokens[s]);
            for (int t = cuSeqlens[s]; t < cuSeqlens[s + 1]; t++) {
                out.put(t, labels[t] == Backend.IGNORE_INDEX ? 0f : (float) g);
            }
        }
    }

    /** S, the number of segments. */
    public int sequences() {
        return sums.length;
    }

    /** S_s, the summed log-prob of segment s. */
    public double sum(int s) {
        return sums[s];
    }

    /** |M_s|, the supervised positions of segment s (≥ 1). */
    public long tokens(int s) {
        return tokens[s];
    }

    /** A_s = S_s / |M_s|. */
    public double mean(int s) {
        return sums[s] / tokens[s];
    }

    /** S_s of segments [from, to), a new array. */
    public double[] sums(int from, int to) {
        return java.util.Arrays.copyOfRange(sums, from, to);
    }

    /** |M_s| of segments [from, to), a new array. */
    public long[] tokens(int from, int to) {
        return java.util.Arrays.copyOfRange(tokens, from, to);
    }

    private void checkLength(String name, double[] g) {
        if (g != null && g.length != sums.length) {
            throw new IllegalArgumentException(name + " has " + g.length + " entries for " + sums.length + " segments");
        }
    }

    private static void checkSegments(int[] cu, int n) {
        if (cu.length < 2 || cu[0] != 0 || cu[cu.length - 1] != n) {
            throw new IllegalArgumentException("cuSeqlens must run from 0 to " + n + " over at least one segment");
        }
        for (int s = 1; s < cu.length; s++) {
            if (cu[s] < cu[s - 1]) {
                throw new IllegalArgumentException("cuSeqlens decreases at " + s);
            }
        }
    }
}
