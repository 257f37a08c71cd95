package ai.janus.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import org.junit.jupiter.api.Test;

class SplitMix64Test {
    private static final BigInteger MOD = BigInteger.ONE.shiftLeft(64);

    /** SplitMix64 in arbitrary precision, from the published definition: no wrap-around tricks to get wrong. */
    private static final class Reference {
        private BigInteger state;

        Reference(long seed) {
            state = new BigInteger(Long.toUnsignedString(seed));
        }

        long next() {
            state = state.add(new BigInteger("9E3779B97F4A7C15", 16)).mod(MOD);
            BigInteger z = state;
            z = z.xor(z.shiftRight(30)).multiply(new BigInteger("BF58476D1CE4E5B9", 16)).mod(MOD);
            z = z.xor(z.shiftRight(27)).multiply(new BigInteger("94D049BB133111EB", 16)).mod(MOD);
            return z.xor(z.shiftRight(31)).longValue();
        }
    }

    @Test
    void matchesTheDefinition() {
        for (long seed : new long[] {0, 1, -1, 42, Long.MIN_VALUE, 0x0123456789abcdefL}) {
            SplitMix64 fast = new SplitMix64(seed);
            Reference slow = new Reference(seed);
            for (int i = 0; i < 100; i++) {
                assertEquals(slow.next(), fast.nextLong(), "seed " + seed + " draw " + i);
            }
        }
    }

    @Test
    void boundedDrawsAreInRangeAndUniform() {
        SplitMix64 random = new SplitMix64(3);
        int[] counts = new int[7];
        int n = 70_000;
        for (int i = 0; i < n; i++) {
            long v = random.nextLong(7);
            assertTrue(v >= 0 && v < 7);
            counts[(int) v]++;
        }
        double chi2 = 0;
        for (int c : counts) {
            chi2 += (c - n / 7.0) * (c - n / 7.0) / (n / 7.0);
        }
        assertTrue(chi2 < 22.46, "chi-square " + chi2 + " above the 0.1% critical value for 6 degrees of freedom");
        // A bound just above 2^62 makes nearly half of all 63-bit draws fall in the partial block.
        long big = (1L << 62) + 1;
        for (int i = 0; i < 1000; i++) {
            long v = random.nextLong(big);
            assertTrue(v >= 0 && v < big);
        }
        assertEquals(0, random.nextLong(1));
        assertThrows(IllegalArgumentException.class, () -> random.nextLong(0));
    }

    @Test
    void derivedSeedsDifferForNeighbouringKeys() {
        assertNotEquals(SplitMix64.derive(1, 0), SplitMix64.derive(1, 1));
        assertNotEquals(SplitMix64.derive(1, 0), SplitMix64.derive(2, 0));
        assertEquals(SplitMix64.derive(5, 9), SplitMix64.derive(5, 9));
    }
}
