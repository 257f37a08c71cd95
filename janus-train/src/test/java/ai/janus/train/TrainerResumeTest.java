package ai.janus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.SftExample;
import ai.janus.data.TemplatedSequence;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.Bf16Mode;
import ai.janus.optim.LrSchedule;
import ai.janus.optim.Optimizer;
import ai.janus.tensor.DType;
import ai.janus.train.dist.Strategy;
import ai.janus.train.dist.TrainingParameters;
import ai.janus.train.objective.SftObjective;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Resume is a bit-exact continuation (docs/spec/reliability.md): 8 steps straight equal 4 steps, a crash,
 * a resume from the step-4 checkpoint and 4 more steps — the same per-step losses and gradient
 * norms (bits), and the same final weight hash. 7 samples, micro-batch 2, accumulation 2: step 4
 * starts inside epoch 2 and steps straddle epoch boundaries.
 */
class TrainerResumeTest {
    @TempDir
    Path dir;

    static final MistralConfig CONFIG = MistralConfig.tiny(64);

    /** Seven SFT examples of different lengths with a prompt part and an answer part. */
    static List<SftExample> examples() {
        SplittableRandom rng = new SplittableRandom(5);
        List<SftExample> out = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            int length = 12 + 5 * i, prompt = 4 + i;
            int[] ids = rng.ints(length, 3, 64).toArray();
            ids[0] = 1;
            ids[length - 1] = 2;
            out.add(new SftExample(i + 1, new TemplatedSequence(ids, prompt)));
        }
        return out;
    }

    record Run(List<Trainer.StepMetrics> history, String weightHash) {}

    /** Trains to 8 steps in {@code out}; {@code crashAfter} > 0 throws after that step (a kill); {@code resume} continues first. */
    private Run train(Path out, String optimizer, boolean bf16, long crashAfter, boolean resume) throws IOException {
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(CONFIG)); CpuBackend cpu = new CpuBackend()) {
            MistralWeights.initialize(CONFIG, params, 11);
            ParameterSet bf16Params = bf16 ? ParameterSet.copyOf(params, DType.BF16) : null;
            if (bf16) {
                params.copyFrom(bf16Params);
            }
            AdamWConfig adam = new AdamWConfig(0.9, 0.999, 1e-8, 0.01);
            Optimizer opt = switch (optimizer) {
                case "adamw" -> bf16 ? AdamW.bf16(bf16Params, Bf16Mode.stochastic(3), adam, cpu.parallel())
                        : AdamW.fp32(params, adam, cpu.parallel());
                default -> bf16 ? AdamW8bit.bf16(bf16Params, Bf16Mode.nearestEven(), adam, cpu.parallel())
                        : AdamW8bit.fp32(params, adam, cpu.parallel());
            };
            List<SftExample> examples = examples();
            List<int[]> samples = new ArrayList<>();
            for (int i = 0; i < examples.size(); i++) {
                samples.add(new int[] {i});
            }
            Mistral model = new Mistral(CONFIG, MistralWeights.of(CONFIG, params), cpu);
            Progress crash = new Progress(null, false) {
                @Override
                public void start(long step, long total) {}

                @Override
                public void step(Trainer.StepMetrics m, long total) {
                    if (m.step() == crashAfter) {
                        throw new IllegalStateException("killed");
                    }
                }

                @Override
                public void finish() {}
            };
            Trainer.Settings settings = new Trainer.Settings(2, 2, 8, 1.0, 99, 4, 0, out);
            try (Trainer trainer = new Trainer(settings, new TrainingParameters(CONFIG, params, bf16Params), opt,
                    LrSchedule.cosine(3e-3, 2, 8), new SftObjective(model, examples, samples, false), cpu,
                    cpu.parallel(), Map.of("data", "seven-examples"), crash)) {
                if (resume) {
                    trainer.resume(trainer.checkpoints().latest().orElseThrow());
                }
                List<Trainer.StepMetrics> history = trainer.train();
                return new Run(history, hash(params));
            } finally {
                opt.close();
                if (bf16Params != null) {
                    bf16Params.close();
                }
            }
        }
    }

    static String hash(ParameterSet p) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(p.flat().bytes());
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"adamw", "adamw_8bit", "adamw bf16 stochastic", "adamw_8bit bf16"})
    void resumeIsBitExact(String variant) throws IOException {
        String optimizer = variant.split(" ")[0];
        boolean bf16 = variant.contains("bf16");
        Run straight = train(dir.resolve("straight"), optimizer, bf16, 0, false);
        Path crashed = dir.resolve("crashed");
        assertThrows(IllegalStateException.class, () -> train(crashed, optimizer, bf16, 5, false));
        assertEquals(5, Files.readAllLines(crashed.resolve(Trainer.METRICS_FILE)).size(), "step 5 ran before the kill");
        Run resumed = train(crashed, optimizer, bf16, 0, true);
        assertEquals(4, resumed.history().size());
        for (int i = 0; i < 4; i++) {
            Trainer.StepMetrics a = straight.history().get(4 + i), b = resumed.history().get(i);
            assertEquals(a.step(), b.step());
            assertEquals(Double.doubleToRawLongBits(a.loss()), Double.doubleToRawLongBits(b.loss()), "loss of step " + a.step());
            assertEquals(Double.doubleToRawLongBits(a.gradNorm()), Double.doubleToRawLongBits(b.gradNorm()),
                    "grad norm of step " + a.step());
            assertEquals(a.epoch(), b.epoch());
        }
        assertEquals(straight.weightHash(), resumed.weightHash(), "final weights");
        assertTrue(straight.history().get(4).epoch() >= 1, "the resume point is inside epoch 2");
        assertEquals(8, Files.readAllLines(crashed.resolve(Trainer.METRICS_FILE)).size(),
                "the interrupted run's step 5 line was replaced, not duplicated");
        assertTrue(straight.history().get(7).loss() < straight.history().get(0).loss(), "the loss goes down");
    }

    @Test
    void aDamagedCheckpointIsNeverResumedFrom() throws IOException {
        Path crashed = dir.resolve("b");
        assertThrows(IllegalStateException.class, () -> train(crashed, "adamw", false, 5, false));
        Files.delete(crashed.resolve("checkpoints/step-4/" + Strategy.OPTIMIZER_FILE));
        assertTrue(new ai.janus.train.checkpoint.CheckpointStore(crashed.resolve("checkpoints"), 0).latest().isEmpty(),
                "a checkpoint missing a file does not verify, so there is nothing to resume from");
    }
}
