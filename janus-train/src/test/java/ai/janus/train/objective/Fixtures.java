package ai.janus.train.objective;

import ai.janus.data.ChatTemplate;
import ai.janus.data.TestData;
import ai.janus.io.Json;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Real templated text from the SentencePiece fixture and a tiny random Mistral over the real vocabulary. */
public final class Fixtures {
    private Fixtures() {}

    /** The fixture's template rows whose training sequence has at most 120 tokens (11 of 12). */
    public static List<JsonNode> shortRows() {
        ChatTemplate template = new ChatTemplate(TestData.mistral());
        List<JsonNode> rows = new ArrayList<>();
        for (JsonNode row : TestData.sentencePieceFixture().get("template")) {
            if (template.training(row.get("system").textValue(), row.get("prompt").textValue(),
                    row.get("output").textValue()).length() <= 120) {
                rows.add(row);
            }
        }
        return rows;
    }

    /**
     * A "pairs" JSONL file: row i's system and prompt, its own output as the chosen answer and the
     * next row's output as the rejected one.
     */
    public static Path writePairs(Path file, int count) throws IOException {
        List<JsonNode> rows = shortRows();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < count; i++) {
            JsonNode row = rows.get(i % rows.size()), other = rows.get((i + 1) % rows.size());
            Map<String, Object> pair = new LinkedHashMap<>();
            pair.put("system", row.get("system").textValue());
            pair.put("prompt", row.get("prompt").textValue());
            pair.put("chosen", row.get("output").textValue());
            pair.put("rejected", other.get("output").textValue());
            out.append(Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(pair)).append('\n');
        }
        Files.writeString(file, out, StandardCharsets.UTF_8);
        return file;
    }

    /** The tiny config over the Mistral vocabulary. */
    public static MistralConfig tinyConfig() {
        return MistralConfig.tiny(TestData.mistral().vocabSize());
    }

    /** HF-initialised parameters of {@link #tinyConfig()} scaled by {@code scale} (4: a model that reads its context). */
    public static ParameterSet tinyModel(long seed, float scale) {
        MistralConfig c = tinyConfig();
        ParameterSet p = ParameterSet.allocate(MistralWeights.specs(c));
        MistralWeights.initialize(c, p, seed);
        java.nio.FloatBuffer all = p.flat().floats();
        for (int i = 0; i < all.capacity(); i++) {
            all.put(i, all.get(i) * scale);
        }
        return p;
    }
}
