package ai.janus.data;

import ai.janus.io.Json;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Streams a JSONL file one line at a time: each non-blank line becomes a JSON object or a
 * {@link RowProblem} naming the line (and the column for UTF-8 and JSON syntax errors). Lines end
 * at {@code \n}; a trailing {@code \r} and a UTF-8 byte-order mark on line 1 are ignored; blank
 * lines are skipped and counted. A line longer than the byte limit is skipped without being held
 * in memory beyond the limit. Only an I/O failure of the file itself is thrown.
 */
public final class JsonlReader implements Closeable {
    private static final int CHUNK_BYTES = 1 << 16;

    /** One non-blank line: exactly one of {@code row} and {@code problem} is set. */
    public record Line(long number, ObjectNode row, RowProblem problem) {
        public Line {
            if ((row == null) == (problem == null)) {
                throw new IllegalArgumentException("a line is either a row or a problem");
            }
        }
    }

    private final Path file;
    private final InputStream in;
    private final long maxLineBytes;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

    private final byte[] chunk = new byte[CHUNK_BYTES];
    private int chunkAt, chunkEnd;
    private boolean endOfFile;

    private byte[] line = new byte[4096];   // the current line, at most maxLineBytes of it
    private int lineLength;
    private long lineBytes;                  // the current line's full length, which may exceed maxLineBytes
    private CharBuffer chars = CharBuffer.allocate(4096);

    private long lineNumber;
    private long blankLines;

    private JsonlReader(Path file, InputStream in, long maxLineBytes) {
        this.file = file;
        this.in = in;
        this.maxLineBytes = maxLineBytes;
    }

    /**
     * Opens {@code file}; a missing or unreadable file, a directory, a FIFO or a device is a
     * {@link DataException} ({@link #requireRegularFile}).
     */
    public static JsonlReader open(Path file, long maxLineBytes) throws DataException {
        if (maxLineBytes < 1) {
            throw new IllegalArgumentException("maxLineBytes must be positive, got " + maxLineBytes);
        }
        requireRegularFile(file);
        try {
            return new JsonlReader(file, Files.newInputStream(file), maxLineBytes);
        } catch (NoSuchFileException e) {
            throw new DataException(file, "file not found", e);
        } catch (IOException e) {
            throw new DataException(file, "cannot open: " + e.getMessage(), e);
        }
    }

    /**
     * Refuses, up front and in one line, a data file that is not a regular file (symbolic links
     * are followed): a directory; a FIFO, which a run reads twice (validation, then the data
     * fingerprint) and so would hang on the second read; a device such as /dev/zero, which never
     * ends.
     */
    public static void requireRegularFile(Path file) throws DataException {
        if (Files.isRegularFile(file) || !Files.exists(file)) {
            return; // a missing file is reported as such when opened
        }
        throw new DataException(file, Files.isDirectory(file) ? "is a directory, not a JSONL file"
                : "is not a regular file (a FIFO, socket or device); janus reads a data file more than once, so "
                + "write it to a file first", null);
    }

    public Path file() {
        return file;
    }

    /** Lines that held nothing but whitespace, skipped so far. */
    public long blankLines() {
        return blankLines;
    }

    /** The next non-blank line, or null at the end of the file. */
    public Line next() throws DataException {
        while (readLine()) {
            lineNumber++;
            if (lineBytes > maxLineBytes) {
                return problem(Reason.OVERSIZED_LINE, 0, String.format(Locale.ROOT,
                        "line of %,d bytes is longer than the limit of %,d bytes", lineBytes, maxLineBytes),
                        RowProblem.excerpt(leniently(0, Math.min(lineLength, 256)), 0));
            }
            int from = lineNumber == 1 && startsWithByteOrderMark() ? 3 : 0;
            int to = lineLength > from && line[lineLength - 1] == '\r' ? lineLength - 1 : lineLength;
            if (isBlank(from, to)) {
                blankLines++;
                continue;
            }
            return parse(from, to);
        }
        return null;
    }

