package ai.janus.train;

import ai.janus.compute.Compute;
import ai.janus.data.ChatTemplate;
import ai.janus.data.PairExample;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.dist.Communicator;
import ai.janus.dist.Communicators;
import ai.janus.dist.Rendezvous;
import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.LrSchedule;
import ai.janus.tensor.DType;
import ai.janus.tensor.HostMemory;
import ai.janus.train.checkpoint.CheckpointStore;
import ai.janus.train.config.RunConfig;
import ai.janus.train.dist.OptimizerFactory;
import ai.janus.train.dist.OptimizerKind;
import ai.janus.train.dist.Strategies;
import ai.janus.train.dist.Strategy;
import ai.janus.train.dist.TrainingParameters;
import ai.janus.train.objective.Objective;
import ai.janus.train.objective.RewardEvaluation;
import ai.janus.train.objective.RunObjectives;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A training run from a {@link RunConfig}: the part every objective shares — resolved config
 * printed and saved, tokenizer, base model (its vocabulary must match the tokenizer's), the
 * optimizer, schedule and checkpoint cadence, resume, and the final HF export — around an
 * {@link Objective} built by the caller from the loaded pieces.
 */
public final class TrainingRun {
    /** The four kinds of run. */
    public enum Stage { SFT, DPO, ORPO, RM }

    /** Where a run exports its final model, under output_dir. */
    public static final String FINAL_DIR = "final";

    private TrainingRun() {}

    /**
     * Runs {@code config} to the end (or from {@code resume}: "latest" or a checkpoint directory;
     * null starts fresh) and exports the final model to {@code output_dir/final}. Returns the
     * metrics of the steps run.
     */
    public static List<Trainer.StepMetrics> run(RunConfig config, String resume, Stage stage, PrintStream log,
                                                Progress progress) throws IOException {
        Rendezvous rendezvous = Rendezvous.fromEnvironment();
        try (Communicator communicator = Communicators.connect(rendezvous,
                Duration.ofSeconds(config.distTimeoutSeconds()))) {
            if (communicator.worldSize() > 1) {
                log.printf("janus: rank %d of %d (%s, local rank %d), %s over %s%n", communicator.rank(),
                        communicator.worldSize(), rendezvous.launcher(), rendezvous.localRank(),
                        config.strategy().configName(), communicator.name());
            }
            return run(config, resume, stage, log, progress, communicator);
        }
    }

    /**
     * {@link #run(RunConfig, String, Stage, PrintStream, Progress)} as one rank of
     * {@code communicator}'s job (every rank calls it with the same config). Rank 0 prints, writes
     * the resolved config, the metrics and the final model; the others only train.
     */
    public static List<Trainer.StepMetrics> run(RunConfig config, String resume, Stage stage, PrintStream log,
                                                Progress progress, Communicator communicator) throws IOException {
        Compute.check(config, communicator.worldSize());
        boolean rankZero = communicator.rank() == 0;
        if (!rankZero) {
            log = new PrintStream(OutputStream.nullOutputStream());
            progress = Progress.silent();
        }
        try (OutputDirectory owned = claim(config, resume, communicator)) {
            printResolvedConfig(config, log);
            return run(config, resume, stage, log, progress, communicator, rankZero);
        }
    }

    /**
     * Rank 0 claims the output directory (ownership, the lock; a fresh run also refuses one that
     * holds a checkpoint) before anything is written, so a refused run changes nothing; the
     * other ranks share it, and learn whether rank 0 refused it. Null on the other ranks.
     */
    private static OutputDirectory claim(RunConfig config, String resume, Communicator communicator)
            throws IOException {
        OutputDirectory owned = null;
        IOException refused = null;
        if (communicator.rank() == 0) {
            try {
                owned = OutputDirectory.claim(config.outputDir(), resume != null && earlierJanusRun(config));
                // checked again where they are written; refused here too so a planted link costs no training
                OutputDirectory.refuseLink(config.outputDir().resolve(Trainer.CHECKPOINTS_DIR));
                OutputDirectory.refuseLink(config.outputDir().resolve(FINAL_DIR));
                if (resume == null) {
                    refuseEarlierRun(config);
                }
            } catch (IOException e) {
                if (owned != null) {
                    owned.close();
                }
                refused = e;
            }
        }
        if (communicator.worldSize() > 1) {
            double[] ok = communicator.allGather(new double[] {refused == null ? 1 : 0});
            if (ok[0] == 0 && communicator.rank() != 0) {
                throw new InvalidFileException(config.outputDir(), "rank 0 refused this output directory (its"
                        + " message says why)");
            }
        }
        if (refused != null) {
            throw refused;
        }
        return owned;
    }

    /**
     * Whether output_dir, unmarked, is a janus run's from before the marker existed: it holds a
     * janus checkpoint that verifies. Such a directory may be resumed (and is then marked).
     */
    private static boolean earlierJanusRun(RunConfig config) throws IOException {
        Path dir = config.outputDir();
        return Files.isDirectory(dir) && !Files.exists(dir.resolve(OutputDirectory.MARKER), LinkOption.NOFOLLOW_LINKS)
                && !Files.isSymbolicLink(dir.resolve(Trainer.CHECKPOINTS_DIR))
                && new CheckpointStore(dir.resolve(Trainer.CHECKPOINTS_DIR), 0).latest().isPresent();
    }

    /** A fresh run refuses an output directory holding a valid checkpoint (and writes nothing). */
    private static void refuseEarlierRun(RunConfig config) throws IOException {
        Optional<CheckpointStore.Checkpoint> earlier = new CheckpointStore(config.outputDir().resolve(
                Trainer.CHECKPOINTS_DIR), 0).latest();
        if (earlier.isPresent()) {
            throw new InvalidFileException(earlier.get().directory(), "the output directory already holds this"
                    + " checkpoint; resume with --resume or choose another output_dir");
        }
    }

    private static List<Trainer.StepMetrics> run(RunConfig config, String resume, Stage stage, PrintStream log,
                                                 Progress progress, Communicator communicator, boolean rankZero)
            throws IOException {
        // compute opens first: a GPU's allocator must be in place before the model's tensors are allocated
        try (Compute compute = Compute.forRun(config, communicator.worldSize());
             SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(config.tokenizer());
             HfCheckpoint.Loaded base = HfCheckpoint.load(config.baseModel());
             StartingWeights start = StartingWeights.of(config, stage, checkedConfig(config, base, tokenizer),
                     base.parameters())) {
            MistralConfig mc = start.config();
            String dataFingerprint = RunObjectives.dataFingerprint(config); // reads every dataset: once per run
            Strategy strategy = Strategies.create(config.strategy(), communicator, start.trainable(),
                    OptimizerFactory.of(config.optimizer(), adamConfig(config), compute.stepKernels(), compute.parallel()),
                    (long) (config.bucketSizeMb() * (1 << 20)), compute.cpuBackend(), compute.stepKernels());
            ParameterSet weights = strategy.parameters();
            boolean rm = stage == Stage.RM;
            RunObjectives.Inputs inputs = new RunObjectives.Inputs(config, new ChatTemplate(tokenizer), tokenizer,
                    rm ? null : new Mistral(mc, MistralWeights.of(mc, weights), compute.backend(), strategy.hooks()),
                    rm ? new RewardModel(mc, weights, compute.backend(), strategy.hooks()) : null,
                    start.parameters(), rm ? null : new Mistral(mc, MistralWeights.of(mc, start.parameters()),
                    compute.backend()), log, communicator, dataFingerprint);
            List<PairExample> heldOut = new ArrayList<>();
            Objective objective = objective(stage, inputs, heldOut, strategy);
            if (config.strategy().zeroStage() > 0) {
                // ZeRO copied the starting weights into its shards (and the DPO reference is computed): free them
                base.parameters().close();
                start.releaseOwned();
            }
            Plan plan = Plan.of(config, objective.size(), communicator.worldSize());
            log.printf("janus: %s on %d samples, %d steps (%d per epoch), %s, %s%n", objective.name(), objective.size(),
                    plan.total(), plan.perEpoch(), config.optimizer().name().toLowerCase(), compute.name());
            if (compute.onDevice()) {
                log.println(compute.stepsOnDevice() ? "janus: optimizer steps and gradient clipping on the GPU"
                        : "janus: optimizer steps and gradient clipping on the CPU (several ranks or ZeRO)");
            }
            try (Trainer trainer = new Trainer(plan.settings(config), strategy, plan.schedule(config), objective,
                    provenance(config, tokenizer, dataFingerprint), progress)) {
                resume(trainer, resume, log);
                if (rankZero) {
                    // once the run is accepted (a refused resume leaves the earlier run's config in place)
                    AtomicFiles.write(config.outputDir().resolve("run_config.yaml"),
                            config.toYaml().getBytes(StandardCharsets.UTF_8));
                }
                List<Trainer.StepMetrics> history = trainer.train();
                ParameterSet whole = strategy.gatherForExport(); // the whole model on rank 0 (sharded: gathered)
                if (rankZero) {
                    try {
                        // with ZeRO-3 the trained model's own weights are shards: evaluate the gathered ones
                        RewardModel evaluated = !rm || !strategy.ownsExport() ? inputs.rewardModel()
                                : new RewardModel(mc, whole, compute.cpuBackend());
                        export(config, mc, whole, evaluated, rm ? RunObjectives.evaluationPairs(objective, heldOut)
                                : null, !heldOut.isEmpty(), log);
                    } finally {
                        if (strategy.ownsExport()) {
                            whole.close();
                        }
                    }
                }
                return history;
            }
        }
    }

    /** Prints the resolved config (rank 0 saves it as output_dir/run_config.yaml once the run is accepted). */
    private static void printResolvedConfig(RunConfig config, PrintStream log) {
        log.println("janus: resolved run config");
        log.print(config.toYaml().replaceAll("(?m)^", "  ").replace("  ---\n", ""));
    }

    /**
     * The base model's config, once its vocabulary is known to match the tokenizer's and training
     * it is known to fit in memory (checked before the starting weights are copied).
     */
    private static MistralConfig checkedConfig(RunConfig config, HfCheckpoint.Loaded base,
                                               SentencePieceTokenizer tokenizer) throws InvalidFileException {
        MistralConfig mc = base.config();
        Path configFile = config.baseModel().resolve(HfCheckpoint.CONFIG_FILE);
        if (mc.vocabSize() != tokenizer.vocabSize()) {
            throw new InvalidFileException(configFile, "vocab_size " + mc.vocabSize() + " disagrees with the "
                    + tokenizer.vocabSize() + " pieces of " + config.tokenizer());
        }
        String tooBig = trainingMemoryRefusal(mc, config, HostMemory.limit());
        if (tooBig != null) {
            throw new InvalidFileException(configFile, tooBig);
        }
        return mc;
    }

    /**
     * Null when a local or DDP rank's lower bound of training memory fits {@code limit}, else the
     * one-line reason: F32 weights and gradients (8 bytes a parameter) plus the optimizer's moments
     * (AdamW 8 bytes, 8-bit AdamW about 2). ZeRO shards the optimizer and is not checked here.
     */
    static String trainingMemoryRefusal(MistralConfig mc, RunConfig config, HostMemory.Limit limit) {
        if (config.strategy().zeroStage() > 0) {
            return null;
        }
        boolean adamw = config.optimizer() == OptimizerKind.ADAMW;
        return HostMemory.refusal(String.format(Locale.ROOT,
                "training a model of %,d parameters with %s (F32 weights, gradients and optimizer moments)",
                mc.parameterCount(), adamw ? "adamw" : "adamw_8bit"),
                HostMemory.product(mc.parameterCount(), 8 + (adamw ? 8 : 2)), limit);
    }

    private static AdamWConfig adamConfig(RunConfig config) {
        return new AdamWConfig(config.adamBeta1(), config.adamBeta2(), config.adamEpsilon(), config.weightDecay());
    }

    /**
     * The starting weights a run trains from: the base model's (a reward model: its backbone plus
     * a fresh value head, owned here), their bf16 copy when bf16 is on, and how the strategy sees
     * them.
     */
    private record StartingWeights(MistralConfig config, ParameterSet parameters, ParameterSet bf16, boolean owned,
                                   TrainingParameters trainable) implements AutoCloseable {
        static StartingWeights of(RunConfig run, Stage stage, MistralConfig mc, ParameterSet base) {
            boolean rm = stage == Stage.RM;
            // a reward model starts from the causal LM's backbone plus a fresh value head
            ParameterSet params = rm ? RewardModel.fromCausalLm(mc, base, run.seed()) : base;
            ParameterSet bf16 = run.bf16() ? ParameterSet.copyOf(params, DType.BF16) : null;
            if (bf16 != null) {
                params.copyFrom(bf16); // train from the bf16 values the optimizer will hold
            }
            TrainingParameters trainable = rm
                    ? new TrainingParameters(mc, params, bf16, RewardModel::specs,
                            Map.of("architectures", List.of(RewardModel.ARCHITECTURE)))
                    : new TrainingParameters(mc, params, bf16);
            return new StartingWeights(mc, params, bf16, rm, trainable);
        }

        /** Frees the parameters made here (a reward model's) once the strategy holds its own copy. */
        void releaseOwned() {
            if (owned) {
                parameters.close();
            }
        }

        @Override
        public void close() {
            if (bf16 != null) {
                bf16.close();
            }
            releaseOwned();
        }
    }

    /** The stage's objective; on a data error the strategy is closed and the error comes out as the IOException it is. */
    private static Objective objective(Stage stage, RunObjectives.Inputs inputs, List<PairExample> heldOut,
                                       Strategy strategy) throws IOException {
        try {
            return switch (stage) {
                case SFT -> RunObjectives.sft(inputs);
                case DPO -> RunObjectives.dpo(inputs);
                case ORPO -> RunObjectives.orpo(inputs);
                case RM -> RunObjectives.rewardModel(inputs, heldOut);
            };
        } catch (RunObjectives.DataFailure | UncheckedIOException e) {
            strategy.close();
            throw (IOException) e.getCause();
        }
    }

    /** How long the run is and when it saves, from the config and the objective's size. */
    private record Plan(long perEpoch, long total, long warmup, long saveSteps) {
        static Plan of(RunConfig config, long samples, int worldSize) {
            long perEpoch = Math.max(1, ceilDiv(samples, (long) config.microBatchSize()
                    * config.gradientAccumulationSteps() * worldSize));
            long total = config.maxSteps() != RunConfig.UNSET ? config.maxSteps() : perEpoch * config.numEpochs();
            long warmup = config.warmupSteps() != RunConfig.UNSET ? config.warmupSteps()
                    : config.warmupRatio() >= 0 ? LrSchedule.warmupFromRatio(config.warmupRatio(), total) : 0;
            long saveSteps = config.saveSteps() != RunConfig.UNSET ? config.saveSteps()
                    : config.savesPerEpoch() > 0 ? Math.max(1, perEpoch / config.savesPerEpoch()) : 0;
            return new Plan(perEpoch, total, warmup, saveSteps);
        }

        LrSchedule schedule(RunConfig config) {
            return switch (config.lrScheduler()) {
                case COSINE -> LrSchedule.cosine(config.learningRate(), warmup, total);
                case LINEAR -> LrSchedule.linear(config.learningRate(), warmup, total);
                case CONSTANT -> LrSchedule.constant(config.learningRate(), warmup, total);
            };
        }

        Trainer.Settings settings(RunConfig config) {
            return new Trainer.Settings(config.microBatchSize(), config.gradientAccumulationSteps(), total,
                    config.maxGradNorm(), config.seed(), saveSteps, config.saveTotalLimit(), config.outputDir());
        }
    }

    /** What every checkpoint records and a resume checks: tokenizer, template, data and sequence length. */
    private static Map<String, String> provenance(RunConfig config, SentencePieceTokenizer tokenizer,
                                                  String dataFingerprint) {
        Map<String, String> provenance = new LinkedHashMap<>();
        provenance.put("tokenizer", tokenizer.fingerprint());
        provenance.put("template", ChatTemplate.NAME);
        provenance.put("data", dataFingerprint);
        provenance.put("sequence_len", Integer.toString(config.sequenceLen()));
        return provenance;
    }

    /** Resumes from "latest" (the newest valid checkpoint) or a checkpoint directory; null: a fresh start. */
    private static void resume(Trainer trainer, String resume, PrintStream log) throws IOException {
        if (resume == null) {
            return;
        }
        CheckpointStore.Checkpoint from;
        if (resume.equals("latest")) {
            CheckpointStore.Search search = trainer.checkpoints().search();
            if (search.found().isEmpty()) {
                StringBuilder why = new StringBuilder();
                for (CheckpointStore.Rejection r : search.rejected()) {
                    why.append(why.isEmpty() ? ": " : "; ").append(r.directory().getFileName()).append(" rejected, ")
                            .append(r.reason());
                }
                throw new InvalidFileException(trainer.checkpoints().root(), "no valid checkpoint to resume from"
                        + (why.isEmpty() ? " (no step-N directory)" : why.toString()));
            }
            from = search.found().get();
            for (CheckpointStore.Rejection r : search.rejected()) {
                log.printf("janus: skipping checkpoint %s, which fails verification: %s%n", r.directory(), r.reason());
            }
        } else {
            from = CheckpointStore.verify(Path.of(resume));
        }
        trainer.resume(from);
        log.printf("janus: resumed from %s (step %d)%n", from.directory(), from.step());
    }

    /**
     * Writes output_dir/final: the HF model, or for a reward model OpenRLHF's layout with the
     * mean and std of its rewards on {@code evaluation} (measured with {@code rewardModel}).
     */
    private static void export(RunConfig config, MistralConfig mc, ParameterSet stored, RewardModel rewardModel,
                               List<PairExample> evaluation, boolean heldOut, PrintStream log) throws IOException {
        Path finalDir = config.outputDir().resolve(FINAL_DIR);
        OutputDirectory.refuseLink(finalDir);
        if (evaluation != null) {
            // mean and std of the rewards on held-out pairs are stored with the model (best-of-N normalises with them)
            RewardEvaluation eval = RewardEvaluation.of(rewardModel, evaluation, config.microBatchSize());
            log.printf("janus: reward model accuracy %.3f on %d %s pairs; reward mean %.4f, std %.4f%n",
                    eval.accuracy(), eval.pairs(), heldOut ? "held-out" : "training (val_set_size is 0)",
                    eval.normalization().mean(), eval.normalization().std());
            RewardModel.save(finalDir, mc, stored, eval.normalization(), stored.dtype());
            Files.copy(config.tokenizer(), finalDir.resolve("tokenizer.model"), StandardCopyOption.REPLACE_EXISTING);
        } else {
            ModelExport.export(finalDir, mc, stored, stored.dtype(), config.tokenizer());
        }
        log.printf("janus: final model written to %s; metrics in %s%n", finalDir.toAbsolutePath(),
                config.outputDir().resolve(Trainer.METRICS_FILE).toAbsolutePath());
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
