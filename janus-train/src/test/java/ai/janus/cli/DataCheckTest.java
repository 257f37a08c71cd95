package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.data.TestData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataCheckTest {
    private record Outcome(int code, String out, String err) {}

    private static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Janus.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static final String TOKENIZER = TestData.mistralTokenizer().toString();
    private static final String ROW = "{\"system\": \"s\", \"prompt\": \"p\", \"output\": \"an answer\"}";

    @Test
    void aGoodFilePrintsItsSummary(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("sft.jsonl"), ROW + "\n" + ROW + "\n");
        Outcome o = run("data", "check", file.toString(), "--format", "sft", "--tokenizer", TOKENIZER);
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().startsWith("data " + file + ": 2 rows read, 2 kept, 0 dropped (0.00%)\n"), o.out());
        assertTrue(o.out().contains("tokens per sequence: p50 "), o.out());
        assertEquals("", o.err());
    }

    @Test
    void aBadRowIsOneLineOnStderrAfterTheSummary(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("sft.jsonl"), ROW + "\n{\"system\": \"s\", \"prompt\": \"p\", \"output\": 7}\n");
        Outcome o = run("data", "check", file.toString(), "--format", "sft", "--tokenizer", TOKENIZER);
        assertEquals(1, o.code());
        assertEquals("janus: " + file + ":2: field \"output\" must be a string, found number — 7\n", o.err());
        assertTrue(o.out().contains("stopped at line 2 (bad-field is an error)"), o.out());
    }

    @Test
    void policiesComeFromTheCommandLine(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("sft.jsonl"), ROW + "\n"
                + "{\"system\": \"s\", \"prompt\": \"p\", \"output\": \"" + "word ".repeat(100) + "\"}\n");
        Outcome o = run("data", "check", file.toString(), "--format", "sft", "--tokenizer", TOKENIZER, "--max-tokens", "40",
                "--on", "too-long=truncate");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("1 sequences truncated"), o.out());
        assertTrue(o.out().contains("max 40 "), o.out());

        o = run("data", "check", file.toString(), "--format", "sft", "--tokenizer", TOKENIZER, "--max-tokens", "40",
                "--on", "too-long=drop", "--max-drop-fraction", "0.5");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("dropped too-long"), o.out());
    }

    @Test
    void malformedFilesNeverShowAStackTrace(@TempDir Path dir) throws Exception {
        byte[][] files = {"{\"a\": ".getBytes(StandardCharsets.UTF_8), {(byte) 0xff, '{', '}'}, "[]".getBytes(StandardCharsets.UTF_8),
                ("{\"input\": 1, \"chosen\": \"a\", \"rejected\": \"b\"}").getBytes(StandardCharsets.UTF_8)};
        for (int i = 0; i < files.length; i++) {
            Path file = Files.write(dir.resolve("bad" + i + ".jsonl"), files[i]);
            for (String format : new String[] {"sft", "pairs", "rm", "bench"}) {
                Outcome o = run("data", "check", file.toString(), "--format", format, "--tokenizer", TOKENIZER);
                assertEquals(1, o.code(), o.err());
                assertEquals(1, o.err().lines().count(), o.err());
                assertTrue(o.err().startsWith("janus: " + file + ":1"), o.err());
                assertFalse(o.err().contains("Exception") || o.err().contains("\tat "), o.err());
            }
        }
        Outcome missing = run("data", "check", dir.resolve("none.jsonl").toString(), "--format", "bench");
        assertEquals(1, missing.code());
        assertTrue(missing.err().endsWith("none.jsonl: file not found\n"), missing.err());
        Outcome badTokenizer = run("data", "check", dir.resolve("bad0.jsonl").toString(), "--format", "sft", "--tokenizer",
                dir.resolve("bad0.jsonl").toString());
        assertEquals(1, badTokenizer.code());
        assertTrue(badTokenizer.err().contains("not a SentencePiece model"), badTokenizer.err());
    }

    @Test
    void usageErrors() {
        assertEquals(2, run("data").code());
        assertEquals(2, run("data", "check", "x.jsonl").code());
        assertEquals(2, run("data", "check", "x.jsonl", "--format", "sft").code(), "no tokenizer");
        assertEquals(2, run("data", "check", "x.jsonl", "--format", "csv", "--tokenizer", TOKENIZER).code());
        Outcome o = run("data", "check", "x.jsonl", "--format", "sft", "--on", "empty-answer=truncate");
        assertEquals(2, o.code());
        assertEquals("janus data: empty-answer cannot be truncate: only too-long rows can be truncated\n", o.err());
        assertEquals(2, run("data", "check", "x.jsonl", "--format", "sft", "--on", "long=drop").code());
        assertEquals(2, run("data", "check", "x.jsonl", "--format", "sft", "--max-drop-fraction", "2").code());
        assertEquals(0, run("data", "check", "--help").code());
        assertEquals(0, run("data", "--help").code());
    }
}
