package ai.janus.tensor;

/**
 * Conversions between float and the two 16-bit float formats, bit-exact with PyTorch for every
 * value but NaN (a NaN stays a NaN; its payload bits may differ from torch's, which are not
 * consistent across torch's own code paths either).
 *
 * <p>bf16 is the top half of an IEEE binary32; f16 is IEEE binary16 (1 sign, 5 exponent,
 * 10 mantissa bits). Narrowing rounds to nearest, ties to even.
 */
public final class HalfFloats {
    private HalfFloats() {}

    /** Widens a bf16 bit pattern (low 16 bits of {@code bits}) to float. Exact. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Narrows a float to bf16 bits, round to nearest even (torch's {@code .to(torch.bfloat16)}). */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040); // NaN: keep sign, force a quiet mantissa bit
        }
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** Widens IEEE binary16 bits to float. Exact, including subnormals and infinities. */
    public static float f16ToFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            // Subnormal: value = mantissa * 2^-24, exactly representable in float.
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** Narrows a float to IEEE binary16 bits, round to nearest even; overflow gives infinity. */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) {
            return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff)); // NaN, quiet
        }
        if (abs >= 0x477ff000) { // >= 65520 rounds to infinity
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x38800000) { // below the smallest normal half (2^-14): subnormal or zero
            float magnitude = Float.intBitsToFloat(abs);
            // Scaling by 2^24 makes the subnormal mantissa an integer; rint rounds half to even.
            int mantissa = (int) Math.rint(magnitude * 0x1p24f);
            return (short) (sign | mantissa);
        }
        int roundingBias = 0xfff + ((abs >>> 13) & 1);
        int rounded = abs + roundingBias;
        return (short) (sign | (((rounded >>> 13) - (112 << 10)) & 0x7fff));
    }
}
