package ai.janus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The deterministic exp: accuracy against StrictMath, edge values, vector and scalar twins agree. */
class SimdTest {

    @Test
    void expIsWithinTwoUlpOnItsRange() {
        SplittableRandom rng = new SplittableRandom(1);
        double worst = 0;
        for (int i = 0; i < 2_000_000; i++) {
            float x = (float) (rng.nextDouble() * (88.3 + 87.3) - 87.3);
            float exact = (float) StrictMath.exp(x);
            double ulps = Math.abs(Simd.exp(x) - exact) / Math.ulp(exact);
            worst = Math.max(worst, ulps);
        }
        System.out.printf("Simd.exp: worst error %.2f ulp over 2M points in [-87.3, 88.3]%n", worst);
        assertTrue(worst <= 2.0, "worst " + worst + " ulp");
    }

    @Test
    void edgeValues() {
        assertEquals(0f, Simd.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, Simd.exp(-1000f));
        assertEquals(1f, Simd.exp(0f));
        assertEquals(1f, Simd.exp(-0f));
        assertEquals(Float.POSITIVE_INFINITY, Simd.exp(100f));
        assertTrue(Float.isNaN(Simd.exp(Float.NaN)));
        assertEquals(0.5f, Simd.sigmoid(0f));
        assertEquals(1f, Simd.sigmoid(200f));
        assertEquals(0f, Simd.sigmoid(-200f));
    }

    @Test
    void vectorAndScalarTwinsGiveTheSameBits() {
        SplittableRandom rng = new SplittableRandom(2);
        float[] x = new float[Simd.LANES * 4096], v = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextDouble() * 240 - 120);
        }
        x[0] = Float.NEGATIVE_INFINITY;
        x[1] = Float.NaN;
        for (int i = 0; i < x.length; i += Simd.LANES) {
            Simd.exp(FloatVector.fromArray(Simd.F, x, i)).intoArray(v, i);
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(Simd.exp(x[i])), Float.floatToIntBits(v[i]), "exp(" + x[i] + ")");
        }
        for (int i = 0; i < x.length; i += Simd.LANES) {
            Simd.sigmoid(FloatVector.fromArray(Simd.F, x, i)).intoArray(v, i);
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(Simd.sigmoid(x[i])), Float.floatToIntBits(v[i]), "sigmoid(" + x[i] + ")");
        }
    }
}
