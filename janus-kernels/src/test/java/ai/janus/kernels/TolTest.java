package ai.janus.kernels;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The tolerance helper must fail: one bad element, a NaN, a lost infinity, a wrong length, a bit for a bit tolerance. */
class TolTest {
    @Test
    void failsWhereItMust() {
        double[] e = {1, -2, 0, 4};
        new Tol(1e-3, "test").check("ok", new float[] {1.0001f, -2, 0.001f, 4}, e); // 0.001 is 4e-4 of |e| + rms
        assertThrows(AssertionError.class, () -> new Tol(1e-3, "test").check("bad", new float[] {1, -2, 0.01f, 4}, e));
        assertThrows(AssertionError.class, () -> Tol.EXACT.check("ulp", new float[] {Math.nextUp(1f), -2, 0, 4}, e));
        assertThrows(AssertionError.class, () -> Tol.BF16_GEMM.check("nan", new float[] {Float.NaN, -2, 0, 4}, e));
        assertThrows(AssertionError.class, () -> Tol.BF16_GEMM.check("inf", new float[] {1, -2, Float.NEGATIVE_INFINITY, 4},
                e));
        assertThrows(AssertionError.class, () -> Tol.BF16_GEMM.check("length", new float[] {1, -2, 0}, e));
        Tol.EXACT.check("-inf matches", new float[] {Float.NEGATIVE_INFINITY}, new double[] {Double.NEGATIVE_INFINITY});
        // bit for bit: the sign of zero counts, an expected value that is no float cannot match
        Tol.CPU_BITS.check("same bits", new float[] {1, -0f, 0x1p-149f}, new double[] {1, -0.0, 0x1p-149});
        assertThrows(AssertionError.class, () -> Tol.CPU_BITS.check("-0", new float[] {-0f}, new double[] {0.0}));
        assertThrows(AssertionError.class, () -> Tol.EXACT.check("+0", new float[] {0f}, new double[] {-0.0}));
        assertThrows(AssertionError.class, () -> Tol.CPU_BITS.check("ulp", new float[] {Math.nextDown(1f)}, new double[] {1}));
        assertThrows(AssertionError.class, () -> Tol.CPU_BITS.check("nan", new float[] {Float.NaN}, new double[] {Double.NaN}));
    }
}
