package ai.janus.optim;

/**
 * The two 256-entry dynamic quantization maps of the 8-bit AdamW and the quantizer that turns a
 * normalised value into a code (spec docs/spec/adamw8bit.md, "Quantization maps" and {@code quantize}).
 *
 * <p>A map is bitsandbytes' {@code create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)}:
 * for i = 0..6, the midpoints of {@code linspace(0.1, 1, n_i)} scaled by 10^(i−6) (and negated
 * too when signed), plus 0 and 1, sorted. Every operation is float32, with torch.linspace's
 * float32 arithmetic, so the maps equal the spec's bit-pattern tables entry for entry.
 * Signed: code 127 is 0, code 255 is 1, code 0 is −0.99296874 (the map is not symmetric).
 * Unsigned: code 0 is 0, code 255 is 1.
 */
public final class QuantizationMaps {
    /** Entries per map: one per 8-bit code. */
    public static final int CODES = 256;
    /** The signed map's code for 0: an all-zero first moment. */
    public static final int SIGNED_ZERO_CODE = 127;
    /** The unsigned map's code for 0: an all-zero second moment. */
    public static final int UNSIGNED_ZERO_CODE = 0;

    /** 10^(i−6) for i = 0..6 as the double literals Python's {@code 10 ** (i − 6)} yields; cast to float at use. */
    private static final double[] DECADES = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};

    /** The maps; never handed out (see {@link #signed()}), read directly by the 8-bit step. */
    static final float[] SIGNED = dynamicMap(true);
    static final float[] UNSIGNED = dynamicMap(false);

    private QuantizationMaps() {}

    /** A copy of the signed map (first moments). */
    public static float[] signed() {
        return SIGNED.clone();
    }

    /** A copy of the unsigned map (second moments). */
    public static float[] unsigned() {
        return UNSIGNED.clone();
    }

    /** bitsandbytes' dynamic map with 7 exponent bits in 8 bits, in float32. */
    static float[] dynamicMap(boolean signed) {
        float[] data = new float[CODES];
        int count = 0;
        for (int i = 0; i < DECADES.length; i++) {
            int n = signed ? (1 << i) + 1 : (1 << (i + 1)) + 1;
            float[] b = linspace(0.1f, 1.0f, n);
            // torch multiplies a float32 tensor by a Python float in float32: the scale is rounded first.
            float scale = (float) DECADES[i];
            for (int k = 0; k + 1 < n; k++) {
                float mean = (b[k] + b[k + 1]) / 2f;
                data[count++] = scale * mean;
                if (signed) {
                    data[count++] = -scale * mean;
                }
            }
        }
        data[count++] = 0f;
        data[count++] = 1f;
        if (count != CODES) {
            throw new IllegalStateException("dynamic map has " + count + " entries, expected " + CODES);
        }
        java.util.Arrays.sort(data);
        return data;
    }

    /**
     * torch.linspace in float32: {@code step = (end − start)/(n − 1)}; element k is
     * {@code start + k·step} for k < n/2 and {@code end − (n − 1 − k)·step} otherwise, so both
     * ends are exact.
     */
    static float[] linspace(float start, float end, int n) {
        float step = (end - start) / (float) (n - 1);
        int halfway = n / 2;
        float[] out = new float[n];
        for (int k = 0; k < n; k++) {
            out[k] = k < halfway ? start + (float) k * step : end - (float) (n - 1 - k) * step;
        }
        return out;
    }

    /**
     * The code of {@code x} (normalised to [−1, 1], or [0, 1] when unsigned) by the spec's fixed
     * 7-step binary search over a sorted 256-entry map, then the midpoint rule against the last
     * two neighbours. That is the nearest code except where the float32 midpoint rounds across x
     * (1 in 5 million random unsigned values); reproducing the search exactly is the point.
     */
    public static int quantize(float[] code, float x, boolean signed) {
        int pivot = 127, upperPivot = 255, lowerPivot = 0;
        float lower = signed ? -1.0f : 0.0f, upper = 1.0f;
        float val = code[127];
        for (int i = 64; i > 0; i >>= 1) {
            if (x > val) {
                lowerPivot = pivot;
                lower = val;
                pivot += i;
            } else {
                upperPivot = pivot;
                upper = val;
                pivot -= i;
            }
            val = code[pivot];
        }
        if (x > val) {
            return x > (upper + val) / 2f ? upperPivot : pivot;
        }
        return x < (lower + val) / 2f ? lowerPivot : pivot;
    }
}
