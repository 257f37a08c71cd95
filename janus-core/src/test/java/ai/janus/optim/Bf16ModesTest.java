package ai.janus.optim;

import static ai.janus.optim.OptimTesting.spec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * The three ways of keeping bf16 weights: nearest even loses updates below half an ulp (the
 * bitsandbytes behaviour), stochastic rounding keeps them on average and is exactly unbiased,
 * seeded and independent of the thread count, and fp32 master weights follow the fp32 run
 * bit for bit with the bf16 weights their nearest-even copies.
 */
class Bf16ModesTest {
    static final List<ParameterSet.Spec> SPECS = List.of(spec("w", 4, 2048), spec("norm", 512));

    @AutoClose
    private static final Parallel parallel = new Parallel(2);

    /** Over all 2^16 random values, the mean of the stochastic roundings of x is x, exactly. */
    @Test
    void stochasticRoundingIsExactlyUnbiased() {
        float[] xs = {1f + 0x1.234p-10f, -3.14159f, 1e-30f, 1e-40f, 65504.7f, 0.99f, 255.99f, 1f};
        for (float x : xs) {
            float down = Float.intBitsToFloat(Float.floatToRawIntBits(x) & 0xffff0000);
            double sum = 0;
            for (int r = 0; r < 1 << 16; r++) {
                float rounded = ParameterStore.roundStochastic(x, r);
                assertEquals(0, Float.floatToRawIntBits(rounded) & 0xffff, "a bf16 value");
                assertTrue(rounded == down || Math.abs(rounded) > Math.abs(down), "one of the two neighbours");
                sum += rounded;
            }
            assertEquals((double) x, sum / (1 << 16), 0.0, "mean of the roundings of " + x);
        }
        assertEquals(Float.POSITIVE_INFINITY, ParameterStore.roundStochastic(Float.POSITIVE_INFINITY, 0xffff));
        assertTrue(Float.isNaN(ParameterStore.roundStochastic(Float.NaN, 0x1234)));
    }

    @Test
    void randomBitsLookUniform() {
        int n = 1 << 20;
        long sum = 0;
        long[] ones = new long[16];
        for (long i = 0; i < n; i++) {
            int r = ParameterStore.randomBits(12345, i);
            assertTrue(r >= 0 && r < 1 << 16);
            sum += r;
            for (int b = 0; b < 16; b++) {
                ones[b] += (r >>> b) & 1;
            }
        }
        assertEquals(32767.5, (double) sum / n, 32767.5 * 2e-3);
        for (int b = 0; b < 16; b++) {
            assertEquals(0.5, (double) ones[b] / n, 2e-3, "bit " + b);
        }
    }

    /**
     * All weights 1, a constant gradient: Adam moves each weight by about lr = 1e-4 per step,
     * far below half a bf16 ulp at 1 (2^-9). 100 steps: nearest even never moves; stochastic
     * moves the mean by 100·lr (the standard deviation of the mean over 8704 weights is ~1e-4,
     * the bound is 1e-3); master weights move exactly as fp32.
     */
    @Test
    void smallUpdatesAreLostToNearestEvenAndKeptByTheOtherModes() {
        for (boolean eightBit : new boolean[] {true, false}) {
            assertEquals(1.0, meanAfterTinyUpdates(Bf16Mode.nearestEven(), eightBit), 0.0);
            assertEquals(0.99, meanAfterTinyUpdates(Bf16Mode.stochastic(7), eightBit), 1e-3);
            assertEquals(0.99, meanAfterTinyUpdates(Bf16Mode.fp32Master(), eightBit), 1e-3);
        }
    }

    private static double meanAfterTinyUpdates(Bf16Mode mode, boolean eightBit) {
        try (ParameterSet ones = ParameterSet.allocate(SPECS); ParameterSet grads = ones.zerosLike()) {
            ones.flat().fill(1f);
            grads.flat().fill(1f);
            try (ParameterSet params = ParameterSet.copyOf(ones, DType.BF16);
                 Optimizer opt = eightBit ? AdamW8bit.bf16(params, mode, AdamWConfig.janus(), parallel)
                         : AdamW.bf16(params, mode, AdamWConfig.janus(), parallel)) {
                for (int t = 0; t < 100; t++) {
                    opt.step(grads, 1e-4);
                }
                double sum = 0;
                for (ParameterSet.Spec s : SPECS) {
                    // With master weights the bf16 copy is the master rounded (0.99 → 0.98828125); the
                    // weights the optimizer keeps are the master's.
                    Tensor weights = mode.kind() != Bf16Mode.Kind.FP32_MASTER ? params.get(s.name())
                            : opt instanceof AdamW8bit a ? a.stateTensor(s.name() + ".master")
                            : ((AdamW) opt).stateTensor(s.name() + ".master");
                    for (float v : weights.toFloatArray()) {
                        sum += v;
                    }
                }
                return sum / params.numel();
            }
        }
    }

