package ai.janus.model;

/**
 * The mean and standard deviation of a reward model's rewards on held-out pairs, stored with the
 * model (config.json {@code mean}, {@code std}, as OpenRLHF records them) so that best-of-N can
 * compare normalised rewards {@code (r − mean) / std}.
 */
public record RewardNormalization(double mean, double std) {
    /** OpenRLHF clamps the standard deviation from below so that normalising never divides by 0. */
    public static final double MIN_STD = 1e-8;

    public RewardNormalization {
        if (!Double.isFinite(mean)) {
            throw new IllegalArgumentException("reward mean must be finite, got " + mean);
        }
        if (!(std > 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("reward std must be positive and finite, got " + std);
        }
    }

    /**
     * Mean and sample standard deviation (n − 1 in the denominator, torch.std's default) of
     * {@code rewards} (chosen and rejected rewards of the held-out pairs together), the standard
     * deviation clamped to at least {@link #MIN_STD}. Needs two rewards or more.
     */
    public static RewardNormalization of(double[] rewards) {
        if (rewards.length < 2) {
            throw new IllegalArgumentException("a standard deviation needs at least 2 rewards, got " + rewards.length);
        }
        double mean = 0;
        for (double r : rewards) {
            mean += r;
        }
        mean /= rewards.length;
        double squares = 0;
        for (double r : rewards) {
            squares += (r - mean) * (r - mean);
        }
        return new RewardNormalization(mean, Math.max(MIN_STD, Math.sqrt(squares / (rewards.length - 1))));
    }

    /** (r − mean) / std. */
    public double normalize(double reward) {
        return (reward - mean) / std;
    }
}
