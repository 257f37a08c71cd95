package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.ChatTemplate;
import ai.janus.data.TemplatedSequence;
import ai.janus.data.TestData;
import ai.janus.io.Json;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import ai.janus.model.RewardModel;
import ai.janus.model.RewardNormalization;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreAndBestOfNTest {
    @TempDir
    Path dir;

    private Path tinyModel() {
        Path base = dir.resolve("base");
        assertEquals(0, TrainingCommandsTest.janus("init", "--out", base.toString(), "--tokenizer",
                TestData.mistralTokenizer().toString(), "--hidden", "32", "--layers", "1", "--heads", "4", "--kv-heads",
                "2", "--ffn", "64").code());
        return base;
    }

    @Test
    void scoreWritesEachRowsLogProbsAsTheModelComputesThem() throws IOException {
        Path base = tinyModel(), data = dir.resolve("sft.jsonl"), out = dir.resolve("scores.jsonl");
        TrainingCommandsTest.writeSftData(data);
        TrainingCommandsTest.Outcome o = TrainingCommandsTest.janus("score", "--model", base.toString(), "--data",
                data.toString(), "--out", out.toString(), "--batch", "5");
        assertEquals(0, o.code(), o.err());
        List<String> rows = Files.readAllLines(out);
        assertEquals(12, rows.size());
        // Row 1, recomputed here from the model's token log-probs over the templated row.
        JsonNode first = Json.MAPPER.readTree(rows.get(0));
        try (ai.janus.data.tokenizer.SentencePieceTokenizer t = ai.janus.data.tokenizer.SentencePieceTokenizer.load(
                base.resolve("tokenizer.model")); HfCheckpoint.Loaded m = HfCheckpoint.load(base);
             CpuBackend cpu = new CpuBackend()) {
            TemplatedSequence s = new ChatTemplate(t).training("Answer in one short sentence.", "What is 0 plus 1?", "It is 1.");
            try (Tensor logp = new Mistral(m.config(), m.weights(), cpu).tokenLogProbs(TokenBatch.of(s.ids()),
                    s.shiftedLabels())) {
                double sum = 0;
                for (float v : logp.toFloatArray()) {
                    sum += v;
                }
                assertEquals(s.supervisedTokens(), first.path("tokens").asInt());
                assertEquals(sum, first.path("sum_logprob").asDouble(), 1e-4 * Math.abs(sum));
                assertEquals(sum / s.supervisedTokens(), first.path("mean_logprob").asDouble(), 1e-4 * Math.abs(sum));
            }
        }
    }

    @Test
    void bestOfNReturnsTheArgmaxOfNormalisedRewardsWithAllScores() throws IOException {
        Path base = tinyModel(), rmDir = dir.resolve("rm");
        try (HfCheckpoint.Loaded lm = HfCheckpoint.load(base)) {
            var rm = RewardModel.fromCausalLm(lm.config(), lm.parameters(), 9);
            RewardModel.save(rmDir, lm.config(), rm, new RewardNormalization(0.5, 2.0), DType.F32);
            rm.close();
        }
        Path prompts = dir.resolve("p.jsonl"), out = dir.resolve("best.jsonl");
        Files.writeString(prompts, "{\"system\": \"Be brief.\", \"prompt\": \"Say hi.\"}\n{\"prompt\": \"Count.\"}\n");
        TrainingCommandsTest.Outcome o = TrainingCommandsTest.janus("best-of-n", "--model", base.toString(),
                "--reward-model", rmDir.toString(), "--tokenizer", base.resolve("tokenizer.model").toString(),
                "--prompts", prompts.toString(), "--out", out.toString(), "--n", "4", "--max-new-tokens", "6",
                "--seed", "3");
        assertEquals(0, o.code(), o.err());
        for (String line : Files.readAllLines(out)) {
            JsonNode row = Json.MAPPER.readTree(line);
            JsonNode samples = row.path("samples");
            assertEquals(4, samples.size());
            int best = 0;
            for (int j = 0; j < 4; j++) {
                double reward = samples.get(j).path("reward").asDouble(), score = samples.get(j).path("score").asDouble();
                assertEquals((reward - 0.5) / 2.0, score, 1e-12, "score = (r - mean) / std");
                if (score > samples.get(best).path("score").asDouble()) {
                    best = j;
                }
            }
            assertEquals(best, row.path("best").asInt(), "the argmax, first wins ties");
            assertEquals(samples.get(best).path("response").asText(), row.path("response").asText());
        }
    }
}
