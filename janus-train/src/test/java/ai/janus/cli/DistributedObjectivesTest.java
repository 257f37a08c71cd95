package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.dist.ThreadRanks;
import ai.janus.io.Json;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.train.Progress;
import ai.janus.train.TrainingRun;
import ai.janus.train.config.RunConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The whole run (TrainingRun: data, DPO reference cache, checkpoints, the export on rank 0) for
 * DPO, ORPO and the reward model on two ranks as threads, against the same command on one
 * process with twice the accumulation: per-step losses within 1e-6, the exported model within
 * 1e-6 (relative L2), the reward model's stored mean and std within 1e-3 and 1e-4.
 */
class DistributedObjectivesTest {
    @TempDir
    Path dir;

    private Path pairs(boolean rewardFormat) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String system = i % 2 == 0 ? "Reply in capitals." : "Reply in lower case.";
            String prompt = "Name the number " + i + ".";
            String upper = "NUMBER " + i + ".", lower = "number " + i + ".";
            String chosen = i % 2 == 0 ? upper : lower, rejected = i % 2 == 0 ? lower : upper;
            Map<String, String> row = rewardFormat
                    ? Map.of("input", system + "\n" + prompt, "chosen", chosen, "rejected", rejected)
                    : Map.of("system", system, "prompt", prompt, "chosen", chosen, "rejected", rejected);
            lines.add(Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(row));
        }
        Path file = dir.resolve(rewardFormat ? "rm.jsonl" : "pairs.jsonl");
        Files.write(file, lines);
        return file;
    }

    private Path config(String name, Path base, Path data, String type, int accumulation, String strategy)
            throws IOException {
        Path yaml = dir.resolve(name + ".yaml");
        Files.writeString(yaml, """
                base_model: %s
                datasets:
                  - path: %s
                    type: %s
                sequence_len: 64
                micro_batch_size: 1
                gradient_accumulation_steps: %d
                max_steps: 4
                learning_rate: 5.0e-3
                lr_scheduler: constant
                optimizer: adamw
                output_dir: %s
                strategy: %s
                dist_timeout_seconds: 60
                val_set_size: 0.25
                """.formatted(base, data, type, accumulation, dir.resolve(name), strategy));
        return yaml;
    }

    private List<Double> losses(String name) throws IOException {
        List<Double> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = Json.MAPPER.readTree(line);
            out.add(n.path("loss").asDouble());
        }
        return out;
    }

    @ParameterizedTest(name = "{0} with {1}")
    @CsvSource({"dpo, zero2", "orpo, ddp", "rm, zero3"})
    void twoRanksTrainAsOneProcess(String stage, String strategy) throws Exception {
        Path base = dir.resolve("base");
        TrainingCommandsTest.initTinyBase(base);
        boolean rm = stage.equals("rm");
        Path data = pairs(rm);
        String type = rm ? "rm" : "pairs";
        TrainingCommandsTest.Outcome single = TrainingCommandsTest.janus(stage,
                config("single", base, data, type, 2, "local").toString());
        assertEquals(0, single.code(), single.err());
        RunConfig two = RunConfig.read(config("two", base, data, type, 1, strategy));
        TrainingRun.Stage s = TrainingRun.Stage.valueOf(stage.toUpperCase(java.util.Locale.ROOT));
        ThreadRanks.run(2, dir.resolve("store"), Duration.ofSeconds(60), c -> TrainingRun.run(two, null, s,
                new PrintStream(OutputStream.nullOutputStream()), Progress.silent(), c));
        List<Double> a = losses("single"), b = losses("two");
        assertEquals(4, b.size());
        for (int i = 0; i < 4; i++) {
            assertEquals(a.get(i), b.get(i), 1e-6 * Math.abs(a.get(i)), stage + " loss of step " + (i + 1));
        }
        if (stage.equals("dpo")) {
            assertEquals(Math.log(2), b.get(0), 1e-6, "policy == reference at step 0 on every rank");
        }
        Path x = dir.resolve("single/final"), y = dir.resolve("two/final");
        if (rm) {
            try (RewardModel.Loaded p = RewardModel.load(x); RewardModel.Loaded q = RewardModel.load(y)) {
                assertTrue(relative(p.parameters(), q.parameters()) < 1e-6);
                // the held-out rewards' mean is a difference of nearly equal rewards; Adam's first update is lr·sign(g),
                // so a gradient element a rounding error from 0 moves by ±lr either way: measured 7e-5 and 7e-6 apart
                assertEquals(p.normalization().mean(), q.normalization().mean(), 1e-3 * Math.abs(p.normalization().mean()));
                assertEquals(p.normalization().std(), q.normalization().std(), 1e-4 * p.normalization().std());
            }
        } else {
            try (var p = ai.janus.model.HfCheckpoint.load(x); var q = ai.janus.model.HfCheckpoint.load(y)) {
                assertTrue(relative(p.parameters(), q.parameters()) < 1e-6);
            }
        }
    }

    static double relative(ParameterSet p, ParameterSet q) {
        float[] a = p.flat().toFloatArray(), b = q.flat().toFloatArray();
        double diff = 0, norm = 0;
        for (int i = 0; i < a.length; i++) {
            diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
            norm += (double) a[i] * a[i];
        }
        return Math.sqrt(diff / norm);
    }
}
