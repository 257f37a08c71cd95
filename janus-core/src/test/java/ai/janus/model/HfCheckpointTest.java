package ai.janus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.janus.backend.AttentionSpec;
import ai.janus.io.InvalidFileException;
import ai.janus.io.SafetensorsCheckpoint;
import ai.janus.io.SafetensorsFile;
import ai.janus.io.SafetensorsWriter;
import ai.janus.tensor.DType;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link HfCheckpoint} and {@link MistralConfig#read}: a random tiny Mistral survives save/load
 * (F32 bit-exact, BF16/F16 as their round-to-nearest-even narrowing, sharded or not), what is saved
 * is what HF transformers needs, and every bad config.json or checkpoint gives one line naming the
 * file and the problem, with nothing loaded (docs/spec/reliability.md, "Bad input").
 */
class HfCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Odd, so that it cannot be confused with any other dimension of the tiny model. */
    private static final int VOCAB = 97;
    private static final long SEED = 20240607L;
    private static final String Q0 = MistralWeights.layer(0, "self_attn.q_proj.weight");
    private static final String UP1 = MistralWeights.layer(1, "mlp.up_proj.weight");

    @TempDir
    Path dir;

    private MistralConfig config;
    private ParameterSet params;

    @BeforeEach
    void randomTinyModel() {
        config = MistralConfig.tiny(VOCAB);
        params = ParameterSet.allocate(MistralWeights.specs(config));
        MistralWeights.initialize(config, params, SEED);
    }

    @AfterEach
    void free() {
        params.close();
    }

    // ------------------------------------------------------------------ helpers

    private Path configFile() {
        return dir.resolve(HfCheckpoint.CONFIG_FILE);
    }

    private ObjectNode savedConfigJson() throws IOException {
        return (ObjectNode) JSON.readTree(configFile().toFile());
    }

    private void writeConfigJson(JsonNode root) throws IOException {
        Files.write(configFile(), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    }

    /** The tiny config as config.json text, to be edited by a test. */
    private ObjectNode baseConfigJson() {
        return JSON.valueToTree(config.toJson());
    }

    private static void assertOneLineNaming(InvalidFileException e, Path file, String... fragments) {
        String m = e.getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        assertTrue(m.startsWith(file.toString() + ": "), "names " + file + ": " + m);
        assertEquals(file, e.file());
        for (String f : fragments) {
            assertTrue(m.contains(f), "message must contain '" + f + "': " + m);
        }
    }

    private InvalidFileException configRefused(JsonNode root, String... fragments) throws IOException {
        writeConfigJson(root);
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> MistralConfig.read(configFile()),
                () -> "accepted " + root);
        assertOneLineNaming(e, configFile(), fragments);
        return e;
    }

    private InvalidFileException loadRefused(Path namedFile, String... fragments) {
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> {
            try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
                fail("loaded a bad checkpoint: " + loaded.config());
            }
        });
        assertOneLineNaming(e, namedFile, fragments);
        return e;
    }

    private static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + "[" + i + "]: expected " + expected[i] + " but was " + actual[i]);
            }
        }
    }

    /** Rewrites {@code model.safetensors} from the parameters, with edits: drop, replace, add. */
    private void writeTensors(String drop, Map<String, Tensor> replaceOrAdd) throws IOException {
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        for (ParameterSet.Spec s : params.specs()) {
            if (s.name().equals(drop)) {
                continue;
            }
            Tensor t = replaceOrAdd.containsKey(s.name()) ? replaceOrAdd.get(s.name()) : params.get(s.name());
            items.add(new SafetensorsWriter.Item(s.name(), t, t.dtype()));
        }
        for (Map.Entry<String, Tensor> e : replaceOrAdd.entrySet()) {
            if (!params.contains(e.getKey())) {
                items.add(new SafetensorsWriter.Item(e.getKey(), e.getValue(), e.getValue().dtype()));
            }
        }
        SafetensorsWriter.write(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), items, Map.of("format", "pt"));
    }

    /** Open file descriptors of this process that point into {@link #dir} (Linux /proc). */
    private long openFilesUnderDir() throws IOException {
        Path fds = Path.of("/proc/self/fd");
        Assumptions.assumeTrue(Files.isDirectory(fds), "needs /proc/self/fd");
        List<Path> entries;
        try (Stream<Path> s = Files.list(fds)) {
            entries = s.collect(Collectors.toList());
        }
        long n = 0;
        Path real = dir.toRealPath();
        for (Path fd : entries) {
            try {
                if (Files.readSymbolicLink(fd).startsWith(real)) {
                    n++;
                }
            } catch (IOException ignored) {
                // closed while listing
            }
        }
        return n;
    }

    private List<String> shardFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".safetensors")).sorted()
                    .collect(Collectors.toList());
        }
    }

    // ------------------------------------------------------------------ round trips

    @Test
    void f32RoundTripIsBitExact() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        assertEquals(List.of(SafetensorsCheckpoint.SINGLE_FILE), shardFiles());
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
            assertEquals(config.withTorchDtype("float32"), loaded.config());
            assertEquals(List.of(), loaded.warnings());
            assertEquals(params.specs().toString(), loaded.parameters().specs().toString());
            for (ParameterSet.Spec s : params.specs()) {
                assertArrayEquals(s.shape(), loaded.parameters().get(s.name()).shape(), s.name());
                assertBitsEqual(params.get(s.name()).toFloatArray(), loaded.parameters().get(s.name()).toFloatArray(),
                        s.name());
            }
            MistralWeights w = loaded.weights();
            assertEquals(config.numHiddenLayers(), w.layers().size());
            assertBitsEqual(params.get(MistralWeights.LM_HEAD).toFloatArray(), w.lmHead().toFloatArray(), "lm_head");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void halfPrecisionRoundTripIsTheRoundToNearestEvenNarrowing(DType storeAs) throws IOException {
        HfCheckpoint.save(dir, config, params, storeAs, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        float[] original = params.flat().toFloatArray();
        float[] expected = new float[original.length];
        for (int i = 0; i < original.length; i++) {
            expected[i] = storeAs == DType.BF16
                    ? HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(original[i]))
                    : HalfFloats.f16ToFloat(HalfFloats.floatToF16(original[i]));
        }
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
            float[] got = loaded.parameters().flat().toFloatArray();
            assertBitsEqual(expected, got, storeAs + " parameters");
            int changed = 0;
            for (int i = 0; i < original.length; i++) {
                changed += original[i] != got[i] ? 1 : 0;
            }
            assertTrue(changed > original.length / 2, "most values must be rounded, only " + changed + " were");
            assertEquals(storeAs == DType.BF16 ? "bfloat16" : "float16", loaded.config().torchDtype());
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE))) {
            for (SafetensorsFile.Entry e : f.entries().values()) {
                assertEquals(storeAs, e.dtype(), e.name());
            }
        }
    }

    @Test
    void shardedRoundTripIsBitExact() throws IOException {
        // ~444 KB of F32 parameters in shards of at most 100 KB.
        HfCheckpoint.save(dir, config, params, DType.F32, 100_000);
        List<String> shards = shardFiles();
        assertTrue(shards.size() >= 5, shards.toString());
        assertTrue(shards.get(0).matches("model-00001-of-000\\d\\d\\.safetensors"), shards.toString());
        assertTrue(Files.exists(dir.resolve(SafetensorsCheckpoint.INDEX_FILE)));
        JsonNode index = JSON.readTree(dir.resolve(SafetensorsCheckpoint.INDEX_FILE).toFile());
        assertEquals(params.numel() * 4, index.get("metadata").get("total_size").longValue());
        assertEquals(params.specs().size(), index.get("weight_map").size());
        for (String shard : shards) {
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(shard))) {
                assertEquals(Map.of("format", "pt"), f.metadata(), shard);
            }
        }
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
            assertBitsEqual(params.flat().toFloatArray(), loaded.parameters().flat().toFloatArray(), "sharded");
            assertEquals(List.of(), loaded.warnings());
        }
        // Saved again small enough for one file: the index must not shadow it.
        params.get(MistralWeights.FINAL_NORM).fill(3f);
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        assertFalse(Files.exists(dir.resolve(SafetensorsCheckpoint.INDEX_FILE)));
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
            assertEquals(3f, loaded.parameters().get(MistralWeights.FINAL_NORM).toFloatArray()[0]);
        }
    }

    @Test
    void headDimOtherThanHiddenOverHeadsRoundTrips() throws IOException {
        MistralConfig wide = MistralConfig.of(VOCAB, 64, 192, 2, 4, 2, 32, 10000.0, 1024, false);
        try (ParameterSet p = ParameterSet.allocate(MistralWeights.specs(wide))) {
            MistralWeights.initialize(wide, p, SEED);
            assertArrayEquals(new long[] {128, 64}, p.get(Q0).shape());
            HfCheckpoint.save(dir, wide, p, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
            assertEquals(32, savedConfigJson().get("head_dim").intValue());
            assertEquals(1024, savedConfigJson().get("sliding_window").intValue());
            try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
                assertEquals(32, loaded.config().headDim());
                assertEquals(1024, loaded.config().slidingWindow());
                assertBitsEqual(p.flat().toFloatArray(), loaded.parameters().flat().toFloatArray(), "head_dim 32");
            }
        }
    }

    @Test
    void tiedEmbeddingsHaveNoLmHeadAndAStoredOneIsAWarning() throws IOException {
        MistralConfig tied = MistralConfig.of(VOCAB, 64, 192, 2, 4, 2, 16, 10000.0, AttentionSpec.NO_WINDOW, true);
        // The untied parameters (with lm_head) saved under a tied config.
        HfCheckpoint.save(dir, tied, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
            assertFalse(loaded.parameters().contains(MistralWeights.LM_HEAD));
            assertEquals(1, loaded.warnings().size(), loaded.warnings().toString());
            String w = loaded.warnings().get(0);
            assertTrue(w.contains("'" + MistralWeights.LM_HEAD + "'") && w.contains("tie_word_embeddings"), w);
            MistralWeights weights = loaded.weights();
            assertSame(weights.embed(), weights.lmHead());
        }
    }

    // ------------------------------------------------------------------ what HF needs

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16"})
    void savedConfigAndMetadataAreWhatTransformersLoads(DType storeAs) throws IOException {
        HfCheckpoint.save(dir, config, params, storeAs, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        JsonNode c = savedConfigJson();
        assertEquals(1, c.get("architectures").size());
        assertEquals("MistralForCausalLM", c.get("architectures").get(0).textValue());
        assertEquals("mistral", c.get("model_type").textValue());
        String dtype = switch (storeAs) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        };
        assertEquals(dtype, c.get("torch_dtype").textValue());
        assertEquals("silu", c.get("hidden_act").textValue());
        assertEquals(VOCAB, c.get("vocab_size").intValue());
        assertEquals(64, c.get("hidden_size").intValue());
        assertEquals(192, c.get("intermediate_size").intValue());
        assertEquals(2, c.get("num_hidden_layers").intValue());
        assertEquals(4, c.get("num_attention_heads").intValue());
        assertEquals(2, c.get("num_key_value_heads").intValue());
        assertEquals(16, c.get("head_dim").intValue());
        assertEquals(32768, c.get("max_position_embeddings").intValue());
        assertEquals(10000.0, c.get("rope_theta").doubleValue());
        assertEquals(1e-5, c.get("rms_norm_eps").doubleValue());
        assertFalse(c.get("tie_word_embeddings").booleanValue());
        assertTrue(c.has("sliding_window") && c.get("sliding_window").isNull(),
                "no window is JSON null, not absent (absent means 4096 to HF)");
        assertTrue(c.get("vocab_size").isInt() && c.get("hidden_size").isInt(), "integers stay integers");
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
        }
    }

    @Test
    void saveRefusesANonFloatDType() {
        assertThrows(IllegalArgumentException.class,
                () -> HfCheckpoint.save(dir, config, params, DType.I32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES));
    }

    // ------------------------------------------------------------------ config.json

    @Test
    void configRoundTripsThroughItsJson() throws IOException {
        writeConfigJson(baseConfigJson());
        assertEquals(config, MistralConfig.read(configFile()));
    }

    @ParameterizedTest(name = "missing {0}")
    @ValueSource(strings = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "vocab_size", "rms_norm_eps", "rope_theta"})
    void missingRequiredFieldIsNamed(String field) throws IOException {
        ObjectNode root = baseConfigJson();
        root.remove(field);
        configRefused(root, "missing required field", "\"" + field + "\"");
        root.putNull(field);
        configRefused(root, "missing required field", "\"" + field + "\"");
    }

    @Test
    void missingRequiredFieldStopsALoad() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        ObjectNode root = savedConfigJson();
        root.remove("num_key_value_heads");
        writeConfigJson(root);
        loadRefused(configFile(), "missing required field \"num_key_value_heads\"");
    }

    @Test
    void missingConfigFile() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        Files.delete(configFile());
        loadRefused(configFile(), "file not found");
    }

    static Stream<Arguments> wrongTypes() {
        return Stream.of(
                Arguments.of("hidden_size", "\"64\"", "must be an integer"),
                Arguments.of("num_hidden_layers", "2.0", "must be an integer"),
                Arguments.of("vocab_size", "3000000000", "must be an integer in [-2147483648, 2147483647], found 3000000000"),
                Arguments.of("head_dim", "16.5", "must be an integer"),
                Arguments.of("sliding_window", "\"4096\"", "must be an integer"),
                Arguments.of("bos_token_id", "[1]", "must be an integer"),
                Arguments.of("rope_theta", "\"10000\"", "must be a number"),
                Arguments.of("rms_norm_eps", "true", "must be a number"),
                Arguments.of("tie_word_embeddings", "\"false\"", "must be true or false"),
                Arguments.of("torch_dtype", "16", "must be a string"),
                Arguments.of("model_type", "[\"mistral\"]", "must be a string"),
                Arguments.of("hidden_act", "{}", "must be a string"));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("wrongTypes")
    void wronglyTypedFieldIsNamed(String field, String value, String problem) throws IOException {
        ObjectNode root = baseConfigJson();
        root.set(field, JSON.readTree(value));
        configRefused(root, "\"" + field + "\"", problem);
    }

    static Stream<Arguments> inconsistentValues() {
        return Stream.of(
                Arguments.of("num_attention_heads", "3", "multiple of num_key_value_heads"),
                Arguments.of("hidden_size", "-64", "hidden_size must be > 0"),
                Arguments.of("num_key_value_heads", "0", "num_key_value_heads must be > 0"),
                Arguments.of("head_dim", "15", "head_dim must be even"),
                Arguments.of("rope_theta", "0", "rope_theta"),
                Arguments.of("rms_norm_eps", "-1e-5", "rms_norm_eps"),
                Arguments.of("sliding_window", "-5", "sliding_window"));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("inconsistentValues")
    void invalidValueIsNamed(String field, String value, String problem) throws IOException {
        ObjectNode root = baseConfigJson();
        root.set(field, JSON.readTree(value));
        configRefused(root, problem);
    }

    @Test
    void aBillionLayersAreRefusedBeforeTheLayoutIsBuilt() throws IOException {
        // 9·10^9 specs used to be built first: minutes of GC, then OutOfMemoryError
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        ObjectNode root = baseConfigJson();
        root.put("num_hidden_layers", 1_000_000_000);
        writeConfigJson(root);
        loadRefused(configFile(), "num_hidden_layers 1000000000 cannot be: the safetensors files hold only");
        assertOneLineNaming(assertThrows(InvalidFileException.class, () -> HfCheckpoint.inspect(dir)), configFile(),
                "num_hidden_layers 1000000000");
    }

    @Test
    void configThatIsNotAnObjectOrNotJson() throws IOException {
        configRefused(JSON.readTree("[1, 2]"), "not a JSON object");
        Files.writeString(configFile(), "{\n  \"hidden_size\": 64,\n  \"vocab_size\": \n}");
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> MistralConfig.read(configFile()));
        assertOneLineNaming(e, configFile(), "invalid JSON", "line 4", "column");
    }

    @Test
    void slidingWindowNullAbsentAndInteger() throws IOException {
        ObjectNode root = baseConfigJson();
        root.putNull("sliding_window");
        writeConfigJson(root);
        assertEquals(AttentionSpec.NO_WINDOW, MistralConfig.read(configFile()).slidingWindow(), "null = no window");

        root.remove("sliding_window");
        writeConfigJson(root);
        assertEquals(4096, MistralConfig.read(configFile()).slidingWindow(), "absent = HF default 4096");
        assertEquals(MistralConfig.HF_DEFAULT_SLIDING_WINDOW, MistralConfig.read(configFile()).slidingWindow());

        root.put("sliding_window", 1000);
        writeConfigJson(root);
        MistralConfig c = MistralConfig.read(configFile());
        assertEquals(1000, c.slidingWindow());
        assertEquals(1000, c.toJson().get("sliding_window"));
    }

    @Test
    void headDimAbsentIsHiddenOverHeadsAndPresentIsKept() throws IOException {
        ObjectNode root = baseConfigJson();
        root.remove("head_dim");
        root.put("hidden_size", 96); // 96 / 4 heads = 24, distinct from the tiny model's 16
        writeConfigJson(root);
        assertEquals(24, MistralConfig.read(configFile()).headDim());

        root.putNull("head_dim");
        writeConfigJson(root);
        assertEquals(24, MistralConfig.read(configFile()).headDim(), "null is absent");

        root.put("head_dim", 32);
        writeConfigJson(root);
        MistralConfig c = MistralConfig.read(configFile());
        assertEquals(32, c.headDim());
        assertArrayEquals(new long[] {128, 96}, MistralWeights.specs(c).get(2).shape(), "q_proj [H*D, C]");

        root.remove("head_dim");
        root.put("hidden_size", 66); // not a multiple of 4 heads
        configRefused(root, "head_dim is absent", "66", "4");
    }

    @Test
    void optionalFieldsTakeHfDefaults() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("hidden_size", 64).put("intermediate_size", 192).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("vocab_size", VOCAB)
                .put("rms_norm_eps", 1e-6).put("rope_theta", 500000.0);
        writeConfigJson(root);
        MistralConfig c = MistralConfig.read(configFile());
        assertEquals(16, c.headDim());
        assertEquals(4096, c.slidingWindow());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(1, c.bosTokenId());
        assertEquals(2, c.eosTokenId());
        assertEquals(0.0, c.attentionDropout());
        assertEquals(0.02, c.initializerRange());
        assertEquals("bfloat16", c.torchDtype());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(Map.of(), c.extra());
    }

    @Test
    void unknownFieldsArePreservedOnSave() throws IOException {
        ObjectNode root = baseConfigJson();
        root.put("transformers_version", "4.44.2");
        root.putNull("rope_scaling");
        root.putNull("pad_token_id");
        root.put("use_cache", true);
        root.set("quantization_config", JSON.readTree("{\"bits\": 4, \"list\": [1, 2.5, \"x\", null], \"big\": 12345678901}"));
        writeConfigJson(root);
        MistralConfig read = MistralConfig.read(configFile());
        assertEquals("4.44.2", read.extra().get("transformers_version"));
        assertTrue(read.extra().containsKey("rope_scaling"));

        Path out = dir.resolve("resaved");
        HfCheckpoint.save(out, read, params, DType.BF16, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        JsonNode saved = JSON.readTree(out.resolve(HfCheckpoint.CONFIG_FILE).toFile());
        for (String f : List.of("transformers_version", "rope_scaling", "pad_token_id", "use_cache",
                "quantization_config")) {
            assertTrue(saved.has(f), f + " lost on save: " + saved);
            assertEquals(root.get(f), saved.get(f), f);
        }
        assertEquals("bfloat16", saved.get("torch_dtype").textValue());
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(out)) {
            assertEquals(read.extra(), loaded.config().extra());
        }
    }

    @Test
    void aNewStyleDtypeFieldFollowsTheStoredDtype() throws IOException {
        ObjectNode root = baseConfigJson();
        root.remove("torch_dtype");
        root.put("dtype", "bfloat16");
        writeConfigJson(root);
        MistralConfig read = MistralConfig.read(configFile());
        Path out = dir.resolve("resaved");
        HfCheckpoint.save(out, read, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        JsonNode saved = JSON.readTree(out.resolve(HfCheckpoint.CONFIG_FILE).toFile());
        assertEquals("float32", saved.get("torch_dtype").textValue());
        if (saved.has("dtype")) {
            assertEquals("float32", saved.get("dtype").textValue(), "dtype and torch_dtype disagree: " + saved);
        }
    }

    @Test
    void modelTypeOtherThanMistralIsRefused() throws IOException {
        ObjectNode root = baseConfigJson();
        root.put("model_type", "llama");
        configRefused(root, "model_type", "\"llama\"", "mistral");
        root.put("model_type", "mistral");
        root.put("hidden_act", "gelu");
        configRefused(root, "hidden_act", "\"gelu\"", "silu");
    }

    @Test
    void modelTypeOtherThanMistralStopsALoad() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        ObjectNode root = savedConfigJson();
        root.put("model_type", "mixtral");
        writeConfigJson(root);
        loadRefused(configFile(), "\"mixtral\"");
    }

    // ------------------------------------------------------------------ checkpoint against config

    @Test
    void vocabSizeDisagreeingWithTheEmbeddingNamesBoth() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        ObjectNode root = savedConfigJson();
        root.put("vocab_size", VOCAB - 1);
        writeConfigJson(root);
        loadRefused(configFile(), "vocab_size 96", MistralWeights.EMBED, "[97, 64]",
                dir.resolve(SafetensorsCheckpoint.SINGLE_FILE).toString());
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        writeTensors(UP1, Map.of());
        loadRefused(dir, "missing tensor '" + UP1 + "'");
    }

    @Test
    void missingTensorInAShardedCheckpointIsNamed() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, 100_000);
        Path index = dir.resolve(SafetensorsCheckpoint.INDEX_FILE);
        ObjectNode root = (ObjectNode) JSON.readTree(index.toFile());
        ((ObjectNode) root.get("weight_map")).remove(MistralWeights.FINAL_NORM);
        Files.write(index, JSON.writeValueAsBytes(root));
        loadRefused(dir, "missing tensor '" + MistralWeights.FINAL_NORM + "'");
    }

    @Test
    void extraTensorIsAWarningAndTheLoadSucceeds() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        try (Tensor valueHead = Tensor.of(new float[64], 1, 64)) {
            writeTensors(null, Map.of("value_head.weight", valueHead));
        }
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
            assertEquals(1, loaded.warnings().size(), loaded.warnings().toString());
            String w = loaded.warnings().get(0);
            assertTrue(w.contains("'value_head.weight'"), w);
            assertTrue(w.contains(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE).toString()), w);
            assertFalse(loaded.parameters().contains("value_head.weight"));
            assertBitsEqual(params.flat().toFloatArray(), loaded.parameters().flat().toFloatArray(), "parameters");
        }
    }

    @Test
    void tensorOfTheWrongShapeIsNamed() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        try (Tensor narrow = Tensor.allocate(DType.F32, 32, 64)) {
            writeTensors(null, Map.of(Q0, narrow));
        }
        loadRefused(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), "'" + Q0 + "'", "[32, 64]", "[64, 64]",
                configFile().toString());
    }

    @Test
    void transposedTensorIsRefusedEvenWithTheSameElementCount() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        String down = MistralWeights.layer(0, "mlp.down_proj.weight");
        try (Tensor transposed = Tensor.allocate(DType.F32, 192, 64)) {
            writeTensors(null, Map.of(down, transposed));
        }
        loadRefused(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), "'" + down + "'", "[192, 64]", "[64, 192]");
    }

    @Test
    void integerTensorWhereAFloatIsExpected() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        try (Tensor ints = Tensor.ofInts(new int[64])) {
            writeTensors(null, Map.of(MistralWeights.FINAL_NORM, ints));
        }
        loadRefused(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), "'" + MistralWeights.FINAL_NORM + "'", "I32",
                "float");
    }

    @Test
    void aFailedLoadReturnsNothingAndKeepsNoFileOpen() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, 100_000);
        long before = openFilesUnderDir();
        assertEquals(0, before, "nothing open before");
        List<String> shards = shardFiles();
        Path last = dir.resolve(shards.get(shards.size() - 1));
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 4);
        }
        loadRefused(last, "out of range");
        assertEquals(0, openFilesUnderDir(), "a failed load must close every shard it opened");

        // A failure found after every header was read (wrong shape) closes everything too.
        HfCheckpoint.save(dir, config, params, DType.F32, 100_000);
        ObjectNode root = savedConfigJson();
        root.put("intermediate_size", 190);
        writeConfigJson(root);
        loadRefused(dir.resolve(fileHolding(MistralWeights.layer(0, "mlp.gate_proj.weight"))),
                "[192, 64]", "[190, 64]");
        assertEquals(0, openFilesUnderDir(), "a failed load must close every shard it opened");

        // Repaired, the same directory loads, and a successful load keeps nothing open either.
        HfCheckpoint.save(dir, config, params, DType.F32, 100_000);
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
            assertBitsEqual(params.flat().toFloatArray(), loaded.parameters().flat().toFloatArray(), "repaired");
            assertEquals(0, openFilesUnderDir(), "files are closed once the parameters are copied");
        }
    }

    @Test
    void theOpenFileCounterSeesAnOpenShard() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE))) {
            assertEquals(1, openFilesUnderDir(), "the helper must see what is open, or its zeros mean nothing");
        }
        assertEquals(0, openFilesUnderDir());
    }

    private String fileHolding(String tensor) throws IOException {
        JsonNode index = JSON.readTree(dir.resolve(SafetensorsCheckpoint.INDEX_FILE).toFile());
        return index.get("weight_map").get(tensor).textValue();
    }

    @Test
    void loadedParametersAreIndependentOfTheFiles() throws IOException {
        HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
            float before = loaded.parameters().get(Q0).toFloatArray()[0];
            // Overwrite the checkpoint; the loaded copy must not change.
            params.get(Q0).fill(before + 1f);
            HfCheckpoint.save(dir, config, params, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
            assertEquals(before, loaded.parameters().get(Q0).toFloatArray()[0]);
            assertNotEquals(before, params.get(Q0).toFloatArray()[0]);
        }
    }
}
