package ai.janus.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The one JSON mapper of janus and the parse helpers that turn syntax errors into one line. */
public final class Json {
    /** Strict: duplicate keys are an error, trailing tokens are an error, output is indented. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private Json() {}

    /** Parses {@code bytes} of {@code file}; a syntax error names the line and column. */
    public static JsonNode parse(Path file, byte[] bytes, String what) throws InvalidFileException {
        try {
            JsonNode node = MAPPER.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new InvalidFileException(file, what + " is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + " column " + at.getColumnNr();
            throw new InvalidFileException(file, "invalid JSON in " + what + where + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new InvalidFileException(file, "cannot read " + what + ": " + e.getMessage(), e);
        }
    }

    /** The largest JSON file {@link #read} reads (config.json, safetensors index: a few KiB to MiB). */
    public static final int MAX_FILE_BYTES = 64 << 20;

    /** Reads and parses a whole JSON file; a missing file is an {@link InvalidFileException} too. */
    public static JsonNode read(Path file) throws InvalidFileException {
        byte[] bytes;
        if (Files.isDirectory(file)) {
            throw new InvalidFileException(file, "is a directory, not a JSON file");
        }
        // At most MAX_FILE_BYTES + 1: /dev/zero or a huge file is refused, not an OutOfMemoryError.
        try (java.io.InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_BYTES + 1);
            if (bytes.length > MAX_FILE_BYTES) {
                throw new InvalidFileException(file, "larger than " + (MAX_FILE_BYTES >> 20) + " MiB; not a config or index"
                        + " JSON file");
            }
        } catch (InvalidFileException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new InvalidFileException(file, "file not found");
        } catch (IOException e) {
            throw new InvalidFileException(file, "cannot read: " + e.getMessage(), e);
        }
        return parse(file, bytes, "file");
    }

    /** Serialises {@code value} as indented UTF-8 JSON text ending with a newline. */
    public static byte[] write(Object value) {
        try {
            return (MAPPER.writeValueAsString(value) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialise " + value.getClass().getSimpleName(), e);
        }
    }
}
