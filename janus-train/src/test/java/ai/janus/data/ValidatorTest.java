package ai.janus.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.data.tokenizer.SentencePieceTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Per-reason actions, truncation, the drop threshold and the summary. */
class ValidatorTest {
    private static final SentencePieceTokenizer tokenizer = TestData.mistral();
    private static final ChatTemplate template = new ChatTemplate(tokenizer);

    @TempDir
    Path dir;

    private static String sft(String system, String prompt, String output) {
        return "{\"system\": \"" + system + "\", \"prompt\": \"" + prompt + "\", \"output\": \"" + output + "\"}";
    }

    private Path file(String... lines) throws Exception {
        return Files.writeString(Files.createTempFile(dir, "rows", ".jsonl"), String.join("\n", lines) + "\n");
    }

    @Test
    void emptyAnswersAreErrorsOrCountedDrops() throws Exception {
        Path f = file(sft("s", "p", "fine"), sft("s", "p", "  "), sft("s", "p", "also fine"));
        DataException e = assertThrows(DataException.class,
                () -> Datasets.sft(template, new Validator(f, ValidationRules.defaults(64))));
        assertEquals(f + ":2: \"output\" is an empty answer (empty-answer) — \"  \"", e.getMessage());

        Validator dropping = new Validator(f, ValidationRules.defaults(64).with(Reason.EMPTY_ANSWER, Action.DROP)
                .withMaxDropFraction(0.5));
        List<SftExample> kept = Datasets.sft(template, dropping);
        assertEquals(List.of(1L, 3L), kept.stream().map(SftExample::line).toList());
        ValidationSummary s = dropping.summary();
        assertEquals(3, s.rowsRead());
        assertEquals(2, s.kept());
        assertArrayEquals(new long[] {2}, s.droppedLines().get(Reason.EMPTY_ANSWER));
    }

    @Test
    void tooLongRowsAreErrorsDropsOrTruncatedKeepingPromptAndEos() throws Exception {
        String longAnswer = "word ".repeat(200).trim();
        Path f = file(sft("s", "short", "ok"), sft("s", "long", longAnswer));
        TemplatedSequence full = template.training("s", "long", longAnswer);
        int max = 40;

        DataException e = assertThrows(DataException.class, () -> Datasets.sft(template, new Validator(f, ValidationRules.defaults(max))));
        assertEquals(f + ":2: \"output\" makes a sequence of " + full.length() + " tokens (prompt part " + full.promptLength()
                + "), more than the maximum 40 (too-long) — " + "word ".repeat(12) + "…", e.getMessage());
        assertEquals(Reason.TOO_LONG, e.row().orElseThrow().reason());

        Validator dropping = new Validator(f, ValidationRules.defaults(max).with(Reason.TOO_LONG, Action.DROP).withMaxDropFraction(1));
        assertEquals(1, Datasets.sft(template, dropping).size());
        assertEquals(1, dropping.summary().dropped(Reason.TOO_LONG));

        Validator truncating = new Validator(f, ValidationRules.defaults(max).with(Reason.TOO_LONG, Action.TRUNCATE));
        List<SftExample> kept = Datasets.sft(template, truncating);
        TemplatedSequence cut = kept.get(1).sequence();
        assertEquals(max, cut.length());
        assertArrayEquals(Arrays.copyOf(full.ids(), max - 1), Arrays.copyOf(cut.ids(), max - 1));
        assertEquals(tokenizer.eosId(), cut.ids()[max - 1]);
        assertEquals(full.promptLength(), cut.promptLength());
        assertEquals(1, truncating.summary().truncatedSequences());
        assertEquals(0, truncating.summary().droppedTotal());
    }

    @Test
    void aPromptThatFillsTheMaximumLeavesNoSupervisedTokens() throws Exception {
        String longPrompt = "question ".repeat(50).trim();
        Path f = file(sft("s", longPrompt, "answer"), sft("s", "p", "fine"));
        ValidationRules truncate = ValidationRules.defaults(30).with(Reason.TOO_LONG, Action.TRUNCATE);
        DataException e = assertThrows(DataException.class, () -> Datasets.sft(template, new Validator(f, truncate)));
        RowProblem p = e.row().orElseThrow();
        assertEquals(Reason.NO_SUPERVISED_TOKENS, p.reason());
        assertEquals(1, p.line());
        assertTrue(p.problem().startsWith("the prompt part has "), p.problem());

        Validator dropping = new Validator(f, truncate.with(Reason.NO_SUPERVISED_TOKENS, Action.DROP).withMaxDropFraction(0.5));
        List<SftExample> kept = Datasets.sft(template, dropping);
        assertEquals(1, kept.size());
        assertTrue(kept.get(0).sequence().supervisedTokens() >= 1);
        assertEquals(1, dropping.summary().dropped(Reason.NO_SUPERVISED_TOKENS));
    }

    @Test
    void aPairIsDroppedOnceWhenEitherAnswerFails() throws Exception {
        String pair = "{\"system\": \"s\", \"prompt\": \"p\", \"chosen\": \"%s\", \"rejected\": \"%s\"}";
        Path f = file(pair.formatted("a", "b"), pair.formatted("fine", "word ".repeat(100)), pair.formatted("", ""));
        Validator v = new Validator(f, ValidationRules.defaults(40).with(Reason.TOO_LONG, Action.DROP)
                .with(Reason.EMPTY_ANSWER, Action.DROP).withMaxDropFraction(1));
        List<PairExample> kept = Datasets.preferencePairs(template, v);
        assertEquals(1, kept.size());
        ValidationSummary s = v.summary();
        assertEquals(1, s.dropped(Reason.TOO_LONG));
        assertEquals(1, s.dropped(Reason.EMPTY_ANSWER));
        assertEquals(3, s.rowsRead());
        int[] kept0 = {kept.get(0).chosen().length(), kept.get(0).rejected().length()};
        Arrays.sort(kept0);
        assertArrayEquals(kept0, s.sortedLengths(), "lengths of the kept pair's two sequences only");
    }

