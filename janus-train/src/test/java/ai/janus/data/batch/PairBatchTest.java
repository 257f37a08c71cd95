package ai.janus.data.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.ChatTemplate;
import ai.janus.data.PairExample;
import ai.janus.data.TestData;
import ai.janus.loss.ModelLosses;
import ai.janus.loss.SequenceLogProbs;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.train.objective.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pair batches: chosen answers first, then rejected; packed and padded layouts score the same. */
class PairBatchTest {
    @Test
    void packedAndPaddedPairBatchesScoreEachAnswerAlike() {
        ChatTemplate template = new ChatTemplate(TestData.mistral());
        List<JsonNode> rows = Fixtures.shortRows();
        List<PairExample> pairs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int[] prompt = template.prompt(rows.get(i).get("system").textValue(), rows.get(i).get("prompt").textValue());
            pairs.add(new PairExample(10 + i, template.training(prompt, rows.get(i).get("output").textValue()),
                    template.training(prompt, rows.get(i + 1).get("output").textValue())));
        }
        TrainingBatch packed = PairBatch.packed(pairs), padded = PairBatch.padded(pairs, TestData.mistral().eosId());
        assertArrayEquals(new long[] {10, 11, 12, 13, 10, 11, 12, 13}, packed.samples());
        assertArrayEquals(pairs.get(2).rejected().ids(), java.util.Arrays.copyOfRange(packed.tokens().tokens(),
                packed.tokens().cuSeqlens()[6], packed.tokens().cuSeqlens()[7]));
        MistralConfig c = Fixtures.tinyConfig();
        try (CpuBackend cpu = new CpuBackend(); ParameterSet p = Fixtures.tinyModel(2, 1f)) {
            ai.janus.model.Mistral model = new ai.janus.model.Mistral(c, MistralWeights.of(c, p), cpu);
            SequenceLogProbs a = ModelLosses.score(model, packed.tokens(), packed.labels());
            SequenceLogProbs b = ModelLosses.score(model, padded.tokens(), padded.labels());
            for (int s = 0; s < 8; s++) {
                PairExample pair = pairs.get(s % 4);
                long answer = (s < 4 ? pair.chosen() : pair.rejected()).supervisedTokens();
                assertEquals(answer, a.tokens(s), "segment " + s);
                assertEquals(answer, b.tokens(s), "padding is never supervised");
                // the same sums up to GEMM rounding over another row count
                assertEquals(a.sum(s), b.sum(s), 1e-6 * Math.abs(a.sum(s)), "segment " + s);
            }
        }
    }
}
