package ai.janus.optim;

import static ai.janus.optim.OptimTesting.spec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.io.InvalidFileException;
import ai.janus.io.SafetensorsFile;
import ai.janus.io.SafetensorsWriter;
import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The versioned optimizer state: save, load and continue equals an uninterrupted run bit for bit
 * (every optimizer and parameter precision), the state's size is what the spec says, and a file
 * that does not fit is refused with one line naming the file and the problem, leaving the
 * optimizer as it was.
 */
class OptimizerStateTest {
    static final List<ParameterSet.Spec> SPECS = List.of(spec("emb", 8, 1000), spec("norm", 300), spec("w", 20000));
    static final int HALF = 10;
    static final LrSchedule SCHEDULE = LrSchedule.cosine(1e-3, 3, 2 * HALF);

    @AutoClose
    private static final Parallel parallel = new Parallel(2);

    @TempDir
    Path dir;

    /** Every optimizer × parameter precision the library offers. */
    enum Variant {
        ADAMW_FP32, ADAMW_BF16_NEAREST, ADAMW_BF16_MASTER,
        ADAMW8BIT_FP32, ADAMW8BIT_BF16_NEAREST, ADAMW8BIT_BF16_STOCHASTIC, ADAMW8BIT_BF16_MASTER;

        boolean eightBit() {
            return name().startsWith("ADAMW8BIT");
        }

        Bf16Mode bf16() {
            if (name().endsWith("NEAREST")) {
                return Bf16Mode.nearestEven();
            }
            if (name().endsWith("STOCHASTIC")) {
                return Bf16Mode.stochastic(99);
            }
            return name().endsWith("MASTER") ? Bf16Mode.fp32Master() : null;
        }
    }

    /** Parameters (fp32 or bf16) and their optimizer. */
    static final class Run implements AutoCloseable {
        final ParameterSet fp32;
        final ParameterSet bf16;
        final Optimizer optimizer;

        Run(Variant variant, AdamWConfig config, byte[] parameterBytes) {
            Bf16Mode mode = variant.bf16();
            if (mode == null) {
                fp32 = ParameterSet.allocate(SPECS);
                fp32.flat().bytes().put(parameterBytes);
                bf16 = null;
                optimizer = variant.eightBit() ? AdamW8bit.fp32(fp32, config, parallel)
                        : AdamW.fp32(fp32, config, parallel);
            } else {
                fp32 = null;
                bf16 = ParameterSet.allocate(SPECS, DType.BF16);
                bf16.flat().bytes().put(parameterBytes);
                optimizer = variant.eightBit() ? AdamW8bit.bf16(bf16, mode, config, parallel)
                        : AdamW.bf16(bf16, mode, config, parallel);
            }
        }

        static byte[] initialBytes(Variant variant) {
            try (ParameterSet init = ParameterSet.allocate(SPECS)) {
                OptimTesting.fillGaussian(init, new SplittableRandom(8), 1.0);
                if (variant.bf16() == null) {
                    return OptimTesting.bytes(init.flat());
                }
                try (ParameterSet b = ParameterSet.copyOf(init, DType.BF16)) {
                    return OptimTesting.bytes(b.flat());
                }
            }
        }

        /** Steps [from, to) with the gradients and learning rates of those steps. */
        void steps(int from, int to, ParameterSet grads) {
            for (int t = from; t < to; t++) {
                SplittableRandom rng = new SplittableRandom(t);
                OptimTesting.fillGaussian(grads, rng, 0.1);
                grads.get("w").floats().put(t, Float.NaN); // non-finite gradients are part of the state's history
                optimizer.step(grads, SCHEDULE.lr(t));
            }
        }

        byte[] parameterBytes() {
            return OptimTesting.bytes(fp32 != null ? fp32.flat() : bf16.flat());
        }

