package ai.janus.train.objective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.Action;
import ai.janus.data.ChatTemplate;
import ai.janus.data.Datasets;
import ai.janus.data.PairExample;
import ai.janus.data.Reason;
import ai.janus.data.TestData;
import ai.janus.data.ValidationRules;
import ai.janus.data.Validator;
import ai.janus.io.InvalidFileException;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DPO reference cache: computed once, read back bit for bit, refused when anything it depends on changed. */
class ReferenceLogProbsTest {
    private static final MistralConfig CONFIG = Fixtures.tinyConfig();
    private static final ValidationRules RULES = ValidationRules.defaults(512);

    @TempDir
    static Path dir;

    private static CpuBackend cpu;
    private static ParameterSet params;
    private static Path data;
    private static List<PairExample> pairs;

    @BeforeAll
    static void setUp() throws Exception {
        cpu = new CpuBackend();
        params = Fixtures.tinyModel(3, 1f);
        data = Fixtures.writePairs(dir.resolve("pairs.jsonl"), 7);
        pairs = Datasets.preferencePairs(new ChatTemplate(TestData.mistral()), new Validator(data, RULES));
    }

    @AfterAll
    static void tearDown() {
        cpu.close();
        params.close();
    }

    private static ReferenceKey key() {
        return ReferenceKey.of(CONFIG, params, TestData.mistral(), ChatTemplate.NAME, RULES, data);
    }

    private static ReferenceLogProbs compute(ReferenceKey key) {
        return ReferenceLogProbs.compute(new Mistral(CONFIG, MistralWeights.of(CONFIG, params), cpu), pairs, 3, key);
    }

    @Test
    void computedOnceThenReadBackBitForBit() throws Exception {
        Path file = dir.resolve("once/reference.json");
        AtomicInteger computed = new AtomicInteger();
        ReferenceKey key = key();
        ReferenceLogProbs first = ReferenceLogProbs.loadOrCompute(file, key, pairs, () -> {
            computed.incrementAndGet();
            return compute(key);
        });
        ReferenceLogProbs second = ReferenceLogProbs.loadOrCompute(file, key, pairs, () -> {
            computed.incrementAndGet();
            return compute(key);
        });
        assertEquals(1, computed.get(), "the second run reads the cache");
        assertEquals(7, second.pairs());
        assertArrayEquals(first.chosen(0, 7), second.chosen(0, 7));
        assertArrayEquals(first.rejected(0, 7), second.rejected(0, 7));
        for (double s : second.chosen(0, 7)) {
            assertTrue(s < 0 && Double.isFinite(s), "" + s);
        }
        assertEquals(key, second.key());
    }

    @Test
    void theKeyNamesWhatTheCacheDependsOn() {
        ReferenceKey key = key();
        assertTrue(key.model().startsWith("sha256:"));
        assertEquals(TestData.mistral().fingerprint(), key.tokenizer());
        assertEquals(ChatTemplate.NAME, key.template());
        assertEquals(512, key.maxTokens());
        assertTrue(key.rowPolicy().contains("too-long=error"), key.rowPolicy());
        assertEquals(ReferenceKey.fileFingerprint(data), key.data());
        assertEquals(key, key(), "the same inputs give the same key");
    }

