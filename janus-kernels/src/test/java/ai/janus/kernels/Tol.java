package ai.janus.kernels;

/**
 * A named tolerance: {@code |actual − expected| ≤ rel · (|expected| + rms(expected))} for every
 * element. The rms term is the floor near zero (an output that cancels to ~0 is judged against
 * the typical size of its tensor, as a GEMM's error is); infinities must match exactly; NaN never
 * passes.
 *
 * <p>Where the numbers come from. fp32 has a unit roundoff of 2^-24 ≈ 6e-8 and bf16 (8 bits of
 * significand) of 2^-9 ≈ 2e-3: every bf16 input is its fp32 value times (1 + δ), |δ| ≤ 2^-9.
 * A product of two rounded inputs is off by ≤ 2·2^-9 relative; a sum of K such products with
 * independent errors is off by ≈ 2^-8·sqrt(K)·rms(term) = 2^-8·rms(output) (the output's rms is
 * sqrt(K)·rms(term)), i.e. about 4e-3 of the output's scale per element. The maximum over the
 * few thousand elements of a test tensor stays under 4σ ≈ 1.6e-2, hence {@link #BF16_GEMM} = 2e-2
 * (the fp32 accumulation adds K·2^-24, negligible).
 */
record Tol(double rel, String why) {
    /** fp32 against the fp64 definition: sums of up to ~100 terms, libm-level exp/rsqrt: 100 × 2^-24 ≈ 6e-6, doubled. */
    static final Tol FP32 = new Tol(2e-5, "fp32 arithmetic vs the fp64 definition");
    /** The same fp32 arithmetic on both sides, different op order or libm (expf, rsqrtf): a few ulps. */
    static final Tol FP32_KERNEL = new Tol(1e-5, "fp32 kernels vs the fp32 CPU: a few ulps of expf/rsqrtf and order");
    /** Copies, gathers and adds: exact. */
    static final Tol EXACT = new Tol(0, "exact: data movement and single IEEE adds");
    /**
     * Bit for bit, like {@link #EXACT}, for a CUDA kernel that native/KERNELS.md marks bit-identical
     * to CpuBackend (the same float operations, explicitly rounded, in the same order). A separate
     * constant only because {@link CpuOpContractTest} checks the CPU against the fp64 definition
     * exactly where a case says {@link #EXACT}; against this one it uses {@link #FP32}.
     */
    static final Tol CPU_BITS = new Tol(0, "bit-identical to CpuBackend (KERNELS.md): same float ops, same order");
    /** bf16 inputs, fp32 accumulation over K terms: 2^-8 of the output scale per element, 4σ over a tensor. */
    static final Tol BF16_GEMM = new Tol(2e-2, "bf16 A/B (2^-9 each), fp32 accumulate: 2^-8·rms(out), 4σ");
    /**
     * bf16 attention forward: scores from bf16 Q·K (2^-8 relative to |s| over D terms), softmax
     * amplifies absolute score errors by ≤ |s|·2^-8 in P (scores here are O(1)), then P (bf16 in
     * the MMA) times bf16 V: three roundings of 2^-9 in a row, ≈ 3·2^-9·sqrt(2) ≈ 1e-2 per element,
     * 3σ over the tensor.
     */
    static final Tol BF16_ATTENTION = new Tol(3e-2, "bf16 Q, K, V and P in the MMAs, fp32 softmax");
    /** The backward chains two more bf16 products (dO·Vᵀ, dS·K / dSᵀ·Q) on top of the forward's: 1.5×. */
    static final Tol BF16_ATTENTION_GRAD = new Tol(5e-2, "bf16 dO and recomputed P, dS in bf16 MMAs");
    /**
     * Log-probs: z has absolute error 2^-8·rms(z)·... per logit from the bf16 GEMM; lse and z_y
     * inherit it, so logp's error is ≈ 2·2^-8·max|z| absolute, well under 1e-2 of logp's own scale
     * (≈ ln V).
     */
    static final Tol BF16_LOGPROBS = new Tol(1e-2, "logits from a bf16 GEMM over C terms");
    /** AdamW's element-wise fp32 math, same op order; CUDA's sqrt and division are correctly rounded: 1 ulp. */
    static final Tol ADAMW = new Tol(1e-6, "fp32 element-wise, same op order, correctly rounded sqrt/div");

    /**
     * Throws with the worst element, its index and both values when {@code actual} is out of tolerance.
     * A tolerance of 0 compares bits ({@code expected} narrowed to float): −0 and +0 differ.
     */
    void check(String what, float[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": " + actual.length + " values, expected " + expected.length);
        }
        double sumSq = 0;
        int finite = 0;
        for (double e : expected) {
            if (Double.isFinite(e)) {
                sumSq += e * e;
                finite++;
            }
        }
        double rms = finite == 0 ? 0 : Math.sqrt(sumSq / finite);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.length; i++) {
            double a = actual[i], e = expected[i];
            if (Double.isNaN(a) || Double.isNaN(e)) {
                throw new AssertionError(what + "[" + i + "]: " + a + " vs expected " + e + " (NaN)");
            }
            if (Double.isInfinite(e) || Double.isInfinite(a)) {
                if (a != e) {
                    throw new AssertionError(what + "[" + i + "]: " + a + " vs expected " + e);
                }
                continue;
            }
            if (rel == 0) {
                if (Float.floatToRawIntBits((float) a) != Float.floatToRawIntBits((float) e) || (float) e != e) {
                    throw new AssertionError(String.format("%s[%d]: %s (bits %08x) vs expected %s (%s), bit for bit",
                            what, i, actual[i], Float.floatToRawIntBits(actual[i]), e, why));
                }
                continue;
            }
            double scale = Math.abs(e) + rms;
            double err = scale == 0 ? Math.abs(a - e) : Math.abs(a - e) / scale;
            if (err > worst) {
                worst = err;
                at = i;
            }
        }
        if (worst > rel) {
            throw new AssertionError(String.format("%s: error %.3g > %.3g (%s) at [%d]: %s vs expected %s (rms %.3g)",
                    what, worst, rel, why, at, actual[at], expected[at], rms));
        }
    }

    static double[] widen(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }
}
