package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.dist.ThreadRanks;
import ai.janus.io.Json;
import ai.janus.train.Progress;
import ai.janus.train.TrainingRun;
import ai.janus.train.checkpoint.CheckpointStore;
import ai.janus.train.config.RunConfig;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Output directories are janus's own (docs/spec/reliability.md, "Checkpoint, resume"): one run
 * at a time (an OS lock), never a foreign directory, a refused run changes nothing, planted
 * symbolic links are never followed, and faults (a torn metrics line, a failed write, a damaged
 * checkpoint) are one line naming the file.
 */
class OutputDirectoryTest {
    /** ai.janus.train.OutputDirectory's file names (spelled out, so this test also runs on code without it). */
    static final String MARKER = ".janus-run", LOCK = ".janus-lock";

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

    private Path config(String name, Path out, int steps, int saveSteps, String extra) throws IOException {
        Path yaml = dir.resolve(name + ".yaml");
        Files.writeString(yaml, """
                base_model: %s
                datasets:
                  - path: %s
                    type: sft
                sequence_len: 64
                micro_batch_size: 1
                max_steps: %d
                learning_rate: 1.0e-2
                warmup_steps: 1
                optimizer: adamw
                save_steps: %d
                save_total_limit: 0
                output_dir: %s
                %s
                """.formatted(base, data, steps, saveSteps, out, extra));
        return yaml;
    }

    private static TrainingCommandsTest.Outcome sft(Path yaml, String... more) {
        List<String> args = new ArrayList<>(List.of("sft", yaml.toString()));
        args.addAll(List.of(more));
        return TrainingCommandsTest.janus(args.toArray(String[]::new));
    }