    /** Saves a cache under the current key, then loads it expecting {@code changed}: refused, naming {@code what}. */
    private void assertRefused(String name, ReferenceKey changed, String what) throws Exception {
        Path file = dir.resolve(name + ".json");
        compute(key()).save(file);
        InvalidFileException e = assertThrows(InvalidFileException.class,
                () -> ReferenceLogProbs.load(file, changed, pairs));
        assertTrue(e.getMessage().startsWith(file + ": stale reference log-probs: " + what + " (cache "), e.getMessage());
        assertTrue(e.getMessage().endsWith(" changed; delete the file to recompute them"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
        // and loadOrCompute refuses it too, without computing
        assertThrows(InvalidFileException.class, () -> ReferenceLogProbs.loadOrCompute(file, changed, pairs, () -> {
            throw new AssertionError("a stale cache must not be recomputed silently");
        }));
    }

    @Test
    void aChangedModelIsRefused() throws Exception {
        try (ParameterSet other = params.zerosLike()) {
            other.copyFrom(params);
            other.get(MistralWeights.FINAL_NORM).floats().put(5, 1.5f); // one value of 4M
            ReferenceKey changed = ReferenceKey.of(CONFIG, other, TestData.mistral(), ChatTemplate.NAME, RULES, data);
            assertNotEquals(key().model(), changed.model());
            assertRefused("model", changed, "the model");
        }
    }

    @Test
    void aChangedTokenizerTemplateLengthOrTruncationIsRefused() throws Exception {
        ReferenceKey k = key();
        assertRefused("tokenizer", new ReferenceKey(k.model(), "sha256:0000", k.template(), k.maxTokens(), k.rowPolicy(),
                k.data()), "the tokenizer");
        assertRefused("template", new ReferenceKey(k.model(), k.tokenizer(), "mistral-inst-system-in-user/2", k.maxTokens(),
                k.rowPolicy(), k.data()), "the template");
        ReferenceKey shorter = ReferenceKey.of(CONFIG, params, TestData.mistral(), ChatTemplate.NAME,
                ValidationRules.defaults(256), data);
        assertRefused("length", shorter, "the maximum length");
        ReferenceKey truncating = ReferenceKey.of(CONFIG, params, TestData.mistral(), ChatTemplate.NAME,
                RULES.with(Reason.TOO_LONG, Action.TRUNCATE), data);
        assertRefused("truncation", truncating, "the truncation and row policy");
    }

    @Test
    void changedDataIsRefused() throws Exception {
        Path edited = dir.resolve("edited.jsonl");
        Files.writeString(edited, Files.readString(data).replaceFirst("\"chosen\":\"", "\"chosen\":\"Well, "),
                StandardCharsets.UTF_8);
        ReferenceKey changed = ReferenceKey.of(CONFIG, params, TestData.mistral(), ChatTemplate.NAME, RULES, edited);
        assertRefused("data", changed, "the data");
    }

    @Test
    void pairsThatDoNotMatchTheCacheAreRefused() throws Exception {
        Path file = dir.resolve("pairs.json");
        compute(key()).save(file);
        InvalidFileException e = assertThrows(InvalidFileException.class,
                () -> ReferenceLogProbs.load(file, key(), pairs.subList(0, 6)));
        assertEquals(file + ": holds 7 pairs, the data has 6", e.getMessage());
        List<PairExample> swapped = new java.util.ArrayList<>(pairs);
        swapped.set(2, new PairExample(pairs.get(2).line(), pairs.get(2).rejected(), pairs.get(2).chosen()));
        e = assertThrows(InvalidFileException.class, () -> ReferenceLogProbs.load(file, key(), swapped));
        assertTrue(e.getMessage().startsWith(file + ": pair 2 (line 3) has "), e.getMessage());
    }

    @Test
    void aBrokenFileIsAOneLineError() throws Exception {
        Path file = dir.resolve("broken.json");
        compute(key()).save(file);
        String text = Files.readString(file);
        Files.writeString(file, text.substring(0, text.length() / 2));
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> ReferenceLogProbs.load(file, key(), pairs));
        assertTrue(e.getMessage().startsWith(file + ": invalid JSON in file at line 1 column "), e.getMessage());
        Files.writeString(file, text.replace("\"version\":1", "\"version\":2"));
        e = assertThrows(InvalidFileException.class, () -> ReferenceLogProbs.load(file, key(), pairs));
        assertEquals(file + ": version 2 of the reference cache, janus reads 1", e.getMessage());
        Files.writeString(file, text.replaceFirst("\"chosen_sum\":\\[[^,]*,", "\"chosen_sum\":[0.5,"));
        e = assertThrows(InvalidFileException.class, () -> ReferenceLogProbs.load(file, key(), pairs));
        assertEquals(file + ": \"chosen_sum\"[0] must be a finite log-prob <= 0, found 0.5", e.getMessage());
        Files.writeString(file, "{\"format\": \"something else\"}");
        e = assertThrows(InvalidFileException.class, () -> ReferenceLogProbs.load(file, key(), pairs));
        assertTrue(e.getMessage().contains("not a janus reference log-prob cache"), e.getMessage());
    }
}
