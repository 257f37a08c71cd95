package ai.janus.model;

import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import ai.janus.io.SafetensorsCheckpoint;
import ai.janus.io.SafetensorsFile;
import ai.janus.io.SafetensorsWriter;
import ai.janus.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A Mistral model directory in HF layout: {@code config.json} plus {@code model.safetensors} or
 * sharded safetensors with {@code model.safetensors.index.json}. What {@link #save} writes, HF
 * transformers and vLLM load; what they write, {@link #load} reads.
 *
 * <p>Loading is all or nothing: config and every file header are validated and every expected
 * tensor's presence, dtype and shape checked before the parameter buffer is filled; a failure
 * frees what was allocated and throws an {@link InvalidFileException} naming the file.
 */
public final class HfCheckpoint {
    public static final String CONFIG_FILE = "config.json";
    /** HF's default shard size ("5GB"). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    private static final System.Logger LOG = System.getLogger(HfCheckpoint.class.getName());

    /** A loaded model: its config, its parameters (owned; close them) and non-fatal warnings. */
    public record Loaded(MistralConfig config, ParameterSet parameters, List<String> warnings)
            implements AutoCloseable {
        public MistralWeights weights() {
            return MistralWeights.of(config, parameters);
        }

        @Override
        public void close() {
            parameters.close();
        }
    }

    private HfCheckpoint() {}

    /** Loads {@code directory}; warnings (unexpected tensors) are logged and returned. */
    public static Loaded load(Path directory) throws InvalidFileException {
        return load(directory, MistralWeights::specs);
    }

    /** What the headers say: the config and the expected tensors, all checked, nothing allocated. */
    public record Header(MistralConfig config, List<ParameterSet.Spec> specs, List<String> warnings) {}

    /**
     * Reads config.json and the safetensors headers only, and checks every expected tensor's
     * presence, dtype and shape: {@link #load} without allocating or reading a tensor, so it works
     * on a checkpoint larger than memory ({@code janus summary}).
     */
    public static Header inspect(Path directory) throws InvalidFileException {
        return inspect(directory, MistralWeights::specs);
    }

    /** {@link #inspect(Path)} with another parameter layout, as {@link #load(Path, Function)}. */
    public static Header inspect(Path directory, Function<MistralConfig, List<ParameterSet.Spec>> layout)
            throws InvalidFileException {
        MistralConfig config = MistralConfig.read(directory.resolve(CONFIG_FILE));
        try (SafetensorsCheckpoint files = SafetensorsCheckpoint.open(directory)) {
            return check(directory, config, layout, files);
        } catch (InvalidFileException e) {
            throw e;
        } catch (IOException e) {
            throw new InvalidFileException(directory, "cannot close checkpoint files: " + e.getMessage(), e);
        }
    }

    private static Header check(Path directory, MistralConfig config,
                                Function<MistralConfig, List<ParameterSet.Spec>> layout, SafetensorsCheckpoint files)
            throws InvalidFileException {
        Path configFile = directory.resolve(CONFIG_FILE);
        List<String> warnings = new ArrayList<>(files.warnings());
        // Each layer is at least one tensor: a config with more layers than the files hold tensors is
        // refused before the layout lists them (num_hidden_layers 10^9 would be 9·10^9 specs on the heap).
        if (config.numHiddenLayers() > files.names().size()) {
            throw new InvalidFileException(configFile, "num_hidden_layers " + config.numHiddenLayers()
                    + " cannot be: the safetensors files hold only " + files.names().size() + " tensors");
        }
        checkVocab(configFile, config, files);
        List<ParameterSet.Spec> specs = layout.apply(config);
        Set<String> expected = new HashSet<>();
        for (ParameterSet.Spec spec : specs) {
            expected.add(spec.name());
            SafetensorsFile.Entry e = files.entry(spec.name());
            if (!e.dtype().isFloating()) {
                throw new InvalidFileException(files.file(spec.name()).path(), "tensor '" + spec.name() + "' is "
                        + e.dtype() + ", expected a float type");
            }
            if (!Arrays.equals(e.shape(), spec.shape())) {
                throw new InvalidFileException(files.file(spec.name()).path(), "tensor '" + spec.name()
                        + "' has shape " + Arrays.toString(e.shape()) + " but " + configFile + " implies "
                        + Arrays.toString(spec.shape()));
            }
        }
        for (String name : files.names()) {
            if (!expected.contains(name)) {
                String why = name.equals(MistralWeights.LM_HEAD) && config.tieWordEmbeddings()
                        ? " (tie_word_embeddings is true)" : "";
                warnings.add(files.file(name).path() + ": unexpected tensor '" + name + "' ignored" + why);
            }
        }
        return new Header(config, List.copyOf(specs), List.copyOf(warnings));
    }

    /**
     * Loads {@code directory} with another parameter layout than the causal LM's: {@code layout}
     * gives the tensors expected for the directory's config (a reward model's:
     * {@code RewardModel::specs}). Everything else is as {@link #load(Path)}. A model whose F32
     * parameters cannot fit the memory janus may use ({@link ai.janus.tensor.HostMemory}) is
     * refused, naming config.json and both sizes, before anything is allocated.
     */
    public static Loaded load(Path directory, Function<MistralConfig, List<ParameterSet.Spec>> layout)
            throws InvalidFileException {
        MistralConfig config = MistralConfig.read(directory.resolve(CONFIG_FILE));
        try (SafetensorsCheckpoint files = SafetensorsCheckpoint.open(directory)) {
            Header header = check(directory, config, layout, files);
            String tooBig = header.config().memoryRefusal();
            if (tooBig != null) {
                throw new InvalidFileException(directory.resolve(CONFIG_FILE), tooBig);
            }
            List<ParameterSet.Spec> specs = header.specs();
            ParameterSet parameters = ParameterSet.allocate(specs);
            try {
                for (ParameterSet.Spec spec : specs) {
                    files.readFloats(spec.name(), parameters.get(spec.name()));
                }
            } catch (InvalidFileException | RuntimeException e) {
                parameters.close();
                throw e;
            }
            for (String w : header.warnings()) {
                LOG.log(System.Logger.Level.WARNING, w);
            }
            return new Loaded(header.config(), parameters, header.warnings());
        } catch (InvalidFileException e) {
            throw e;
        } catch (IOException e) {
            throw new InvalidFileException(directory, "cannot close checkpoint files: " + e.getMessage(), e);
        }
    }

    /** The embedding's row count must be config.json's vocab_size; the error names both files. */
    private static void checkVocab(Path configFile, MistralConfig config, SafetensorsCheckpoint files)
            throws InvalidFileException {
        if (!files.names().contains(MistralWeights.EMBED)) {
            return; // reported as a missing tensor
        }
        long[] shape = files.entry(MistralWeights.EMBED).shape();
        if (shape.length == 2 && shape[0] != config.vocabSize()) {
            throw new InvalidFileException(configFile, "vocab_size " + config.vocabSize() + " disagrees with "
                    + MistralWeights.EMBED + " of shape " + Arrays.toString(shape) + " in "
                    + files.file(MistralWeights.EMBED).path());
        }
    }

    /**
     * Writes {@code config.json} and the parameters, stored as {@code storeAs} (F32, BF16 or
     * F16), sharded above {@code maxShardBytes}. The safetensors metadata says {@code format: pt},
     * which transformers requires.
     */
    public static void save(Path directory, MistralConfig config, ParameterSet parameters, DType storeAs,
                            long maxShardBytes) throws IOException {
        save(directory, config, parameters, storeAs, maxShardBytes, Map.of());
    }

    /**
     * {@link #save(Path, MistralConfig, ParameterSet, DType, long)} with {@code configFields} set
     * over the generated config.json (added, or replacing a generated field): what a model with
     * another head records, such as a reward model's {@code architectures}, {@code mean} and {@code std}.
     */
    public static void save(Path directory, MistralConfig config, ParameterSet parameters, DType storeAs,
                            long maxShardBytes, Map<String, Object> configFields) throws IOException {
        if (!storeAs.isFloating()) {
            throw new IllegalArgumentException("parameters are stored as F32, BF16 or F16, not " + storeAs);
        }
        Files.createDirectories(directory);
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        for (ParameterSet.Spec spec : parameters.specs()) {
            items.add(new SafetensorsWriter.Item(spec.name(), parameters.get(spec.name()), storeAs));
        }
        SafetensorsCheckpoint.write(directory, items, Map.of("format", "pt"), maxShardBytes);
        String torchDtype = switch (storeAs) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        };
        Map<String, Object> json = config.withTorchDtype(torchDtype).toJson();
        json.putAll(configFields);
        AtomicFiles.write(directory.resolve(CONFIG_FILE), Json.write(json));
    }
}
