package ai.janus.optim;

/**
 * A learning-rate schedule with linear warmup, Hugging Face semantics
 * ({@code get_cosine_schedule_with_warmup}, {@code get_linear_schedule_with_warmup},
 * {@code get_constant_schedule_with_warmup}); s = optimizer steps already taken, W warmup steps,
 * T total steps, all arithmetic in double as in Python:
 *
 * <pre>
 * s &lt; W:     lr = peak · s / max(1, W)                  (the first update uses lr(0) = 0 when W &gt; 0)
 * COSINE:    lr = peak · max(0, 0.5·(1 + cos(π·(s − W) / max(1, T − W))))
 * LINEAR:    lr = peak · max(0, (T − s) / max(1, T − W))
 * CONSTANT:  lr = peak
 * </pre>
 *
 * @param warmupSteps W; {@link #warmupFromRatio} turns a ratio into steps as HF does
 * @param totalSteps  T, the optimizer steps of the whole run; lr(s) is defined for 0 ≤ s ≤ T
 */
public record LrSchedule(Shape shape, double peakLr, long warmupSteps, long totalSteps) {
    /** The decay after warmup. */
    public enum Shape { COSINE, LINEAR, CONSTANT }

    public LrSchedule {
        if (shape == null) {
            throw new IllegalArgumentException("schedule shape must not be null");
        }
        if (!(peakLr >= 0) || Double.isInfinite(peakLr)) {
            throw new IllegalArgumentException("peak learning rate must be finite and >= 0, got " + peakLr);
        }
        if (totalSteps < 1) {
            throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        }
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("warmup steps must be in [0, " + totalSteps + "], got " + warmupSteps);
        }
    }

    public static LrSchedule cosine(double peakLr, long warmupSteps, long totalSteps) {
        return new LrSchedule(Shape.COSINE, peakLr, warmupSteps, totalSteps);
    }

    public static LrSchedule linear(double peakLr, long warmupSteps, long totalSteps) {
        return new LrSchedule(Shape.LINEAR, peakLr, warmupSteps, totalSteps);
    }

    public static LrSchedule constant(double peakLr, long warmupSteps, long totalSteps) {
        return new LrSchedule(Shape.CONSTANT, peakLr, warmupSteps, totalSteps);
    }

    /**
     * Warmup steps from a ratio of the total, as HF's {@code TrainingArguments.get_warmup_steps}:
     * {@code ceil(totalSteps · ratio)} in double (so 3% of 100 steps is 3, of 1000 is 30).
     */
    public static long warmupFromRatio(double ratio, long totalSteps) {
        if (!(ratio >= 0 && ratio <= 1)) {
            throw new IllegalArgumentException("warmup ratio must be in [0, 1], got " + ratio);
        }
        return (long) Math.ceil(totalSteps * ratio);
    }

    /** The learning rate of the update that follows {@code step} completed steps. */
    public double lr(long step) {
        if (step < 0 || step > totalSteps) {
            throw new IllegalArgumentException("step " + step + " is outside the schedule's [0, " + totalSteps + "]");
        }
        if (step < warmupSteps) {
            return peakLr * ((double) step / Math.max(1, warmupSteps));
        }
        double decaySteps = Math.max(1, totalSteps - warmupSteps);
        return switch (shape) {
            case COSINE -> peakLr
                    * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * ((step - warmupSteps) / decaySteps))));
            case LINEAR -> peakLr * Math.max(0.0, (totalSteps - step) / decaySteps);
            case CONSTANT -> peakLr;
        };
    }
}
