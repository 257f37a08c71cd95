package ai.janus.io;

import ai.janus.tensor.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The tensors of an HF model directory: either {@code model.safetensors}, or shards named by
 * {@code model.safetensors.index.json} ({@code {"metadata": {"total_size": N}, "weight_map":
 * {name: file}}}). Every file is validated when the checkpoint is opened; a tensor the index
 * promises but its shard lacks is an error, a tensor a shard holds but the index does not name
 * is a warning.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final java.util.regex.Pattern SHARD_NAME =
            java.util.regex.Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    private final Path directory;
    private final Map<String, SafetensorsFile> fileOf;
    private final List<SafetensorsFile> files;
    private final List<String> warnings;

    private SafetensorsCheckpoint(Path directory, Map<String, SafetensorsFile> fileOf, List<SafetensorsFile> files,
                                  List<String> warnings) {
        this.directory = directory;
        this.fileOf = Collections.unmodifiableMap(fileOf);
        this.files = files;
        this.warnings = Collections.unmodifiableList(warnings);
    }

    /** Opens the checkpoint in {@code directory}, preferring the index when both forms exist. */
    public static SafetensorsCheckpoint open(Path directory) throws InvalidFileException {
        Path index = directory.resolve(INDEX_FILE);
        if (Files.exists(index)) {
            return openSharded(directory, index);
        }
        Path single = directory.resolve(SINGLE_FILE);
        if (!Files.exists(single)) {
            throw new InvalidFileException(directory, "no " + SINGLE_FILE + " or " + INDEX_FILE + " in this directory");
        }
        SafetensorsFile file = SafetensorsFile.open(single);
        Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        for (String name : file.entries().keySet()) {
            fileOf.put(name, file);
        }
        return new SafetensorsCheckpoint(directory, fileOf, List.of(file), new ArrayList<>());
    }

    private static SafetensorsCheckpoint openSharded(Path directory, Path index) throws InvalidFileException {
        JsonNode root = Json.read(index);
        JsonNode weightMap = root.get("weight_map");
        if (!root.isObject() || weightMap == null || !weightMap.isObject()) {
            throw new InvalidFileException(index, "missing \"weight_map\" object");
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        try {
            for (var it = weightMap.properties().iterator(); it.hasNext(); ) {
                var field = it.next();
                String name = field.getKey();
                if (!field.getValue().isTextual()) {
                    throw new InvalidFileException(index, "weight_map value of '" + name + "' is not a file name");
                }
                String shardName = field.getValue().textValue();
                if (shardName.isEmpty() || shardName.contains("/") || shardName.contains("\\") || shardName.equals("..")) {
                    throw new InvalidFileException(index, "weight_map puts '" + name + "' in '" + shardName
                            + "', which is not a file name inside the checkpoint directory");
                }
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    shard = SafetensorsFile.open(directory.resolve(shardName));
                    shards.put(shardName, shard);
                }
                if (!shard.entries().containsKey(name)) {
                    throw new InvalidFileException(index, "weight_map puts '" + name + "' in '" + shardName
                            + "', which has no such tensor");
                }
                fileOf.put(name, shard);
            }
            for (SafetensorsFile shard : shards.values()) {
                for (String name : shard.entries().keySet()) {
                    if (fileOf.get(name) != shard) {
                        warnings.add(shard.path() + ": tensor '" + name + "' is not in " + INDEX_FILE + "; ignored");
                    }
                }
            }
        } catch (InvalidFileException e) {
            for (SafetensorsFile shard : shards.values()) {
                SafetensorsFile.closeQuietly(shard);
            }
            throw e;
        }
        return new SafetensorsCheckpoint(directory, fileOf, new ArrayList<>(shards.values()), warnings);
    }

    public Path directory() {
        return directory;
    }

    /** Every tensor name, in index (or file) order. */
    public Set<String> names() {
        return fileOf.keySet();
    }

    /** The header entry of {@code name}. */
    public SafetensorsFile.Entry entry(String name) throws InvalidFileException {
        return file(name).entry(name);
    }

    /** The file that holds {@code name}. */
    public SafetensorsFile file(String name) throws InvalidFileException {
        SafetensorsFile f = fileOf.get(name);
        if (f == null) {
            throw new InvalidFileException(directory, "missing tensor '" + name + "'");
        }
        return f;
    }

    /** Copies {@code name} into {@code dst}, widening BF16/F16 to F32. */
    public void readFloats(String name, Tensor dst) throws InvalidFileException {
        file(name).readFloats(name, dst);
    }

    /** Problems that did not stop the load (tensors outside the index). */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * Writes {@code items} into {@code directory} as one {@code model.safetensors} when they fit
     * {@code maxShardBytes}, else as {@code model-0000i-of-0000n.safetensors} shards plus the index
     * (written last). Files of an earlier save in the other form, or shards it no longer uses, are
     * removed after the new files are complete, so they can neither shadow nor be mixed with them.
     */
    public static void write(Path directory, List<SafetensorsWriter.Item> items, Map<String, String> metadata,
                             long maxShardBytes) throws IOException {
        Files.createDirectories(directory);
        List<List<SafetensorsWriter.Item>> shards = new ArrayList<>();
        List<SafetensorsWriter.Item> current = new ArrayList<>();
        long currentBytes = 0, total = 0;
        for (SafetensorsWriter.Item item : items) {
            long bytes = item.storedBytes();
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(item);
            currentBytes += bytes;
            total += bytes;
        }
        shards.add(current);
        if (shards.size() == 1) {
            // New file first, then retire the index that would shadow it: at every instant one of
            // the two forms is complete and preferred by open().
            SafetensorsWriter.write(directory.resolve(SINGLE_FILE), items, metadata);
            Files.deleteIfExists(directory.resolve(INDEX_FILE));
            deleteStaleShards(directory, Set.of());
            return;
        }
        Map<String, String> weightMap = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            SafetensorsWriter.write(directory.resolve(name), shards.get(i), metadata);
            for (SafetensorsWriter.Item item : shards.get(i)) {
                weightMap.put(item.name(), name);
            }
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("metadata", Map.of("total_size", total));
        index.put("weight_map", weightMap);
        AtomicFiles.write(directory.resolve(INDEX_FILE), Json.write(index));
        Files.deleteIfExists(directory.resolve(SINGLE_FILE));
        deleteStaleShards(directory, Set.copyOf(weightMap.values()));
    }

    /** Removes {@code model-#####-of-#####.safetensors} files of an earlier save that {@code keep} does not name. */
    private static void deleteStaleShards(Path directory, Set<String> keep) throws IOException {
        try (var files = Files.list(directory)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (SHARD_NAME.matcher(name).matches() && !keep.contains(name)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        for (SafetensorsFile f : files) {
            f.close();
        }
    }
}
