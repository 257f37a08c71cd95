package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.io.Json;
import ai.janus.model.HfCheckpoint;
import ai.janus.train.checkpoint.CheckpointStore;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two `janus sft` JVMs started with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
 * MASTER_ADDR=127.0.0.1, MASTER_PORT) meet in rank 0's loopback TCPStore and train together over
 * Gloo: their metrics and final model agree with one process training on the same global batch.
 * Then one of them is killed (or frozen) mid-run: the other exits within dist_timeout_seconds with
 * an error naming the rank (and no C++ stack trace before it), and the newest checkpoint left
 * behind verifies and loads.
 */
class MultiProcessTrainingTest {
    static final int TIMEOUT_SECONDS = 20;

    @TempDir
    Path dir;

    Path base;
    Path data;

    @BeforeEach
    void baseModelAndData() throws IOException {
        base = dir.resolve("base");
        data = dir.resolve("sft.jsonl");
        TrainingCommandsTest.initTinyBase(base);
        TrainingCommandsTest.writeSftData(data);
    }

    private Path config(String name, String strategy, int accumulation, int steps, int saveSteps) throws IOException {
        Path yaml = dir.resolve(name + ".yaml");
        Files.writeString(yaml, """
                base_model: %s
                datasets:
                  - path: %s
                    type: sft
                sequence_len: 64
                micro_batch_size: 1
                gradient_accumulation_steps: %d
                max_steps: %d
                learning_rate: 1.0e-2
                warmup_steps: 1
                optimizer: adamw
                save_steps: %d
                save_total_limit: 2
                output_dir: %s
                strategy: %s
                dist_timeout_seconds: %d
                """.formatted(base, data, accumulation, steps, saveSteps, dir.resolve(name), strategy, TIMEOUT_SECONDS));
        return yaml;
    }

    /** Starts rank {@code rank} of 2 as torchrun would, logging to NAME-rankR.log. */
    private Process rank(Path yaml, int rank, int port) throws IOException {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                Janus.class.getName(), "sft", yaml.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(log(yaml, rank).toFile());
        pb.environment().putAll(Map.of("RANK", Integer.toString(rank), "WORLD_SIZE", "2", "LOCAL_RANK",
                Integer.toString(rank), "LOCAL_WORLD_SIZE", "2", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT",
                Integer.toString(port), "TORCHELASTIC_RUN_ID", "janus-test"));
        return pb.start();
    }

    private Path log(Path yaml, int rank) {
        return dir.resolve(yaml.getFileName().toString().replace(".yaml", "") + "-rank" + rank + ".log");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static List<Double> losses(Path metrics) throws IOException {
        List<Double> out = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = Json.MAPPER.readTree(line);
            out.add(n.path("loss").asDouble());
        }
        return out;
    }

    @Test
    void twoProcessesTrainAsOneAndAgreeWithIt() throws Exception {
        TrainingCommandsTest.Outcome single = TrainingCommandsTest.janus("sft", config("single", "local", 2, 6, 3)
                .toString());
        assertEquals(0, single.code(), single.err());
        for (String strategy : new String[] {"ddp", "zero3"}) {
            Path yaml = config(strategy, strategy, 1, 6, 3);
            int port = freePort();
            Process r0 = rank(yaml, 0, port), r1 = rank(yaml, 1, port);
            assertTrue(r0.waitFor(180, TimeUnit.SECONDS), "rank 0 finishes");
            assertTrue(r1.waitFor(60, TimeUnit.SECONDS), "rank 1 finishes");
            assertEquals(0, r0.exitValue(), Files.readString(log(yaml, 0)));
            assertEquals(0, r1.exitValue(), Files.readString(log(yaml, 1)));
            List<Double> expected = losses(dir.resolve("single/metrics.jsonl")),
                    actual = losses(dir.resolve(strategy + "/metrics.jsonl"));
            assertEquals(6, actual.size(), "rank 0 writes one metrics line per step");
            for (int s = 0; s < 6; s++) {
                assertEquals(expected.get(s), actual.get(s), 1e-6 * Math.abs(expected.get(s)), strategy + " step " + (s + 1));
            }
            try (HfCheckpoint.Loaded a = HfCheckpoint.load(dir.resolve("single/final"));
                 HfCheckpoint.Loaded b = HfCheckpoint.load(dir.resolve(strategy + "/final"))) {
                float[] x = a.parameters().flat().toFloatArray(), y = b.parameters().flat().toFloatArray();
                double diff = 0, norm = 0;
                for (int i = 0; i < x.length; i++) {
                    diff += ((double) x[i] - y[i]) * ((double) x[i] - y[i]);
                    norm += (double) x[i] * x[i];
                }
                double rel = Math.sqrt(diff / norm);
                System.out.printf("two JVMs, %s: final model relative L2 %.3g against one process%n", strategy, rel);
                assertTrue(rel < 1e-6, strategy + ": the exported model (gathered on rank 0) differs by " + rel);
            }
            assertTrue(Files.readString(log(yaml, 1)).isBlank() || !Files.readString(log(yaml, 1)).contains("step 1/"),
                    "only rank 0 reports progress");
        }
    }

