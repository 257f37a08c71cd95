package ai.janus.optim;

import static ai.janus.optim.OptimTesting.spec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seam between the optimizers and where their element-wise work runs ({@link StepKernels}):
 * an optimizer given kernels hands them every fp32 tensor once per step, in spec order, with the
 * parameter's own views, and its results — weights and the saved state, byte for byte — are those
 * of the optimizer built with a {@link Parallel} (the {@link StepKernels#cpu} default). The
 * injected kernels here stand in for the GPU's: one counts and delegates, one recomputes AdamW in
 * plain scalar Java from the documented formula and the coefficients it is given.
 */
class StepKernelsTest {
    /**
     * Odd sizes: fp32-state tensors (7, 4095 elements), 8-bit ones with a full (4096), a partial
     * last block (5000, 3×2049) and several 16384-element chunks (40000); an empty tensor.
     */
    static final List<ParameterSet.Spec> SPECS = List.of(spec("a", 7), spec("b", 4095), spec("c", 4096),
            spec("d", 5000), spec("e", 40000), spec("f", 3, 2049), spec("z", 0));
    static final AdamWConfig CONFIG = AdamWConfig.janus().withWeightDecay(0.1);
    static final double[] LR = {1e-3, 3e-3, 2e-3};

    @AutoClose
    private static final Parallel parallel = new Parallel(2);

    @TempDir
    Path dir;

    /** One call of the kernels: which method, the parameter view it was given and its gradient. */
    record Call(String method, Tensor p, Tensor g) {}

    /** Records every call and delegates to the CPU kernels. */
    static class Counting implements StepKernels {
        final StepKernels cpu = StepKernels.cpu(parallel);
        final List<Call> calls = new ArrayList<>();
        final List<Float> factors = new ArrayList<>();

        @Override
        public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, AdamW.Coefficients k) {
            calls.add(new Call("adamw", p, g));
            cpu.adamw(p, g, m, v, k);
        }

        @Override
        public void adamw8bit(Tensor p, Tensor g, Tensor state1, Tensor state2, Tensor absmax1, Tensor absmax2,
                              AdamW8bit.Coefficients k) {
            calls.add(new Call("adamw8bit", p, g));
            assertEquals(DType.U8, state1.dtype());
            assertEquals(AdamW8bit.blocks(p.numel()), absmax1.numel());
            cpu.adamw8bit(p, g, state1, state2, absmax1, absmax2, k);
        }

        @Override
        public void adamw8bitFp32State(Tensor p, Tensor g, Tensor m, Tensor v, AdamW8bit.Coefficients k) {
            calls.add(new Call("adamw8bitFp32State", p, g));
            cpu.adamw8bitFp32State(p, g, m, v, k);
        }

        @Override
        public double sumOfSquares(ParameterSet gradients) {
            calls.add(new Call("sumOfSquares", null, null));
            return cpu.sumOfSquares(gradients);
        }

        @Override
        public void scale(ParameterSet gradients, float factor) {
            calls.add(new Call("scale", null, null));
            factors.add(factor);
            cpu.scale(gradients, factor);
        }
    }

    /**
     * AdamW written out element by element in scalar Java from {@link AdamWKernel}'s documented
     * ops (no Vector API, no chunks): what a device implementation does with the coefficients.
     */
    static final class ScalarAdamW extends Counting {
        @Override
        public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, AdamW.Coefficients k) {
            calls.add(new Call("adamw", p, g));
            FloatBuffer pb = p.floats(), gb = g.floats(), mb = m.floats(), vb = v.floats();
            for (int i = 0; i < pb.capacity(); i++) {
                float gi = gb.get(i), pi = pb.get(i) * k.decay();
                float mi = Math.fma(gi, k.oneMinusBeta1(), mb.get(i) * k.beta1());
                float vi = vb.get(i) * k.beta2() + k.oneMinusBeta2() * gi * gi;
                float denom = (float) Math.sqrt(vi) / k.sqrtBiasCorrection2() + k.eps();
                mb.put(i, mi);
                vb.put(i, vi);
                pb.put(i, pi + k.negStepSize() * mi / denom);
            }
        }
    }

    /** Parameters, and gradients for step t (one NaN among them: its history is part of the state). */
    static ParameterSet parameters() {
        ParameterSet p = ParameterSet.allocate(SPECS);
        OptimTesting.fillGaussian(p, new SplittableRandom(5), 0.5);
        return p;
    }

    static void fillGradients(ParameterSet g, int t) {
        OptimTesting.fillGaussian(g, new SplittableRandom(100 + t), t == 1 ? 10 : 0.01);
        g.get("e").floats().put(17 + t, Float.NaN);
    }

    /** Steps both optimizers three times and asserts equal weights and equal state files. */
    private void assertSameSteps(Optimizer reference, ParameterSet referenceParams, Optimizer viaKernels,
                                 ParameterSet kernelParams) throws IOException {
        try (ParameterSet g = ParameterSet.allocate(SPECS)) {
            for (int t = 0; t < LR.length; t++) {
                fillGradients(g, t);
                reference.step(g, LR[t]);
                viaKernels.step(g, LR[t]);
                assertArrayEquals(OptimTesting.bytes(referenceParams.flat()), OptimTesting.bytes(kernelParams.flat()),
                        "weights after step " + (t + 1));
            }
        }
        Path a = dir.resolve("reference.safetensors"), b = dir.resolve("kernels.safetensors");
        reference.save(a);
        viaKernels.save(b);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "saved state");
    }

    /** Every tensor went to the kernels once per step, in spec order, as the parameter's own views. */
    private static void assertRouted(Counting kernels, ParameterSet params, List<String> methods) {
        assertEquals(LR.length * SPECS.size(), kernels.calls.size());
        for (int i = 0; i < kernels.calls.size(); i++) {
            Call call = kernels.calls.get(i);
            ParameterSet.Spec s = SPECS.get(i % SPECS.size());
            assertEquals(methods.get(i % SPECS.size()), call.method(), s.name());
            assertSame(params.get(s.name()).storage(), call.p().storage(), s.name());
            assertEquals(params.get(s.name()).byteOffset(), call.p().byteOffset(), s.name());
            assertArrayEquals(s.shape(), call.g().shape(), s.name());
        }
    }

    private void check(BiFunction<ParameterSet, Parallel, Optimizer> reference,
                       BiFunction<ParameterSet, StepKernels, Optimizer> withKernels, Counting kernels,
                       List<String> methods) throws IOException {
        try (ParameterSet p1 = parameters(); ParameterSet p2 = parameters();
             Optimizer o1 = reference.apply(p1, parallel); Optimizer o2 = withKernels.apply(p2, kernels)) {
            assertSameSteps(o1, p1, o2, p2);
            assertRouted(kernels, p2, methods);
        }
    }

    @Test
    void adamwHandsEveryTensorToItsKernelsAndKeepsTheBits() throws IOException {
        check((p, par) -> AdamW.fp32(p, CONFIG, par),
                (p, k) -> AdamW.fp32(p, ParameterSlice.whole(p.specs()), CONFIG, k), new Counting(),
                SPECS.stream().map(s -> "adamw").toList());
    }

    @Test
    void aScalarAdamWFromTheCoefficientsAloneGivesTheSameBits() throws IOException {
        check((p, par) -> AdamW.fp32(p, CONFIG, par),
                (p, k) -> AdamW.fp32(p, ParameterSlice.whole(p.specs()), CONFIG, k), new ScalarAdamW(),
                SPECS.stream().map(s -> "adamw").toList());
    }

    @Test
    void adamw8bitHandsEveryTensorToItsKernelsAndKeepsTheBits() throws IOException {
        check((p, par) -> AdamW8bit.fp32(p, CONFIG, par),
                (p, k) -> AdamW8bit.fp32(p, ParameterSlice.whole(p.specs()), CONFIG, k), new Counting(),
                SPECS.stream().map(s -> AdamW8bit.isEightBit(s.numel()) ? "adamw8bit" : "adamw8bitFp32State")
                        .toList());
    }

    @Test
    void aShardOfAnEightBitTensorGoesToTheBlockwiseKernelWhateverItsSize() throws IOException {
        // tensor 0: elements [2048, 3048) of a 5000-element model tensor (8-bit by the model's size)
        List<ParameterSet.Spec> specs = List.of(spec("w", 1000), spec("n", 300));
        List<ParameterSlice> slices = List.of(new ParameterSlice(5000, 2048, 2048), new ParameterSlice(300, 0, 5000));
        Counting kernels = new Counting();
        try (ParameterSet p1 = ParameterSet.allocate(specs); ParameterSet p2 = ParameterSet.allocate(specs);
             ParameterSet g = ParameterSet.allocate(specs)) {
            OptimTesting.fillGaussian(p1, new SplittableRandom(1), 1);
            p2.copyFrom(p1);
            try (Optimizer o1 = AdamW8bit.fp32(p1, slices, CONFIG, StepKernels.cpu(parallel));
                 Optimizer o2 = AdamW8bit.fp32(p2, slices, CONFIG, kernels)) {
                for (int t = 0; t < 3; t++) {
                    OptimTesting.fillGaussian(g, new SplittableRandom(t), 0.1);
                    o1.step(g, 1e-3);
                    o2.step(g, 1e-3);
                }
                assertArrayEquals(OptimTesting.bytes(p1.flat()), OptimTesting.bytes(p2.flat()));
            }
        }
        assertEquals(List.of("adamw8bit", "adamw8bitFp32State"),
                kernels.calls.subList(0, 2).stream().map(Call::method).toList());
    }

    @Test
    void stateSavedOnOneSideLoadsAndStepsOnTheOther() throws IOException {
        for (boolean eightBit : new boolean[] {false, true}) {
            Path file = dir.resolve("state-" + eightBit + ".safetensors");
            try (ParameterSet p1 = parameters(); ParameterSet g = ParameterSet.allocate(SPECS);
                 Optimizer o1 = eightBit ? AdamW8bit.fp32(p1, CONFIG, parallel) : AdamW.fp32(p1, CONFIG, parallel)) {
                for (int t = 0; t < 2; t++) {
                    fillGradients(g, t);
                    o1.step(g, LR[t]);
                }
                o1.save(file);
                Counting kernels = new Counting();
                try (ParameterSet p2 = p1.zerosLike()) {
                    p2.copyFrom(p1);
                    try (Optimizer o2 = eightBit ? AdamW8bit.fp32(p2, ParameterSlice.whole(SPECS), CONFIG, kernels)
                            : AdamW.fp32(p2, ParameterSlice.whole(SPECS), CONFIG, kernels)) {
                        o2.load(file);
                        assertEquals(2, o2.steps());
                        fillGradients(g, 2);
                        o1.step(g, LR[2]);
                        o2.step(g, LR[2]);
                        assertArrayEquals(OptimTesting.bytes(p1.flat()), OptimTesting.bytes(p2.flat()),
                                (eightBit ? "8-bit" : "adamw") + " step 3 after load");
                        assertEquals(SPECS.size(), kernels.calls.size());
                    }
                }
            }
        }
    }

    @Test
    void gradClipOnKernelsSumsAndScalesThere() {
        try (ParameterSet g1 = ParameterSet.allocate(SPECS); ParameterSet g2 = ParameterSet.allocate(SPECS)) {
            OptimTesting.fillGaussian(g1, new SplittableRandom(3), 1);
            g2.copyFrom(g1);
            Counting kernels = new Counting();
            double norm = GradClip.clip(g2, 1.0, kernels);
            assertEquals(GradClip.clip(g1, 1.0, parallel), norm);
            assertArrayEquals(OptimTesting.bytes(g1.flat()), OptimTesting.bytes(g2.flat()));
            assertEquals(List.of("sumOfSquares", "scale"), kernels.calls.stream().map(Call::method).toList());
            assertEquals((float) (1.0 / (norm + GradClip.EPS)), kernels.factors.get(0));
            kernels.calls.clear();
            GradClip.clip(g2, 1e6, kernels); // below the limit: nothing to scale
            assertEquals(List.of("sumOfSquares"), kernels.calls.stream().map(Call::method).toList());
            assertEquals(GradClip.norm(g1, parallel), GradClip.norm(g2, kernels));
        }
    }

    @Test
    void kernelsStepFp32ParametersOnly() {
        try (ParameterSet bf16 = ParameterSet.allocate(SPECS, DType.BF16)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> AdamW8bit.fp32(bf16, ParameterSlice.whole(SPECS), CONFIG, new Counting()));
            assertTrue(e.getMessage().contains("F32"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> AdamW.fp32(bf16, ParameterSlice.whole(SPECS), CONFIG, new Counting()));
        }
    }
}
