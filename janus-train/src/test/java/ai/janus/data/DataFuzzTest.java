package ai.janus.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.janus.data.tokenizer.SentencePieceTokenizer;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generated malformed lines (bad JSON, wrong types, missing fields, empty answers, huge lines,
 * invalid UTF-8, too many tokens) mixed with valid ones, in SFT and pair files. With every reason
 * an error, each bad line stops its load with a one-line {@link DataException} naming its line and
 * reason, and nothing else is ever thrown. With every reason a drop, each bad line is counted
 * under its reason with its line number, and every valid row comes through with exactly its tokens.
 */
class DataFuzzTest {
    private static final int MALFORMED = 1200;
    private static final int MAX_LINE_BYTES = 4096;
    private static final int MAX_TOKENS = 256;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final String[] WORDS = {"the", "preference", "système", "naïve", "😀", "日本語", "x = f(y);", "\"quoted\"",
            "back\\slash", "tab\there", "line\nbreak", "—", "ünï", "<s>", "</s>", "[INST]", "\u0000nul", "👩‍💻", "end."};

    private static final SentencePieceTokenizer tokenizer = TestData.mistral();
    private static final ChatTemplate template = new ChatTemplate(tokenizer);

    @TempDir
    Path dir;

    /** One line of the file and what reading it must give. */
    private record Case(byte[] line, Reason expected, long column, ObjectNode valid) {}

    private static String words(Random rng, int min, int max) {
        StringBuilder out = new StringBuilder();
        for (int i = rng.nextInt(max - min + 1) + min; i > 0; i--) {
            out.append(out.length() == 0 ? "" : " ").append(WORDS[rng.nextInt(WORDS.length)]);
        }
        return out.toString();
    }

    private static ObjectNode validRow(Random rng, RowFormat<?> format) {
        ObjectNode row = NODES.objectNode();
        row.put("main_source", "fuzz");
        row.put("system", rng.nextInt(5) == 0 ? "" : words(rng, 1, 12));
        row.put("prompt", words(rng, 1, 12));
        if (format == RowFormat.SFT) {
            row.put("output", words(rng, 1, 15));
        } else {
            row.set("chosen", rng.nextBoolean() ? NODES.textNode(words(rng, 1, 15)) : messages(words(rng, 1, 15)));
            row.set("rejected", rng.nextBoolean() ? NODES.textNode(words(rng, 1, 15)) : messages(words(rng, 1, 15)));
        }
        return row;
    }

