package ai.janus.io;

import static ai.janus.io.SafetensorsFileTest.assertOneLineNaming;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.janus.tensor.DType;
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
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link SafetensorsCheckpoint}: one file or shards plus {@code model.safetensors.index.json}
 * (docs/spec/model.md). Five F32 [16] tensors of 64 bytes each with {@code maxShardBytes = 128}
 * make three shards: {t0, t1}, {t2, t3}, {t4}.
 */
class SafetensorsCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Written in this order; deliberately not sorted, so index order and item order differ. */
    private static final List<String> NAMES = List.of("model.z.weight", "model.b.weight", "model.y.weight",
            "model.a.weight", "model.m.weight");
    private static final long TENSOR_BYTES = 16 * 4;
    private static final String SHARD1 = "model-00001-of-00003.safetensors";
    private static final String SHARD2 = "model-00002-of-00003.safetensors";
    private static final String SHARD3 = "model-00003-of-00003.safetensors";

    @TempDir
    Path dir;

    private final List<Tensor> tensors = new ArrayList<>();

    @BeforeEach
    void makeTensors() {
        for (int i = 0; i < NAMES.size(); i++) {
            float[] v = new float[16];
            for (int j = 0; j < v.length; j++) {
                v[j] = i * 100 + j + 0.25f;
            }
            tensors.add(Tensor.of(v, 4, 4));
        }
    }

    @AfterEach
    void freeTensors() {
        tensors.forEach(Tensor::close);
    }

    private List<SafetensorsWriter.Item> items() {
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        for (int i = 0; i < NAMES.size(); i++) {
            items.add(new SafetensorsWriter.Item(NAMES.get(i), tensors.get(i), DType.F32));
        }
        return items;
    }

    private void writeSharded() throws IOException {
        SafetensorsCheckpoint.write(dir, items(), Map.of("format", "pt"), 2 * TENSOR_BYTES);
    }

    private Path index() {
        return dir.resolve(SafetensorsCheckpoint.INDEX_FILE);
    }

    private ObjectNode readIndex() throws IOException {
        return (ObjectNode) JSON.readTree(index().toFile());
    }

    private void writeIndex(JsonNode root) throws IOException {
        Files.write(index(), JSON.writeValueAsBytes(root));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    private static float[] read(SafetensorsCheckpoint c, String name) throws IOException {
        try (Tensor dst = Tensor.allocate(DType.F32, c.entry(name).shape())) {
            c.readFloats(name, dst);
            return dst.toFloatArray();
        }
    }

    private static InvalidFileException refused(Path directory, Path namedFile, String... fragments) {
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> {
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(directory)) {
                fail("opened a bad checkpoint: " + c.names());
            }
        });
        assertOneLineNaming(e, namedFile, fragments);
        return e;
    }

    private List<String> filesInDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    // ------------------------------------------------------------------ sharded round trip

    @Test
    void shardedWriteMakesThreeShardsAndAnIndex() throws IOException {
        writeSharded();
        assertEquals(List.of(SHARD1, SHARD2, SHARD3, SafetensorsCheckpoint.INDEX_FILE), filesInDir());

        JsonNode root = readIndex();
        assertEquals(NAMES.size() * TENSOR_BYTES, root.get("metadata").get("total_size").longValue());
        assertTrue(root.get("metadata").get("total_size").isIntegralNumber(), "total_size is an integer");
        JsonNode wm = root.get("weight_map");
        assertEquals(NAMES.size(), wm.size());
        Map<String, String> expected = Map.of(
                "model.z.weight", SHARD1, "model.b.weight", SHARD1,
                "model.y.weight", SHARD2, "model.a.weight", SHARD2,
                "model.m.weight", SHARD3);
        for (Map.Entry<String, String> e : expected.entrySet()) {
            assertEquals(e.getValue(), wm.get(e.getKey()).textValue(), e.getKey());
        }

        // Each shard holds exactly its tensors, in item order, with the metadata.
        try (SafetensorsFile s1 = SafetensorsFile.open(dir.resolve(SHARD1));
             SafetensorsFile s3 = SafetensorsFile.open(dir.resolve(SHARD3))) {
            assertEquals(List.of("model.z.weight", "model.b.weight"), new ArrayList<>(s1.entries().keySet()));
            assertEquals(List.of("model.m.weight"), new ArrayList<>(s3.entries().keySet()));
            assertEquals(Map.of("format", "pt"), s1.metadata());
            assertEquals(Map.of("format", "pt"), s3.metadata());
        }
    }

    @Test
    void shardedReadBackGivesEveryTensorInIndexOrder() throws IOException {
        writeSharded();
        List<String> indexOrder = fieldNames(readIndex().get("weight_map"));
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(indexOrder, new ArrayList<>(c.names()), "names() follows the index");
            assertEquals(new TreeSet<>(NAMES), new TreeSet<>(c.names()));
            assertEquals(List.of(), c.warnings());
            assertEquals(dir, c.directory());
            for (int i = 0; i < NAMES.size(); i++) {
                assertArrayEquals(tensors.get(i).toFloatArray(), read(c, NAMES.get(i)), NAMES.get(i));
                assertArrayEquals(new long[] {4, 4}, c.entry(NAMES.get(i)).shape());
            }
            assertEquals(dir.resolve(SHARD2), c.file("model.a.weight").path());
        }
    }

    @Test
    void theIndexOrderIsFollowedWhateverItIs() throws IOException {
        writeSharded();
        ObjectNode root = readIndex();
        ObjectNode reordered = JSON.createObjectNode();
        List<String> reversed = new ArrayList<>(fieldNames(root.get("weight_map")));
        java.util.Collections.reverse(reversed);
        for (String n : reversed) {
            reordered.set(n, root.get("weight_map").get(n));
        }
        root.set("weight_map", reordered);
        writeIndex(root);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(reversed, new ArrayList<>(c.names()));
        }
    }

    @Test
    void aTensorLargerThanTheShardLimitGetsAShardOfItsOwn() throws IOException {
        SafetensorsCheckpoint.write(dir, items(), Map.of(), 10);
        List<String> files = filesInDir();
        assertEquals(NAMES.size() + 1, files.size(), files.toString());
        assertTrue(files.contains("model-00005-of-00005.safetensors"), files.toString());
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(NAMES.size(), c.names().size());
            assertArrayEquals(tensors.get(4).toFloatArray(), read(c, NAMES.get(4)));
        }
    }

    @Test
    void singleFileWhenEverythingFits() throws IOException {
        SafetensorsCheckpoint.write(dir, items(), Map.of("format", "pt"), NAMES.size() * TENSOR_BYTES);
        assertEquals(List.of(SafetensorsCheckpoint.SINGLE_FILE), filesInDir());
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(NAMES, new ArrayList<>(c.names()), "file order for a single file");
            for (int i = 0; i < NAMES.size(); i++) {
                assertArrayEquals(tensors.get(i).toFloatArray(), read(c, NAMES.get(i)), NAMES.get(i));
            }
        }
    }

    // ------------------------------------------------------------------ stale files

    @Test
    void writingSingleAfterShardedRemovesTheStaleIndex() throws IOException {
        writeSharded();
        assertTrue(Files.exists(index()));
        tensors.get(0).fill(-1f); // new content, so reading the old shards would show
        SafetensorsCheckpoint.write(dir, items(), Map.of(), Long.MAX_VALUE);
        assertFalse(Files.exists(index()), "stale index must be gone");
        assertTrue(Files.exists(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE)));
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), c.file(NAMES.get(0)).path());
            float[] first = read(c, NAMES.get(0));
            for (float v : first) {
                assertEquals(-1f, v);
            }
        }
    }

    @Test
    void writingShardedAfterSingleRemovesTheStaleSingleFile() throws IOException {
        SafetensorsCheckpoint.write(dir, items(), Map.of(), Long.MAX_VALUE);
        assertTrue(Files.exists(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE)));
        writeSharded();
        assertFalse(Files.exists(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE)));
        assertFalse(filesInDir().stream().anyMatch(f -> f.endsWith(".tmp")), filesInDir().toString());
    }

    @Test
    void theIndexWinsWhenBothFormsExist() throws IOException {
        writeSharded();
        try (Tensor other = Tensor.of(new float[] {7}, 1)) {
            SafetensorsWriter.write(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE),
                    List.of(new SafetensorsWriter.Item("other", other, DType.F32)), Map.of());
        }
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(new TreeSet<>(NAMES), new TreeSet<>(c.names()));
        }
    }

    // ------------------------------------------------------------------ bad checkpoints

    @Test
    void emptyDirectory() {
        refused(dir, dir, "no model.safetensors or model.safetensors.index.json");
    }

    @Test
    void indexNamingAMissingShard() throws IOException {
        writeSharded();
        Files.delete(dir.resolve(SHARD2));
        refused(dir, dir.resolve(SHARD2), "file not found");
    }

    @Test
    void indexNamingATensorTheShardLacks() throws IOException {
        writeSharded();
        ObjectNode root = readIndex();
        ((ObjectNode) root.get("weight_map")).put("model.ghost.weight", SHARD1);
        writeIndex(root);
        refused(dir, index(), "'model.ghost.weight'", "'" + SHARD1 + "'", "no such tensor");
    }

    @Test
    void indexPuttingATensorInTheWrongShard() throws IOException {
        writeSharded();
        ObjectNode root = readIndex();
        ((ObjectNode) root.get("weight_map")).put("model.m.weight", SHARD1);
        writeIndex(root);
        refused(dir, index(), "'model.m.weight'", SHARD1, "no such tensor");
    }

    @Test
    void aTensorInAShardButNotInTheIndexIsAWarning() throws IOException {
        writeSharded();
        ObjectNode root = readIndex();
        ((ObjectNode) root.get("weight_map")).remove("model.a.weight");
        writeIndex(root);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(NAMES.size() - 1, c.names().size());
            assertFalse(c.names().contains("model.a.weight"));
            assertEquals(1, c.warnings().size(), c.warnings().toString());
            String w = c.warnings().get(0);
            assertTrue(w.contains(dir.resolve(SHARD2).toString()), w);
            assertTrue(w.contains("'model.a.weight'"), w);
            assertTrue(w.contains(SafetensorsCheckpoint.INDEX_FILE), w);
            assertFalse(w.contains("\n"), w);
            // Ignored means ignored: asking for it is a missing tensor.
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> c.entry("model.a.weight"));
            assertOneLineNaming(e, dir, "missing tensor 'model.a.weight'");
            // The others still read.
            assertArrayEquals(tensors.get(2).toFloatArray(), read(c, "model.y.weight"));
        }
    }

    @ParameterizedTest(name = "weight_map value \"{0}\"")
    @ValueSource(strings = {"../" + SHARD1, "sub/" + SHARD1, "sub\\" + SHARD1, "/tmp/" + SHARD1, "..", ""})
    void aWeightMapValueThatIsNotAPlainFileNameIsRefused(String shard) throws IOException {
        writeSharded();
        // A real shard in a subdirectory, so that resolving "sub/..." would have found a valid file.
        Files.createDirectories(dir.resolve("sub"));
        Files.copy(dir.resolve(SHARD1), dir.resolve("sub").resolve(SHARD1));
        ObjectNode root = readIndex();
        ((ObjectNode) root.get("weight_map")).put("model.z.weight", shard);
        writeIndex(root);
        refused(dir, index(), "'model.z.weight'", "not a file name inside the checkpoint directory");
    }

    @Test
    void weightMapValueThatIsNotAString() throws IOException {
        writeSharded();
        ObjectNode root = readIndex();
        ((ObjectNode) root.get("weight_map")).put("model.z.weight", 1);
        writeIndex(root);
        refused(dir, index(), "'model.z.weight'", "not a file name");
    }

    @Test
    void indexWithoutWeightMap() throws IOException {
        writeSharded();
        ObjectNode root = readIndex();
        root.remove("weight_map");
        writeIndex(root);
        refused(dir, index(), "missing \"weight_map\"");
    }

    @Test
    void indexThatIsNotAnObject() throws IOException {
        writeSharded();
        Files.writeString(index(), "[]");
        refused(dir, index(), "weight_map");
    }

    @Test
    void indexWithInvalidJson() throws IOException {
        writeSharded();
        Files.writeString(index(), "{\n  \"weight_map\": {\n    \"a\": \"x\",,\n  }\n}");
        refused(dir, index(), "invalid JSON", "line 3", "column");
    }

    @Test
    void aCorruptShardIsNamed() throws IOException {
        writeSharded();
        Path shard = dir.resolve(SHARD3);
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 1);
        }
        refused(dir, shard, "'model.m.weight'", "out of range");
    }

    @Test
    void aCorruptSingleFileIsNamed() throws IOException {
        SafetensorsCheckpoint.write(dir, items(), Map.of(), Long.MAX_VALUE);
        Path single = dir.resolve(SafetensorsCheckpoint.SINGLE_FILE);
        Files.write(single, new byte[] {1, 2, 3});
        refused(dir, single, "truncated");
    }

    @Test
    void indexMetadataIsOptional() throws IOException {
        writeSharded();
        ObjectNode root = readIndex();
        root.remove("metadata");
        writeIndex(root);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(NAMES.size(), c.names().size());
        }
    }

    @Test
    void theWriterMetadataGoesIntoEveryShard() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("run", "42");
        SafetensorsCheckpoint.write(dir, items(), meta, 2 * TENSOR_BYTES);
        for (String shard : List.of(SHARD1, SHARD2, SHARD3)) {
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(shard))) {
                assertEquals(meta, f.metadata(), shard);
            }
        }
    }
}
