package ai.janus.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.model.MistralConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reduced pipeline ({@link DemoSettings#REDUCED}, a few seconds): every stage leaves its
 * artefacts, SFT beats the random base, and the report is one self-contained file. The full
 * demo's claims are measured by {@code janus demo} itself (README, BENCHMARKS.md), not here.
 */
class DemoPipelineTest {
    @TempDir
    static Path dir;
    static DemoPipeline.Result result;
    static String console;

    @BeforeAll
    static void runReducedPipeline() throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        result = DemoPipeline.run(DemoSettings.REDUCED, dir.resolve("demo"), new PrintStream(log, true,
                StandardCharsets.UTF_8), false);
        console = log.toString(StandardCharsets.UTF_8);
    }

    @Test
    void everyStageProducedItsArtefacts() {
        Path out = dir.resolve("demo");
        for (String file : List.of("tokenizer.model", "data/sft.jsonl", "data/pairs.jsonl", "data/rm.jsonl",
                "data/heldout.jsonl", "base/config.json", "base/model.safetensors", "configs/sft.yaml",
                "configs/dpo.yaml", "configs/orpo.yaml", "configs/rm.yaml", "results.md", "report.html")) {
            assertTrue(Files.isRegularFile(out.resolve(file)), file);
        }
        for (String stage : List.of("sft", "dpo", "orpo", "rm")) {
            assertTrue(Files.isRegularFile(out.resolve(stage + "/final/config.json")), stage);
            assertTrue(Files.isRegularFile(out.resolve(stage + "/final/model.safetensors")), stage);
            assertTrue(Files.isRegularFile(out.resolve(stage + "/metrics.jsonl")), stage);
            assertTrue(Files.isRegularFile(out.resolve("logs/" + stage + ".log")), stage);
        }
        assertEquals(List.of("sft", "dpo", "orpo", "rm"), result.stages().stream().map(DemoPipeline.StageRun::name).toList());
        for (DemoPipeline.StageRun s : result.stages()) {
            DemoSettings.Stage planned = switch (s.name()) {
                case "sft" -> DemoSettings.REDUCED.sft();
                case "dpo" -> DemoSettings.REDUCED.dpo();
                case "orpo" -> DemoSettings.REDUCED.orpo();
                default -> DemoSettings.REDUCED.rm();
            };
            assertEquals(planned.steps(), s.history().size(), s.name());
        }
        assertEquals(List.of("base", "sft", "sft-no-system", "dpo", "orpo", "best-of-n"),
                List.copyOf(result.evaluations().keySet()));
        int tasks = DemoSettings.REDUCED.heldOutInstructions() * TaskGenerator.SYSTEMS_PER_INSTRUCTION;
        for (String key : result.evaluations().keySet()) {
            Path eval = out.resolve("eval/" + key + ".jsonl");
            assertTrue(Files.isRegularFile(eval), key);
            assertEquals(tasks, lines(eval), key);
        }
        assertTrue(result.rewardAccuracy() >= 0 && result.rewardAccuracy() <= 1, "rm accuracy " + result.rewardAccuracy());
        assertTrue(console.contains("eval:"), console);
    }

    @Test
    void sftBeatsTheRandomBase() {
        double base = result.evaluations().get("base").overall(), sft = result.evaluations().get("sft").overall();
        assertTrue(sft > base + 0.25, "SFT " + sft + " vs base " + base + "\n" + result.table());
    }

    @Test
    void tableAndSelfContainedReport() throws IOException {
        String md = Files.readString(result.markdown());
        assertTrue(md.contains(result.table()), md);
        assertEquals(2 + 6, result.table().strip().lines().count(), result.table());
        String html = Files.readString(result.report());
        // charts: loss, lr and grad norm of every stage, the DPO margin and the RM accuracy
        assertTrue(html.split("<svg", -1).length - 1 >= 4 * 3 + 2, "svg charts");
        for (String title : List.of("sft loss", "dpo reward margin", "rm accuracy", "learning rate", "grad norm")) {
            assertTrue(html.contains(title), title);
        }
        // self-contained: nothing fetched (the SVG namespace is a name, not a request)
        assertFalse(html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "").matches("(?s).*(src=|href=|url\\(|https?:).*"),
                "the report refers to an external resource");
    }

    @Test
    void anotherDirectoryIsNeverCleared(@TempDir Path other) throws IOException {
        Files.writeString(other.resolve("notes.txt"), "mine");
        assertThrows(ai.janus.io.InvalidFileException.class, () -> DemoPipeline.prepare(other));
        assertTrue(Files.exists(other.resolve("notes.txt")));
        DemoPipeline.prepare(dir.resolve("fresh"));   // a new directory is fine
        assertEquals(Set.of(DemoPipeline.MARKER), names(dir.resolve("fresh")));
    }

    @Test
    void shippedRunConfigsAreTheOnesTheDemoWrites() throws IOException {
        Path examples = Path.of("..", "examples", "demo");
        Path runs = Path.of("runs", "demo");
        assertEquals(StageConfigs.sft(DemoSettings.FULL, runs), Files.readString(examples.resolve("sft.yaml")));
        assertEquals(StageConfigs.dpo(DemoSettings.FULL, runs), Files.readString(examples.resolve("dpo.yaml")));
        assertEquals(StageConfigs.orpo(DemoSettings.FULL, runs), Files.readString(examples.resolve("orpo.yaml")));
        assertEquals(StageConfigs.rm(DemoSettings.FULL, runs), Files.readString(examples.resolve("rm.yaml")));
        // the tiny Mistral's config.json, as the full demo writes it to runs/demo/base (stored as float32)
        Map<String, Object> shipped = new TreeMap<>(MistralConfig.read(examples.resolve("config.json")).toJson());
        Map<String, Object> full = new TreeMap<>(DemoSettings.FULL.model().config(1024).toJson());
        full.put("torch_dtype", "float32");
        assertEquals(full, shipped);
    }

    @Test
    void anRpoWeightGoesIntoTheDpoConfig() throws Exception {
        DemoSettings f = DemoSettings.FULL;
        DemoSettings rpo = new DemoSettings(f.seed(), f.trainInstructions(), f.heldOutInstructions(), f.model(), f.sft(),
                f.dpo(), f.orpo(), f.rm(), f.dpoBeta(), 0.5, f.orpoAlpha(), f.bestOfN(), f.bestOfNTemperature(),
                f.maxNewTokens());
        String yaml = StageConfigs.dpo(rpo, Path.of("runs", "demo"));
        assertEquals(0.5, ai.janus.train.config.RunConfig.parse(Path.of("dpo.yaml"), yaml).rpoAlpha());
        assertFalse(StageConfigs.dpo(f, Path.of("runs", "demo")).contains("rpo_alpha"), "plain DPO writes no rpo_alpha");
        assertThrows(IllegalArgumentException.class, () -> new DemoSettings(f.seed(), f.trainInstructions(),
                f.heldOutInstructions(), f.model(), f.sft(), f.dpo(), f.orpo(), f.rm(), f.dpoBeta(), -1, f.orpoAlpha(),
                f.bestOfN(), f.bestOfNTemperature(), f.maxNewTokens()));
    }

    private static long lines(Path p) {
        try {
            return Files.readAllLines(p).size();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Set<String> names(Path d) throws IOException {
        try (var s = Files.list(d)) {
            return Set.copyOf(s.map(p -> p.getFileName().toString()).toList());
        }
    }
}