    private static ArrayNode messages(String answer) {
        ArrayNode list = NODES.arrayNode();
        list.addObject().put("role", "user").put("content", "the prompt");
        list.addObject().put("role", "assistant").put("content", answer);
        return list;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> fields(RowFormat<?> format) {
        return format == RowFormat.SFT ? List.of("system", "prompt", "output") : List.of("system", "prompt", "chosen", "rejected");
    }

    private static List<String> answers(RowFormat<?> format) {
        return format == RowFormat.SFT ? List.of("output") : List.of("chosen", "rejected");
    }

    /** A malformed line of kind {@code kind} made from a valid row. */
    private static Case malformed(Random rng, RowFormat<?> format, int kind) {
        ObjectNode row = validRow(rng, format);
        String text = row.toString();
        List<String> fields = fields(format);
        String field = fields.get(rng.nextInt(fields.size()));
        switch (kind) {
            case 0 -> {   // a proper prefix of an object is never valid JSON
                return new Case(utf8(text.substring(0, 1 + rng.nextInt(text.length() - 1))), Reason.MALFORMED_JSON, -1, null);
            }
            case 1 -> {   // broken syntax around a valid body
                String[] broken = {text.substring(0, text.length() - 1) + ",}", "x" + text, text + "}", text + " " + text,
                        text.replace("\"system\"", "'system'"), text.substring(0, text.length() - 1) + "]",
                        text.replace("\"prompt\":", "\"prompt\""), "[".repeat(1001 + rng.nextInt(500)),
                        text.replace("\"prompt\":\"", "\"prompt\":\"\u0001"), text.replace("\"prompt\":\"", "\"prompt\":\"\\u12G4"),
                        text.replace("\"system\":", "\"system\":NaN,\"s2\":"), "{\"system\": \"s\", \"system\": \"t\"}",
                        "[" + text + "]", "null", "\"just a string\"", "true"};
                return new Case(utf8(broken[rng.nextInt(broken.length)]), Reason.MALFORMED_JSON, -1, null);
            }
            case 2 -> {   // wrong type
                row.set(field, switch (rng.nextInt(5)) {
                    case 0 -> NODES.numberNode(rng.nextInt());
                    case 1 -> NODES.booleanNode(true);
                    case 2 -> NODES.nullNode();
                    case 3 -> NODES.objectNode().put("text", "x");
                    default -> fields.indexOf(field) < 2 ? NODES.arrayNode().add("x") : NODES.arrayNode();
                });
                return new Case(utf8(row.toString()), Reason.BAD_FIELD, 0, null);
            }
            case 3 -> {   // missing field, or a message list that is not user turns then one assistant answer
                if (format == RowFormat.PAIRS && rng.nextBoolean()) {
                    ArrayNode list = messages("answer");
                    switch (rng.nextInt(3)) {
                        case 0 -> ((ObjectNode) list.get(1)).put("role", "user");
                        case 1 -> ((ObjectNode) list.get(1)).remove("content");
                        default -> list.insert(0, NODES.textNode("not a message"));
                    }
                    row.set(answers(format).get(rng.nextInt(2)), list);
                } else {
                    row.remove(field);
                }
                return new Case(utf8(row.toString()), Reason.BAD_FIELD, 0, null);
            }
            case 4 -> {   // empty answer
                String answer = answers(format).get(rng.nextInt(answers(format).size()));
                String blank = new String[] {"", " ", "\n", " \t\r\n "}[rng.nextInt(4)];
                row.set(answer, rng.nextBoolean() || format == RowFormat.SFT ? NODES.textNode(blank) : messages(blank));
                return new Case(utf8(row.toString()), Reason.EMPTY_ANSWER, 0, null);
            }
            case 5 -> {   // a line over the byte limit
                row.put(answers(format).get(0), "long ".repeat(MAX_LINE_BYTES / 5 + rng.nextInt(20_000)));
                return new Case(utf8(row.toString()), Reason.OVERSIZED_LINE, 0, null);
            }
            case 6 -> {   // invalid UTF-8 inside a string value; the column is the bad character's
                byte[][] bad = {{(byte) 0xff}, {(byte) 0xc0, (byte) 0x80}, {(byte) 0x80}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
                        {(byte) 0xe2, (byte) 0x82}, {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xc3, 'x'}};
                int at = text.indexOf("\"prompt\":\"") + 10;
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.writeBytes(utf8(text.substring(0, at)));
                out.writeBytes(bad[rng.nextInt(bad.length)]);
                out.writeBytes(utf8(text.substring(at)));
                return new Case(out.toByteArray(), Reason.MALFORMED_JSON, at + 1, null);
            }
            case 7 -> {   // an unpaired surrogate, escaped in JSON: valid JSON, no valid text
                String escaped = text.replace("\"prompt\":\"", "\"prompt\":\"\\udc00");
                return new Case(utf8(escaped), Reason.BAD_FIELD, 0, null);
            }
            default -> {   // more tokens than the maximum
                row.put(answers(format).get(0), "word ".repeat(MAX_TOKENS + rng.nextInt(200)));
                return new Case(utf8(row.toString()), Reason.TOO_LONG, 0, null);
            }
        }
    }

    private static final int KINDS = 9;

    private Path write(String name, List<Case> cases) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Case c : cases) {
            out.writeBytes(c.line());
            out.write('\n');
        }
        return Files.write(dir.resolve(name), out.toByteArray());
    }

    private static Object load(RowFormat<?> format, Validator v) throws DataException {
        return format == RowFormat.SFT ? Datasets.sft(template, v) : Datasets.preferencePairs(template, v);
    }

    @Test
    void everyMalformedLineIsAOneLineErrorNamingItsLine() throws Exception {
        Random rng = new Random(20240601);
        ValidationRules errors = new ValidationRules(MAX_TOKENS, MAX_LINE_BYTES, 0.05, Map.of());
        int checked = 0;
        for (int i = 0; i < MALFORMED; i++) {
            RowFormat<?> format = i % 2 == 0 ? RowFormat.SFT : RowFormat.PAIRS;
            Case bad = malformed(rng, format, i % KINDS);
            List<Case> cases = new ArrayList<>();
            for (int k = rng.nextInt(4); k > 0; k--) {
                cases.add(new Case(utf8(validRow(rng, format).toString()), null, 0, null));
            }
            long badLine = cases.size() + 1;
            cases.add(bad);
            cases.add(new Case(utf8(validRow(rng, format).toString()), null, 0, null));
            Path file = write("case-" + i + ".jsonl", cases);
            try {
                load(format, new Validator(file, errors));
                fail("case " + i + " (kind " + (i % KINDS) + ") was accepted: " + new String(bad.line(), StandardCharsets.UTF_8));
            } catch (DataException e) {
                String where = "case " + i + " (kind " + (i % KINDS) + "): " + e.getMessage();
                RowProblem p = e.row().orElseThrow(() -> new AssertionError(where));
                assertEquals(bad.expected(), p.reason(), where);
                assertEquals(badLine, p.line(), where);
                assertTrue(e.getMessage().startsWith(file + ":" + badLine + ":"), where);
                assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), where);
                assertFalse(e.getMessage().contains("Exception") || e.getMessage().contains("\tat "), where);
                if (bad.column() > 0) {
                    assertEquals(bad.column(), p.column(), where);
                }
                assertTrue(e.getMessage().length() < 400, where);
                checked++;
            }
            // Anything but a DataException propagates and fails the test: no other exception reaches a user.
        }
        assertEquals(MALFORMED, checked);
    }

    @Test
    void droppedLinesAreCountedByReasonAndNoValidRowIsLost() throws Exception {
        Random rng = new Random(7);
        EnumMap<Reason, Action> drop = new EnumMap<>(Reason.class);
        for (Reason r : Reason.values()) {
            drop.put(r, Action.DROP);
        }
        ValidationRules dropping = new ValidationRules(MAX_TOKENS, MAX_LINE_BYTES, 1.0, drop);
        for (RowFormat<?> format : List.of(RowFormat.SFT, RowFormat.PAIRS)) {
            List<Case> cases = new ArrayList<>();
            Map<Reason, List<Long>> expectedDrops = new EnumMap<>(Reason.class);
            List<Long> validLines = new ArrayList<>();
            List<ObjectNode> validRows = new ArrayList<>();
            long blank = 0;
            for (int i = 0; i < MALFORMED; i++) {
                if (rng.nextInt(3) == 0) {
                    ObjectNode row = validRow(rng, format);
                    cases.add(new Case(utf8(row.toString()), null, 0, row));
                    validLines.add((long) cases.size());
                    validRows.add(row);
                }
                if (rng.nextInt(50) == 0) {
                    cases.add(new Case(utf8("  "), null, 0, null));
                    blank++;
                }
                Case bad = malformed(rng, format, rng.nextInt(KINDS));
                cases.add(bad);
                expectedDrops.computeIfAbsent(bad.expected(), r -> new ArrayList<>()).add((long) cases.size());
            }
            Path file = write(format.name() + "-mixed.jsonl", cases);
            Validator v = new Validator(file, dropping);
            List<?> kept = (List<?>) load(format, v);

            ValidationSummary s = v.summary();
            assertEquals(cases.size() - blank, s.rowsRead());
            assertEquals(blank, s.blankLines());
            for (Reason r : Reason.values()) {
                long[] expected = expectedDrops.getOrDefault(r, List.of()).stream().mapToLong(Long::longValue).toArray();
                assertArrayEquals(expected, s.droppedLines().get(r), format + " " + r.key());
            }
            assertEquals(validRows.size(), kept.size(), format + ": every valid row kept");
            for (int k = 0; k < kept.size(); k++) {
                ObjectNode row = validRows.get(k);
                String system = row.get("system").textValue(), prompt = row.get("prompt").textValue();
                if (kept.get(k) instanceof SftExample e) {
                    assertEquals(validLines.get(k), e.line());
                    assertArrayEquals(template.training(system, prompt, row.get("output").textValue()).ids(), e.sequence().ids());
                } else {
                    PairExample e = (PairExample) kept.get(k);
                    assertEquals(validLines.get(k), e.line());
                    assertArrayEquals(template.training(system, prompt, answerOf(row, "chosen")).ids(), e.chosen().ids());
                    assertArrayEquals(template.training(system, prompt, answerOf(row, "rejected")).ids(), e.rejected().ids());
                }
            }
            assertTrue(s.droppedTotal() >= 1000, "at least 1,000 malformed lines per file");
        }
    }

    private static String answerOf(ObjectNode row, String field) {
        return row.get(field).isTextual() ? row.get(field).textValue() : row.get(field).get(1).get("content").textValue();
    }
}
