package ai.janus.data;

import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the tests find the shared Mistral tokenizer and the reference fixtures. */
public final class TestData {
    private static final String TOKENIZER = "shared/data/mistral-tokenizer-v1.model";

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
     * {@code ../shared/data/mistral-tokenizer-v1.model} seen from the repository root. Tests run in
     * a module directory, so this walks up from the working directory until {@code shared/data}
     * appears; it is never copied into the project.
     */
    public static Path mistralTokenizer() {
        for (Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(TOKENIZER);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("no " + TOKENIZER + " above " + System.getProperty("user.dir")
                + ": the tests need ../shared next to the repository (see .ci/run)");
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
