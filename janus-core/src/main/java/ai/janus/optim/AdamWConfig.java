package ai.janus.optim;

/**
 * AdamW hyper-parameters, shared by {@link AdamW} and {@link AdamW8bit}. The learning rate is
 * not here: it changes every step and comes from the {@link LrSchedule} through
 * {@code Optimizer.step(grads, lr)}, so there is one source of it.
 *
 * @param beta1       first-moment decay, in [0, 1)
 * @param beta2       second-moment decay, in [0, 1)
 * @param eps         added to the denominator, >= 0
 * @param weightDecay decoupled weight decay, >= 0 (each step scales weights by 1 − lr·weightDecay)
 */
public record AdamWConfig(double beta1, double beta2, double eps, double weightDecay) {
    public AdamWConfig {
        requireBeta("beta1", beta1);
        requireBeta("beta2", beta2);
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be finite and >= 0, got " + eps);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
        }
    }

    /**
     * The Janus recipe (spec docs/spec/objectives.md): betas (0.9, 0.999), eps 1e-8, no weight decay.
     * PyTorch's AdamW defaults to weight decay 0.01; the recipe does not use it.
     */
    public static AdamWConfig janus() {
        return new AdamWConfig(0.9, 0.999, 1e-8, 0.0);
    }

    /** The same with another weight decay. */
    public AdamWConfig withWeightDecay(double decay) {
        return new AdamWConfig(beta1, beta2, eps, decay);
    }

    private static void requireBeta(String name, double beta) {
        if (!(beta >= 0 && beta < 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1), got " + beta);
        }
    }

    /** A learning rate must be finite and >= 0. */
    static void requireLearningRate(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        }
    }
}
