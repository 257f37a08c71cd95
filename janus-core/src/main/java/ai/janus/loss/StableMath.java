package ai.janus.loss;

/**
 * The scalar functions of the losses, in forms that stay finite where the textbook form does not.
 * Every function uses {@link StrictMath}, so a result has the same bits in every JVM and in
 * interpreted and compiled code (a resumed run must continue bit-exactly).
 */
public final class StableMath {
    private static final double LN2 = 0.6931471805599453;

    private StableMath() {}

    /**
     * log σ(x) = −log(1 + e^−x), as {@code −log1p(e^−x)} for x ≥ 0 and {@code x − log1p(e^x)}
     * below, so neither e^x nor e^−x overflows. log σ(0) is exactly −ln 2 (the double nearest it).
     */
    public static double logSigmoid(double x) {
        return x >= 0 ? -StrictMath.log1p(StrictMath.exp(-x)) : x - StrictMath.log1p(StrictMath.exp(x));
    }

    /** σ(x) = 1 / (1 + e^−x), evaluated on the side where the exponential cannot overflow. */
    public static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + StrictMath.exp(-x));
        }
        double e = StrictMath.exp(x);
        return e / (1 + e);
    }

    /**
     * log(1 − e^a) for a &lt; 0, as the spec writes it: {@code a > −ln2 ? log(−expm1(a)) : log1p(−exp(a))}.
     * Near 0, 1 − e^a cancels (e^a rounds to 1 for |a| below 2^−53) where −expm1(a) keeps every
     * digit; far below, e^a is tiny and log1p keeps it. log1mexp(0) = −∞; a &gt; 0 gives NaN.
     */
    public static double log1mexp(double a) {
        return a > -LN2 ? StrictMath.log(-StrictMath.expm1(a)) : StrictMath.log1p(-StrictMath.exp(a));
    }

    /**
     * d/da log(1 − e^a) = −e^a / (1 − e^a) = 1 / (1 − e^−a) = −1 / expm1(−a): finite for every a &lt; 0
     * (−1e7 at a = −1e-7, −2e-22 at a = −50).
     */
    public static double log1mexpDerivative(double a) {
        return -1 / StrictMath.expm1(-a);
    }
}