    private Line parse(int from, int to) {
        ensureChars(to - from);
        utf8.reset();
        ByteBuffer bytes = ByteBuffer.wrap(line, from, to - from);
        CoderResult result = utf8.decode(bytes, chars, true);
        if (result.isError()) {
            int badAt = bytes.position();
            String before = chars.flip().toString();
            long column = before.length() + 1L;
            return problem(Reason.MALFORMED_JSON, column,
                    String.format(Locale.ROOT, "invalid UTF-8 (byte 0x%02x)", line[badAt] & 0xff),
                    RowProblem.excerpt(before + leniently(badAt, to), column));
        }
        utf8.flush(chars);
        String text = chars.flip().toString();
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            long column = at == null || at.getColumnNr() < 1 ? 0 : at.getColumnNr();
            return problem(Reason.MALFORMED_JSON, column, "invalid JSON: " + jacksonProblem(e),
                    RowProblem.excerpt(text, column));
        } catch (RuntimeException e) {
            // Jackson reports bad input through JsonProcessingException; anything else it throws on a
            // line is still that line's problem, never a crash of the whole run.
            return problem(Reason.MALFORMED_JSON, 0, "invalid JSON (" + e.getMessage() + ")", RowProblem.excerpt(text, 0));
        }
        if (!(node instanceof ObjectNode row)) {
            return problem(Reason.MALFORMED_JSON, 0, "a row must be a JSON object, found "
                    + node.getNodeType().name().toLowerCase(Locale.ROOT), RowProblem.excerpt(text, 0));
        }
        return new Line(lineNumber, row, null);
    }

    /** Jackson's message without its source dump ("at [Source: …]"), which can hold the whole line. */
    private static String jacksonProblem(JsonProcessingException e) {
        String message = e.getOriginalMessage();
        if (message.startsWith("Trailing token")) {
            return "text after the end of the JSON object";   // Jackson's words name its own configuration
        }
        int source = message.indexOf("[Source:");
        if (source >= 0) {
            message = message.substring(0, source).replaceAll("\\s*\\(?\\s*(start marker )?at\\s*$", "");
        }
        return message.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }

    private Line problem(Reason reason, long column, String problem, String excerpt) {
        return new Line(lineNumber, null, new RowProblem(reason, lineNumber, column, problem, excerpt));
    }

    /** Reads the next line into {@code line}; false at the end of the file. */
    private boolean readLine() throws DataException {
        lineLength = 0;
        lineBytes = 0;
        while (true) {
            if (chunkAt == chunkEnd && !fill()) {
                return lineBytes > 0;
            }
            int end = chunkAt;
            while (end < chunkEnd && chunk[end] != '\n') {
                end++;
            }
            keep(chunkAt, end - chunkAt);
            if (end < chunkEnd) {
                chunkAt = end + 1;
                return true;
            }
            chunkAt = chunkEnd;
        }
    }

    /** Appends chunk bytes to the line while it is within the limit; beyond it, only counts them. */
    private void keep(int from, int n) {
        lineBytes += n;
        int room = (int) Math.min(n, Math.max(0, maxLineBytes - lineLength));
        if (room > 0) {
            if (lineLength + room > line.length) {
                line = Arrays.copyOf(line, (int) Math.min(Math.max(line.length * 2L, lineLength + (long) room),
                        Integer.MAX_VALUE - 8));
            }
            System.arraycopy(chunk, from, line, lineLength, room);
            lineLength += room;
        }
    }

    private boolean fill() throws DataException {
        if (endOfFile) {
            return false;
        }
        try {
            int n = in.read(chunk, 0, chunk.length);   // blocks until at least one byte, or −1 at the end
            if (n < 0) {
                endOfFile = true;
                return false;
            }
            chunkAt = 0;
            chunkEnd = n;
            return true;
        } catch (IOException e) {
            throw new DataException(file, "cannot read line " + (lineNumber + 1) + ": " + e.getMessage(), e);
        }
    }

    private boolean startsWithByteOrderMark() {
        return lineLength >= 3 && (line[0] & 0xff) == 0xef && (line[1] & 0xff) == 0xbb && (line[2] & 0xff) == 0xbf;
    }

    private boolean isBlank(int from, int to) {
        for (int i = from; i < to; i++) {
            byte b = line[i];
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private void ensureChars(int n) {
        if (chars.capacity() < n) {
            chars = CharBuffer.allocate(Math.max(n, chars.capacity() * 2));
        }
        chars.clear();
    }

    /** Line bytes [from, to) as text, invalid bytes replaced: for excerpts only. */
    private String leniently(int from, int to) {
        return new String(line, from, to - from, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws DataException {
        try {
            in.close();
        } catch (IOException e) {
            throw new DataException(file, "cannot close: " + e.getMessage(), e);
        }
    }
}
