package ai.janus.train;

import ai.janus.backend.Backend;
import ai.janus.data.batch.EpochSampler;
import ai.janus.dist.Communicator;
import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import ai.janus.optim.LrSchedule;
import ai.janus.optim.Optimizer;
import ai.janus.parallel.Parallel;
import ai.janus.train.checkpoint.CheckpointStore;
import ai.janus.train.dist.DataParallel;
import ai.janus.train.dist.Strategy;
import ai.janus.train.dist.TrainingParameters;
import ai.janus.train.objective.Objective;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The training loop every objective shares (docs/spec/objectives.md, "Schedule, clipping, update order"):
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
 *
 * <p>On several ranks ({@link Strategy}): every rank draws the same W × gradient_accumulation_steps
 * micro-batches from the sampler and runs its own A of them (rank r: micro-batches [rA, rA + A)),
 * a deterministic, disjoint shard of the step that is exactly what one process with accumulation
 * W·A runs, in the same order. The normalisers W are summed over the ranks before any micro-batch
 * runs; the strategy reduces the gradients; losses and metrics of every micro-batch are gathered
 * and added in the one process's order. Rank 0 writes the metrics and the progress; a checkpoint
 * is written by every rank into one {@code step-N.tmp/} and committed by rank 0 with one manifest
 * once all have written, so a rank that dies mid-save leaves no checkpoint, never a half one.
 */
public final class Trainer implements AutoCloseable {
    public static final String STATE_FILE = "trainer_state.json";
    public static final String METRICS_FILE = "metrics.jsonl";
    public static final String CHECKPOINTS_DIR = "checkpoints";

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

    /** What a step reports, also written as one JSON line. */
    public record StepMetrics(long step, double epoch, double loss, double gradNorm, double lr, long tokens,
                              double tokensPerSecond, double elapsedSeconds, Map<String, Double> objective) {}

    private final Settings settings;
    private final Strategy strategy;
    private final Communicator communicator;
    private final LrSchedule schedule;
    private final Objective objective;
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
    public Trainer(Settings settings, TrainingParameters parameters, Optimizer optimizer, LrSchedule schedule,
                   Objective objective, Backend backend, Parallel parallel, Map<String, String> provenance,
                   Progress progress) {
        this(settings, DataParallel.local(parameters, optimizer, backend, parallel), schedule, objective, provenance,
                progress);
    }

