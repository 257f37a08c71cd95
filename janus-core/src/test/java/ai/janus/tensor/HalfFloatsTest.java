package ai.janus.tensor;

import static org.bytedeco.pytorch.global.torch.from_blob;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link HalfFloats} against libtorch's CPU {@code Tensor.to(dtype)}, bit for bit: every bf16 and
 * f16 pattern widened, and about a million floats narrowed (random bit patterns, the f16 range,
 * exact ties of both formats, the f16 subnormals and the overflow boundary, signed zeros,
 * infinities, NaN).
 *
 * <p>NaN: only NaN-ness is compared. torch itself gives different NaN bits for the same input
 * depending on the code path (the scalar {@code c10::BFloat16} rounding returns the canonical
 * 0x7FC0, the AVX2 vector path 0xFFFF, AVX512-BF16 and F16C keep sign and payload), so NaN bits are
 * not a property torch defines.
 */
class HalfFloatsTest {
    private static final int PATTERNS = 1 << 16;

    @BeforeAll
    static void loadLibtorch() {
        try (PointerScope s = new PointerScope()) {
            // Loads the native library once, outside the timed tests, and checks the oracle answers.
            assertEquals(0x3f80, torchNarrow(new float[] {1f}, ScalarType.BFloat16)[0] & 0xffff);
        }
    }

    // ------------------------------------------------------------------ libtorch oracle

    /** torch.tensor(values).to(dtype) as raw 16-bit patterns. */
    private static short[] torchNarrow(float[] values, ScalarType dtype) {
        try (PointerScope s = new PointerScope()) {
            FloatPointer in = new FloatPointer(values);
            org.bytedeco.pytorch.Tensor t = from_blob(in, new long[] {values.length},
                    new TensorOptions(ScalarType.Float));
            org.bytedeco.pytorch.Tensor h = t.to(dtype).contiguous();
            short[] out = new short[values.length];
            new ShortPointer(h.data_ptr()).get(out);
            return out;
        }
    }

    /** torch.tensor(bits, dtype).to(float32). */
    private static float[] torchWiden(short[] bits, ScalarType dtype) {
        try (PointerScope s = new PointerScope()) {
            ShortPointer in = new ShortPointer(bits);
            org.bytedeco.pytorch.Tensor t = from_blob(in, new long[] {bits.length}, new TensorOptions(dtype));
            org.bytedeco.pytorch.Tensor f = t.to(ScalarType.Float).contiguous();
            float[] out = new float[bits.length];
            new FloatPointer(f.data_ptr()).get(out);
            return out;
        }
    }

    private static boolean isNaN16(short bits, boolean bf16) {
        int b = bits & 0x7fff;
        return bf16 ? b > 0x7f80 : b > 0x7c00;
    }

    private static String hex(int v, int digits) {
        return String.format("0x%0" + digits + "x", v);
    }

    // ------------------------------------------------------------------ widening

