package ai.janus.data;

import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Where the tests find the Mistral tokenizer and the reference fixtures (all in this module's test resources). */
public final class TestData {
    private static final String TOKENIZER = "/fixtures/sentencepiece/mistral-tokenizer-v1.model";

    private static SentencePieceTokenizer mistral;

    private TestData() {}

    /** The Mistral tokenizer, loaded once and shared by every test of the JVM (its native handle lives as long). */
    public static synchronized SentencePieceTokenizer mistral() {
        if (mistral == null) {
            try {
                mistral = SentencePieceTokenizer.load(mistralTokenizer());
            } catch (InvalidFileException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
        return mistral;
    }

    /**
     * The Mistral 7B v0.1/v0.2 SentencePiece model (mistral-common, Apache-2.0), kept in this
     * module's test resources (fixtures/sentencepiece/README.md says where it comes from).
     */
    public static Path mistralTokenizer() {
        try {
            java.net.URL url = TestData.class.getResource(TOKENIZER);
            if (url == null) {
                throw new IllegalStateException(TOKENIZER + " is missing from the test resources");
            }
            return Path.of(url.toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The reference ids written by fixtures/sentencepiece/make_fixtures.py (see its header). */
    public static JsonNode sentencePieceFixture() {
        try (InputStream in = TestData.class.getResourceAsStream("/fixtures/sentencepiece/mistral-v1.json")) {
            if (in == null) {
                throw new IllegalStateException("fixtures/sentencepiece/mistral-v1.json is missing from the test resources");
            }
            return Json.MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }
}