    /**
     * A trainer whose steps {@code strategy} shares out over its communicator's ranks (every
     * rank builds one, with the same settings, data and starting weights). The trainer closes
     * the strategy.
     */
    public Trainer(Settings settings, Strategy strategy, LrSchedule schedule, Objective objective,
                   Map<String, String> provenance, Progress progress) {
        this.settings = settings;
        this.strategy = strategy;
        this.communicator = strategy.communicator();
        this.schedule = schedule;
        this.objective = objective;
        this.provenance = Map.copyOf(provenance);
        this.checkpoints = new CheckpointStore(settings.outputDir().resolve(CHECKPOINTS_DIR), settings.saveTotalLimit());
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
        int savedRanks = state.path("world_size").asInt(1);
        String savedStrategy = state.path("strategy").asText("local");
        if (savedRanks != communicator.worldSize() || !savedStrategy.equals(strategy.kind().configName())) {
            throw new InvalidFileException(stateFile, "the checkpoint was written by " + savedRanks + " rank(s) with "
                    + "strategy " + savedStrategy + "; this run has " + communicator.worldSize() + " with "
                    + strategy.kind().configName() + ": resume with the same world size and strategy");
        }
        strategy.load(checkpoint.directory());
        step = state.path("step").asLong();
        elapsedBefore = state.path("elapsed_seconds").asDouble();
        sampler = new EpochSampler(objective.size(), settings.seed(),
                new EpochSampler.Position(state.path("sampler_epoch").asLong(), state.path("sampler_index").asLong()));
        if (communicator.rank() == 0) {
            truncateMetrics(step);
        }
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
            if (communicator.rank() == 0) {
                truncateMetrics(0);
            }
        }
        boolean reports = communicator.rank() == 0;
        List<StepMetrics> history = new ArrayList<>();
        long start = System.nanoTime();
        long tokensThisRun = 0;
        if (reports) {
            progress.start(step, settings.totalSteps());
        }
        int perRank = settings.gradientAccumulationSteps(), ranks = communicator.worldSize();
        int first = communicator.rank() * perRank;
        while (step < settings.totalSteps()) {
            double epoch = sampler.position().epoch() + (double) sampler.position().index() / objective.size();
            // the step's micro-batches, the same on every rank; this rank runs [first, first + perRank)
            int[][] micro = new int[perRank * ranks][];
            for (int m = 0; m < micro.length; m++) {
                micro[m] = new int[settings.microBatchSize()];
                for (int i = 0; i < micro[m].length; i++) {
                    micro[m][i] = sampler.next();
                }
            }
            Objective.Weight weight = stepWeight(micro, first, perRank);
            strategy.beginStep();
            Objective.Result[] results = new Objective.Result[perRank];
            for (int m = 0; m < perRank; m++) {
                boolean last = m == perRank - 1;
                strategy.beginMicroBatch(last);
                results[m] = objective.run(micro[first + m], weight, strategy.gradients());
                strategy.endMicroBatch(last);
            }
            StepSums sums = StepSums.of(results, communicator);
            for (int m = 0; m < micro.length; m++) {
                if (!Double.isFinite(sums.losses[m])) {
                    throw new TrainingDivergedException("non-finite loss " + sums.losses[m] + " at step " + (step + 1)
                            + ", micro-batch " + (ranks == 1 ? m : (m % perRank) + " of rank " + m / perRank) + ": "
                            + objective.describe(micro[m]));
                }
            }
            double norm = strategy.reduceAndClip(settings.maxGradNorm());
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
            strategy.step(lr);
            step++;
            tokensThisRun += sums.tokens;
            double seconds = (System.nanoTime() - start) / 1e9;
            StepMetrics metrics = new StepMetrics(step, epoch, sums.loss, norm, lr, sums.tokens,
                    tokensThisRun / seconds, elapsedBefore + seconds, sums.metrics);
            history.add(metrics);
            if (reports) {
                appendMetrics(metrics);
                progress.step(metrics, settings.totalSteps());
            }
            if (step == settings.totalSteps() || (settings.saveSteps() > 0 && step % settings.saveSteps() == 0)) {
                save(elapsedBefore + seconds);
            }
        }
        if (reports) {
            progress.finish();
        }
        return history;
    }

    /** The step's normalisers: this rank's micro-batches counted here, summed over the ranks (exact: integers). */
    private Objective.Weight stepWeight(int[][] micro, int first, int perRank) {
        Objective.Weight own = new Objective.Weight(0, 0);
        for (int m = first; m < first + perRank; m++) {
            own = own.plus(objective.weight(micro[m]));
        }
        if (communicator.worldSize() == 1) {
            return own;
        }
        double[] all = communicator.allGather(new double[] {own.pairs(), own.tokens()});
        long pairs = 0, tokens = 0;
        for (int r = 0; r < communicator.worldSize(); r++) {
            pairs += (long) all[2 * r];
            tokens += (long) all[2 * r + 1];
        }
        return new Objective.Weight(pairs, tokens);
    }

    /**
     * The step's loss, tokens and metrics: every micro-batch's contributions, gathered from the
     * ranks and added in micro-batch order (0, 1, … over all ranks), which is the order one
     * process adds them in, so a rank's share of the work changes no bit of the sums.
     */
    private record StepSums(double[] losses, double loss, long tokens, Map<String, Double> metrics) {
        static StepSums of(Objective.Result[] own, Communicator communicator) {
            List<String> keys = new ArrayList<>(new TreeMap<>(own[0].metrics()).keySet());
            int width = 2 + keys.size();
            double[] mine = new double[own.length * width];
            for (int m = 0; m < own.length; m++) {
                mine[m * width] = own[m].loss();
                mine[m * width + 1] = own[m].tokens();
                for (int k = 0; k < keys.size(); k++) {
                    mine[m * width + 2 + k] = own[m].metrics().get(keys.get(k));
                }
            }
            double[] all = communicator.allGather(mine);
            int count = all.length / width;
            double[] losses = new double[count];
            double loss = 0;
            long tokens = 0;
            Map<String, Double> metrics = new TreeMap<>();
            for (int m = 0; m < count; m++) {
                losses[m] = all[m * width];
                loss += losses[m];
                tokens += (long) all[m * width + 1];
                for (int k = 0; k < keys.size(); k++) {
                    metrics.merge(keys.get(k), all[m * width + 2 + k], Double::sum);
                }
            }
            return new StepSums(losses, loss, tokens, metrics);
        }
    }

    /**
     * Saves a checkpoint of the current step (every rank calls it): each rank writes its part into
     * step-N.tmp/, rank 0 adds the trainer state, and once every rank has written, rank 0 writes
     * the one manifest and renames. A rank that fails before that leaves the others failing at
     * the barrier, and no checkpoint.
     */
    public CheckpointStore.Checkpoint save(double elapsedSeconds) throws IOException {
        try {
            return saveUnchecked(elapsedSeconds);
        } catch (IOException e) {
            throw atStep(e, checkpoints.temporary(step), "saving the checkpoint of step " + step);
        }
    }

    /**
     * An I/O failure (a full disk included: ENOSPC arrives as the IOException "No space left on
     * device" from the write or the force) as one line naming the file being written and what
     * the run was doing at which step. The previous checkpoint is untouched: a save only becomes
     * a checkpoint by the rename after its manifest.
     */
    private static InvalidFileException atStep(IOException e, Path fallback, String doing) {
        Path file = e instanceof InvalidFileException invalid ? invalid.file()
                : e instanceof java.nio.file.FileSystemException fs && fs.getFile() != null ? Path.of(fs.getFile())
                : fallback;
        String problem = e instanceof InvalidFileException invalid ? invalid.problem()
                : "cannot write: " + AtomicFiles.reason(e);
        return new InvalidFileException(file, problem + " (" + doing + ")", e);
    }

    private CheckpointStore.Checkpoint saveUnchecked(double elapsedSeconds) throws IOException {
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
        if (communicator.worldSize() == 1) {
            return checkpoints.save(step, dir -> {
                strategy.save(dir);
                AtomicFiles.write(dir.resolve(STATE_FILE), Json.write(state));
            });
        }
        state.put("strategy", strategy.kind().configName());
        state.put("world_size", communicator.worldSize());
        boolean writer = communicator.rank() == 0;
        if (writer) {
            checkpoints.begin(step);
        }
        communicator.barrier().await();
        Path dir = checkpoints.temporary(step);
        strategy.save(dir);
        if (writer) {
            AtomicFiles.write(dir.resolve(STATE_FILE), Json.write(state));
        }
        communicator.barrier().await();
        CheckpointStore.Checkpoint saved = writer ? checkpoints.commit(step) : null;
        communicator.barrier().await();
        return writer ? saved : new CheckpointStore.Checkpoint(checkpoints.root().resolve("step-" + step), step, Map.of());
    }

    /** The strategy the steps run on. */
    public Strategy strategy() {
        return strategy;
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
        Path file = settings.outputDir().resolve(METRICS_FILE);
        byte[] bytes = (Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            Files.createDirectories(settings.outputDir());
            // never through a link planted in the output directory
            try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    LinkOption.NOFOLLOW_LINKS)) {
                AtomicFiles.writeFully(out, ByteBuffer.wrap(bytes));
            }
        } catch (IOException e) {
            throw atStep(e, file, "appending the metrics of step " + m.step());
        }
    }

    /**
     * Keeps the metrics records of steps 1..lastStep, in order, once each: after a resume the
     * steps past the checkpoint (the interrupted run's, which will be recomputed) are dropped, a
     * fresh start (0) empties the file. A line that does not parse (a torn last line: the disk
     * filled up or the process died in the middle of an append) is dropped, never an error.
     */
    private void truncateMetrics(long lastStep) throws IOException {
        Path file = settings.outputDir().resolve(METRICS_FILE);
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        StringBuilder kept = new StringBuilder();
        if (lastStep > 0) {
            byte[] bytes;
            try (var in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                bytes = in.readAllBytes();
            } catch (IOException e) {
                throw new InvalidFileException(file, "cannot read: " + AtomicFiles.reason(e), e);
            }
            long last = 0;
            for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
                JsonNode n;
                try {
                    n = Json.MAPPER.readTree(line);
                } catch (IOException e) {
                    continue; // torn or damaged: dropped
                }
                long s = n == null ? -1 : n.path("step").asLong(-1);
                if (s > last && s <= lastStep) {
                    kept.append(line.strip()).append('\n');
                    last = s;
                }
            }
        }
        try {
            AtomicFiles.write(file, kept.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw atStep(e, file, "truncating the metrics to step " + lastStep);
        }
    }

    @Override
    public void close() {
        strategy.close();
        objective.close();
    }

}
