package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.data.TestData;
import ai.janus.model.HfCheckpoint;
import ai.janus.train.checkpoint.CheckpointStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a real `janus sft` process (saving a checkpoint every step) at 20 random moments and
 * resumes it each time: after every kill the newest valid checkpoint loads, is never older than
 * the one before, and the run finally ends with exactly the weights of an uninterrupted run.
 */
class KillDuringTrainingTest {
    @TempDir
    Path dir;

    private Process start(Path yaml, boolean resume, Path log) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                Janus.class.getName(), "sft", yaml.toString()));
        if (resume) {
            cmd.add("--resume");
        }
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private Path config(Path base, Path data, Path out) throws Exception {
        Path yaml = dir.resolve(out.getFileName() + ".yaml");
        Files.writeString(yaml, """
                base_model: %s
                datasets:
                  - path: %s
                    type: sft
                sequence_len: 64
                sample_packing: true
                max_steps: 40
                learning_rate: 1.0e-2
                warmup_steps: 2
                optimizer: adamw_8bit
                save_steps: 1
                save_total_limit: 2
                output_dir: %s
                """.formatted(base, data, out));
        return yaml;
    }

    @Test
    void killedAndResumedTwentyTimesEndsWhereAnUninterruptedRunEnds() throws Exception {
        Path base = dir.resolve("base"), data = dir.resolve("sft.jsonl");
        assertEquals(0, TrainingCommandsTest.janus("init", "--out", base.toString(), "--tokenizer",
                TestData.mistralTokenizer().toString(), "--hidden", "64", "--layers", "2", "--heads", "4",
                "--kv-heads", "2", "--ffn", "128").code());
        TrainingCommandsTest.writeSftData(data);

        Path straight = dir.resolve("straight");
        Process p = start(config(base, data, straight), false, dir.resolve("straight.log"));
        assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, Files.readString(dir.resolve("straight.log")));

        Path killed = dir.resolve("killed");
        Path yaml = config(base, data, killed);
        CheckpointStore store = new CheckpointStore(killed.resolve("checkpoints"), 2);
        Random random = new Random(8);
        long lastStep = 0;
        int kills = 0, inSave = 0;
        while (kills < 20) {
            boolean resume = store.latest().isPresent();
            Path log = dir.resolve("killed-" + kills + ".log");
            Process run = start(yaml, resume, log);
            // Let it reach training (a progress line), then kill it a random moment later: with a
            // save after every step, most kills land in or near a checkpoint save.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (run.isAlive() && Files.readAllLines(log).stream().noneMatch(l -> l.matches("step \\d+/\\d+.*"))
                    && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            if (run.waitFor(random.nextInt(200), TimeUnit.MILLISECONDS)) {
                assertEquals(0, run.exitValue(), Files.readString(log));
                break; // it finished before the kill
            }
            run.destroyForcibly();
            assertTrue(run.waitFor(10, TimeUnit.SECONDS));
            kills++;
            try (var files = Files.list(killed.resolve("checkpoints"))) {
                inSave += files.anyMatch(f -> f.getFileName().toString().endsWith(".tmp")) ? 1 : 0;
            }
            Optional<CheckpointStore.Checkpoint> latest = store.latest();
            if (latest.isPresent()) {
                assertTrue(latest.get().step() >= lastStep, "kill " + kills + ": went back from " + lastStep);
                try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(latest.get().directory())) {
                    assertTrue(loaded.parameters().numel() > 0);
                }
                lastStep = latest.get().step();
            }
        }
        Process last = start(yaml, store.latest().isPresent(), dir.resolve("killed-last.log"));
        assertTrue(last.waitFor(120, TimeUnit.SECONDS) && last.exitValue() == 0, Files.readString(dir.resolve("killed-last.log")));
        System.out.printf("kill during training: %d kills (%d inside a checkpoint save), last checkpoint before the"
                + " final run at step %d%n", kills, inSave, lastStep);
        assertTrue(kills >= 20, "only " + kills + " kills landed before the run finished");
        assertEquals(sha256(straight.resolve("final/model.safetensors")), sha256(killed.resolve("final/model.safetensors")),
                "the resumed run ends with the uninterrupted run's weights");
        assertEquals(40, Files.readAllLines(killed.resolve("metrics.jsonl")).size(), "one metrics line per step");
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
