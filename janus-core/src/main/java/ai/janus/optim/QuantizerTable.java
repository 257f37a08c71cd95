package ai.janus.optim;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link QuantizationMaps#quantize} by table lookup: the same code for every float x, without
 * the search's seven data-dependent branches, which mispredict about half the time. Measured on
 * one thread, 4M elements, constant gradients: the 8-bit step took 55 ns per element with the
 * search in its first steps and 64 ns once the moments converged; with this table, 15 ns.
 *
 * <p>Why a table can be exact: the search only ever compares x against constants, namely the codes
 * it visits and the two midpoints of each of its 128 leaves. Collecting those constants by walking
 * every path of the search ({@link #thresholds}) gives a finite set T; between two neighbouring
 * elements of T every comparison has the same outcome, so the code is constant there. The table
 * cuts the floats with |x| in [2^-32, 1) into buckets of equal top bits (sign, exponent, 10
 * mantissa bits: 0.1% wide). A bucket without an element of T has one code; a bucket with exactly
 * one, t, has three: for x &lt; t, x = t and x &gt; t, each taken from the search at a float of
 * that part. The one-threshold buckets matter: moments change slowly (β2 = 0.999), so x sits
 * just next to the code it had, which is a threshold; in a converged run two thirds of the second
 * moments land in such buckets. Buckets with two or more thresholds (none at this width, but the
 * code does not rely on it), 0, tiny values, 1 and NaN are searched.
 *
 * <p>Layout, chosen for the cache: a short per bucket (128 KiB per map) indexes a small entry
 * table (the 256 one-code entries, then one entry per one-threshold bucket; a few KiB) holding
 * the threshold (+∞ when there is none) and the three codes; the lookup itself has no branch.
 */
final class QuantizerTable {
    private static final int MANTISSA_BITS = 10;
    private static final int SHIFT = 23 - MANTISSA_BITS;
    /** Bits of 2^-32, the smallest magnitude the table covers. */
    private static final int LOW = 0x2f800000;
    /** Bits of 1.0f, the first magnitude it does not. */
    private static final int HIGH = 0x3f800000;
    private static final int BUCKETS_PER_SIGN = (HIGH - LOW) >>> SHIFT;
    /** The entry of a bucket that must be searched. */
    private static final short SEARCH = -1;

    static final QuantizerTable SIGNED = new QuantizerTable(QuantizationMaps.SIGNED, true);
    static final QuantizerTable UNSIGNED = new QuantizerTable(QuantizationMaps.UNSIGNED, false);

    private final float[] code;
    private final boolean signed;
    /** Per bucket: its entry, or {@link #SEARCH}. */
    private final short[] entryOfBucket = new short[2 * BUCKETS_PER_SIGN];
    /** Per entry: the threshold inside the bucket, +∞ when there is none. */
    private final float[] split;
    /** Per entry: the code below the threshold | the code at it &lt;&lt; 8 | the code above it &lt;&lt; 16. */
    private final int[] codes;

    private QuantizerTable(float[] code, boolean signed) {
        this.code = code;
        this.signed = signed;
        // Thresholds per bucket (distinct values only: the walk meets some more than once).
        java.util.Map<Integer, java.util.TreeSet<Float>> inBucket = new java.util.HashMap<>();
        for (float t : thresholds(code, signed)) {
            int b = bucket(t);
            if (b >= 0) {
                inBucket.computeIfAbsent(b, k -> new java.util.TreeSet<>()).add(t);
            }
        }
        List<Float> splits = new ArrayList<>();
        List<Integer> packed = new ArrayList<>();
        for (int c = 0; c < QuantizationMaps.CODES; c++) { // entry c: the whole bucket has code c
            splits.add(Float.POSITIVE_INFINITY);
            packed.add(c | c << 8 | c << 16);
        }
        for (int b = 0; b < entryOfBucket.length; b++) {
            java.util.TreeSet<Float> ts = inBucket.get(b);
            if (ts == null) {
                entryOfBucket[b] = (short) search(first(b));
            } else if (ts.size() > 1) {
                entryOfBucket[b] = SEARCH;
            } else {
                float t = ts.first();
                int at = search(t);
                float below = Math.nextDown(t), above = Math.nextUp(t);
                int codeBelow = bucket(below) == b ? search(below) : at; // no float of the bucket lies below t
                int codeAbove = bucket(above) == b ? search(above) : at;
                entryOfBucket[b] = (short) splits.size();
                splits.add(t);
                packed.add(codeBelow | at << 8 | codeAbove << 16);
            }
        }
        this.split = new float[splits.size()];
        this.codes = new int[splits.size()];
        for (int e = 0; e < split.length; e++) {
            split[e] = splits.get(e);
            codes[e] = packed.get(e);
        }
        if (split.length > Short.MAX_VALUE) {
            throw new IllegalStateException("too many one-threshold buckets: " + split.length);
        }
    }

    private int search(float x) {
        return QuantizationMaps.quantize(code, x, signed);
    }

    /** The float with the smallest bits in bucket b. */
    private static float first(int b) {
        int sign = b < BUCKETS_PER_SIGN ? 0 : 0x80000000;
        return Float.intBitsToFloat(sign | (LOW + ((b % BUCKETS_PER_SIGN) << SHIFT)));
    }

    /** The bucket of x, or −1 when |x| is outside [2^-32, 1) or x is NaN. */
    static int bucket(float x) {
        int bits = Float.floatToRawIntBits(x);
        int offset = (bits & 0x7fffffff) - LOW;
        if (offset < 0 || offset >= HIGH - LOW) {
            return -1;
        }
        return (offset >>> SHIFT) + (bits < 0 ? BUCKETS_PER_SIGN : 0);
    }

    /** Equal to {@code QuantizationMaps.quantize(code, x, signed)} for every float x. */
    int quantize(float x) {
        int b = bucket(x);
        int e = b < 0 ? SEARCH : entryOfBucket[b];
        if (e == SEARCH) {
            return search(x);
        }
        // Branch-free three-way choice; x and t are neither NaN nor 0 here, so the sign of a
        // difference is the comparison.
        float t = split[e];
        int c = codes[e];
        int below = Float.floatToRawIntBits(x - t) >> 31;  // all ones when x < t
        int above = Float.floatToRawIntBits(t - x) >> 31;  // all ones when x > t
        int shift = (8 & ~below & ~above) | (16 & above);  // 0 below, 8 at, 16 above
        return (c >>> shift) & 0xff;
    }

    /**
     * Every constant the search compares x with, on every path: the code at each visited pivot
     * and, at each leaf, the final code and its midpoints with the bracket's upper and lower value.
     */
    static List<Float> thresholds(float[] code, boolean signed) {
        List<Float> out = new ArrayList<>();
        walk(code, 127, 1.0f, signed ? -1.0f : 0.0f, 64, out);
        return out;
    }

    /** One node of the search: pivot with bracket values (lower, upper) and the next step. */
    private static void walk(float[] code, int pivot, float upper, float lower, int step, List<Float> out) {
        float val = code[pivot];
        out.add(val);
        if (step == 0) {
            out.add((upper + val) / 2f);
            out.add((lower + val) / 2f);
            return;
        }
        walk(code, pivot + step, upper, val, step / 2, out); // x > val: val becomes the lower bound
        walk(code, pivot - step, val, lower, step / 2, out); // otherwise the upper bound
    }

    /** Buckets that are searched (for tests). */
    int searchedBuckets() {
        int n = 0;
        for (short e : entryOfBucket) {
            n += e == SEARCH ? 1 : 0;
        }
        return n;
    }

    /** Buckets with one threshold, answered by one comparison (for tests). */
    int splitBuckets() {
        return split.length - QuantizationMaps.CODES;
    }

    static int buckets() {
        return 2 * BUCKETS_PER_SIGN;
    }
}
