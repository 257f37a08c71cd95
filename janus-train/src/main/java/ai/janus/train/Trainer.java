package ai.janus.train;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.Parallel;
import ai.janus.data.batch.EpochSampler;
import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.optim.GradClip;
import ai.janus.optim.LrSchedule;
import ai.janus.optim.Optimizer;
import ai.janus.train.checkpoint.CheckpointStore;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The training loop every objective shares (objectives.md, "Schedule, clipping, update order"):
 *
 * <pre>
 * per optimizer step s:
 *   draw gradient_accumulation_steps micro-batches of micro_batch_size samples (the sampler
 *   crosses epochs freely; it is the only source of order)
 *   W = Σ weight(micro-batch)                    the step's normalisers (pairs, supervised tokens)
 *   zero grads; for each micro-batch: loss += objective.run(micro-batch, W, grads)
 *   norm = global L2 norm of grads; clip with min(1, max_norm/(norm + 1e-6))
 *   optimizer.step(grads, lr(s)); s += 1; metrics; checkpoint when due
 * </pre>
 *
 * Everything a continuation depends on is in the checkpoint: the parameters (in their own dtype,
 * so exactly), the optimizer state, s and the sampler position; the schedule is a function of s,
 * stochastic rounding a function of (seed, s, element). So N steps straight and N/2 + resume +
 * N/2 give the same bits. A non-finite loss or gradient norm stops training with the step, the
 * micro-batch and its samples in the message.
 */
public final class Trainer implements AutoCloseable {
    public static final String STATE_FILE = "trainer_state.json";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String METRICS_FILE = "metrics.jsonl";

    /**
     * @param saveSteps save a checkpoint every this many steps (0: only at the end)
     */
    public record Settings(int microBatchSize, int gradientAccumulationSteps, long totalSteps, double maxGradNorm,
                           long seed, long saveSteps, int saveTotalLimit, Path outputDir) {
        public Settings {
            if (microBatchSize < 1 || gradientAccumulationSteps < 1 || totalSteps < 1 || saveSteps < 0) {
                throw new IllegalArgumentException("micro_batch_size, gradient_accumulation_steps and the step count "
                        + "must be >= 1 and save_steps >= 0: " + this);
            }
        }
    }

    /**
     * The parameters a step updates and the model reads: F32 ones, or BF16 ones the optimizer
     * owns plus their F32 copy; {@code layout} names and shapes them (a causal LM's, a reward
     * model's) and {@code configFields} go into the checkpoints' config.json (a reward model's
     * architectures).
     */
    public record Parameters(MistralConfig config, ParameterSet working, ParameterSet bf16,
                             Function<MistralConfig, List<ParameterSet.Spec>> layout, Map<String, Object> configFields) {
        /** A causal LM's parameters. */
        public Parameters(MistralConfig config, ParameterSet working, ParameterSet bf16) {
            this(config, working, bf16, MistralWeights::specs, Map.of());
        }

        ParameterSet stored() {
            return bf16 != null ? bf16 : working;
        }
    }

    /** What a step reports, also written as one JSON line. */
    public record StepMetrics(long step, double epoch, double loss, double gradNorm, double lr, long tokens,
                              double tokensPerSecond, double elapsedSeconds, Map<String, Double> objective) {}

    private final Settings settings;
    private final Parameters parameters;
    private final ParameterSet grads;
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final Objective objective;
    private final Backend backend;
    private final Parallel parallel;
    private final Map<String, String> provenance;
    private final CheckpointStore checkpoints;
    private final Progress progress;
    private EpochSampler sampler;
    private long step;
    private double elapsedBefore;

    /**
     * @param provenance written into every checkpoint and checked on resume: tokenizer and data
     *                   fingerprints, template name, resolved config
     */
    public Trainer(Settings settings, Parameters parameters, Optimizer optimizer, LrSchedule schedule,
                   Objective objective, Backend backend, Parallel parallel, Map<String, String> provenance,
                   Progress progress) {
        this.settings = settings;
        this.parameters = parameters;
        this.grads = parameters.working().zerosLike();
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.objective = objective;
        this.backend = backend;
        this.parallel = parallel;
        this.provenance = Map.copyOf(provenance);
        this.checkpoints = new CheckpointStore(settings.outputDir().resolve("checkpoints"), settings.saveTotalLimit());
        this.progress = progress;
        this.sampler = new EpochSampler(objective.size(), settings.seed());
    }

    /** Optimizer steps taken. */
    public long step() {
        return step;
    }

    public CheckpointStore checkpoints() {
        return checkpoints;
    }

