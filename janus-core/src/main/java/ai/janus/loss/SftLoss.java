package ai.janus.loss;

/**
 * Supervised fine-tuning loss (docs/spec/objectives.md, "SFT"), normalised by the supervised tokens of the
 * whole optimizer step (transformers ≥ 4.46; docs/spec/reliability.md):
 *
 * <pre>
 * L = −(1/|M_step|) Σ_{t∈M_step} logp_t
 * </pre>
 *
 * where M_step holds the supervised positions of every micro-batch (and every rank) of the step.
 * The caller counts |M_step| before running the micro-batches; each micro-batch contributes
 * {@code −Σ_s S_s / |M_step|}, and the contributions and their gradients add up to the step's loss
 * and gradient, so batch 8 and batch 4 × accumulation 2 give the same gradient.
 *
 * <p>{@link #perMicroBatchMean} is Janus's own normalisation (each micro-batch's mean token NLL,
 * divided by the number of micro-batches; transformers &lt; 4.46). It weighs a token of a short
 * micro-batch more than one of a long micro-batch, so it depends on how the step is split; it is
 * here only to reproduce runs made that way.
 */
public final class SftLoss {
    /**
     * One micro-batch's share of the step.
     *
     * @param loss   this micro-batch's contribution to the step loss
     * @param tokens supervised positions of this micro-batch
     * @param nll    −Σ logp over them (the un-normalised NLL, for metrics)
     * @param dSums  (S) dLoss/dS_s for each sequence, to pass to {@link SequenceLogProbs#backward}
     */
    public record Result(double loss, long tokens, double nll, double[] dSums) {}

    private SftLoss() {}

    /**
     * The micro-batch's share of the step loss: {@code −Σ_s S_s / stepTokens}, dL/dS_s = −1/stepTokens.
     *
     * @param sums       (S) summed log-probs of the micro-batch's sequences
     * @param tokens     (S) their supervised positions
     * @param stepTokens supervised positions of the whole optimizer step, this micro-batch included
     */
    public static Result forward(double[] sums, long[] tokens, long stepTokens) {
        long mine = count(sums, tokens);
        if (stepTokens < mine) {
            throw new IllegalArgumentException("the step has " + stepTokens + " supervised tokens, fewer than the "
                    + mine + " of this micro-batch alone: count every micro-batch of the step");
        }
        return normalised(sums, mine, stepTokens);
    }

    /**
     * Janus's per-micro-batch mean (see the class comment): {@code (−Σ_s S_s / |M_mb|) / microBatches}.
     * Only to reproduce runs normalised that way; not invariant to how a step is split.
     */
    public static Result perMicroBatchMean(double[] sums, long[] tokens, int microBatches) {
        if (microBatches < 1) {
            throw new IllegalArgumentException("microBatches must be >= 1, got " + microBatches);
        }
        long mine = count(sums, tokens);
        return normalised(sums, mine, Math.multiplyExact(mine, (long) microBatches));
    }

    private static Result normalised(double[] sums, long tokens, long divisor) {
        double nll = 0;
        for (double s : sums) {
            nll -= s;
        }
        double[] dSums = new double[sums.length];
        java.util.Arrays.fill(dSums, -1.0 / divisor);
        return new Result(nll / divisor, tokens, nll, dSums);
    }

    private static long count(double[] sums, long[] tokens) {
        if (sums.length != tokens.length || sums.length == 0) {
            throw new IllegalArgumentException(sums.length + " sums and " + tokens.length
                    + " token counts: need one of each per sequence, at least one sequence");
        }
        long total = 0;
        for (int s = 0; s < tokens.length; s++) {
            if (tokens[s] < 1) {
                throw new IllegalArgumentException("sequence " + s + " has " + tokens[s] + " supervised tokens");
            }
            total += tokens[s];
        }
        return total;
    }
}
