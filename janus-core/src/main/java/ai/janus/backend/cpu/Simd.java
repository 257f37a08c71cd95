package ai.janus.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vectorised inner loops of the CPU backend, over heap float arrays, in one Vector API idiom:
 * the preferred species chosen once, full vectors to {@code loopBound}, then one masked vector
 * for the tail. Why not plain loops: C2 unrolls a vectorised loop so far that rows of 64 floats
 * (one attention tile row) run entirely in its scalar pre/post loops.
 *
 * <p>Accuracy: {@code EXP} is within 1 ulp (the JDK's SVML intrinsic on x86); sums accumulate in
 * float lanes, reduced once, as PyTorch's CPU kernels do.
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();

    private Simd() {}

    /**
     * Micro-GEMM on row-major tiles: {@code C[m×n] = A[m×k] · B[k×n]} (+ old C when
     * {@code accumulate}); lda, ldb, ldc are row strides. Vectorised along n, four vectors of C
     * held in registers across the k loop.
     */
    static void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     int m, int n, int k, boolean accumulate) {
        int wide = 4 * LANES;
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * ldc, aRow = aOff + i * lda;
            int j = 0;
            for (; j + wide <= n; j += wide) {
                FloatVector c0, c1, c2, c3;
                if (accumulate) {
                    c0 = FloatVector.fromArray(F, c, cRow + j);
                    c1 = FloatVector.fromArray(F, c, cRow + j + LANES);
                    c2 = FloatVector.fromArray(F, c, cRow + j + 2 * LANES);
                    c3 = FloatVector.fromArray(F, c, cRow + j + 3 * LANES);
                } else {
                    c0 = c1 = c2 = c3 = FloatVector.zero(F);
                }
                for (int p = 0, bRow = bOff + j; p < k; p++, bRow += ldb) {
                    FloatVector av = FloatVector.broadcast(F, a[aRow + p]);
                    c0 = FloatVector.fromArray(F, b, bRow).fma(av, c0);
                    c1 = FloatVector.fromArray(F, b, bRow + LANES).fma(av, c1);
                    c2 = FloatVector.fromArray(F, b, bRow + 2 * LANES).fma(av, c2);
                    c3 = FloatVector.fromArray(F, b, bRow + 3 * LANES).fma(av, c3);
                }
                c0.intoArray(c, cRow + j);
                c1.intoArray(c, cRow + j + LANES);
                c2.intoArray(c, cRow + j + 2 * LANES);
                c3.intoArray(c, cRow + j + 3 * LANES);
            }
            for (; j < n; j += LANES) {
                VectorMask<Float> live = F.indexInRange(j, n);
                FloatVector c0 = accumulate ? FloatVector.fromArray(F, c, cRow + j, live) : FloatVector.zero(F);
                for (int p = 0, bRow = bOff + j; p < k; p++, bRow += ldb) {
                    c0 = FloatVector.fromArray(F, b, bRow, live).fma(FloatVector.broadcast(F, a[aRow + p]), c0);
                }
                c0.intoArray(c, cRow + j, live);
            }
        }
    }

    /** max of {@code x[off, off+n)}; −inf when n = 0. */
    static float max(float[] x, int off, int n) {
        FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            acc = acc.max(FloatVector.fromArray(F, x, off + i));
        }
        if (i < n) {
            VectorMask<Float> live = F.indexInRange(i, n);
            acc = acc.max(FloatVector.fromArray(F, x, off + i, live).blend(Float.NEGATIVE_INFINITY, live.not()));
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    /**
     * Sum of {@code exp(x[i] − shift)} over {@code [off, off+n)}; with {@code store} the
     * exponentials also replace x (softmax numerators), without it x is unchanged (log-sum-exp).
     */
    static float expShiftSum(float[] x, int off, int n, float shift, boolean store) {
        FloatVector s = FloatVector.broadcast(F, shift);
        FloatVector sum = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector e = FloatVector.fromArray(F, x, off + i).sub(s).lanewise(VectorOperators.EXP);
            if (store) {
                e.intoArray(x, off + i);
            }
            sum = sum.add(e);
        }
        if (i < n) {
            VectorMask<Float> live = F.indexInRange(i, n);
            FloatVector e = FloatVector.fromArray(F, x, off + i, live).sub(s).lanewise(VectorOperators.EXP, live);
            if (store) {
                e.intoArray(x, off + i, live);
            }
            sum = sum.add(e, live);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** In place {@code x[i] *= factor} over {@code [off, off+n)}. */
    static void scale(float[] x, int off, int n, float factor) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector.fromArray(F, x, off + i).mul(factor).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= factor;
        }
    }

    /** In place SwiGLU on a row: {@code g[i] = g[i] / (1 + exp(−g[i])) · u[i]}. */
    static void swiglu(float[] g, float[] u, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector x = FloatVector.fromArray(F, g, i);
            FloatVector sig = x.neg().lanewise(VectorOperators.EXP).add(1f);
            x.div(sig).mul(FloatVector.fromArray(F, u, i)).intoArray(g, i);
        }
        for (; i < n; i++) {
            g[i] = g[i] / (1f + (float) Math.exp(-g[i])) * u[i];
        }
    }
}