    /** Continues from {@code checkpoint}: parameters, optimizer state, step and sampler position. */
    public void resume(CheckpointStore.Checkpoint checkpoint) throws IOException {
        Path stateFile = checkpoint.file(STATE_FILE);
        JsonNode state = Json.read(stateFile);
        for (Map.Entry<String, String> e : provenance.entrySet()) {
            String saved = state.path("provenance").path(e.getKey()).asText(null);
            if (!e.getValue().equals(saved)) {
                throw new InvalidFileException(stateFile, "the checkpoint was made with another " + e.getKey()
                        + " than this run's; refusing to resume");
            }
        }
        if (!objective.name().equals(state.path("objective").asText())) {
            throw new InvalidFileException(stateFile, "the checkpoint is of a " + state.path("objective").asText()
                    + " run, not " + objective.name());
        }
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(checkpoint.directory(), parameters.layout())) {
            parameters.stored().copyFrom(loaded.parameters());
        }
        if (parameters.bf16() != null) {
            parameters.working().copyFrom(parameters.bf16());
        }
        optimizer.load(checkpoint.file(OPTIMIZER_FILE));
        step = state.path("step").asLong();
        elapsedBefore = state.path("elapsed_seconds").asDouble();
        sampler = new EpochSampler(objective.size(), settings.seed(),
                new EpochSampler.Position(state.path("sampler_epoch").asLong(), state.path("sampler_index").asLong()));
        truncateMetrics(step);
    }

    /**
     * Runs the remaining steps; returns every step's metrics of this call. A fresh run (not
     * resumed) refuses an output directory that already holds a valid checkpoint, so nothing of
     * an earlier run is overwritten by accident, and starts its metrics file anew.
     */
    public List<StepMetrics> train() throws IOException {
        if (step == 0) {
            java.util.Optional<CheckpointStore.Checkpoint> earlier = checkpoints.latest();
            if (earlier.isPresent()) {
                throw new InvalidFileException(earlier.get().directory(), "the output directory already holds this"
                        + " checkpoint; resume with --resume or choose another output_dir");
            }
            truncateMetrics(0);
        }
        List<StepMetrics> history = new ArrayList<>();
        long start = System.nanoTime();
        long tokensThisRun = 0;
        progress.start(step, settings.totalSteps());
        while (step < settings.totalSteps()) {
            double epoch = sampler.position().epoch() + (double) sampler.position().index() / objective.size();
            int[][] micro = new int[settings.gradientAccumulationSteps()][];
            Objective.Weight weight = new Objective.Weight(0, 0);
            for (int m = 0; m < micro.length; m++) {
                micro[m] = new int[settings.microBatchSize()];
                for (int i = 0; i < micro[m].length; i++) {
                    micro[m][i] = sampler.next();
                }
                weight = weight.plus(objective.weight(micro[m]));
            }
            backend.zero(grads.flat());
            double loss = 0;
            long tokens = 0;
            Map<String, Double> sums = new TreeMap<>();
            for (int m = 0; m < micro.length; m++) {
                Objective.Result r = objective.run(micro[m], weight, grads);
                if (!Double.isFinite(r.loss())) {
                    throw new TrainingDivergedException("non-finite loss " + r.loss() + " at step " + (step + 1)
                            + ", micro-batch " + m + ": " + objective.describe(micro[m]));
                }
                loss += r.loss();
                tokens += r.tokens();
                r.metrics().forEach((k, v) -> sums.merge(k, v, Double::sum));
            }
            double norm = settings.maxGradNorm() > 0 ? GradClip.clip(grads, settings.maxGradNorm(), parallel)
                    : GradClip.norm(grads, parallel);
            if (!Double.isFinite(norm)) {
                StringBuilder where = new StringBuilder();
                for (int m = 0; m < micro.length; m++) {
                    where.append(m == 0 ? "" : "; ").append("micro-batch ").append(m).append(": ")
                            .append(objective.describe(micro[m]));
                }
                throw new TrainingDivergedException("non-finite gradient norm " + norm + " at step " + (step + 1) + " ("
                        + where + ")");
            }
            double lr = schedule.lr(step);
            optimizer.step(grads, lr);
            if (parameters.bf16() != null) {
                parameters.working().copyFrom(parameters.bf16());
            }
            step++;
            tokensThisRun += tokens;
            double seconds = (System.nanoTime() - start) / 1e9;
            StepMetrics metrics = new StepMetrics(step, epoch, loss, norm, lr, tokens, tokensThisRun / seconds,
                    elapsedBefore + seconds, sums);
            history.add(metrics);
            appendMetrics(metrics);
            progress.step(metrics, settings.totalSteps());
            if (step == settings.totalSteps() || (settings.saveSteps() > 0 && step % settings.saveSteps() == 0)) {
                save(elapsedBefore + seconds);
            }
        }
        progress.finish();
        return history;
    }

    /** Saves a checkpoint of the current step. */
    public CheckpointStore.Checkpoint save(double elapsedSeconds) throws IOException {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("format", "janus-trainer-state");
        state.put("version", 1);
        state.put("objective", objective.name());
        state.put("step", step);
        state.put("sampler_epoch", sampler.position().epoch());
        state.put("sampler_index", sampler.position().index());
        state.put("seed", settings.seed());
        state.put("elapsed_seconds", elapsedSeconds);
        state.put("provenance", new TreeMap<>(provenance));
        return checkpoints.save(step, dir -> {
            ParameterSet stored = parameters.stored();
            HfCheckpoint.save(dir, parameters.config(), stored, stored.dtype(), Long.MAX_VALUE, parameters.configFields());
            optimizer.save(dir.resolve(OPTIMIZER_FILE));
            AtomicFiles.write(dir.resolve(STATE_FILE), Json.write(state));
        });
    }

    private void appendMetrics(StepMetrics m) throws IOException {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", m.step());
        line.put("epoch", m.epoch());
        line.put("objective", objective.name());
        line.put("loss", m.loss());
        line.put("grad_norm", m.gradNorm());
        line.put("lr", m.lr());
        line.put("tokens", m.tokens());
        line.put("tokens_per_second", m.tokensPerSecond());
        line.put("elapsed_seconds", m.elapsedSeconds());
        line.putAll(m.objective());
        Files.createDirectories(settings.outputDir());
        Files.writeString(settings.outputDir().resolve(METRICS_FILE),
                Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(line) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /** After a resume, the metrics of steps past the checkpoint (from the interrupted run) are dropped. */
    private void truncateMetrics(long lastStep) throws IOException {
        Path file = settings.outputDir().resolve(METRICS_FILE);
        if (!Files.exists(file)) {
            return;
        }
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            JsonNode n = Json.MAPPER.readTree(line);
            if (n.path("step").asLong() <= lastStep) {
                kept.add(line);
            }
        }
        AtomicFiles.write(file, (String.join("\n", kept) + (kept.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        grads.close();
        objective.close();
    }

}
