package ai.janus.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The four formats of docs/spec/objectives.md: required fields, both answer shapes, metadata, and one-line field errors. */
class RowFormatTest {
    @TempDir
    Path dir;

    private <T> List<SourceRow<T>> read(RowFormat<T> format, String... lines) throws Exception {
        Path file = Files.writeString(dir.resolve(format.name() + ".jsonl"), String.join("\n", lines) + "\n");
        return Datasets.rows(format, new Validator(file, ValidationRules.defaults(4096)));
    }

    private <T> DataException failure(RowFormat<T> format, String... lines) throws Exception {
        Path file = Files.writeString(dir.resolve(format.name() + "-bad.jsonl"), String.join("\n", lines) + "\n");
        return assertThrows(DataException.class, () -> Datasets.rows(format, new Validator(file, ValidationRules.defaults(4096))));
    }

    @Test
    void sftRowsKeepExtraFieldsAsMetadata() throws Exception {
        List<SourceRow<SftRow>> rows = read(RowFormat.SFT,
                "{\"main_source\": \"OpenHermesPreferences\", \"original_source\": \"glaive-code-assist\","
                        + " \"preference_set\": [{\"dimension\": \"style\", \"subdimension\": \"conciseness\","
                        + " \"preference\": \"terse\", \"description\": \"…\"}],"
                        + " \"system\": \"You are terse.\", \"prompt\": \"Sum 2+2.\", \"output\": \"4\"}",
                "{\"system\": \"\", \"prompt\": \"p\", \"output\": \"o\"}");
        assertEquals(2, rows.size());
        SftRow row = rows.get(0).row();
        assertEquals(1, rows.get(0).line());
        assertEquals("You are terse.", row.system());
        assertEquals("Sum 2+2.", row.prompt());
        assertEquals("4", row.output());
        assertEquals("OpenHermesPreferences", row.metadata().get("main_source").textValue());
        assertEquals("style", row.metadata().get("preference_set").get(0).get("dimension").textValue());
        assertEquals(3, row.metadata().size());
        assertEquals("", rows.get(1).row().system());
    }

    @Test
    void pairsTakeStringsOrMessageLists() throws Exception {
        List<SourceRow<PreferencePair>> rows = read(RowFormat.PAIRS,
                "{\"system\": \"s\", \"prompt\": \"p\", \"chosen\": \"good\", \"rejected\": \"bad\"}",
                "{\"main_source\": \"m\", \"system\": \"s\", \"prompt\": \"p\","
                        + " \"chosen\": [{\"role\": \"user\", \"content\": \"p\"}, {\"role\": \"assistant\", \"content\": \"good\"}],"
                        + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"bad\"}]}");
        for (SourceRow<PreferencePair> r : rows) {
            assertEquals("good", r.row().chosen());
            assertEquals("bad", r.row().rejected());
        }
        assertEquals("m", rows.get(1).row().metadata().get("main_source").textValue());
    }

    @Test
    void rewardAndBenchRows() throws Exception {
        RewardPair rm = read(RowFormat.REWARD, "{\"input\": \"sys\\ninstr\", \"chosen\": \"a\", \"rejected\": \"b\"}").get(0).row();
        assertEquals("sys\ninstr", rm.input());
        assertEquals("a", rm.chosen());
        String scores = "{\"1\": \"poor\", \"2\": \"weak\", \"3\": \"fair\", \"4\": \"good\", \"5\": \"great\"}";
        BenchRow bench = read(RowFormat.BENCH, "{\"source\": \"mt-bench\", \"system\": \"s\", \"prompt\": \"p\","
                + " \"reference_answer\": \"r\", \"rubric\": [{\"criteria\": \"Is it terse?\", \"score_descriptions\": "
                + scores + "}]}").get(0).row();
        assertEquals("r", bench.referenceAnswer());
        assertEquals("Is it terse?", bench.rubric().get(0).criteria());
        assertEquals(List.of("poor", "weak", "fair", "good", "great"), bench.rubric().get(0).scoreDescriptions());
        assertEquals("mt-bench", bench.metadata().get("source").textValue());
    }

    @Test
    void fieldErrorsNameTheFieldAndWhatWasFound() throws Exception {
        String ok = "{\"system\": \"s\", \"prompt\": \"p\", \"output\": \"o\"}";
        DataException e = failure(RowFormat.SFT, ok, "{\"system\": \"s\", \"prompt\": \"p\"}");
        assertTrue(e.getMessage().endsWith("-bad.jsonl:2: missing field \"output\" — {\"system\":\"s\",\"prompt\":\"p\"}"),
                e.getMessage());
        assertEquals(Reason.BAD_FIELD, e.row().orElseThrow().reason());
        assertEquals(2, e.row().orElseThrow().line());
        assertMessage("field \"prompt\" must be a string, found number — 42",
                failure(RowFormat.SFT, "{\"system\": \"s\", \"prompt\": 42, \"output\": \"o\"}"));
        assertMessage("field \"system\" is null", failure(RowFormat.SFT, "{\"system\": null, \"prompt\": \"p\", \"output\": \"o\"}"));
        assertMessage("field \"output\" holds an unpaired surrogate \\ud800 at character 3 — ab\\ud800",
                failure(RowFormat.SFT, "{\"system\": \"s\", \"prompt\": \"p\", \"output\": \"ab\\ud800\"}"));
        String pair = "{\"system\": \"s\", \"prompt\": \"p\", \"chosen\": %s, \"rejected\": \"r\"}";
        assertMessage("field \"chosen\" must be a string or a list of messages, found object",
                failure(RowFormat.PAIRS, pair.formatted("{\"content\": \"x\"}")));
        assertMessage("field \"chosen\" is an empty list of messages", failure(RowFormat.PAIRS, pair.formatted("[]")));
        assertMessage("field \"chosen\"[0] has role \"assistant\": expected user or system turns ending in one assistant answer",
                failure(RowFormat.PAIRS, pair.formatted("[{\"role\": \"assistant\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"u\"}]")));
        assertMessage("missing field \"chosen\"[0].content",
                failure(RowFormat.PAIRS, pair.formatted("[{\"role\": \"assistant\"}]")));
        assertMessage("field \"chosen\"[0].content must be a string, found array",
                failure(RowFormat.PAIRS, pair.formatted("[{\"role\": \"assistant\", \"content\": []}]")));
        assertMessage("field \"rubric\"[0].score_descriptions has no score \"5\"",
                failure(RowFormat.BENCH, "{\"system\": \"s\", \"prompt\": \"p\", \"reference_answer\": \"r\", \"rubric\": "
                        + "[{\"criteria\": \"c\", \"score_descriptions\": {\"1\": \"a\", \"2\": \"b\", \"3\": \"c\", \"4\": \"d\"}}]}"));
        assertMessage("field \"rubric\" must be a non-empty list of {\"criteria\", \"score_descriptions\"} objects, found an empty list",
                failure(RowFormat.BENCH, "{\"system\": \"s\", \"prompt\": \"p\", \"reference_answer\": \"r\", \"rubric\": []}"));
    }

    private static void assertMessage(String expectedProblem, DataException e) {
        String message = e.getMessage();
        String problem = message.substring(message.indexOf(":1: ") + 4);
        assertTrue(problem.startsWith(expectedProblem), message);
        assertTrue(!message.contains("\n"), message);
    }
}
