package ai.janus.data;

/**
 * SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014): a
 * 64-bit counter advanced by the golden-ratio increment and scrambled by a fixed mix. Written out
 * here, rather than taken from {@link java.util.SplittableRandom}, whose sequence the JDK does not
 * promise to keep, because data order must replay exactly from a saved seed on any JVM.
 */
public final class SplitMix64 {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private long state;

    public SplitMix64(long seed) {
        this.state = seed;
    }

    public long nextLong() {
        long z = state += GOLDEN_GAMMA;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, bound): a 63-bit draw, redrawn when it falls in the incomplete last block so there is no modulo bias. */
    public long nextLong(long bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        long draw = nextLong() >>> 1;
        long value = draw % bound;
        while (draw - value + (bound - 1) < 0) {   // overflow: draw lies in the last, partial block of size bound
            draw = nextLong() >>> 1;
            value = draw % bound;
        }
        return value;
    }

    /** The seed of an independent stream for {@code key} (e.g. an epoch): both mixed so nearby keys give unrelated streams. */
    public static long derive(long seed, long key) {
        return new SplitMix64(seed ^ new SplitMix64(key).nextLong()).nextLong();
    }
}