    /**
     * Kills rank 1 (SIGKILL), kills rank 0 (which serves the store), or freezes rank 1 (SIGSTOP, a
     * stall): the surviving rank exits with status 1 within the timeout, naming the rank.
     */
    @Test
    void aRankThatDiesOrStallsStopsTheOtherWithinTheTimeout() throws Exception {
        record Case(String name, int victim, boolean freeze, String expected) {}
        for (Case c : List.of(new Case("kill1", 1, false, "rank 1 stopped"),
                new Case("kill0", 0, false, "rank 0"),
                new Case("freeze1", 1, true, "rank 1 stopped"))) {
            Path yaml = config(c.name(), "zero2", 1, 100_000, 2);
            int port = freePort();
            Process[] ranks = {rank(yaml, 0, port), rank(yaml, 1, port)};
            Path progress = log(yaml, 0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (Files.readAllLines(progress).stream().noneMatch(l -> l.startsWith("step 5/"))) {
                assertTrue(ranks[0].isAlive() && System.nanoTime() < deadline, Files.readString(progress));
                Thread.sleep(20);
            }
            Process victim = ranks[c.victim()], survivor = ranks[1 - c.victim()];
            long start = System.nanoTime();
            if (c.freeze()) {
                new ProcessBuilder("kill", "-STOP", Long.toString(victim.pid())).start().waitFor();
            } else {
                victim.destroyForcibly();
            }
            boolean exited = survivor.waitFor(TIMEOUT_SECONDS + 10, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - start) / 1e9;
            victim.destroyForcibly();
            victim.waitFor(10, TimeUnit.SECONDS);
            String log = Files.readString(log(yaml, 1 - c.victim()));
            assertTrue(exited, c.name() + ": the surviving rank is still running after " + seconds + " s");
            String error = log.lines().filter(l -> l.matches("janus: rank \\d+: .*")).findFirst().orElse(log);
            System.out.printf("%s: rank %d exited after %.1f s: %s%n", c.name(), 1 - c.victim(), seconds, error);
            // before janus's one line: no C++ stack trace from libtorch (c10d's warnings carry one)
            List<String> before = log.lines().takeWhile(l -> !l.matches("janus: rank \\d+: .*")).toList();
            assertTrue(before.stream().noneMatch(l -> l.startsWith("frame #") || l.startsWith("Exception raised from")),
                    c.name() + ": a C++ stack trace before janus's message:\n" + log);
            assertEquals(1, survivor.exitValue(), log);
            assertTrue(error.contains(c.expected()), error);
            assertTrue(seconds < TIMEOUT_SECONDS + 5, c.name() + ": took " + seconds + " s (timeout " + TIMEOUT_SECONDS
                    + " s, plus the JVM's exit)");
            // the newest checkpoint left behind is whole: it verifies and its model and shards load
            Optional<CheckpointStore.Checkpoint> latest = new CheckpointStore(dir.resolve(c.name() + "/checkpoints"), 2)
                    .latest();
            assertTrue(latest.isPresent(), c.name() + ": a checkpoint from before the failure");
            try (HfCheckpoint.Loaded model = HfCheckpoint.load(latest.get().directory())) {
                assertTrue(model.parameters().numel() > 0);
            }
        }
    }
}
