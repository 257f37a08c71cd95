package ai.janus.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The dynamic maps against the spec's bit-pattern tables, and the quantizer against
 * hand-worked cases and the property that it always picks one of the two codes around x.
 */
class QuantizationMapsTest {

    @Test
    void signedMapEqualsTheSpecTableBitForBit() {
        assertMapEquals(SpecTables.SIGNED_BITS, QuantizationMaps.signed(), "signed");
    }

    @Test
    void unsignedMapEqualsTheSpecTableBitForBit() {
        assertMapEquals(SpecTables.UNSIGNED_BITS, QuantizationMaps.unsigned(), "unsigned");
    }

    private static void assertMapEquals(int[] expected, float[] actual, String which) {
        assertEquals(256, actual.length);
        for (int i = 0; i < 256; i++) {
            int code = i;
            assertEquals(expected[i], Float.floatToRawIntBits(actual[i]), () -> which + " map, code " + code);
        }
    }

    @Test
    void landmarksOfTheSpec() {
        float[] signed = QuantizationMaps.signed(), unsigned = QuantizationMaps.unsigned();
        assertEquals(0f, signed[127]);
        assertEquals(1f, signed[255]);
        assertEquals(-0.99296874f, signed[0]);
        assertEquals(0f, unsigned[0]);
        assertEquals(1f, unsigned[255]);
    }

    /**
     * Must-fail check of the table comparison: with the one-sided linspace ({@code start + k·step}
     * for every k, what a naive port writes) some entries come out one ulp off, so the test
     * above can tell the two apart.
     */
    @Test
    void theTwoSidedLinspaceMatters() {
        float[] naive = naiveSignedMap();
        float[] table = SpecTables.floats(SpecTables.SIGNED_BITS);
        long differing = java.util.stream.IntStream.range(0, 256).filter(i -> naive[i] != table[i]).count();
        assertTrue(differing > 0, "a naive linspace reproduces the table too, so the table test proves little");
    }

    private static float[] naiveSignedMap() {
        double[] decades = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
        float[] data = new float[256];
        int count = 0;
        for (int i = 0; i < 7; i++) {
            int n = (1 << i) + 1;
            float step = (1.0f - 0.1f) / (n - 1);
            for (int k = 0; k + 1 < n; k++) {
                float mean = ((0.1f + k * step) + (0.1f + (k + 1) * step)) / 2f;
                data[count++] = (float) decades[i] * mean;
                data[count++] = -(float) decades[i] * mean;
            }
        }
        data[count++] = 0f;
        data[count] = 1f;
        Arrays.sort(data);
        return data;
    }

    @Test
    void quantizeHandWorkedCases() {
        float[] s = QuantizationMaps.signed(), u = QuantizationMaps.unsigned();
        // 0 > code[127] = 0 is false, then every probe lies left of 0 and is passed: pivot ends at 126
        // with upper = 0, and 0 > (0 + code[126]) / 2 picks the upper pivot, 127.
        assertEquals(127, QuantizationMaps.quantize(s, 0f, true));
        // unsigned 0: every probe is above 0, pivot walks down to 0 and lower = 0 keeps it.
        assertEquals(0, QuantizationMaps.quantize(u, 0f, false));
        assertEquals(255, QuantizationMaps.quantize(s, 1f, true));
        assertEquals(255, QuantizationMaps.quantize(u, 1f, false));
        assertEquals(0, QuantizationMaps.quantize(s, -1f, true));
        // Exactly on a code: the search finds it.
        assertEquals(200, QuantizationMaps.quantize(s, s[200], true));
        assertEquals(64, QuantizationMaps.quantize(u, u[64], false));
    }

    @Test
    void quantizePicksOneOfTheTwoCodesAroundX() {
        float[][] maps = {QuantizationMaps.signed(), QuantizationMaps.unsigned()};
        SplittableRandom rng = new SplittableRandom(11);
        for (int m = 0; m < 2; m++) {
            float[] code = maps[m];
            boolean signed = m == 0;
            for (int trial = 0; trial < 200_000; trial++) {
                // log-uniform magnitudes cover every decade of the map
                float x = (float) Math.pow(10, -7 * rng.nextDouble());
                if (signed && rng.nextBoolean()) {
                    x = -x;
                }
                int c = QuantizationMaps.quantize(code, x, signed);
                int below = 0;
                while (below < 255 && code[below + 1] <= x) {
                    below++;
                }
                float xx = x;
                int b = below;
                assertTrue(c == below || c == below + 1 || (code[below] == x && c == below),
                        () -> "x = " + xx + " got code " + c + ", neighbours " + b + ", " + (b + 1));
            }
        }
    }
}
