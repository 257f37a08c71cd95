package ai.janus.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.data.tokenizer.SentencePieceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Templated rows against the ids python3-sentencepiece gives for the same pieces combined by the
 * spec's rule (fixtures/sentencepiece/make_fixtures.py): ASCII, accents, emoji, code, newlines in
 * system message and answer, empty system message, a 12,000-token row and more.
 */
class ChatTemplateTest {
    private static final int IGNORE = -100;   // PyTorch's ignore_index, as the spec's losses use it
    private static final JsonNode FIXTURE = TestData.sentencePieceFixture();
    private static final SentencePieceTokenizer tokenizer = TestData.mistral();
    private static final ChatTemplate template = new ChatTemplate(tokenizer);

    @Test
    void trainingGenerationAndRewardIdsEqualTheReference() {
        assertTrue(FIXTURE.get("template").size() >= 12);
        for (JsonNode row : FIXTURE.get("template")) {
            String name = row.get("name").textValue(), system = row.get("system").textValue(),
                    prompt = row.get("prompt").textValue(), output = row.get("output").textValue();
            TemplatedSequence training = template.training(system, prompt, output);
            assertArrayEquals(TestData.ints(row.get("sft_ids")), training.ids(), name + ": training ids");
            assertEquals(row.get("sft_prompt_length").intValue(), training.promptLength(), name + ": prompt part");
            assertArrayEquals(TestData.ints(row.get("generation_ids")), template.prompt(system, prompt), name + ": generation");
            assertArrayEquals(TestData.ints(row.get("reward_ids")), template.rewardInput(system, prompt, output).ids(),
                    name + ": reward input");
        }
    }

    @Test
    void exactlyOneBosAndOneEosPerRow() {
        for (JsonNode row : FIXTURE.get("template")) {
            for (TemplatedSequence s : new TemplatedSequence[] {
                    template.training(row.get("system").textValue(), row.get("prompt").textValue(), row.get("output").textValue()),
                    template.rewardInput(row.get("system").textValue(), row.get("prompt").textValue(), row.get("output").textValue())}) {
                int[] ids = s.ids();
                assertEquals(1, Arrays.stream(ids).filter(t -> t == 1).count(), row.get("name") + ": one BOS");
                assertEquals(1, Arrays.stream(ids).filter(t -> t == 2).count(), row.get("name") + ": one EOS");
                assertEquals(1, ids[0]);
                assertEquals(2, ids[ids.length - 1]);
            }
        }
    }

    @Test
    void labelsAreExactlyTheAnswerAndEos() {
        for (JsonNode row : FIXTURE.get("template")) {
            int[] ids = TestData.ints(row.get("sft_ids"));
            int promptLength = row.get("sft_prompt_length").intValue();
            int[] labels = template.training(row.get("system").textValue(), row.get("prompt").textValue(),
                    row.get("output").textValue()).shiftedLabels();
            // Position t predicts token t+1; only tokens of the reference's answer part are targets.
            for (int t = 0; t < ids.length; t++) {
                int expected = t + 1 < ids.length && t + 1 >= promptLength ? ids[t + 1] : IGNORE;
                assertEquals(expected, labels[t], row.get("name") + " position " + t);
            }
            assertEquals(ids.length - promptLength, Arrays.stream(labels).filter(l -> l != IGNORE).count());
            assertEquals(2, labels[ids.length - 2], "the last target is EOS");
        }
    }

    @Test
    void emptySystemUsesTheLibraryForm() {
        assertEquals("[INST] hi [/INST]", ChatTemplate.promptText("", "hi"));
        assertEquals("[INST] be brief\nhi [/INST]", ChatTemplate.promptText("be brief", "hi"));
    }

    @Test
    void truncationKeepsThePromptAndTheFinalEos() {
        JsonNode row = FIXTURE.get("template").get(0);
        TemplatedSequence full = template.training(row.get("system").textValue(), row.get("prompt").textValue(),
                row.get("output").textValue());
        int max = full.promptLength() + 3;
        TemplatedSequence cut = full.truncated(max);
        assertEquals(max, cut.length());
        assertEquals(full.promptLength(), cut.promptLength());
        assertArrayEquals(Arrays.copyOf(full.ids(), max - 1), Arrays.copyOf(cut.ids(), max - 1));
        assertEquals(2, cut.ids()[max - 1]);
        assertEquals(3, cut.supervisedTokens());
        assertSame(full, full.truncated(full.length()));
        assertThrows(IllegalArgumentException.class, () -> full.truncated(full.promptLength()));
    }
}
