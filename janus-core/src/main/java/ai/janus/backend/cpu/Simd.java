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
 * <p>Determinism: every result must be the same whether the JIT has compiled a loop or not,
 * because gradient checkpointing recomputes a layer and a resumed run starts cold. The Vector API
 * does not promise that for {@code lanewise(EXP)} (the interpreter computes it per lane with
 * Math.exp, C2 with a vector library) nor for {@code reduceLanes(ADD)} (unspecified order), so
 * neither is used: {@link #exp} is a polynomial of exact IEEE operations (fma, mul, add, bit
 * shifts), written once for vectors and once for scalars with the same operations, and sums
 * reduce their lanes in index order. Results still depend on the lane count (the machine).
 *
 * <p>Accuracy: {@link #exp} is within 2 ulp of the exact value on [−87.3, 88.3] (tested against
 * StrictMath); below it flushes to 0 (exp(−inf) = 0 exactly), above it is +inf.
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
        gemm(c, cOff, ldc, a, aOff, lda, 1, b, bOff, ldb, m, n, k, accumulate);
    }

    /**
     * {@code C[m×n] = Aᵀ · B[k×n]} (+ old C) where A is stored k×m row-major with row stride
     * {@code lda}: the transposed-A products of the attention backward (Pᵀ·dO, dSᵀ·Q).
     */
    static void gemmTransposedA(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff,
                                int ldb, int m, int n, int k, boolean accumulate) {
        gemm(c, cOff, ldc, a, aOff, 1, lda, b, bOff, ldb, m, n, k, accumulate);
    }

    /** The kernel: element (i, p) of A is {@code a[aOff + i·aRowStride + p·aColStride]}. */
    private static void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int aRowStride, int aColStride,
                             float[] b, int bOff, int ldb, int m, int n, int k, boolean accumulate) {
        int wide = 4 * LANES;
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * ldc, aRow = aOff + i * aRowStride;
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
                    FloatVector av = FloatVector.broadcast(F, a[aRow + p * aColStride]);
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
                    c0 = FloatVector.fromArray(F, b, bRow, live).fma(FloatVector.broadcast(F, a[aRow + p * aColStride]), c0);
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
            FloatVector e = exp(FloatVector.fromArray(F, x, off + i).sub(s));
            if (store) {
                e.intoArray(x, off + i);
            }
            sum = sum.add(e);
        }
        if (i < n) {
            VectorMask<Float> live = F.indexInRange(i, n);
            FloatVector e = exp(FloatVector.fromArray(F, x, off + i, live).sub(s));
            if (store) {
                e.intoArray(x, off + i, live);
            }
            sum = sum.add(e, live);
        }
        return sumLanes(sum);
    }

    /** Dot product of {@code a[0, n)} and {@code b[0, n)}, accumulated in float lanes. */
    static float dot(float[] a, float[] b, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            acc = FloatVector.fromArray(F, a, i).fma(FloatVector.fromArray(F, b, i), acc);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /** Softmax backward on a row, in place: {@code dp[i] = p[i] · (dp[i] − delta)} over {@code [off, off+n)}. */
    static void softmaxGradient(float[] dp, float[] p, int off, int n, float delta) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector g = FloatVector.fromArray(F, dp, off + i).sub(delta);
            g.mul(FloatVector.fromArray(F, p, off + i)).intoArray(dp, off + i);
        }
        for (; i < n; i++) {
            dp[off + i] = p[off + i] * (dp[off + i] - delta);
        }
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

    /** In place SwiGLU on a row: {@code g[i] = silu(g[i]) · u[i]}, silu(x) = x·σ(x). */
    static void swiglu(float[] g, float[] u, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector x = FloatVector.fromArray(F, g, i);
            x.mul(sigmoid(x)).mul(FloatVector.fromArray(F, u, i)).intoArray(g, i);
        }
        for (; i < n; i++) {
            g[i] = g[i] * sigmoid(g[i]) * u[i];
        }
    }

    /**
     * In place SwiGLU backward on a row, with s = σ(g): {@code g ← d·u·s·(1 + g·(1 − s))} (dGate)
     * and {@code u ← d·g·s} (dUp), from gate g, up u and upstream gradient d.
     */
    static void swigluBackward(float[] g, float[] u, float[] d, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector gv = FloatVector.fromArray(F, g, i), uv = FloatVector.fromArray(F, u, i);
            FloatVector dv = FloatVector.fromArray(F, d, i);
            FloatVector sig = sigmoid(gv);
            FloatVector dSilu = sig.mul(gv.mul(sig.neg().add(1f)).add(1f));
            dv.mul(uv).mul(dSilu).intoArray(g, i);
            dv.mul(gv.mul(sig)).intoArray(u, i);
        }
        for (; i < n; i++) {
            float x = g[i], sig = sigmoid(x);
            g[i] = d[i] * u[i] * (sig * (1f + x * (1f - sig)));
            u[i] = d[i] * (x * sig);
        }
    }

    // ------------------------------------------------------------------ exp, sigmoid, reductions

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;          // ln 2 = LN2_HI + LN2_LO, LN2_HI exact in 9 bits
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUNDER = 12582912f;            // 1.5·2^23: adding it rounds to an integer
    private static final int ROUNDER_BITS = 0x4B400000;
    private static final float EXP_MIN = -87.33654475f;        // ln(2^-126): below, the result would be subnormal
    private static final float EXP_MAX = 88.37626266f;         // ln(2^127.5): above, +inf
    // Minimax coefficients of (exp(r) − 1 − r)/r² on |r| ≤ ln2/2 (Cephes expf).
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /**
     * exp(x) = 2^n · exp(r), n = round(x·log2 e), r = x − n·ln 2 (two-part ln 2), exp(r) by a
     * degree-7 polynomial; 0 below {@link #EXP_MIN}, +inf above {@link #EXP_MAX}, NaN stays NaN.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector t = x.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, P0).fma(r, FloatVector.broadcast(F, P1))
                .fma(r, FloatVector.broadcast(F, P2)).fma(r, FloatVector.broadcast(F, P3))
                .fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        FloatVector twoToN = t.reinterpretAsInts().sub(ROUNDER_BITS - 127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        return y.mul(twoToN).blend(0f, x.lt(EXP_MIN)).blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX));
    }

    /** The scalar twin of {@link #exp(FloatVector)}: the same operations, so the same results. */
    static float exp(float x) {
        if (x < EXP_MIN) {
            return 0f;
        }
        if (x > EXP_MAX) {
            return Float.POSITIVE_INFINITY;
        }
        float t = Math.fma(x, LOG2E, ROUNDER);
        float n = t - ROUNDER;
        float r = Math.fma(n, -LN2_LO, Math.fma(n, -LN2_HI, x));
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat((Float.floatToRawIntBits(t) - (ROUNDER_BITS - 127)) << 23);
    }

    /** σ(x) = 1/(1 + e^−x) for x ≥ 0, e^x/(1 + e^x) below, so exp never overflows. */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector e = exp(x.abs().neg());
        FloatVector onePlus = e.add(1f);
        return e.div(onePlus).blend(FloatVector.broadcast(F, 1f).div(onePlus), x.compare(VectorOperators.GE, 0f));
    }

    static float sigmoid(float x) {
        float e = exp(-Math.abs(x));
        return x >= 0 ? 1f / (1f + e) : e / (1f + e);
    }

    /** The sum of a vector's lanes in index order (reduceLanes(ADD) has no fixed order). */
    private static float sumLanes(FloatVector v) {
        float sum = 0f;
        for (int i = 0; i < LANES; i++) {
            sum += v.lane(i);
        }
        return sum;
    }
}
