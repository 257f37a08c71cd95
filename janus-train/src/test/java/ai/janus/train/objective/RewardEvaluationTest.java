package ai.janus.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.ChatTemplate;
import ai.janus.data.Datasets;
import ai.janus.data.PairExample;
import ai.janus.data.TestData;
import ai.janus.data.ValidationRules;
import ai.janus.data.Validator;
import ai.janus.data.batch.RewardBatch;
import ai.janus.io.Json;
import ai.janus.model.MistralConfig;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.tensor.DType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Held-out reward statistics: accuracy, mean and sample std over all rewards, stored with the model and read back. */
class RewardEvaluationTest {
    @TempDir
    Path dir;

    @Test
    void heldOutStatisticsAreStoredWithTheModel() throws Exception {
        // an "rm" file: input = system + "\n" + prompt, chosen = the row's output, rejected = the next row's
        List<JsonNode> rows = Fixtures.shortRows();
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            Map<String, Object> pair = new LinkedHashMap<>();
            pair.put("input", rows.get(i).get("system").textValue() + "\n" + rows.get(i).get("prompt").textValue());
            pair.put("chosen", rows.get(i).get("output").textValue());
            pair.put("rejected", rows.get(i + 1).get("output").textValue());
            jsonl.append(Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(pair)).append('\n');
        }
        Path file = dir.resolve("rm-test.jsonl");
        Files.writeString(file, jsonl);
        List<PairExample> pairs = Datasets.rewardPairs(new ChatTemplate(TestData.mistral()),
                new Validator(file, ValidationRules.defaults(512)));
        MistralConfig c = Fixtures.tinyConfig();
        try (CpuBackend cpu = new CpuBackend(); ParameterSet lm = Fixtures.tinyModel(8, 1f);
             ParameterSet params = RewardModel.fromCausalLm(c, lm, 9)) {
            RewardModel rm = new RewardModel(c, params, cpu);
            RewardEvaluation eval = RewardEvaluation.of(rm, pairs, 2);

            // the same statistics from each pair scored alone, written out here
            double[] r = new double[10];
            int wins = 0;
            for (int i = 0; i < 5; i++) {
                RewardBatch b = RewardBatch.pairs(List.of(pairs.get(i)), RewardBatch.Layout.PACKED, 0);
                double[] pr = rm.rewards(b.tokens(), b.lastTokens());
                r[i] = pr[0];
                r[5 + i] = pr[1];
                wins += pr[0] > pr[1] ? 1 : 0;
            }
            double mean = java.util.Arrays.stream(r).average().orElseThrow(), ss = 0;
            for (double v : r) {
                ss += (v - mean) * (v - mean);
            }
            double std = Math.sqrt(ss / 9);
            assertEquals(5, eval.pairs());
            assertEquals(wins / 5.0, eval.accuracy());
            assertEquals(mean, eval.normalization().mean(), 1e-6 * std);
            assertEquals(std, eval.normalization().std(), 1e-6 * std);

            RewardModel.save(dir.resolve("rm"), c, params, eval.normalization(), DType.F32);
            try (RewardModel.Loaded loaded = RewardModel.load(dir.resolve("rm"))) {
                assertEquals(eval.normalization(), loaded.normalization());
            }
        }
    }
}
