package ai.janus.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PairBuilderTest {
    /** Prompt p under systems s0..s{k-1}, answer "a{p}-{s}", rows interleaved the way the collection lists them. */
    private static List<SourceRow<SftRow>> collection(int prompts, int systems) {
        List<SourceRow<SftRow>> rows = new ArrayList<>();
        for (int p = 0; p < prompts; p++) {
            for (int s = 0; s < systems; s++) {
                rows.add(new SourceRow<>(rows.size() + 1L, new SftRow("s" + s, "prompt " + p, "a" + p + "-" + s, Map.of())));
            }
        }
        return rows;
    }

    @Test
    void chosenIsTheAlignedAnswerAndRejectedAnotherSystemsAnswer() {
        List<SourceRow<SftRow>> rows = collection(300, 3);
        Map<Long, SftRow> byLine = new HashMap<>();
        rows.forEach(r -> byLine.put(r.line(), r.row()));
        PairBuilder.Result result = PairBuilder.build(rows, 11);
        assertEquals(300, result.pairs().size(), "one pair per instruction");
        assertEquals(0, result.promptsWithoutPair());
        int[] chosenSystem = new int[3];
        for (int i = 0; i < result.pairs().size(); i++) {
            SourceRow<PreferencePair> r = result.pairs().get(i);
            PreferencePair pair = r.row();
            SftRow chosenRow = byLine.get(r.line());
            assertEquals("prompt " + i, pair.prompt(), "instructions in first-appearance order");
            assertEquals(chosenRow.system(), pair.system());
            assertEquals(chosenRow.output(), pair.chosen(), "chosen = the answer written for this system message");
            SftRow rejectedRow = byLine.get(pair.metadata().get("rejected_line").longValue());
            assertEquals(pair.prompt(), rejectedRow.prompt());
            assertNotEquals(pair.system(), rejectedRow.system(), "rejected was written for another system message");
            assertEquals(rejectedRow.output(), pair.rejected());
            assertEquals(rejectedRow.system(), pair.metadata().get("rejected_system").textValue());
            chosenSystem[pair.system().charAt(1) - '0']++;
        }
        for (int c : chosenSystem) {
            assertTrue(c > 70 && c < 130, "each system chosen about 100 of 300 times: " + Arrays.toString(chosenSystem));
        }
    }

    @Test
    void theSameSeedGivesTheSamePairsAndAnotherSeedOthers() {
        List<SourceRow<SftRow>> rows = collection(50, 3);
        assertEquals(PairBuilder.build(rows, 1).pairs(), PairBuilder.build(rows, 1).pairs());
        assertNotEquals(PairBuilder.build(rows, 1).pairs(), PairBuilder.build(rows, 2).pairs());
    }

    @Test
    void instructionsWithoutAnAlternativeAreCountedNotPaired() {
        List<SourceRow<SftRow>> rows = new ArrayList<>(collection(2, 3));
        rows.add(new SourceRow<>(100, new SftRow("s0", "lonely", "only answer", Map.of())));
        rows.add(new SourceRow<>(101, new SftRow("s0", "same", "x", Map.of())));
        rows.add(new SourceRow<>(102, new SftRow("s1", "same", "x", Map.of())));
        rows.add(new SourceRow<>(103, new SftRow("s0", "one system", "x", Map.of())));
        rows.add(new SourceRow<>(104, new SftRow("s0", "one system", "y", Map.of())));
        PairBuilder.Result result = PairBuilder.build(rows, 5);
        assertEquals(2, result.pairs().size());
        assertEquals(3, result.promptsWithoutPair());
    }

    @Test
    void builtPairsTokenizeAndNameTheChosenRowsLine() throws Exception {
        List<SourceRow<SftRow>> rows = collection(4, 3);
        List<SourceRow<PreferencePair>> pairs = PairBuilder.build(rows, 3).pairs();
        ChatTemplate template = new ChatTemplate(TestData.mistral());
        Validator v = new Validator(Path.of("collection.jsonl"), ValidationRules.defaults(128));
        List<PairExample> examples = Datasets.preferencePairs(pairs, template, v);
        assertEquals(4, examples.size());
        for (int i = 0; i < 4; i++) {
            PreferencePair p = pairs.get(i).row();
            assertEquals(pairs.get(i).line(), examples.get(i).line());
            assertArrayEquals(template.training(p.system(), p.prompt(), p.chosen()).ids(), examples.get(i).chosen().ids());
            assertArrayEquals(template.training(p.system(), p.prompt(), p.rejected()).ids(), examples.get(i).rejected().ids());
        }
        assertEquals(4, v.summary().rowsRead());
    }
}