    @Test
    void widensEveryBf16PatternLikeTorch() {
        short[] all = new short[PATTERNS];
        for (int i = 0; i < PATTERNS; i++) {
            all[i] = (short) i;
        }
        float[] expected = torchWiden(all, ScalarType.BFloat16);
        int nans = 0;
        for (int i = 0; i < PATTERNS; i++) {
            float got = HalfFloats.bf16ToFloat(all[i]);
            if (Float.isNaN(expected[i])) {
                nans++;
                assertTrue(Float.isNaN(got), "bf16 " + hex(i, 4) + " must widen to NaN");
                // bf16 widening is a plain shift in every torch path: even NaN bits agree.
            }
            if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(expected[i])) {
                fail("bf16 " + hex(i, 4) + ": torch " + hex(Float.floatToRawIntBits(expected[i]), 8) + " ("
                        + expected[i] + "), janus " + hex(Float.floatToRawIntBits(got), 8) + " (" + got + ")");
            }
        }
        assertEquals(2 * 127, nans, "bf16 has 2 x (2^7 - 1) NaN patterns");
    }

    @Test
    void widensEveryF16PatternLikeTorch() {
        short[] all = new short[PATTERNS];
        for (int i = 0; i < PATTERNS; i++) {
            all[i] = (short) i;
        }
        float[] expected = torchWiden(all, ScalarType.Half);
        int nans = 0, nanBitsDiffer = 0;
        for (int i = 0; i < PATTERNS; i++) {
            float got = HalfFloats.f16ToFloat(all[i]);
            if (isNaN16(all[i], false)) {
                nans++;
                assertTrue(Float.isNaN(expected[i]), "torch: f16 " + hex(i, 4) + " is NaN");
                assertTrue(Float.isNaN(got), "f16 " + hex(i, 4) + " must widen to NaN, got " + got);
                nanBitsDiffer += Float.floatToRawIntBits(got) != Float.floatToRawIntBits(expected[i]) ? 1 : 0;
                continue;
            }
            if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(expected[i])) {
                fail("f16 " + hex(i, 4) + ": torch " + hex(Float.floatToRawIntBits(expected[i]), 8) + " ("
                        + expected[i] + "), janus " + hex(Float.floatToRawIntBits(got), 8) + " (" + got + ")");
            }
        }
        assertEquals(2 * 1023, nans, "f16 has 2 x (2^10 - 1) NaN patterns");
        System.out.println("f16 widening: " + nanBitsDiffer + " of " + nans
                + " NaN patterns widen to other NaN bits than this torch build");
    }

    // ------------------------------------------------------------------ narrowing

    /** Floats that stress the rounding of both formats; see the class comment. */
    private static float[] narrowingCorpus() {
        SplittableRandom r = new SplittableRandom(0x5eed);
        List<Float> edge = new ArrayList<>();
        for (float v : new float[] {0f, -0f, 1f, -1f, 0.1f, 1f / 3, Float.MIN_VALUE, -Float.MIN_VALUE,
            Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.NaN, Float.intBitsToFloat(0xffc00000), Float.intBitsToFloat(0x7f800001),
            Float.intBitsToFloat(0xff800001), Float.intBitsToFloat(0x7fbfffff), Float.intBitsToFloat(0x7fffffff),
            65504f, -65504f, 65519.996f, 65520f, -65520f, 65536f, 0x1p-14f, 0x1p-24f, 0x1p-25f, -0x1p-25f,
            0x1.8p-25f, 0x1.8p-24f, 0x1p-26f, 0x1.ff8p-15f, 0x1.ffcp-15f /* just below 2^-14 */,
            0x1.7f8p127f, 0x1.fep127f, 0x1.ff8p127f /* rounds to bf16 inf */, 1.00390625f, 1.01171875f,
            1.00048828125f, 1.00146484375f}) {
            edge.add(v);
        }
        // Every f16 subnormal midpoint (k + 1/2)·2^-24 and its neighbours: exact ties of the subnormal path.
        for (int k = 0; k < 1024; k++) {
            float mid = (k + 0.5f) * 0x1p-24f;
            edge.add(mid);
            edge.add(Math.nextUp(mid));
            edge.add(Math.nextDown(mid));
            edge.add(-mid);
        }
        // Every float from 65504 to 65536: the last finite f16 and the overflow boundary.
        for (int b = Float.floatToRawIntBits(65504f); b <= Float.floatToRawIntBits(65536f); b++) {
            edge.add(Float.intBitsToFloat(b));
            edge.add(-Float.intBitsToFloat(b));
        }

        int n = 1 << 20;
        float[] v = new float[n];
        int i = 0;
        for (float e : edge) {
            v[i++] = e;
        }
        while (i < n) {
            int kind = i % 6;
            int bits;
            switch (kind) {
                case 0 -> bits = r.nextInt(); // any float, any exponent (NaNs included)
                case 1 -> { // the f16 range, from below its subnormals to above its max
                    float f = (float) Math.scalb(1 + r.nextDouble(), r.nextInt(-27, 17));
                    bits = Float.floatToRawIntBits(r.nextBoolean() ? f : -f);
                }
                case 2 -> bits = (r.nextInt() & 0xffff0000) | 0x8000; // exact bf16 tie
                case 3 -> bits = (r.nextInt() & 0xffff0000) | (0x8000 + (r.nextBoolean() ? 1 : -1)); // just off a tie
                case 4 -> { // exact f16 tie in the normal range: exponent 2^-14 .. 2^15, low 13 bits 0x1000
                    int exp = r.nextInt(113, 143);
                    bits = (r.nextBoolean() ? 0x80000000 : 0) | exp << 23 | (r.nextInt() & 0x7fe000) | 0x1000;
                }
                default -> { // just off an f16 tie
                    int exp = r.nextInt(103, 143);
                    bits = (r.nextInt() & 0x807fe000) | exp << 23 | (0x1000 + (r.nextBoolean() ? 1 : -1));
                }
            }
            v[i++] = Float.intBitsToFloat(bits);
        }
        return v;
    }

    @Test
    void narrowsToBf16LikeTorch() {
        float[] values = narrowingCorpus();
        short[] expected = torchNarrow(values, ScalarType.BFloat16);
        int ties = 0, nanBitsDiffer = 0;
        for (int i = 0; i < values.length; i++) {
            int in = Float.floatToRawIntBits(values[i]);
            short got = HalfFloats.floatToBf16(values[i]);
            if (Float.isNaN(values[i])) {
                assertTrue(isNaN16(got, true), "NaN " + hex(in, 8) + " must stay NaN, got " + hex(got & 0xffff, 4));
                assertTrue(isNaN16(expected[i], true), "torch NaN");
                nanBitsDiffer += got != expected[i] ? 1 : 0;
                continue;
            }
            ties += (in & 0xffff) == 0x8000 ? 1 : 0;
            if (got != expected[i]) {
                fail("bf16(" + values[i] + " = " + hex(in, 8) + "): torch " + hex(expected[i] & 0xffff, 4)
                        + ", janus " + hex(got & 0xffff, 4));
            }
        }
        assertTrue(ties > 100_000, "the corpus must hold exact bf16 ties, has " + ties);
        System.out.println("bf16 narrowing: " + values.length + " floats, " + ties + " exact ties, "
                + nanBitsDiffer + " NaNs whose bits differ from this torch build");
    }

    @Test
    void narrowsToF16LikeTorch() {
        float[] values = narrowingCorpus();
        short[] expected = torchNarrow(values, ScalarType.Half);
        int ties = 0, subnormals = 0, overflows = 0, nanBitsDiffer = 0;
        for (int i = 0; i < values.length; i++) {
            int in = Float.floatToRawIntBits(values[i]);
            short got = HalfFloats.floatToF16(values[i]);
            if (Float.isNaN(values[i])) {
                assertTrue(isNaN16(got, false), "NaN " + hex(in, 8) + " must stay NaN, got " + hex(got & 0xffff, 4));
                assertTrue(isNaN16(expected[i], false), "torch NaN");
                nanBitsDiffer += got != expected[i] ? 1 : 0;
                continue;
            }
            int exp = (in >>> 23) & 0xff;
            ties += exp >= 113 && exp <= 142 && (in & 0x1fff) == 0x1000 ? 1 : 0;
            subnormals += (expected[i] & 0x7c00) == 0 && (expected[i] & 0x3ff) != 0 ? 1 : 0;
            overflows += (expected[i] & 0x7fff) == 0x7c00 && !Float.isInfinite(values[i]) ? 1 : 0;
            if (got != expected[i]) {
                fail("f16(" + values[i] + " = " + hex(in, 8) + "): torch " + hex(expected[i] & 0xffff, 4)
                        + ", janus " + hex(got & 0xffff, 4));
            }
        }
        assertTrue(ties > 50_000, "the corpus must hold exact f16 ties, has " + ties);
        assertTrue(subnormals > 1_000, "the corpus must reach f16 subnormals, has " + subnormals);
        assertTrue(overflows > 1_000, "the corpus must overflow f16, has " + overflows);
        System.out.println("f16 narrowing: " + values.length + " floats, " + ties + " normal ties, " + subnormals
                + " subnormal results, " + overflows + " overflows, " + nanBitsDiffer
                + " NaNs whose bits differ from this torch build");
    }

    @Test
    void narrowingAWidenedValueGivesItBack() {
        for (int i = 0; i < PATTERNS; i++) {
            short s = (short) i;
            if (!isNaN16(s, true)) {
                assertEquals(s, HalfFloats.floatToBf16(HalfFloats.bf16ToFloat(s)), "bf16 " + hex(i, 4));
            }
            if (!isNaN16(s, false)) {
                assertEquals(s, HalfFloats.floatToF16(HalfFloats.f16ToFloat(s)), "f16 " + hex(i, 4));
            }
        }
    }

    // ------------------------------------------------------------------ hand-computed cases

    @Test
    void handComputedBf16() {
        assertEquals((short) 0x3f80, HalfFloats.floatToBf16(1f));
        assertEquals((short) 0xc000, HalfFloats.floatToBf16(-2f));
        assertEquals((short) 0x8000, HalfFloats.floatToBf16(-0f));
        // 1 + 2^-8 is halfway between 1 (0x3f80, even) and 1 + 2^-7 (0x3f81): ties to even, down.
        assertEquals((short) 0x3f80, HalfFloats.floatToBf16(1.00390625f));
        // 1 + 3·2^-8 is halfway between 0x3f81 (odd) and 0x3f82 (even): up.
        assertEquals((short) 0x3f82, HalfFloats.floatToBf16(1.01171875f));
        assertEquals((short) 0x7f80, HalfFloats.floatToBf16(Float.MAX_VALUE), "rounds up to infinity");
        assertEquals((short) 0x0000, HalfFloats.floatToBf16(Float.MIN_VALUE), "2^-149 rounds to +0");
        assertEquals(1.0078125f, HalfFloats.bf16ToFloat((short) 0x3f81));
    }

    @Test
    void handComputedF16() {
        assertEquals((short) 0x3c00, HalfFloats.floatToF16(1f));
        assertEquals((short) 0x7bff, HalfFloats.floatToF16(65504f), "max half");
        assertEquals((short) 0x7bff, HalfFloats.floatToF16(65519.996f), "just below the overflow tie");
        assertEquals((short) 0x7c00, HalfFloats.floatToF16(65520f), "the tie to 65536 overflows");
        assertEquals((short) 0xfc00, HalfFloats.floatToF16(-1e6f));
        assertEquals((short) 0x0400, HalfFloats.floatToF16(0x1p-14f), "smallest normal");
        assertEquals((short) 0x0001, HalfFloats.floatToF16(0x1p-24f), "smallest subnormal");
        assertEquals((short) 0x0000, HalfFloats.floatToF16(0x1p-25f), "tie between 0 and 2^-24: even, 0");
        assertEquals((short) 0x0002, HalfFloats.floatToF16(0x1.8p-24f), "tie between 1 and 2 ulps: even, 2");
        assertEquals((short) 0x8001, HalfFloats.floatToF16(-0x1.8p-25f), "above the tie: 1 ulp");
        assertEquals((short) 0x3c00, HalfFloats.floatToF16(1.00048828125f), "1 + 2^-11: tie, down to even");
        assertEquals((short) 0x3c02, HalfFloats.floatToF16(1.00146484375f), "1 + 3·2^-11: tie, up to even");
        assertEquals(0x1p-24f, HalfFloats.f16ToFloat((short) 0x0001));
        assertEquals(-0x1.ff8p-15f, HalfFloats.f16ToFloat((short) 0x83ff), "largest negative subnormal");
        assertEquals(65504f, HalfFloats.f16ToFloat((short) 0x7bff));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.f16ToFloat((short) 0xfc00));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(HalfFloats.f16ToFloat((short) 0x8000)));
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat((short) 0x7c01)), "signalling NaN stays NaN");
        assertTrue(isNaN16(HalfFloats.floatToF16(Float.intBitsToFloat(0x7f800001)), false),
                "a NaN whose payload sits below the f16 mantissa stays NaN, not infinity");
    }
}