    @Test
    void masterWeightsFollowTheFp32RunBitForBit() {
        masterFollowsFp32((p, c) -> AdamW8bit.fp32(p, c, parallel),
                (p, c) -> AdamW8bit.bf16(p, Bf16Mode.fp32Master(), c, parallel));
        masterFollowsFp32((p, c) -> AdamW.fp32(p, c, parallel),
                (p, c) -> AdamW.bf16(p, Bf16Mode.fp32Master(), c, parallel));
    }

    private static void masterFollowsFp32(BiFunction<ParameterSet, AdamWConfig, Optimizer> fp32Optimizer,
                                          BiFunction<ParameterSet, AdamWConfig, Optimizer> masterOptimizer) {
        AdamWConfig config = AdamWConfig.janus().withWeightDecay(0.01);
        try (ParameterSet init = ParameterSet.allocate(SPECS); ParameterSet grads = init.zerosLike()) {
            OptimTesting.fillGaussian(init, new SplittableRandom(1), 1.0);
            try (ParameterSet bf16 = ParameterSet.copyOf(init, DType.BF16)) {
                init.copyFrom(bf16); // both runs start from the same bf16-exact weights
                try (Optimizer fp32 = fp32Optimizer.apply(init, config);
                     Optimizer master = masterOptimizer.apply(bf16, config)) {
                    for (int t = 0; t < 20; t++) {
                        OptimTesting.fillGaussian(grads, new SplittableRandom(100 + t), 0.1);
                        fp32.step(grads, 1e-3);
                        master.step(grads, 1e-3);
                    }
                    for (ParameterSet.Spec s : SPECS) {
                        Tensor masterWeights = master instanceof AdamW8bit a ? a.stateTensor(s.name() + ".master")
                                : ((AdamW) master).stateTensor(s.name() + ".master");
                        float[] expected = init.get(s.name()).toFloatArray(), actual = masterWeights.toFloatArray();
                        for (int j = 0; j < expected.length; j++) {
                            assertEquals(Float.floatToRawIntBits(expected[j]), Float.floatToRawIntBits(actual[j]),
                                    s.name() + " master [" + j + "]");
                        }
                        ShortBuffer bits = bf16.get(s.name()).shorts();
                        for (int j = 0; j < expected.length; j++) {
                            assertEquals(HalfFloats.floatToBf16(actual[j]), bits.get(j),
                                    s.name() + " bf16 [" + j + "]");
                        }
                    }
                }
            }
        }
    }

    @Test
    void stochasticRoundingIsSeededAndIndependentOfTheThreadCount() {
        byte[] oneThread = stochasticRun(7, 1), threeThreads = stochasticRun(7, 3), otherSeed = stochasticRun(8, 1);
        assertArrayEquals(oneThread, threeThreads);
        assertFalse(java.util.Arrays.equals(oneThread, otherSeed), "the seed changes the rounding");
    }

    private static byte[] stochasticRun(long seed, int threads) {
        try (Parallel pool = new Parallel(threads); ParameterSet init = ParameterSet.allocate(SPECS);
             ParameterSet grads = init.zerosLike()) {
            OptimTesting.fillGaussian(init, new SplittableRandom(2), 1.0);
            try (ParameterSet params = ParameterSet.copyOf(init, DType.BF16);
                 AdamW8bit opt = AdamW8bit.bf16(params, Bf16Mode.stochastic(seed),
                         AdamWConfig.janus().withWeightDecay(0.1), pool)) {
                for (int t = 0; t < 5; t++) {
                    OptimTesting.fillGaussian(grads, new SplittableRandom(t), 1.0);
                    opt.step(grads, 1e-3);
                }
                return OptimTesting.bytes(params.flat());
            }
        }
    }

    @Test
    void widenAndRoundTripIsExact() {
        try (ParameterSet init = ParameterSet.allocate(SPECS); ParameterSet back = init.zerosLike()) {
            OptimTesting.fillGaussian(init, new SplittableRandom(3), 1.0);
            try (ParameterSet bf16 = ParameterSet.copyOf(init, DType.BF16)) {
                back.copyFrom(bf16);
                FloatBuffer a = init.flat().floats(), b = back.flat().floats();
                for (int i = 0; i < a.capacity(); i++) {
                    assertEquals(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(a.get(i))), b.get(i));
                }
            }
        }
    }
}
