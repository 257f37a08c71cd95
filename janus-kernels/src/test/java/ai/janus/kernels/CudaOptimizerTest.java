package ai.janus.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.GradClip;
import ai.janus.optim.Optimizer;
import ai.janus.optim.ParameterSlice;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.Storage;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The optimizers with their per-tensor updates on the GPU ({@link CudaOptimizerKernels} as their
 * {@link ai.janus.optim.StepKernels}) against the same optimizers on the CPU: weights and saved
 * state byte for byte over three steps, a state file that loads on either side and steps on
 * bit-identically, and the gradient norm within the bound of its other order of additions.
 * Skipped without CUDA, with the reason.
 */
class CudaOptimizerTest {
    /**
     * fp32-state tensors of the 8-bit optimizer (1, 7, 100, 4095 elements), 8-bit ones with one
     * full block (4096), a partial last block (5000, 3×2049) and several 16384-element CPU chunks
     * with a partial block (40000); an empty tensor.
     */
    static final List<ParameterSet.Spec> SPECS = List.of(spec("a", 1), spec("b", 7), spec("c", 10, 10),
            spec("d", 4095), spec("e", 4096), spec("f", 5000), spec("g", 3, 2049), spec("h", 40000), spec("z", 0));
    static final AdamWConfig CONFIG = AdamWConfig.janus().withWeightDecay(0.1);
    static final double[] LR = {1e-3, 3e-3, 2e-3, 1e-3};

