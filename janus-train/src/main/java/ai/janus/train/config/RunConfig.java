package ai.janus.train.config;

import ai.janus.io.InvalidFileException;
import ai.janus.train.dist.OptimizerKind;
import ai.janus.train.dist.StrategyKind;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A training run, as a YAML file with axolotl-like keys. Every key is known or the file is
 * refused with {@code file:line: unknown key 'x'}; types and ranges are checked the same way.
 * {@link #toYaml()} gives the resolved config (defaults filled in), which trainers print and save.
 *
 * <pre>
 * base_model: runs/demo/sft            # HF model directory (required)
 * tokenizer: runs/demo/tokenizer.model # default: base_model/tokenizer.model
 * datasets:                            # required, one or more
 *   - path: data/train.jsonl
 *     type: sft                        # sft | pairs | rm
 * sequence_len: 2048                   sample_packing: false
 * micro_batch_size: 1                  gradient_accumulation_steps: 1
 * num_epochs: 1                        max_steps: (optional cap)
 * optimizer: adamw_8bit                # adamw | adamw_8bit (adamw_torch, adamw_bnb_8bit accepted)
 * lr_scheduler: cosine                 # cosine | linear | constant
 * learning_rate: 5.0e-6 (required)     warmup_steps: 10 | warmup_ratio: 0.03 (not both)
 * weight_decay: 0.0                    max_grad_norm: 1.0
 * adam_beta1: 0.9  adam_beta2: 0.999   adam_epsilon: 1.0e-8
 * bf16: false                          gradient_checkpointing: false
 * seed: 42                             output_dir: runs/sft (required)
 * saves_per_epoch: 1 | save_steps: N   save_total_limit: 0 (0 keeps all)
 * dpo_beta: 0.1  dpo_label_smoothing: 0.0  rpo_alpha: 0.0 (DPO + α·NLL of the chosen answers, TRL's)
 * orpo_alpha: 0.1  rm_margin: 0.0  val_set_size: 0.0
 * strategy: local                      # local | ddp | zero1 | zero2 | zero3 (several processes: README)
 * bucket_size_mb: 25                   dist_timeout_seconds: 600
 * backend: cpu                         # cpu | cuda (the GPU of janus-kernels; refused with the reason if absent)
 * </pre>
 *
 * With several ranks, micro_batch_size and gradient_accumulation_steps are per rank: a step
 * trains on micro_batch_size × gradient_accumulation_steps × world size samples.
 */
public record RunConfig(
        Path baseModel,
        Path tokenizer,
        List<Dataset> datasets,
        int sequenceLen,
        boolean samplePacking,
        int microBatchSize,
        int gradientAccumulationSteps,
        int numEpochs,
        long maxSteps,
        OptimizerKind optimizer,
        Scheduler lrScheduler,
        double learningRate,
        long warmupSteps,
        double warmupRatio,
        double weightDecay,
        double maxGradNorm,
        double adamBeta1,
        double adamBeta2,
        double adamEpsilon,
        boolean bf16,
        boolean gradientCheckpointing,
        long seed,
        Path outputDir,
        int savesPerEpoch,
        long saveSteps,
        int saveTotalLimit,
        double dpoBeta,
        double dpoLabelSmoothing,
        double rpoAlpha,
        double orpoAlpha,
        double rmMargin,
        double valSetSize,
        StrategyKind strategy,
        double bucketSizeMb,
        long distTimeoutSeconds,
        BackendKind backend) {

    /** A data file and the row format it holds. */
    public record Dataset(Path path, String type) {}

    public enum Scheduler { COSINE, LINEAR, CONSTANT }

    /** Where the model's ops run: the CPU backend, or the CUDA backend on GPU 0. */
    public enum BackendKind { CPU, CUDA }

    /** -1 in {@link #maxSteps}, {@link #warmupSteps}, {@link #saveSteps} and -1.0 in {@link #warmupRatio}: not set. */
    public static final long UNSET = -1;

    /**
     * The most samples one rank's optimizer step may take (micro_batch_size ×
     * gradient_accumulation_steps): a step's sample indices are held at once, and 2^24 is far
     * beyond any real batch.
     */
    public static final long MAX_STEP_SAMPLES = 1L << 24;

    /** The largest run config read (a real one is a few KiB). */
    public static final int MAX_CONFIG_BYTES = 1 << 20;

    /** One year: longer timeouts would overflow the milliseconds the communicators wait in. */
    public static final long MAX_DIST_TIMEOUT_SECONDS = 365L * 24 * 3600;

    private static final Set<String> DATASET_TYPES = Set.of("sft", "pairs", "rm");
    private static final Set<String> KEYS = Set.of("base_model", "tokenizer", "datasets", "sequence_len",
            "sample_packing", "micro_batch_size", "gradient_accumulation_steps", "num_epochs", "max_steps", "optimizer",
            "lr_scheduler", "learning_rate", "warmup_steps", "warmup_ratio", "weight_decay", "max_grad_norm",
            "adam_beta1", "adam_beta2", "adam_epsilon", "bf16", "gradient_checkpointing", "seed", "output_dir",
            "saves_per_epoch", "save_steps", "save_total_limit", "dpo_beta", "dpo_label_smoothing", "rpo_alpha",
            "orpo_alpha",
            "rm_margin", "val_set_size", "strategy", "bucket_size_mb", "dist_timeout_seconds",
            "backend");
    /** Duplicate keys are refused (the last would silently win), at every depth. */
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    /** Reads and validates {@code file}; relative paths in it are resolved against the working directory. */
    public static RunConfig read(Path file) throws InvalidFileException {
        String text;
        if (Files.isDirectory(file)) {
            throw new InvalidFileException(file, "is a directory, not a run config");
        }
        // At most MAX_CONFIG_BYTES + 1 bytes: /dev/zero is refused instead of filling the heap.
        try (java.io.InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(MAX_CONFIG_BYTES + 1);
            if (bytes.length > MAX_CONFIG_BYTES) {
                throw new InvalidFileException(file, "larger than " + (MAX_CONFIG_BYTES >> 20) + " MiB; not a run config");
            }
            text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (InvalidFileException e) {
            throw e;
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new InvalidFileException(file, "not valid UTF-8 text");
        } catch (NoSuchFileException e) {
            throw new InvalidFileException(file, "file not found");
        } catch (IOException e) {
            throw new InvalidFileException(file, "cannot read: " + e.getMessage(), e);
        }
        return parse(file, text);
    }

    /** Parses YAML {@code text}; {@code file} names it in errors. */
    public static RunConfig parse(Path file, String text) throws InvalidFileException {
        JsonNode root;
        Map<String, Integer> lines;
        try {
            lines = keyLines(file, text);
            root = YAML.readTree(text);
        } catch (InvalidFileException e) {
            throw e;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new InvalidFileException(file, (at == null ? "" : "line " + at.getLineNr() + ": ")
                    + "invalid YAML: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new InvalidFileException(file, "cannot parse: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new InvalidFileException(file, "a run config is a YAML mapping of keys to values");
        }
        return new Reader(file, root, lines).config();
    }

    /**
     * Line of every top-level key (1-based), from a streaming pass: the tree keeps no locations.
     * The pass also refuses aliases ({@code *name}): Jackson's tree would read one as the string
     * "name", not as the anchored value.
     */
    private static Map<String, Integer> keyLines(Path file, String text) throws IOException {
        Map<String, Integer> lines = new HashMap<>();
        try (JsonParser p = YAML.getFactory().createParser(text)) {
            int depth = 0;
            boolean rootDone = false;
            for (JsonToken t; (t = p.nextToken()) != null; ) {
                if (rootDone) { // Jackson's tree reads the first document only: the rest would be ignored
                    throw new InvalidFileException(file, "line " + p.currentTokenLocation().getLineNr()
                            + ": a second YAML document; a run config is one document (remove the '---')");
                }
                if (p instanceof YAMLParser y && y.isCurrentAlias()) {
                    throw new InvalidFileException(file, "line " + p.currentTokenLocation().getLineNr()
                            + ": YAML aliases (*" + p.getText() + ") are not supported; write the value itself");
                }
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    depth++;
                } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    depth--;
                    rootDone = depth == 0;
                } else if (t == JsonToken.FIELD_NAME && depth == 1) {
                    lines.putIfAbsent(p.currentName(), p.currentTokenLocation().getLineNr());
                }
            }
        }
        return lines;
    }

    /** One pass over the mapping, each accessor recording the key it consumed. */
    private static final class Reader {
        private final Path file;
        private final JsonNode root;
        private final Map<String, Integer> lines;

        Reader(Path file, JsonNode root, Map<String, Integer> lines) {
            this.file = file;
            this.root = root;
            this.lines = lines;
        }

        private InvalidFileException error(String key, String problem) {
            Integer line = lines.get(key);
            return new InvalidFileException(file, (line == null ? "" : "line " + line + ": ") + problem);
        }

        RunConfig config() throws InvalidFileException {
            for (var it = root.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!KEYS.contains(key)) {
                    throw error(key, "unknown key '" + key + "'");
                }
            }
            for (String[] pair : new String[][] {{"warmup_steps", "warmup_ratio"}, {"saves_per_epoch", "save_steps"}}) {
                if (present(pair[0]) && present(pair[1])) {
                    throw error(pair[1], "set " + pair[0] + " or " + pair[1] + ", not both");
                }
            }
            Path baseModel = Path.of(text("base_model", null));
            String tokenizer = text("tokenizer", "");
            RunConfig c = new RunConfig(
                    baseModel,
                    tokenizer.isEmpty() ? baseModel.resolve("tokenizer.model") : Path.of(tokenizer),
                    datasets(),
                    int32("sequence_len", 2048, 1),
                    bool("sample_packing", false),
                    int32("micro_batch_size", 1, 1),
                    int32("gradient_accumulation_steps", 1, 1),
                    int32("num_epochs", 1, 1),
                    integer("max_steps", UNSET, 1),
                    optimizer(),
                    scheduler(),
                    number("learning_rate", Double.NaN, 0, false),
                    integer("warmup_steps", UNSET, 0),
                    number("warmup_ratio", -1, 0, true),
                    number("weight_decay", 0, 0, true),
                    number("max_grad_norm", 1.0, 0, false),
                    number("adam_beta1", 0.9, 0, true),
                    number("adam_beta2", 0.999, 0, true),
                    number("adam_epsilon", 1e-8, 0, false),
                    bool("bf16", false),
                    bool("gradient_checkpointing", false),
                    integer("seed", 42, Long.MIN_VALUE),
                    Path.of(text("output_dir", null)),
                    int32("saves_per_epoch", present("save_steps") ? 0 : 1, 0),
                    integer("save_steps", UNSET, 1),
                    int32("save_total_limit", 0, 0),
                    number("dpo_beta", 0.1, 0, false),
                    number("dpo_label_smoothing", 0, 0, true),
                    number("rpo_alpha", 0, 0, true),
                    number("orpo_alpha", 0.1, 0, true),
                    number("rm_margin", 0, Double.NEGATIVE_INFINITY, true),
                    number("val_set_size", 0, 0, true),
                    strategy(),
                    number("bucket_size_mb", 25, 0, false),
                    integer("dist_timeout_seconds", 600, 1, MAX_DIST_TIMEOUT_SECONDS),
                    backendKind());
            long perStep = (long) c.microBatchSize() * c.gradientAccumulationSteps();
            if (perStep > MAX_STEP_SAMPLES) {
                throw error(present("gradient_accumulation_steps") ? "gradient_accumulation_steps" : "micro_batch_size",
                        "micro_batch_size × gradient_accumulation_steps is " + perStep + " samples per step and rank;"
                                + " janus allows at most " + MAX_STEP_SAMPLES);
            }
            return c;
        }

        private StrategyKind strategy() throws InvalidFileException {
            Map<String, StrategyKind> names = new LinkedHashMap<>();
            for (StrategyKind k : StrategyKind.values()) {
                names.put(k.configName(), k);
            }
            return choice("strategy", "local", names, "local, ddp, zero1, zero2 or zero3");
        }

        private boolean present(String key) {
            return root.has(key) && !root.get(key).isNull();
        }

        private String text(String key, String absent) throws InvalidFileException {
            if (!present(key)) {
                if (absent == null) {
                    throw error(key, "missing required key '" + key + "'");
                }
                return absent;
            }
            JsonNode v = root.get(key);
            if (!v.isTextual() || v.textValue().isBlank()) {
                throw error(key, "'" + key + "' must be a non-empty string, found " + v);
            }
            return v.textValue();
        }

        private long integer(String key, long absent, long min) throws InvalidFileException {
            return integer(key, absent, min, Long.MAX_VALUE);
        }

        /** A key held in an int: read as 64 bits and refused above 2^31 - 1, never wrapped. */
        private int int32(String key, int absent, int min) throws InvalidFileException {
            return (int) integer(key, absent, min, Integer.MAX_VALUE);
        }

        /** An integer in [min, max], read as a 64-bit value; anything else is refused naming the key's line. */
        private long integer(String key, long absent, long min, long max) throws InvalidFileException {
            if (!present(key)) {
                return absent;
            }
            JsonNode v = root.get(key);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
                throw error(key, "'" + key + "' must be an integer " + (max == Long.MAX_VALUE ? ">= " + min
                        : "in [" + min + ", " + max + "]") + ", found " + v);
            }
            return v.longValue();
        }

        private double number(String key, double absent, double min, boolean inclusive) throws InvalidFileException {
            if (!present(key)) {
                if (Double.isNaN(absent)) {
                    throw error(key, "missing required key '" + key + "'");
                }
                return absent;
            }
            JsonNode v = root.get(key);
            double d = v.isNumber() ? v.doubleValue() : Double.NaN;
            if (Double.isNaN(d) || Double.isInfinite(d) || (inclusive ? d < min : d <= min)) {
                throw error(key, "'" + key + "' must be a number " + (inclusive ? ">= " : "> ") + min + ", found " + v);
            }
            return d;
        }

        private boolean bool(String key, boolean absent) throws InvalidFileException {
            if (!present(key)) {
                return absent;
            }
            JsonNode v = root.get(key);
            if (!v.isBoolean()) {
                throw error(key, "'" + key + "' must be true or false, found " + v);
            }
            return v.booleanValue();
        }

        private OptimizerKind optimizer() throws InvalidFileException {
            return choice("optimizer", "adamw", Map.of("adamw", OptimizerKind.ADAMW, "adamw_torch", OptimizerKind.ADAMW,
                    "adamw_8bit", OptimizerKind.ADAMW_8BIT, "adamw_bnb_8bit", OptimizerKind.ADAMW_8BIT), "adamw or adamw_8bit");
        }

        private BackendKind backendKind() throws InvalidFileException {
            return choice("backend", "cpu", Map.of("cpu", BackendKind.CPU, "cuda", BackendKind.CUDA), "cpu or cuda");
        }

        private Scheduler scheduler() throws InvalidFileException {
            return choice("lr_scheduler", "cosine", Map.of("cosine", Scheduler.COSINE, "linear", Scheduler.LINEAR,
                    "constant", Scheduler.CONSTANT), "cosine, linear or constant");
        }

        /** The value {@code names} gives the (case-insensitive) text at {@code key}; else a one-line error. */
        private <E> E choice(String key, String absent, Map<String, E> names, String expected)
                throws InvalidFileException {
            String name = text(key, absent).toLowerCase(Locale.ROOT);
            E value = names.get(name);
            if (value == null) {
                throw error(key, key + " must be " + expected + ", found '" + name + "'");
            }
            return value;
        }

        private List<Dataset> datasets() throws InvalidFileException {
            JsonNode list = root.get("datasets");
            if (list == null || !list.isArray() || list.isEmpty()) {
                throw error("datasets", "'datasets' must be a list of {path, type}, at least one");
            }
            List<Dataset> out = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                JsonNode d = list.get(i);
                String where = "datasets[" + i + "]";
                if (!d.isObject() || !d.path("path").isTextual() || !d.path("type").isTextual()) {
                    throw error("datasets", where + " needs a string 'path' and 'type'");
                }
                for (var it = d.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    if (!k.equals("path") && !k.equals("type")) {
                        throw error("datasets", where + ": unknown key '" + k + "'");
                    }
                }
                String type = d.get("type").textValue();
                if (!DATASET_TYPES.contains(type)) {
                    throw error("datasets", where + ": type must be one of " + DATASET_TYPES + ", found '" + type + "'");
                }
                out.add(new Dataset(Path.of(d.get("path").textValue()), type));
            }
            return List.copyOf(out);
        }
    }

    /** The resolved config as YAML: every key with its value, defaults included. */
    public String toYaml() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("base_model", baseModel.toString());
        m.put("tokenizer", tokenizer.toString());
        List<Map<String, String>> ds = new ArrayList<>();
        for (Dataset d : datasets) {
            ds.add(Map.of("path", d.path().toString(), "type", d.type()));
        }
        m.put("datasets", ds);
        m.put("sequence_len", sequenceLen);
        m.put("sample_packing", samplePacking);
        m.put("micro_batch_size", microBatchSize);
        m.put("gradient_accumulation_steps", gradientAccumulationSteps);
        m.put("num_epochs", numEpochs);
        putIfSet(m, "max_steps", maxSteps);
        m.put("optimizer", optimizer == OptimizerKind.ADAMW ? "adamw" : "adamw_8bit");
        m.put("lr_scheduler", lrScheduler.name().toLowerCase(Locale.ROOT));
        m.put("learning_rate", learningRate);
        putIfSet(m, "warmup_steps", warmupSteps);
        if (warmupRatio >= 0) {
            m.put("warmup_ratio", warmupRatio);
        }
        m.put("weight_decay", weightDecay);
        m.put("max_grad_norm", maxGradNorm);
        m.put("adam_beta1", adamBeta1);
        m.put("adam_beta2", adamBeta2);
        m.put("adam_epsilon", adamEpsilon);
        m.put("bf16", bf16);
        m.put("gradient_checkpointing", gradientCheckpointing);
        m.put("seed", seed);
        m.put("output_dir", outputDir.toString());
        if (saveSteps == UNSET) {
            m.put("saves_per_epoch", savesPerEpoch);
        }
        putIfSet(m, "save_steps", saveSteps);
        m.put("save_total_limit", saveTotalLimit);
        m.put("dpo_beta", dpoBeta);
        m.put("dpo_label_smoothing", dpoLabelSmoothing);
        m.put("rpo_alpha", rpoAlpha);
        m.put("orpo_alpha", orpoAlpha);
        m.put("rm_margin", rmMargin);
        m.put("val_set_size", valSetSize);
        m.put("strategy", strategy.configName());
        m.put("bucket_size_mb", bucketSizeMb);
        m.put("dist_timeout_seconds", distTimeoutSeconds);
        m.put("backend", backend.name().toLowerCase(Locale.ROOT));
        try {
            return YAML.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void putIfSet(Map<String, Object> m, String key, long value) {
        if (value != UNSET) {
            m.put(key, value);
        }
    }
}
