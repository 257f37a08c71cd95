package ai.janus.optim;

/**
 * How an optimizer writes updated values into bf16 parameters.
 *
 * <ul>
 *   <li>{@link Kind#NEAREST_EVEN}: each update is computed in fp32 from the bf16 value and
 *       rounded to nearest even; an update below half an ulp of the weight is lost. This is
 *       bitsandbytes' behaviour with bf16 weights (the Janus SFT/DPO/ORPO recipe) and the one
 *       to use for parity with it.</li>
 *   <li>{@link Kind#STOCHASTIC}: rounded up or down with probability proportional to the
 *       distance, so small updates survive on average. The random bits come from a hash of
 *       (seed, step, element index, which rounding of the step), so a run is reproducible and
 *       independent of the thread count, and a resumed run continues bit-exactly.</li>
 *   <li>{@link Kind#FP32_MASTER}: the optimizer keeps an fp32 copy of the weights (4 more bytes
 *       per parameter of state), updates it, and stores its nearest-even bf16 value into the
 *       parameters after each step.</li>
 * </ul>
 *
 * @param seed the stochastic-rounding seed; must be 0 for the other kinds
 */
public record Bf16Mode(Kind kind, long seed) {
    /** The three ways of keeping bf16 weights. */
    public enum Kind { NEAREST_EVEN, STOCHASTIC, FP32_MASTER }

    public Bf16Mode {
        if (kind == null) {
            throw new IllegalArgumentException("bf16 mode kind must not be null");
        }
        if (kind != Kind.STOCHASTIC && seed != 0) {
            throw new IllegalArgumentException("only stochastic rounding takes a seed; " + kind + " got " + seed);
        }
    }

    /** bitsandbytes' behaviour: round each updated weight to nearest even. */
    public static Bf16Mode nearestEven() {
        return new Bf16Mode(Kind.NEAREST_EVEN, 0);
    }

    /** Seeded stochastic rounding. */
    public static Bf16Mode stochastic(long seed) {
        return new Bf16Mode(Kind.STOCHASTIC, seed);
    }

    /** fp32 master weights in the optimizer, bf16 copies in the parameters. */
    public static Bf16Mode fp32Master() {
        return new Bf16Mode(Kind.FP32_MASTER, 0);
    }
}
