package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.data.TestData;
import ai.janus.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** init → sft (loss goes down, checkpoints, final HF export) → generate, through the command line. */
class TrainingCommandsTest {
    @TempDir
    Path dir;

    record Outcome(int code, String out, String err) {}

    static Outcome janus(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Janus.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * {@code janus init} of the tiny model the command tests train (hidden 32, 2 layers, 4 heads /
     * 2 kv heads, ffn 64, seed 5, the Mistral tokenizer) into {@code base}; returns {@code base}.
     */
    static Path initTinyBase(Path base) {
        Outcome init = janus("init", "--out", base.toString(), "--tokenizer", TestData.mistralTokenizer().toString(),
                "--hidden", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "64", "--seed", "5");
        assertEquals(0, init.code(), init.err());
        return base;
    }

    static void writeSftData(Path file) throws IOException {
        String[] systems = {"Answer in one short sentence.", "Answer formally.", ""};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            lines.add(Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(java.util.Map.of("system", systems[i % 3], "prompt", "What is " + i + " plus 1?",
                            "output", "It is " + (i + 1) + ".")));
        }
        Files.write(file, lines);
    }

    @Test
    void initSftAndGenerate() throws IOException {
        Path base = dir.resolve("base"), data = dir.resolve("sft.jsonl"), run = dir.resolve("run");
        Outcome init = janus("init", "--out", base.toString(), "--tokenizer", TestData.mistralTokenizer().toString(),
                "--hidden", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "64", "--seed", "3");
        assertEquals(0, init.code(), init.err());
        for (String f : new String[] {"config.json", "model.safetensors", "generation_config.json", "tokenizer.model"}) {
            assertTrue(Files.exists(base.resolve(f)), f);
        }
        writeSftData(data);
        Path yaml = dir.resolve("sft.yaml");
        Files.writeString(yaml, """
                base_model: %s
                datasets:
                  - path: %s
                    type: sft
                sequence_len: 64
                sample_packing: true
                micro_batch_size: 1
                gradient_accumulation_steps: 1
                max_steps: 24
                learning_rate: 1.0e-2
                warmup_steps: 1
                optimizer: adamw
                save_steps: 12
                save_total_limit: 1
                output_dir: %s
                """.formatted(base, data, run));
        Outcome sft = janus("sft", yaml.toString());
        assertEquals(0, sft.code(), sft.err());
        assertTrue(sft.err().contains("resolved run config"), sft.err());
        List<JsonNode> metrics = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            metrics.add(Json.MAPPER.readTree(line));
        }
        assertEquals(24, metrics.size());
        double first = metrics.get(0).path("loss").asDouble(), last = metrics.get(23).path("loss").asDouble();
        assertTrue(last < first - 1.0, "the SFT loss goes down: " + first + " → " + last);
        assertTrue(Files.exists(run.resolve("checkpoints/step-24/manifest.json")));
        assertTrue(!Files.exists(run.resolve("checkpoints/step-12")), "save_total_limit 1 rotated step 12 away");
        assertTrue(Files.exists(run.resolve("final/tokenizer.model")));
        assertTrue(Files.exists(run.resolve("run_config.yaml")));

        Path prompts = dir.resolve("prompts.jsonl"), answers = dir.resolve("answers.jsonl");
        Files.writeString(prompts, "{\"system\": \"Answer formally.\", \"prompt\": \"What is 3 plus 1?\", \"id\": 7}\n"
                + "{\"prompt\": \"What is 5 plus 1?\"}\n");
        Outcome gen = janus("generate", "--model", run.resolve("final").toString(), "--prompts", prompts.toString(),
                "--out", answers.toString(), "--max-new-tokens", "8", "--temperature", "0", "--batch", "1");
        assertEquals(0, gen.code(), gen.err());
        List<String> rows = Files.readAllLines(answers);
        assertEquals(2, rows.size());
        JsonNode row = Json.MAPPER.readTree(rows.get(0));
        assertEquals(7, row.path("id").asInt(), "other fields are kept");
        assertTrue(row.has("response") && row.path("new_tokens").asInt() <= 8);
        // --batch does not change greedy answers (nor seeded samples: per-row streams)
        Path answers2 = dir.resolve("answers2.jsonl");
        assertEquals(0, janus("generate", "--model", run.resolve("final").toString(), "--prompts", prompts.toString(),
                "--out", answers2.toString(), "--max-new-tokens", "8", "--temperature", "0", "--batch", "2").code());
        assertEquals(rows, Files.readAllLines(answers2));
    }

    @Test
    void badConfigsAreOneLineErrors() throws IOException {
        Path yaml = dir.resolve("bad.yaml");
        Files.writeString(yaml, "base_model: x\nlearning_rat: 1\n");
        Outcome o = janus("sft", yaml.toString());
        assertEquals(1, o.code());
        assertEquals(1, o.err().strip().lines().count(), o.err());
        assertTrue(o.err().contains("bad.yaml: line 2: unknown key 'learning_rat'"), o.err());
    }
}