        @Override
        public void close() {
            optimizer.close();
            if (fp32 != null) {
                fp32.close();
            }
            if (bf16 != null) {
                bf16.close();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void saveLoadAndContinueEqualsAnUninterruptedRun(Variant variant) throws IOException {
        AdamWConfig config = AdamWConfig.janus().withWeightDecay(0.01);
        byte[] init = Run.initialBytes(variant);
        Path straightState = dir.resolve("straight.safetensors"), resumedState = dir.resolve("resumed.safetensors");
        Path midway = dir.resolve("midway.safetensors");
        byte[] straightParams, resumedParams, midwayParams;
        try (ParameterSet grads = ParameterSet.allocate(SPECS)) {
            try (Run straight = new Run(variant, config, init)) {
                straight.steps(0, 2 * HALF, grads);
                straight.optimizer.save(straightState);
                straightParams = straight.parameterBytes();
            }
            try (Run first = new Run(variant, config, init)) {
                first.steps(0, HALF, grads);
                first.optimizer.save(midway);
                midwayParams = first.parameterBytes();
            }
            // A new process: parameters from their checkpoint, a fresh optimizer, the saved state.
            try (Run second = new Run(variant, config, midwayParams)) {
                second.optimizer.load(midway);
                assertEquals(HALF, second.optimizer.steps());
                second.steps(HALF, 2 * HALF, grads);
                second.optimizer.save(resumedState);
                resumedParams = second.parameterBytes();
            }
            // Must-fail control: continuing with a fresh optimizer instead of the saved state differs.
            try (Run fresh = new Run(variant, config, midwayParams)) {
                fresh.steps(HALF, 2 * HALF, grads);
                assertFalse(java.util.Arrays.equals(fresh.parameterBytes(), resumedParams),
                        "a fresh optimizer continues the same way: the comparison proves nothing");
            }
        }
        assertArrayEquals(straightParams, resumedParams, "parameters");
        assertArrayEquals(Files.readAllBytes(straightState), Files.readAllBytes(resumedState), "optimizer state files");
        assertFalse(java.util.Arrays.equals(init, straightParams), "the run must move the parameters");
    }

    @Test
    void stateBytesAreTwoPerParameterPlusEightPerBlock() {
        long[] sizes = {4096, 4097, 6144, 10241, 1 << 20, 4095, 1, 100};
        List<ParameterSet.Spec> specs = new ArrayList<>();
        for (long n : sizes) {
            specs.add(spec("t" + n, n));
        }
        try (ParameterSet p = ParameterSet.allocate(specs);
             AdamW8bit opt = AdamW8bit.fp32(p, AdamWConfig.janus(), parallel);
             AdamW fp32 = AdamW.fp32(p, AdamWConfig.janus(), parallel)) {
            long total = 0, elements = 0;
            for (long n : sizes) {
                long expected = n >= 4096 ? 2 * n + 8 * ((n + 2047) / 2048) : 8 * n;
                assertEquals(expected, opt.stateBytes("t" + n), "state bytes of a tensor of " + n);
                total += expected;
                elements += n;
            }
            assertEquals(total, opt.stateBytes());
            assertEquals(8 * elements, fp32.stateBytes());
            assertEquals(2 * (1 << 20) + 8 * 512, opt.stateBytes("t1048576")); // 2.0039 bytes per parameter
        }
        try (ParameterSet b = ParameterSet.allocate(specs, DType.BF16);
             AdamW8bit master = AdamW8bit.bf16(b, Bf16Mode.fp32Master(), AdamWConfig.janus(), parallel)) {
            long total = 0, elements = 0;
            for (long n : sizes) {
                total += master.stateBytes("t" + n);
                elements += n;
            }
            assertEquals(total + 4 * elements, master.stateBytes(), "master weights add 4 bytes per parameter");
        }
    }

    @Test
    void theFileHoldsCodesAndScalesAsTheFormatSays() throws IOException {
        Path file = dir.resolve("state.safetensors");
        try (Run run = new Run(Variant.ADAMW8BIT_FP32, AdamWConfig.janus(), Run.initialBytes(Variant.ADAMW8BIT_FP32));
             ParameterSet grads = ParameterSet.allocate(SPECS)) {
            run.steps(0, 3, grads);
            run.optimizer.save(file);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("emb.state1", "emb.state2", "emb.absmax1", "emb.absmax2", "norm.m", "norm.v",
                    "w.state1", "w.state2", "w.absmax1", "w.absmax2"), new ArrayList<>(f.entries().keySet()));
            assertEquals("emb.state1 U8[8, 1000]", f.entry("emb.state1").toString());
            assertEquals("emb.absmax2 F32[4]", f.entry("emb.absmax2").toString());
            assertEquals("w.absmax1 F32[10]", f.entry("w.absmax1").toString());
            Map<String, String> m = f.metadata();
            assertEquals("janus-optimizer-state", m.get("format"));
            assertEquals("1", m.get("version"));
            assertEquals("adamw8bit", m.get("optimizer"));
            assertEquals("3", m.get("step"));
            assertEquals("0.999", m.get("beta2"));
            assertEquals("fp32", m.get("parameters"));
            assertEquals("2048", m.get("block_size"));
        }
        assertFalse(Files.exists(dir.resolve("state.safetensors.tmp")), "written through a temporary file");
    }

    // ---- files that must be refused -------------------------------------------------------------

    /** Saves a 3-step AdamW8bit state, edits it, and expects load to refuse it with {@code problem}. */
    private void assertRefused(String problem, Consumer<Map<String, String>> editMetadata,
                               Consumer<Map<String, Tensor>> editTensors) throws IOException {
        Path good = dir.resolve("good.safetensors"), bad = dir.resolve("bad.safetensors");
        byte[] init = Run.initialBytes(Variant.ADAMW8BIT_FP32);
        try (Run run = new Run(Variant.ADAMW8BIT_FP32, AdamWConfig.janus(), init);
             ParameterSet grads = ParameterSet.allocate(SPECS)) {
            run.steps(0, 3, grads);
            run.optimizer.save(good);
        }
        rewrite(good, bad, editMetadata, editTensors);
        assertRefused(bad, problem);
    }

    /** Loads {@code bad} into a 2-step optimizer: must fail with {@code problem} and change nothing. */
    private void assertRefused(Path bad, String problem) throws IOException {
        AdamWConfig config = AdamWConfig.janus();
        byte[] init = Run.initialBytes(Variant.ADAMW8BIT_FP32);
        Path untouched = dir.resolve("untouched.safetensors"), afterFailure = dir.resolve("after.safetensors");
        try (Run control = new Run(Variant.ADAMW8BIT_FP32, config, init);
             Run victim = new Run(Variant.ADAMW8BIT_FP32, config, init);
             ParameterSet grads = ParameterSet.allocate(SPECS)) {
            control.steps(0, 2, grads);
            victim.steps(0, 2, grads);
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> victim.optimizer.load(bad));
            assertEquals(bad, e.file());
            assertTrue(e.getMessage().startsWith(bad + ": "), e.getMessage());
            assertTrue(e.getMessage().contains(problem), () -> "expected '" + problem + "' in: " + e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line");
            // The failed load left the victim as it was: its next step equals the control's.
            control.steps(2, 3, grads);
            victim.steps(2, 3, grads);
            control.optimizer.save(untouched);
            victim.optimizer.save(afterFailure);
            assertArrayEquals(control.parameterBytes(), victim.parameterBytes());
            assertArrayEquals(Files.readAllBytes(untouched), Files.readAllBytes(afterFailure));
        }
    }

    /** Copies a safetensors file with edited metadata and tensors. */
    private static void rewrite(Path from, Path to, Consumer<Map<String, String>> editMetadata,
                                Consumer<Map<String, Tensor>> editTensors) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(from)) {
            Map<String, String> metadata = new LinkedHashMap<>(f.metadata());
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : f.entries().keySet()) {
                tensors.put(name, f.map(name));
            }
            editMetadata.accept(metadata);
            editTensors.accept(tensors);
            List<SafetensorsWriter.Item> items = new ArrayList<>();
            tensors.forEach((name, t) -> items.add(new SafetensorsWriter.Item(name, t, t.dtype())));
            SafetensorsWriter.write(to, items, metadata);
        }
    }

    private static final Consumer<Map<String, Tensor>> SAME_TENSORS = t -> { };
    private static final Consumer<Map<String, String>> SAME_METADATA = m -> { };

    @Test
    void anotherFormatVersionIsRefused() throws IOException {
        assertRefused("optimizer state format version \"2\"; this janus reads version 1",
                m -> m.put("version", "2"), SAME_TENSORS);
    }

    @Test
    void aFileThatIsNotOptimizerStateIsRefused() throws IOException {
        assertRefused("not a janus optimizer state file (metadata format is \"pt\"",
                m -> m.put("format", "pt"), SAME_TENSORS);
    }

    @Test
    void anotherOptimizerTypeIsRefused() throws IOException {
        Path adamw = dir.resolve("adamw.safetensors");
        try (Run run = new Run(Variant.ADAMW_FP32, AdamWConfig.janus(), Run.initialBytes(Variant.ADAMW_FP32))) {
            run.optimizer.save(adamw);
        }
        assertRefused(adamw, "written with optimizer = \"adamw\", this optimizer has \"adamw8bit\"");
    }

    @Test
    void otherHyperParametersAreRefused() throws IOException {
        assertRefused("written with beta2 = \"0.95\", this optimizer has \"0.999\"", m -> m.put("beta2", "0.95"),
                SAME_TENSORS);
    }

    @Test
    void anotherParameterPrecisionIsRefused() throws IOException {
        assertRefused("written with parameters = \"bf16-stochastic\", this optimizer has \"fp32\"",
                m -> m.put("parameters", "bf16-stochastic"), SAME_TENSORS);
    }

    @Test
    void aBadStepCountIsRefused() throws IOException {
        assertRefused("metadata step is \"-3\", not a non-negative integer", m -> m.put("step", "-3"), SAME_TENSORS);
    }

    @Test
    void stateOfOtherParametersIsRefused() throws IOException {
        Path other = dir.resolve("other.safetensors");
        List<ParameterSet.Spec> otherSpecs = List.of(spec("emb", 8, 999), spec("norm", 300), spec("w", 20000));
        try (ParameterSet p = ParameterSet.allocate(otherSpecs);
             AdamW8bit opt = AdamW8bit.fp32(p, AdamWConfig.janus(), parallel)) {
            opt.save(other);
        }
        assertRefused(other, "tensor 'emb.state1' is U8[8, 999], the optimizer expects U8[8, 1000]");
    }

    @Test
    void aMissingTensorIsRefused() throws IOException {
        assertRefused("missing tensor 'norm.v'", SAME_METADATA, t -> t.remove("norm.v"));
    }

    @Test
    void anUnexpectedTensorIsRefused() throws IOException {
        assertRefused("unexpected tensor 'head.m' (state of other parameters?)", SAME_METADATA,
                t -> t.put("head.m", t.get("norm.m")));
    }

    @Test
    void aTruncatedFileIsRefused() throws IOException {
        Path good = dir.resolve("full.safetensors"), cut = dir.resolve("cut.safetensors");
        try (Run run = new Run(Variant.ADAMW8BIT_FP32, AdamWConfig.janus(), Run.initialBytes(Variant.ADAMW8BIT_FP32))) {
            run.optimizer.save(good);
        }
        byte[] bytes = Files.readAllBytes(good);
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertRefused(cut, "out of range");
        assertRefused(dir.resolve("absent.safetensors"), "file not found");
    }
}
