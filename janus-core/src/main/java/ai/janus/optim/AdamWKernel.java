package ai.janus.optim;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The per-element math of {@link AdamW} over heap arrays, vectorised in the one Vector API idiom
 * of janus (species chosen once, full vectors to {@code loopBound}, a scalar tail).
 *
 * <p>The operations and their rounding are those of libtorch's {@code torch::optim::AdamW} on
 * CPU, op by op: {@code exp_avg.mul_(β1).add_(grad, 1−β1)} (ATen's vectorised add with alpha is
 * a fused multiply-add: {@code fma(g, 1−β1, m·β1)}), {@code exp_avg_sq.mul_(β2).addcmul_(grad,
 * grad, 1−β2)} ({@code v·β2 + ((1−β2)·g)·g}), {@code denom = sqrt(v) / sqrt(bc2) + eps} and
 * {@code p.addcdiv_(m, denom, −lr/bc1)} ({@code p + (−lr/bc1 · m) / denom}). Keeping torch's
 * fma where torch has one and no fma elsewhere is what holds the two within a few ulps.
 * Separate from {@link AdamW} so that a JVM without the Vector API module fails in AdamW's
 * constructor with a message instead of a class-loading error.
 */
final class AdamWKernel {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();

    private AdamWKernel() {}

    /**
     * One AdamW step without the weight decay over {@code [0, n)}: updates {@code m}, {@code v}
     * and {@code p} in place from {@code g} (read only).
     */
    static void update(float[] p, float[] g, float[] m, float[] v, int n, AdamW.Coefficients k) {
        FloatVector beta1 = FloatVector.broadcast(F, k.beta1());
        FloatVector oneMinusBeta1 = FloatVector.broadcast(F, k.oneMinusBeta1());
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector gi = FloatVector.fromArray(F, g, i);
            FloatVector mi = gi.fma(oneMinusBeta1, FloatVector.fromArray(F, m, i).mul(beta1));
            FloatVector vi = FloatVector.fromArray(F, v, i).mul(k.beta2()).add(gi.mul(k.oneMinusBeta2()).mul(gi));
            FloatVector denom = vi.sqrt().div(k.sqrtBiasCorrection2()).add(k.eps());
            FloatVector pi = FloatVector.fromArray(F, p, i).add(mi.mul(k.negStepSize()).div(denom));
            mi.intoArray(m, i);
            vi.intoArray(v, i);
            pi.intoArray(p, i);
        }
        for (; i < n; i++) {
            float gi = g[i];
            float mi = Math.fma(gi, k.oneMinusBeta1(), m[i] * k.beta1());
            float vi = v[i] * k.beta2() + k.oneMinusBeta2() * gi * gi;
            float denom = (float) Math.sqrt(vi) / k.sqrtBiasCorrection2() + k.eps();
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] + k.negStepSize() * mi / denom;
        }
    }

    /** In place {@code x[i] *= factor} over {@code [0, n)} (torch's {@code p.mul_(1 − lr·wd)}). */
    static void scale(float[] x, int n, float factor) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector.fromArray(F, x, i).mul(factor).intoArray(x, i);
        }
        for (; i < n; i++) {
            x[i] *= factor;
        }
    }
}