    @Test
    void rewardInputsEndWithTheSpacePieceAndEosAndStayEosAfterTruncation() throws Exception {
        Path f = file("{\"input\": \"sys\\ninstr\", \"chosen\": \"good\", \"rejected\": \"" + "bad ".repeat(80).trim() + "\"}");
        Validator v = new Validator(f, ValidationRules.defaults(24).with(Reason.TOO_LONG, Action.TRUNCATE));
        PairExample pair = Datasets.rewardPairs(template, v).get(0);
        int[] chosen = pair.chosen().ids();
        assertArrayEquals(template.rewardInput("sys", "instr", "good").ids(), chosen, "input = system + \\n + instruction");
        assertEquals(tokenizer.pieceId("\u2581").orElseThrow(), chosen[chosen.length - 2], "the space before </s>");
        assertEquals(tokenizer.eosId(), chosen[chosen.length - 1]);
        assertEquals(24, pair.rejected().length());
        assertEquals(tokenizer.eosId(), pair.rejected().ids()[23]);
    }

    @Test
    void theRunFailsAboveTheDropThreshold() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 19; i++) {
            lines.add(sft("s", "p" + i, "o" + i));
        }
        lines.add(sft("s", "p", ""));
        Path f = file(lines.toArray(new String[0]));
        ValidationRules drop = ValidationRules.defaults(64).with(Reason.EMPTY_ANSWER, Action.DROP);
        assertEquals(19, Datasets.sft(template, new Validator(f, drop)).size(), "1 of 20 = 5% is allowed");

        lines.add(sft("s", "p", " "));
        Path g = file(lines.toArray(new String[0]));
        Validator v = new Validator(g, drop);
        DataException e = assertThrows(DataException.class, () -> Datasets.sft(template, v));
        assertEquals(g + ": 2 of 21 rows dropped (9.52%: empty-answer 2), more than the allowed 5.00%", e.getMessage());
        assertTrue(e.row().isEmpty());
        assertEquals(2, v.summary().droppedTotal(), "the summary is still there to print");
    }

    @Test
    void aFileWithoutUsableRowsFails() throws Exception {
        Path f = file("", "   ");
        DataException e = assertThrows(DataException.class, () -> Datasets.sft(template, new Validator(f, ValidationRules.defaults(64))));
        assertEquals(f + ": no rows to use (0 read)", e.getMessage());
    }

    @Test
    void summaryCountsAndNearestRankPercentiles() {
        int[] lengths = new int[100];
        for (int i = 0; i < 100; i++) {
            lengths[i] = 100 - i;   // 1..100, unsorted
        }
        ValidationSummary s = new ValidationSummary(Path.of("d.jsonl"), 104, 2,
                Map.of(Reason.TOO_LONG, new long[] {3, 9, 12}, Reason.BAD_FIELD, new long[] {7}), 5, lengths, null);
        assertEquals(50, s.lengthPercentile(50));
        assertEquals(90, s.lengthPercentile(90));
        assertEquals(99, s.lengthPercentile(99));
        assertEquals(100, s.lengthPercentile(100));
        assertEquals(1, s.lengthPercentile(0.5));
        assertEquals(100, s.kept());
        assertEquals(5050, s.totalTokens());
        String text = s.toString();
        assertTrue(text.startsWith("data d.jsonl: 104 rows read, 100 kept, 4 dropped (3.85%), 5 sequences truncated,"
                + " 2 blank lines skipped\n"), text);
        assertTrue(text.contains("  dropped bad-field"), text);
        assertTrue(text.contains("lines 3, 9, 12\n"), text);
        assertTrue(text.contains("tokens per sequence: p50 50  p90 90  p99 99  max 100  (100 sequences, 5,050 tokens)"), text);
        // Seven values: ranks ceil(0.5·7) = 4, ceil(0.9·7) = 7.
        ValidationSummary seven = new ValidationSummary(Path.of("d"), 7, 0, Map.of(), 0, new int[] {5, 1, 9, 3, 7, 2, 8}, null);
        assertEquals(5, seven.lengthPercentile(50));
        assertEquals(9, seven.lengthPercentile(90));
        assertEquals(0, new ValidationSummary(Path.of("d"), 0, 0, Map.of(), 0, new int[0], null).lengthPercentile(50));
    }

    @Test
    void rulesRefuseActionsThatCannotApply() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ValidationRules.defaults(64).with(Reason.EMPTY_ANSWER, Action.TRUNCATE));
        assertEquals("empty-answer cannot be truncate: only too-long rows can be truncated", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ValidationRules.defaults(2));
        assertThrows(IllegalArgumentException.class, () -> ValidationRules.defaults(64).withMaxDropFraction(1.5));
        assertEquals(Action.TRUNCATE, Action.of("truncate"));
        assertEquals(Reason.NO_SUPERVISED_TOKENS, Reason.of("no-supervised-tokens"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reason.of("long")).getMessage()
                .contains("oversized-line, malformed-json, bad-field, empty-answer, too-long, no-supervised-tokens"));
        for (Reason r : Reason.values()) {
            assertEquals(Action.ERROR, ValidationRules.defaults(64).action(r), r + " is an error by default");
        }
    }
}
