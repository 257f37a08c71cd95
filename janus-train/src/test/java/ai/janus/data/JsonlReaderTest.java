package ai.janus.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlReaderTest {
    @TempDir
    Path dir;

    private List<JsonlReader.Line> readAll(byte[] bytes, long maxLineBytes) throws Exception {
        Path file = Files.write(dir.resolve("data.jsonl"), bytes);
        List<JsonlReader.Line> lines = new ArrayList<>();
        try (JsonlReader reader = JsonlReader.open(file, maxLineBytes)) {
            for (JsonlReader.Line line; (line = reader.next()) != null; ) {
                lines.add(line);
            }
        }
        return lines;
    }

    private List<JsonlReader.Line> readAll(String text) throws Exception {
        return readAll(text.getBytes(StandardCharsets.UTF_8), 1 << 20);
    }

    @Test
    void syntaxErrorsNameLineAndColumnWithAnExcerpt() throws Exception {
        List<JsonlReader.Line> lines = readAll("{\"a\": 1}\n{\"system\": \"a\", \"prompt\": }\n{\"a\": \"b\"\n{'a': 1}\n");
        assertEquals(4, lines.size());
        assertEquals(1, lines.get(0).row().get("a").intValue());
        RowProblem p = lines.get(1).problem();
        assertEquals(Reason.MALFORMED_JSON, p.reason());
        assertEquals(2, p.line());
        assertEquals(27, p.column(), "the '}' where a value was expected");
        assertTrue(p.problem().startsWith("invalid JSON: Unexpected character ('}'"), p.problem());
        assertEquals("…em\": \"a\", \"prompt\": }", p.excerpt());
        assertEquals(3, lines.get(2).problem().line());
        assertEquals("invalid JSON: Unexpected end-of-input: expected close marker for Object", lines.get(2).problem().problem());
        assertEquals(2, lines.get(3).problem().column());
    }

    @Test
    void jsonThatIsNotOneObjectIsMalformed() throws Exception {
        List<JsonlReader.Line> lines = readAll("[1, 2]\n42\n\"text\"\n{\"a\": 1} {\"b\": 2}\n{\"a\": 1, \"a\": 2}\n{\"a\": NaN}\n");
        assertEquals("a row must be a JSON object, found array", lines.get(0).problem().problem());
        assertEquals("a row must be a JSON object, found number", lines.get(1).problem().problem());
        assertEquals("a row must be a JSON object, found string", lines.get(2).problem().problem());
        assertEquals("invalid JSON: text after the end of the JSON object", lines.get(3).problem().problem());
        assertEquals("invalid JSON: Duplicate field 'a'", lines.get(4).problem().problem());
        assertTrue(lines.get(5).problem().problem().contains("NaN"));
        for (JsonlReader.Line l : lines) {
            assertEquals(Reason.MALFORMED_JSON, l.problem().reason());
        }
    }

    @Test
    void invalidUtf8NamesTheColumnOfTheBadCharacter() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("{\"ok\": 1}\n{\"system\": \"café ".getBytes(StandardCharsets.UTF_8));
        bytes.write(0xc3);   // a lead byte followed by a non-continuation byte
        bytes.write('x');
        bytes.writeBytes("\"}\n".getBytes(StandardCharsets.UTF_8));
        List<JsonlReader.Line> lines = readAll(bytes.toByteArray(), 1 << 20);
        RowProblem p = lines.get(1).problem();
        assertEquals(Reason.MALFORMED_JSON, p.reason());
        assertEquals(2, p.line());
        assertEquals(18, p.column(), "{\"system\": \"café  is 17 characters");
        assertEquals("invalid UTF-8 (byte 0xc3)", p.problem());
        assertEquals("{\"system\": \"café \uFFFDx\"}", p.excerpt());
    }

    @Test
    void oversizedLinesAreSkippedAndTheNextLineIsRead() throws Exception {
        String huge = "{\"output\": \"" + "x".repeat(3_000_000) + "\"}";
        List<JsonlReader.Line> lines = readAll(("{\"a\": 1}\n" + huge + "\n{\"a\": 3}").getBytes(StandardCharsets.UTF_8), 1000);
        assertEquals(3, lines.size());
        RowProblem p = lines.get(1).problem();
        assertEquals(Reason.OVERSIZED_LINE, p.reason());
        assertEquals(2, p.line());
        assertEquals("line of 3,000,014 bytes is longer than the limit of 1,000 bytes", p.problem());
        assertTrue(p.excerpt().startsWith("{\"output\": \"xxxx") && p.excerpt().endsWith("…"), p.excerpt());
        assertEquals(3, lines.get(2).row().get("a").intValue(), "a last line without newline is read");
        // A line of exactly the limit is fine.
        assertNull(readAll("{\"a\": 1}".getBytes(StandardCharsets.UTF_8), 8).get(0).problem());
        assertEquals(Reason.OVERSIZED_LINE, readAll("{\"a\": 12}".getBytes(StandardCharsets.UTF_8), 8).get(0).problem().reason());
    }

    @Test
    void crlfByteOrderMarkAndBlankLines() throws Exception {
        byte[] bom = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes(bom);
        bytes.writeBytes("{\"a\": 1}\r\n\r\n   \n\t\n{\"a\": 2}\r\n\n".getBytes(StandardCharsets.UTF_8));
        Path file = Files.write(dir.resolve("crlf.jsonl"), bytes.toByteArray());
        try (JsonlReader reader = JsonlReader.open(file, 1 << 20)) {
            JsonlReader.Line first = reader.next(), second = reader.next();
            assertEquals(1, first.number());
            assertEquals(1, first.row().get("a").intValue());
            assertEquals(5, second.number(), "blank lines still count for line numbers");
            assertNull(reader.next());
            assertEquals(4, reader.blankLines());
        }
    }

    @Test
    void linesLongerThanTheReadChunkAreWhole() throws Exception {
        String text = "é😀".repeat(40_000);   // 280,000 bytes: several 64 KiB chunks, characters split across chunks
        List<JsonlReader.Line> lines = readAll("{\"t\": \"" + text + "\"}\n{\"t\": \"x\"}\n");
        assertEquals(text, lines.get(0).row().get("t").textValue());
        assertEquals("x", lines.get(1).row().get("t").textValue());
    }

    @Test
    void excerptsStayOnOneLineAndNeverSplitASurrogatePair() {
        assertEquals("a\\nb\\tc\\u0000d\\u2028", RowProblem.excerpt("a\nb\tc\u0000d\u2028", 0));
        String emoji = "x".repeat(59) + "😀" + "tail";
        assertEquals("x".repeat(59) + "…", RowProblem.excerpt(emoji, 0));
        assertEquals("…" + "x".repeat(19) + "😀tail", RowProblem.excerpt(emoji, 61));
        assertEquals("\\ud800 alone", RowProblem.excerpt("\ud800 alone", 0));
        assertFalse(RowProblem.excerpt("line\r\nbreak\u0085", 0).matches("(?s).*[\\r\\n\\u0085].*"));
    }

    @Test
    void aMissingFileIsADataException() {
        Path missing = dir.resolve("nope.jsonl");
        DataException e = assertThrows(DataException.class, () -> JsonlReader.open(missing, 100));
        assertEquals(missing + ": file not found", e.getMessage());
        assertTrue(e.row().isEmpty());
    }
}