    private static CudaBackend cuda;
    private static Storage.Allocator previousAllocator;
    private static CudaOptimizerKernels kernels;
    private static Parallel parallel;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        if (CudaBackend.unavailableReason().isEmpty()) {
            cuda = CudaBackend.open();
            // from here on every set below lives in managed memory
            previousAllocator = Storage.useAllocator(cuda.allocator());
            kernels = new CudaOptimizerKernels(cuda);
            parallel = new Parallel(2);
        }
    }

    @BeforeEach
    void requireCuda() {
        var why = CudaBackend.unavailableReason();
        assumeTrue(why.isEmpty(), () -> "CUDA unavailable: " + why.orElse(""));
    }

    @AfterAll
    static void close() {
        if (kernels != null) {
            kernels.close();
        }
        if (parallel != null) {
            parallel.close();
        }
        if (cuda != null) {
            Storage.useAllocator(previousAllocator);
            cuda.close();
        }
    }

    static ParameterSet.Spec spec(String name, long... shape) {
        return new ParameterSet.Spec(name, shape);
    }

    static void fill(ParameterSet set, long seed, double std) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (ParameterSet.Spec s : set.specs()) {
            FloatBuffer f = set.get(s.name()).floats();
            for (int i = 0; i < f.capacity(); i++) {
                f.put(i, (float) (rng.nextGaussian() * std));
            }
        }
    }

    /**
     * Step t's gradients: scales 0.01, 10, 1e-4 (outliers in a block), and for the 8-bit optimizer
     * non-finite elements, which reset their moments (fp32 AdamW propagates a NaN, whose payload
     * the GPU does not keep, so its gradients stay finite).
     */
    static void gradients(ParameterSet g, int t, boolean eightBit) {
        fill(g, 100 + t, new double[] {0.01, 10, 1e-4, 1}[t]);
        if (eightBit) {
            g.get("h").floats().put(17 + t, Float.NaN);
            g.get("f").floats().put(4999 - t, Float.POSITIVE_INFINITY);
            g.get("b").floats().put(t, Float.NaN);
        }
    }

    static Optimizer cpuOptimizer(ParameterSet p, boolean eightBit) {
        return eightBit ? AdamW8bit.fp32(p, CONFIG, parallel) : AdamW.fp32(p, CONFIG, parallel);
    }

    static Optimizer gpuOptimizer(ParameterSet p, boolean eightBit) {
        List<ParameterSlice> whole = ParameterSlice.whole(p.specs());
        return eightBit ? AdamW8bit.fp32(p, whole, CONFIG, kernels) : AdamW.fp32(p, whole, CONFIG, kernels);
    }

    static byte[] bytes(ParameterSet set) {
        byte[] out = new byte[Math.toIntExact(set.flat().byteSize())];
        set.flat().bytes().get(out);
        return out;
    }

    private void assertSameState(Optimizer expected, Optimizer actual, String what) throws IOException {
        Path a = dir.resolve("expected.safetensors"), b = dir.resolve("actual.safetensors");
        expected.save(a);
        actual.save(b);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), what + ": saved state");
    }

    @ParameterizedTest(name = "8-bit {0}")
    @ValueSource(booleans = {false, true})
    void threeGpuStepsEqualTheCpuBitForBit(boolean eightBit) throws IOException {
        try (ParameterSet pc = ParameterSet.allocate(SPECS); ParameterSet pg = ParameterSet.allocate(SPECS);
             ParameterSet g = ParameterSet.allocate(SPECS)) {
            fill(pc, 1, 0.5);
            pg.copyFrom(pc);
            try (Optimizer cpu = cpuOptimizer(pc, eightBit); Optimizer gpu = gpuOptimizer(pg, eightBit)) {
                for (int t = 0; t < 3; t++) {
                    gradients(g, t, eightBit);
                    cpu.step(g, LR[t]);
                    gpu.step(g, LR[t]);
                    assertArrayEquals(bytes(pc), bytes(pg), "weights after step " + (t + 1));
                }
                assertSameState(cpu, gpu, "after 3 steps");
            }
        }
    }

    @ParameterizedTest(name = "8-bit {0}")
    @ValueSource(booleans = {false, true})
    void stateSavedFromTheGpuLoadsOnEitherSideAndStepsOnBitForBit(boolean eightBit) throws IOException {
        Path file = dir.resolve("gpu.safetensors");
        try (ParameterSet p = ParameterSet.allocate(SPECS); ParameterSet g = ParameterSet.allocate(SPECS)) {
            fill(p, 2, 0.5);
            try (Optimizer first = gpuOptimizer(p, eightBit)) {
                for (int t = 0; t < 3; t++) {
                    gradients(g, t, eightBit);
                    first.step(g, LR[t]);
                }
                first.save(file);
                try (ParameterSet pg = p.zerosLike(); ParameterSet pc = p.zerosLike()) {
                    pg.copyFrom(p);
                    pc.copyFrom(p);
                    try (Optimizer resumedGpu = gpuOptimizer(pg, eightBit);
                         Optimizer resumedCpu = cpuOptimizer(pc, eightBit)) {
                        resumedGpu.load(file);
                        resumedCpu.load(file);
                        assertEquals(3, resumedGpu.steps());
                        gradients(g, 3, eightBit);
                        first.step(g, LR[3]);
                        resumedGpu.step(g, LR[3]);
                        resumedCpu.step(g, LR[3]);
                        assertArrayEquals(bytes(p), bytes(pg), "GPU step 4 after a GPU load");
                        assertArrayEquals(bytes(p), bytes(pc), "CPU step 4 after a GPU load");
                        assertSameState(first, resumedGpu, "GPU after load and step");
                        assertSameState(first, resumedCpu, "CPU after load and step");
                    }
                }
            }
        }
    }

    @Test
    void gradientNormWithinTheBoundOfItsOrderAndClippingEqualsTheCpu() {
        // a large tensor makes the GPU grid-stride (1024 CTAs × 256 threads, 20 elements a thread)
        List<ParameterSet.Spec> specs = new java.util.ArrayList<>(SPECS);
        specs.add(spec("big", 5_000_000));
        try (ParameterSet gc = ParameterSet.allocate(specs); ParameterSet gg = ParameterSet.allocate(specs)) {
            fill(gc, 3, 1);
            gc.get("big").floats().put(7, 1e3f);
            gg.copyFrom(gc);
            double cpu = GradClip.sumOfSquares(gc, parallel), gpu = kernels.sumOfSquares(gg);
            long blocks = specs.stream().mapToLong(s -> AdamW8bit.blocks(s.numel())).sum();
            long depth = GradClip.BLOCK + blocks + CudaOptimizerKernels.additionDepth(specs);
            double bound = depth * Math.ulp(1.0) / 2 * cpu; // (d_cpu + d_gpu)·2^-53 of the sum
            System.out.printf("sum of squares: cpu %.17g gpu %.17g, relative difference %.2e (bound %.2e)%n", cpu,
                    gpu, Math.abs(gpu - cpu) / cpu, bound / cpu);
            assertTrue(Math.abs(gpu - cpu) <= bound, "GPU " + gpu + " vs CPU " + cpu + ", bound " + bound);

            double maxNorm = 1.0;
            double normCpu = GradClip.clip(gc, maxNorm, parallel), normGpu = GradClip.clip(gg, maxNorm, kernels);
            assertEquals(normCpu, normGpu, depth * Math.ulp(1.0) * normCpu);
            float factorCpu = (float) (maxNorm / (normCpu + GradClip.EPS));
            float factorGpu = (float) (maxNorm / (normGpu + GradClip.EPS));
            if (factorCpu == factorGpu) { // the scaling is a float multiply: same factor, same bits
                assertArrayEquals(bytes(gc), bytes(gg), "clipped gradients");
            } else {
                assertEquals(Math.ulp(factorCpu), Math.abs(factorCpu - factorGpu), "factors one ulp apart at most");
            }
        }
    }
}
