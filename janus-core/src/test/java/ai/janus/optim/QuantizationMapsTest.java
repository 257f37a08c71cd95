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

    /**
     * The lookup table against the search, on every float that decides it: both ends of every
     * bucket (the parts of a bucket between thresholds are constant) and the floats within 3 ulps
     * of every threshold; plus random floats of every magnitude and the special values.
     */
    @Test
    void theLookupTableEqualsTheSearchEverywhere() {
        checkTable(QuantizerTable.SIGNED, QuantizationMaps.signed(), true);
        checkTable(QuantizerTable.UNSIGNED, QuantizationMaps.unsigned(), false);
    }

    private static void checkTable(QuantizerTable table, float[] code, boolean signed) {
        java.util.List<Float> probes = new java.util.ArrayList<>();
        for (int b = 0; b < QuantizerTable.buckets(); b++) {
            int sign = b < QuantizerTable.buckets() / 2 ? 0 : 0x80000000;
            int first = 0x2f800000 + ((b % (QuantizerTable.buckets() / 2)) << 13);
            probes.add(Float.intBitsToFloat(sign | first));
            probes.add(Float.intBitsToFloat(sign | (first + (1 << 13) - 1)));
        }
        for (float t : QuantizerTable.thresholds(code, signed)) {
            for (int d = -3; d <= 3; d++) {
                probes.add(Float.intBitsToFloat(Float.floatToRawIntBits(t) + d));
                probes.add(-Float.intBitsToFloat(Float.floatToRawIntBits(t) + d));
            }
        }
        SplittableRandom rng = new SplittableRandom(12);
        for (int i = 0; i < 1_000_000; i++) {
            probes.add((float) (Math.pow(2, -40 * rng.nextDouble()) * (rng.nextBoolean() ? 1 : -1)));
        }
        probes.addAll(java.util.List.of(0f, -0f, 1f, -1f, 1.5f, Float.NaN, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.MIN_VALUE, 0x1p-32f, Math.nextDown(0x1p-32f), Math.nextDown(1f)));
        for (float x : probes) {
            assertEquals(QuantizationMaps.quantize(code, x, signed), table.quantize(x),
                    () -> (signed ? "signed" : "unsigned") + " table at x = " + x);
        }
        // At 0.1% per bucket no bucket holds two thresholds: the table answers every x in its range.
        assertEquals(0, table.searchedBuckets());
        assertTrue(table.splitBuckets() > 250, "one-threshold buckets: " + table.splitBuckets());
    }
}
