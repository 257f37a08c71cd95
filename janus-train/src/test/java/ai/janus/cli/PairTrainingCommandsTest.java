package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.io.Json;
import ai.janus.model.RewardModel;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** janus dpo, orpo and rm on a tiny model and tiny data: each runs through and its loss goes down. */
class PairTrainingCommandsTest {
    @TempDir
    Path dir;
    Path base;

    @BeforeEach
    void initModel() {
        base = dir.resolve("base");
        TrainingCommandsTest.initTinyBase(base);
    }

    /** Eight preference pairs: the chosen answer follows the system message's style, the rejected one does not. */
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

    private Path config(String name, Path data, String type, String extra) throws IOException {
        Path yaml = dir.resolve(name + ".yaml");
        Files.writeString(yaml, """
                base_model: %s
                datasets:
                  - path: %s
                    type: %s
                sequence_len: 64
                micro_batch_size: 2
                gradient_accumulation_steps: 2
                max_steps: 16
                learning_rate: 5.0e-3
                lr_scheduler: constant
                output_dir: %s
                %s
                """.formatted(base, data, type, dir.resolve(name), extra));
        return yaml;
    }

    private List<JsonNode> metrics(String name) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(name).resolve("metrics.jsonl"))) {
            out.add(Json.MAPPER.readTree(line));
        }
        return out;
    }

    private static double mean(List<JsonNode> m, int from, int to, String key) {
        return m.subList(from, to).stream().mapToDouble(n -> n.path(key).asDouble()).average().orElseThrow();
    }

    @Test
    void dpoStartsAtLn2AndLearnsThePreference() throws IOException {
        TrainingCommandsTest.Outcome o = TrainingCommandsTest.janus("dpo", config("dpo", pairs(false), "pairs",
                "dpo_beta: 0.5").toString());
        assertEquals(0, o.code(), o.err());
        List<JsonNode> m = metrics("dpo");
        assertEquals(Math.log(2), m.get(0).path("loss").asDouble(), 1e-6, "policy == reference at step 0");
        assertTrue(mean(m, 12, 16, "loss") < mean(m, 0, 4, "loss") - 0.05, "the DPO loss goes down");
        assertTrue(m.get(15).path("rewards_margin").asDouble() > 0, "chosen rewards pull ahead");
        assertTrue(Files.exists(dir.resolve("dpo/reference_logprobs.json")));
        // a second run over the same output finds the cache (and refuses the checkpoint without --resume)
        assertEquals(1, TrainingCommandsTest.janus("dpo", dir.resolve("dpo.yaml").toString()).code());
    }

    @Test
    void dpoWithRpoAddsTheChosenNllAndLowersIt() throws IOException {
        TrainingCommandsTest.Outcome o = TrainingCommandsTest.janus("dpo", config("dpo-rpo", pairs(false), "pairs",
                "dpo_beta: 0.5\nrpo_alpha: 1.0").toString());
        assertEquals(0, o.code(), o.err());
        List<JsonNode> m = metrics("dpo-rpo");
        // step 0: DPO's ln 2 plus α times the chosen answers' NLL per token, which the step also logs
        assertEquals(Math.log(2) + m.get(0).path("nll").asDouble(), m.get(0).path("loss").asDouble(), 1e-6);
        assertTrue(mean(m, 12, 16, "nll") < mean(m, 0, 4, "nll") - 0.05, "the chosen answers' NLL goes down");
        assertTrue(m.get(15).path("rewards_margin").asDouble() > 0, "chosen rewards pull ahead");
    }

    @Test
    void orpoLossGoesDown() throws IOException {
        TrainingCommandsTest.Outcome o = TrainingCommandsTest.janus("orpo", config("orpo", pairs(false), "pairs",
                "orpo_alpha: 0.1").toString());
        assertEquals(0, o.code(), o.err());
        List<JsonNode> m = metrics("orpo");
        assertTrue(mean(m, 12, 16, "loss") < mean(m, 0, 4, "loss") - 0.5, "the ORPO loss goes down");
        assertTrue(m.get(0).has("log_odds") && m.get(0).has("nll"));
    }

    @Test
    void rewardModelLearnsAndStoresItsStatistics() throws IOException {
        TrainingCommandsTest.Outcome o = TrainingCommandsTest.janus("rm", config("rm", pairs(true), "rm",
                "val_set_size: 0.25").toString());
        assertEquals(0, o.code(), o.err());
        List<JsonNode> m = metrics("rm");
        assertTrue(mean(m, 12, 16, "loss") < mean(m, 0, 4, "loss") - 0.05, "the Bradley-Terry loss goes down");
        try (RewardModel.Loaded rm = RewardModel.load(dir.resolve("rm/final"))) {
            assertTrue(rm.normalization() != null && rm.normalization().std() > 0, "mean/std stored with the model");
        }
        assertTrue(o.err().contains("held-out pairs"), o.err());
    }
}