    /** Every file under {@code root} (links as links) → its SHA-256 (a link: its target's name). */
    private static Map<String, String> hashes(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                String name = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    out.put(name, "-> " + Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(name, sha256(p));
                } else {
                    out.put(name + "/", "");
                }
            }
        }
        return out;
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Refused before anything else: the whole of stderr is one line holding {@code parts}. */
    private static void assertOneLine(TrainingCommandsTest.Outcome o, String... parts) {
        assertEquals(1, o.code(), o.err());
        assertEquals(1, o.err().strip().lines().count(), "one line: " + o.err());
        assertFailsWith(o, parts);
    }

    /** Failed after the run's log began: its last line is the error, holding {@code parts}. */
    private static void assertFailsWith(TrainingCommandsTest.Outcome o, String... parts) {
        assertEquals(1, o.code(), o.err());
        String last = o.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("janus: "), o.err());
        for (String part : parts) {
            assertTrue(last.contains(part), "'" + part + "' in: " + o.err());
        }
    }

    private Process start(Path yaml, Path log) throws IOException {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                Janus.class.getName(), "sft", yaml.toString());
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /**
     * Two `janus sft` processes on one directory: the second refuses at once in one line naming
     * the holder (pid, host, start time), and the survivor's checkpoints are a solo run's bytes.
     * Today both ran, interleaved, and left a checkpoint of one run's weights with the other's
     * optimizer state that verified and resumed.
     */
    @Test
    void aSecondRunOnTheSameDirectoryRefusesAndTheFirstIsUndisturbed() throws Exception {
        int steps = 90, save = 30;
        Path soloLog = dir.resolve("solo.log"), firstLog = dir.resolve("first.log"), secondLog = dir.resolve("second.log");
        Process solo = start(config("solo", dir.resolve("solo"), steps, save, ""), soloLog);
        assertTrue(solo.waitFor(300, TimeUnit.SECONDS) && solo.exitValue() == 0, Files.readString(soloLog));

        Path out = dir.resolve("shared");
        Path yaml = config("shared", out, steps, save, "");
        Process first = start(yaml, firstLog);
        // start the second once the first trains (a progress line)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (first.isAlive() && System.nanoTime() < deadline
                && Files.readAllLines(firstLog).stream().noneMatch(l -> l.matches("step \\d+/\\d+.*"))) {
            Thread.sleep(2);
        }
        assertTrue(first.isAlive(), "the first run is still running: " + Files.readString(firstLog));
        Process second = start(yaml, secondLog);
        assertTrue(second.waitFor(60, TimeUnit.SECONDS), "the second run refuses at once");
        boolean firstStillRunning = first.isAlive();
        String refusal = Files.readString(secondLog).replaceAll("(?m)^WARNING: Using incubator modules.*\n", "");
        assertEquals(1, second.exitValue(), refusal);
        assertEquals(1, refusal.strip().lines().count(), "one line: " + refusal);
        assertTrue(refusal.contains("in use by another janus run (pid " + first.pid() + " on ")
                && refusal.contains(", started "), refusal);
        assertTrue(first.waitFor(300, TimeUnit.SECONDS) && first.exitValue() == 0, Files.readString(firstLog));
        System.out.printf("second run on a locked directory: '%s' (first still running then: %s)%n", refusal.strip(),
                firstStillRunning);

        for (int s = save; s <= steps; s += save) {
            for (String f : new String[] {"model.safetensors", "optimizer.safetensors", "config.json"}) {
                assertEquals(sha256(dir.resolve("solo/checkpoints/step-" + s).resolve(f)),
                        sha256(out.resolve("checkpoints/step-" + s).resolve(f)), "step " + s + " " + f);
            }
        }
        assertEquals(steps, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "one metrics line per step");
        assertEquals(sha256(dir.resolve("solo/final/model.safetensors")), sha256(out.resolve("final/model.safetensors")));
    }

    /**
     * A directory janus did not create is refused before anything is written, fresh or resumed,
     * and `/` with it. Today a run in it deleted checkpoints/photos.tmp/img1.jpg and
     * checkpoints/step-1/weights.bin and exited 0.
     */
    @Test
    void aForeignDirectoryIsRefusedAndNoFileInItChanges() throws IOException {
        Path foreign = dir.resolve("foreign");
        Files.createDirectories(foreign.resolve("checkpoints/photos.tmp"));
        Files.createDirectories(foreign.resolve("checkpoints/step-1"));
        Files.writeString(foreign.resolve("checkpoints/photos.tmp/img1.jpg"), "a photo");
        Files.writeString(foreign.resolve("checkpoints/step-1/weights.bin"), "someone's weights");
        Files.writeString(foreign.resolve("notes.txt"), "mine");
        Files.writeString(foreign.resolve("metrics.jsonl"), "not janus's\n");
        Map<String, String> before = hashes(foreign);
        Path yaml = config("foreign", foreign, 2, 1, "");
        assertOneLine(sft(yaml), foreign.toString(), "not created by janus");
        assertOneLine(sft(yaml, "--resume"), foreign.toString(), "not created by janus");
        assertEquals(before, hashes(foreign), "no file added, changed or removed");

        assertOneLine(sft(config("root", Path.of("/"), 2, 1, "")), "janus: /: not empty and not created by janus");

        Path file = dir.resolve("a-file");
        Files.writeString(file, "x");
        assertOneLine(sft(config("file", file, 2, 1, "")), "exists and is not a directory");

        // an empty directory is janus's to take, and is marked as its own
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Path emptyYaml = config("empty", empty, 2, 1, "");
        TrainingCommandsTest.Outcome ok = sft(emptyYaml);
        assertEquals(0, ok.code(), ok.err());
        assertTrue(Files.exists(empty.resolve(MARKER)));
        // a run from before the marker existed is recognised by its verified janus checkpoint: --resume adopts it
        Files.delete(empty.resolve(MARKER));
        Files.delete(empty.resolve(LOCK));
        Files.writeString(emptyYaml, Files.readString(emptyYaml).replace("max_steps: 2", "max_steps: 3"));
        TrainingCommandsTest.Outcome adopted = sft(emptyYaml, "--resume");
        assertEquals(0, adopted.code(), adopted.err());
        assertTrue(Files.exists(empty.resolve(MARKER)) && Files.exists(empty.resolve("checkpoints/step-3/manifest.json")));
    }

    /**
     * A refused run changes nothing. Today a fresh run pointed at a finished run's directory was
     * refused but had already replaced its run_config.yaml; so had a resume refused for another
     * sequence_len.
     */
    @Test
    void aRefusedRunChangesNothing() throws IOException {
        Path out = dir.resolve("finished");
        TrainingCommandsTest.Outcome done = sft(config("finished", out, 2, 1, ""));
        assertEquals(0, done.code(), done.err());
        Map<String, String> before = hashes(out);
        before.remove(LOCK); // the lock file records its latest holder

        TrainingCommandsTest.Outcome fresh = sft(config("again", out, 3, 1, "seed: 7"));
        assertOneLine(fresh, "step-2", "already holds this checkpoint");
        Map<String, String> after = hashes(out);
        after.remove(LOCK);
        assertEquals(before, after, "the refused fresh run changed the directory");

        Path otherLength = config("other-length", out, 3, 1, "");
        Files.writeString(otherLength, Files.readString(otherLength).replace("sequence_len: 64", "sequence_len: 48"));
        TrainingCommandsTest.Outcome resume = sft(otherLength, "--resume");
        assertEquals(1, resume.code(), resume.err());
        assertTrue(resume.err().contains("another sequence_len"), resume.err());
        after = hashes(out);
        after.remove(LOCK);
        assertEquals(before, after, "the refused resume changed the directory");
    }

    /**
     * Symbolic links planted in a run's directory are never followed. Today a planted
     * run_config.yaml.tmp link made janus overwrite the file outside it points to, and a planted
     * final link received the model.
     */
    @Test
    void plantedLinksAreNeverFollowed() throws IOException {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Path victim = outside.resolve("victim.txt"), victimDir = Files.createDirectories(outside.resolve("elsewhere"));
        Files.writeString(victim, "precious");
        Map<String, String> before = hashes(outside);

        Path out = ownDirectory("links");
        Files.createSymbolicLink(out.resolve("run_config.yaml.tmp"), victim);
        Files.createSymbolicLink(out.resolve("run_config.yaml"), victim);
        Files.createSymbolicLink(out.resolve("metrics.jsonl"), victim);
        Files.createSymbolicLink(out.resolve("metrics.jsonl.tmp"), victim);
        TrainingCommandsTest.Outcome ok = sft(config("links", out, 2, 1, ""));
        assertEquals(0, ok.code(), ok.err());
        assertFalse(Files.isSymbolicLink(out.resolve("run_config.yaml")), "the link was replaced, not followed");
        assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        assertEquals(before, hashes(outside), "a file outside the output directory changed");

        Path finalLink = ownDirectory("final-link");
        Files.createSymbolicLink(finalLink.resolve("final"), victimDir);
        assertOneLine(sft(config("final-link", finalLink, 2, 1, "")), finalLink.resolve("final") + ": is a symbolic link");

        Path checkpointsLink = ownDirectory("checkpoints-link");
        Files.createSymbolicLink(checkpointsLink.resolve("checkpoints"), victimDir);
        assertOneLine(sft(config("checkpoints-link", checkpointsLink, 2, 1, "")), checkpointsLink.resolve("checkpoints")
                + ": is a symbolic link");

        Path tmpLink = ownDirectory("tmp-link");
        Files.createDirectories(tmpLink.resolve("checkpoints"));
        Files.createSymbolicLink(tmpLink.resolve("checkpoints/step-1.tmp"), victimDir);
        assertFailsWith(sft(config("tmp-link", tmpLink, 2, 1, "")), tmpLink.resolve("checkpoints/step-1.tmp")
                + ": is a symbolic link");
        assertEquals(before, hashes(outside), "a file outside the output directory changed");
    }

    /**
     * With several ranks only rank 0 owns (and locks) the directory, the ranks share it; when
     * rank 0 refuses it, every rank stops. Today two ranks trained into a foreign directory.
     */
    @Test
    void rankZeroOwnsTheDirectoryTheRanksShare() throws Exception {
        Path foreign = Files.createDirectories(dir.resolve("foreign-ranks"));
        Files.writeString(foreign.resolve("notes.txt"), "mine");
        Map<String, String> before = hashes(foreign);
        List<String> refused = twoRanks(config("foreign-ranks", foreign, 2, 1, "strategy: ddp"));
        assertTrue(refused.get(0).contains(foreign + ": not empty and not created by janus"), refused.toString());
        assertTrue(refused.get(1).contains(foreign + ": rank 0 refused this output directory"), refused.toString());
        assertEquals(before, hashes(foreign));

        Path shared = dir.resolve("shared-ranks");
        assertEquals(List.of("trained", "trained"), twoRanks(config("shared-ranks", shared, 2, 1, "strategy: ddp")),
                "one lock, on rank 0: the ranks of one job share the directory");
        assertTrue(Files.exists(shared.resolve("checkpoints/step-2/manifest.json")));
    }

    /** Runs {@code yaml} on two ranks (threads); each rank's outcome: "trained" or its error. */
    private List<String> twoRanks(Path yaml) throws Exception {
        RunConfig config = RunConfig.read(yaml);
        return ThreadRanks.run(2, dir.resolve(yaml.getFileName() + ".store"), Duration.ofSeconds(60), c -> {
            try {
                TrainingRun.run(config, null, TrainingRun.Stage.SFT, new PrintStream(OutputStream.nullOutputStream()),
                        Progress.silent(), c);
                return "trained";
            } catch (IOException e) {
                return e.getMessage();
            }
        });
    }

    /** An empty directory marked as janus's, as a run killed before its first step leaves it. */
    private Path ownDirectory(String name) throws IOException {
        Path out = Files.createDirectories(dir.resolve(name));
        Files.writeString(out.resolve(MARKER), "janus\n");
        return out;
    }

    /**
     * A metrics.jsonl whose last line is torn (a full disk or a kill in the middle of an append)
     * blocks neither --resume nor a fresh start; a resume keeps the records up to its checkpoint,
     * so no step is in the file twice. Today both failed with "Unexpected end-of-input", naming no
     * file.
     */
    @Test
    void aTornMetricsLineBlocksNeitherResumeNorAFreshStart() throws IOException {
        Path straight = dir.resolve("straight");
        assertEquals(0, sft(config("straight", straight, 4, 2, "")).code());

        Path out = dir.resolve("torn");
        Path yaml = config("torn", out, 4, 2, "");
        assertEquals(0, sft(yaml).code());
        // as if killed while appending step 4's line after saving step 2's checkpoint and step 3's line
        deleteTree(out.resolve("checkpoints/step-4"));
        Files.writeString(out.resolve("checkpoints/latest"), "step-2\n");
        deleteTree(out.resolve("final"));
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        Files.writeString(out.resolve("metrics.jsonl"), lines.get(0) + "\n" + lines.get(1) + "\n" + lines.get(2) + "\n"
                + lines.get(3).substring(0, lines.get(3).length() / 2));
        TrainingCommandsTest.Outcome resumed = sft(yaml, "--resume");
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(Files.readAllLines(straight.resolve("metrics.jsonl")).stream().map(OutputDirectoryTest::loss)
                .toList(), Files.readAllLines(out.resolve("metrics.jsonl")).stream().map(OutputDirectoryTest::loss)
                .toList(), "steps 1..4, once each, as the straight run's");

        Path fresh = ownDirectory("fresh");
        Files.writeString(fresh.resolve("metrics.jsonl"), lines.get(0) + "\n" + lines.get(1).substring(0, 20));
        TrainingCommandsTest.Outcome started = sft(config("fresh", fresh, 2, 2, ""));
        assertEquals(0, started.code(), started.err());
        assertEquals(2, Files.readAllLines(fresh.resolve("metrics.jsonl")).size());
    }

    private static String loss(String line) {
        try {
            JsonNode n = Json.MAPPER.readTree(line);
            return n.path("step").asLong() + ":" + n.path("loss").asDouble();
        } catch (IOException e) {
            throw new AssertionError("not a metrics record: " + line, e);
        }
    }

    /**
     * A write that fails (here a directory where janus writes checkpoints/latest; a full disk,
     * ENOSPC, takes the same path) is one line naming the file and the step, and the previous
     * checkpoint stays valid. Today `latest` being a directory failed the resume with "Is a
     * directory" naming no step.
     */
    @Test
    void aFailedWriteNamesTheFileAndTheStepAndKeepsThePreviousCheckpoint() throws IOException {
        Path out = dir.resolve("failing");
        Path yaml = config("failing", out, 4, 1, "");
        assertEquals(0, sft(yaml).code());
        deleteTree(out.resolve("checkpoints/step-3"));
        deleteTree(out.resolve("checkpoints/step-4"));
        Files.delete(out.resolve("checkpoints/latest"));
        Files.createDirectories(out.resolve("checkpoints/latest/in-the-way"));
        TrainingCommandsTest.Outcome failed = sft(yaml, "--resume");
        assertEquals(1, failed.code(), failed.err());
        String last = failed.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("janus: " + out.resolve("checkpoints/latest") + ": cannot write: ")
                && last.endsWith("(saving the checkpoint of step 3)"), failed.err());
        assertEquals(2, CheckpointStore.verify(out.resolve("checkpoints/step-2")).step(), "the previous checkpoint");

        // the metrics file: a directory in its place fails the first append, naming it and the step
        Path metrics = ownDirectory("metrics-dir");
        Files.createDirectories(metrics.resolve("metrics.jsonl/in-the-way"));
        TrainingCommandsTest.Outcome noMetrics = sft(config("metrics-dir", metrics, 2, 1, ""));
        assertEquals(1, noMetrics.code(), noMetrics.err());
        assertTrue(noMetrics.err().strip().lines().reduce((a, b) -> b).orElse("").startsWith("janus: "
                + metrics.resolve("metrics.jsonl") + ": cannot write: "), noMetrics.err());
    }

    /**
     * --resume says which newer checkpoint it skips and why; with none valid, the refusal lists
     * each checkpoint and its reason. Today a damaged newer checkpoint was skipped silently and
     * the refusal said only "no valid checkpoint to resume from".
     */
    @Test
    void resumeSaysWhichCheckpointsItSkipsAndWhy() throws IOException {
        Path out = dir.resolve("damaged");
        Path yaml = config("damaged", out, 4, 2, "");
        assertEquals(0, sft(yaml).code());
        flipAByte(out.resolve("checkpoints/step-4/model.safetensors"));
        TrainingCommandsTest.Outcome resumed = sft(yaml, "--resume");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("janus: skipping checkpoint " + out.resolve("checkpoints/step-4")
                + ", which fails verification: " + out.resolve("checkpoints/step-4/model.safetensors")
                + ": SHA-256 differs from the manifest"), resumed.err());
        assertTrue(resumed.err().contains("resumed from " + out.resolve("checkpoints/step-2")), resumed.err());

        flipAByte(out.resolve("checkpoints/step-4/optimizer.safetensors"));
        Files.delete(out.resolve("checkpoints/step-2/manifest.json"));
        TrainingCommandsTest.Outcome none = sft(yaml, "--resume");
        assertFailsWith(none, "no valid checkpoint to resume from: step-4 rejected, "
                + out.resolve("checkpoints/step-4/optimizer.safetensors") + ": SHA-256 differs from the manifest; "
                + "step-2 rejected, " + out.resolve("checkpoints/step-2/manifest.json") + ": file not found");
    }

    private static void flipAByte(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1;
        Files.write(file, bytes);
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
