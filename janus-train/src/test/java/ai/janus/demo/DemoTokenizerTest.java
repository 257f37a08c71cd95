package ai.janus.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.data.tokenizer.SentencePieceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The shipped demo tokenizer (examples/demo/tokenizer.model) against the text the demo feeds it. */
class DemoTokenizerTest {
    private static final Path SHIPPED = Path.of("..", "examples", "demo", "tokenizer.model");

    @Test
    void theJarCarriesTheShippedModel() throws IOException {
        try (InputStream in = DemoPipeline.class.getResourceAsStream(DemoPipeline.TOKENIZER_RESOURCE)) {
            assertNotNull(in, DemoPipeline.TOKENIZER_RESOURCE);
            assertArrayEquals(Files.readAllBytes(SHIPPED), in.readAllBytes());
        }
    }

    /**
     * A model trained from scratch has no meaning for a token it never saw in training (its
     * embedding stays random), so held-out system messages must be new sentences made of tokens
     * the training text uses (Preference's javadoc).
     */
    @Test
    void everyTokenOfTheHeldOutTextOccursInTraining() throws IOException {
        TaskGenerator.Split split = TaskGenerator.generate(DemoSettings.FULL.seed(), DemoSettings.FULL.trainInstructions(),
                DemoSettings.FULL.heldOutInstructions());
        try (SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(SHIPPED)) {
            assertEquals(1024, tokenizer.vocabSize());
            assertEquals(2, tokenizer.eosId());
            Set<Integer> seen = new HashSet<>();
            for (Task t : split.train()) {
                for (String text : new String[] {t.system(), t.instruction(), GoldWriter.write(t)}) {
                    for (int id : tokenizer.encode(text)) {
                        seen.add(id);
                    }
                }
            }
            for (Task t : split.heldOut()) {
                for (String text : new String[] {t.system(), t.instruction(), GoldWriter.write(t)}) {
                    for (int id : tokenizer.encode(text)) {
                        assertTrue(seen.contains(id), "'" + tokenizer.piece(id) + "' of '" + text + "' is not in training");
                        assertTrue(id != tokenizer.unkId(), text);
                    }
                }
            }
        }
    }
}
