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
import java.security.MessageDigest;
import java.util.HexFormat;
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
     * The shipped model is what make-tokenizer.sh makes from today's corpus only while the corpus
     * is the one it was made from: a change to the generator, the gold writer or the FULL sizes
     * fails here until the tokenizer is rebuilt (and the demo's numbers re-measured).
     */
    @Test
    void theCorpusIsTheOneTheShippedModelWasTrainedOn() throws Exception {
        String recorded = Files.readString(SHIPPED.resolveSibling("tokenizer.corpus.sha256")).split(" ")[0];
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(TokenizerCorpus.corpus());
        assertEquals(recorded, HexFormat.of().formatHex(digest),
                "the demo's training text changed: run examples/demo/make-tokenizer.sh");
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
