package ai.janus.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.data.TestData;
import ai.janus.io.InvalidFileException;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Mistral tokenizer against the ids, pieces and texts of python3-sentencepiece and spm_encode (fixture). */
class SentencePieceTokenizerTest {
    private static final JsonNode FIXTURE = TestData.sentencePieceFixture();
    private static final SentencePieceTokenizer tokenizer = TestData.mistral();

    @Test
    void specialIdsAndVocabularySizeComeFromTheModelFile() {
        assertEquals(FIXTURE.get("vocab_size").intValue(), tokenizer.vocabSize());
        assertEquals(FIXTURE.get("bos_id").intValue(), tokenizer.bosId());
        assertEquals(FIXTURE.get("eos_id").intValue(), tokenizer.eosId());
        assertEquals(FIXTURE.get("unk_id").intValue(), tokenizer.unkId());
        assertEquals(FIXTURE.get("pad_id").intValue(), tokenizer.model().padId());
        assertTrue(tokenizer.model().addDummyPrefix());
    }

    @Test
    void fingerprintIsTheSha256OfTheModelFile() {
        assertEquals("sha256:" + FIXTURE.get("model_sha256").textValue(), tokenizer.fingerprint());
    }

    @Test
    void everyPieceMatchesTheReference() throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            digest.update(tokenizer.piece(id).getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
        }
        for (JsonNode entry : FIXTURE.get("pieces_sample")) {
            int id = entry.get(0).intValue();
            String piece = entry.get(1).textValue();
            assertEquals(piece, tokenizer.piece(id), "piece of id " + id);
            assertEquals(OptionalInt.of(id), tokenizer.pieceId(piece), "id of piece " + piece);
        }
        assertEquals(FIXTURE.get("pieces_sha256").textValue(), HexFormat.of().formatHex(digest.digest()),
                "hash of all " + tokenizer.vocabSize() + " pieces");
        assertEquals(OptionalInt.empty(), tokenizer.pieceId("no such piece"));
    }

    @Test
    void encodeMatchesTheReferenceLibrary() {
        assertTrue(FIXTURE.get("spm_encode_checked").intValue() > 10, "the fixture was cross-checked by spm_encode");
        int checked = 0;
        for (JsonNode c : FIXTURE.get("encode")) {
            assertArrayEquals(TestData.ints(c.get("ids")), tokenizer.encode(c.get("text").textValue()),
                    "encode " + c.get("text"));
            checked++;
        }
        assertTrue(checked >= 20, "checked " + checked);
    }

    @Test
    void decodeMatchesTheReferenceLibrary() {
        for (JsonNode c : FIXTURE.get("decode")) {
            int[] ids = TestData.ints(c.get("ids"));
            assertEquals(c.get("text").textValue(), tokenizer.decode(ids), "decode " + Arrays.toString(ids));
        }
    }

    @Test
    void decodeInvertsEncodeOnTemplateTexts() {
        for (JsonNode row : FIXTURE.get("template")) {
            String output = row.get("output").textValue();
            // "▁" typed as text encodes like a space, the one character that does not come back.
            if (!output.contains("\u2581")) {
                assertEquals(output, tokenizer.decode(tokenizer.encode(output)), row.get("name").textValue());
            }
        }
    }

    @Test
    void badIdsAndTextsAreIllegalArgumentsNotCrashes() {
        // The JNI aborts the JVM on these; the model table must catch them first.
        assertThrows(IllegalArgumentException.class, () -> tokenizer.piece(tokenizer.vocabSize()));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.piece(-1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> tokenizer.decode(new int[] {1, 32000}));
        assertTrue(e.getMessage().contains("32000"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> tokenizer.encode("ok \ud800 broken"));
        assertTrue(e.getMessage().contains("U+D800") && e.getMessage().contains("character 3"), e.getMessage());
        assertArrayEquals(new int[0], tokenizer.encode(""));
    }

    @Test
    void encodeIsSafeFromSeveralThreads() throws Exception {
        String text = FIXTURE.get("template").get(1).get("output").textValue();
        int[] expected = tokenizer.encode(text);
        Thread[] threads = new Thread[4];
        boolean[] ok = new boolean[threads.length];
        for (int t = 0; t < threads.length; t++) {
            int slot = t;
            threads[t] = new Thread(() -> {
                boolean same = true;
                for (int i = 0; i < 500; i++) {
                    same &= Arrays.equals(expected, tokenizer.encode(text));
                }
                ok[slot] = same;
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        for (boolean b : ok) {
            assertTrue(b);
        }
    }

    @Test
    void badModelFilesAreOneLineErrors(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.model");
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> SentencePieceTokenizer.load(missing));
        assertEquals(missing + ": tokenizer model not found", e.getMessage());

        byte[] real = Files.readAllBytes(TestData.mistralTokenizer());
        Path truncated = Files.write(dir.resolve("truncated.model"), Arrays.copyOf(real, real.length / 2));
        e = assertThrows(InvalidFileException.class, () -> SentencePieceTokenizer.load(truncated));
        assertTrue(e.getMessage().startsWith(truncated + ": not a SentencePiece model: "), e.getMessage());
        assertTrue(e.getMessage().contains("runs past its end"), e.getMessage());

        Path text = Files.writeString(dir.resolve("text.model"), "{\"this is\": \"json\"}\n");
        e = assertThrows(InvalidFileException.class, () -> SentencePieceTokenizer.load(text));
        assertTrue(e.getMessage().startsWith(text + ": not a SentencePiece model"), e.getMessage());

        Path empty = Files.write(dir.resolve("empty.model"), new byte[0]);
        e = assertThrows(InvalidFileException.class, () -> SentencePieceTokenizer.load(empty));
        assertEquals(empty + ": not a SentencePiece model: no pieces", e.getMessage());

        // One piece "a" of type NORMAL: a model without BOS/EOS/UNK cannot serve the template.
        Path noSpecials = Files.write(dir.resolve("nospecials.model"), new byte[] {0x0a, 0x03, 0x0a, 0x01, 'a'});
        e = assertThrows(InvalidFileException.class, () -> SentencePieceTokenizer.load(noSpecials));
        assertTrue(e.getMessage().contains("unk_id 0 is a NORMAL piece, expected UNKNOWN"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
