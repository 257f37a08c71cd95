package ai.janus.train;

import ai.janus.train.dist.TrainingParameters;
import ai.janus.train.objective.PairObjective;
import ai.janus.train.objective.RewardObjective;
import ai.janus.train.objective.OrpoObjective;
import ai.janus.train.objective.DpoObjective;
import ai.janus.train.objective.SftObjective;
import ai.janus.train.objective.Objective;
import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.ChatTemplate;
import ai.janus.data.DataException;
import ai.janus.data.Datasets;
import ai.janus.data.PairExample;
import ai.janus.data.SftExample;
import ai.janus.data.ValidationRules;
import ai.janus.data.Validator;
import ai.janus.data.batch.EpochSampler;
import ai.janus.data.batch.Packing;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.dist.Communicator;
import ai.janus.dist.Communicators;
import ai.janus.dist.Rendezvous;
import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.kernels.CudaBackend;
import ai.janus.kernels.CudaOptimizerKernels;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ModelFingerprint;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.loss.DpoLoss;
import ai.janus.loss.OrpoLoss;
import ai.janus.train.objective.ReferenceKey;
import ai.janus.train.objective.ReferenceLogProbs;
import ai.janus.train.objective.RewardEvaluation;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.Bf16Mode;
import ai.janus.optim.LrSchedule;
import ai.janus.optim.StepKernels;
import ai.janus.tensor.DType;
import ai.janus.train.checkpoint.CheckpointStore;
import ai.janus.train.config.RunConfig;
import ai.janus.train.dist.OptimizerFactory;
import ai.janus.train.dist.Strategies;
import ai.janus.train.dist.Strategy;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training run from a {@link RunConfig}: the part every objective shares — resolved config
 * printed and saved, tokenizer, base model (its vocabulary must match the tokenizer's), the
 * optimizer, schedule and checkpoint cadence, resume, and the final HF export — around an
 * {@link Objective} built by the caller from the loaded pieces.
 */
public final class TrainingRun {
    /** The four kinds of run. */
    public enum Stage { SFT, DPO, ORPO, RM }

    /**
     * What an objective is built from: the model it trains (a reward model for RM; its weights are
     * the strategy's), the starting weights and a model over them (the DPO reference), and the
     * communicator of the job's ranks.
     */
    public record Pieces(RunConfig config, ChatTemplate template, Mistral model, RewardModel rewardModel,
                         ParameterSet parameters, Mistral startingModel, SentencePieceTokenizer tokenizer,
                         CpuBackend backend, PrintStream log, Communicator communicator) {}

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
        boolean rankZero = communicator.rank() == 0;
        // With CUDA on one process (local, or ddp on one rank) the optimizer step and the gradient clipping run on
        // the GPU; with several ranks or ZeRO they stay on the CPU pool over managed memory (correct, pages migrate:
        // the ranks' norm adds GradClip's per-block sums, which the GPU does not reproduce)
        boolean gpuSteps = config.backend() == RunConfig.BackendKind.CUDA && communicator.worldSize() == 1
                && config.strategy().zeroStage() == 0;
        if (gpuSteps && config.bf16()) {
            throw new IllegalArgumentException("bf16: true with backend: cuda on one rank (strategy local or ddp) is not "
                    + "supported: the GPU optimizer steps fp32 weights; set bf16: false");
        }
        if (!rankZero) {
            log = new PrintStream(java.io.OutputStream.nullOutputStream());
            progress = Progress.silent();
        }
        log.println("janus: resolved run config");
        log.print(config.toYaml().replaceAll("(?m)^", "  ").replace("  ---\n", ""));
        if (rankZero) {
            Files.createDirectories(config.outputDir());
            AtomicFiles.write(config.outputDir().resolve("run_config.yaml"),
                    config.toYaml().getBytes(StandardCharsets.UTF_8));
        }
        // the CUDA backend opens first: its allocator must be in place before the model's tensors are allocated
        try (CudaBackend cuda = config.backend() == RunConfig.BackendKind.CUDA ? CudaBackend.open() : null;
             CudaOptimizerKernels gpuKernels = gpuSteps ? new CudaOptimizerKernels(cuda) : null;
             SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(config.tokenizer());
             HfCheckpoint.Loaded base = HfCheckpoint.load(config.baseModel());
             CpuBackend cpu = new CpuBackend()) {
            // the model's ops run on `compute`; fp32 optimizer steps and the clipping on `stepKernels`
            Backend compute = cuda != null ? cuda : cpu;
            StepKernels stepKernels = gpuKernels != null ? gpuKernels : StepKernels.cpu(cpu.parallel());
            MistralConfig mc = base.config();
            if (mc.vocabSize() != tokenizer.vocabSize()) {
                throw new InvalidFileException(config.baseModel().resolve(HfCheckpoint.CONFIG_FILE), "vocab_size "
                        + mc.vocabSize() + " disagrees with the " + tokenizer.vocabSize() + " pieces of "
                        + config.tokenizer());
            }
            ChatTemplate template = new ChatTemplate(tokenizer);
            boolean rm = stage == Stage.RM;
            // a reward model starts from the causal LM's backbone plus a fresh value head
            ParameterSet params = rm ? RewardModel.fromCausalLm(mc, base.parameters(), config.seed()) : base.parameters();
            ParameterSet bf16 = config.bf16() ? ParameterSet.copyOf(params, DType.BF16) : null;
            if (bf16 != null) {
                params.copyFrom(bf16); // train from the bf16 values the optimizer will hold
            }
            AdamWConfig adam = new AdamWConfig(config.adamBeta1(), config.adamBeta2(), config.adamEpsilon(),
                    config.weightDecay());
            OptimizerFactory optimizers = (p, slices) -> switch (config.optimizer()) {
                case ADAMW -> p.dtype() == DType.BF16 ? new AdamW(p, slices, Bf16Mode.nearestEven(), adam, cpu.parallel())
                        : new AdamW(p, slices, adam, stepKernels);
                case ADAMW_8BIT -> p.dtype() == DType.BF16
                        ? new AdamW8bit(p, slices, Bf16Mode.nearestEven(), adam, cpu.parallel())
                        : new AdamW8bit(p, slices, adam, stepKernels);
            };
            TrainingParameters trainable = rm
                    ? new TrainingParameters(mc, params, bf16, RewardModel::specs,
                            Map.of("architectures", List.of(RewardModel.ARCHITECTURE)))
                    : new TrainingParameters(mc, params, bf16);
            Strategy strategy = Strategies.create(config.strategy(), communicator, trainable, optimizers,
                    (long) (config.bucketSizeMb() * (1 << 20)), cpu, stepKernels);
            ParameterSet weights = strategy.parameters();
            Mistral model = rm ? null : new Mistral(mc, MistralWeights.of(mc, weights), compute, strategy.hooks());
            RewardModel rewardModel = rm ? new RewardModel(mc, weights, compute, strategy.hooks()) : null;
            Mistral startingModel = rm ? null : new Mistral(mc, MistralWeights.of(mc, params), compute);
            Pieces pieces = new Pieces(config, template, model, rewardModel, params, startingModel, tokenizer, cpu, log,
                    communicator);
            List<PairExample> heldOut = new ArrayList<>();
            Objective objective;
            try {
                objective = switch (stage) {
                    case SFT -> sft(pieces);
                    case DPO -> dpo(pieces);
                    case ORPO -> new OrpoObjective(model, pairs(pieces, "pairs"), new OrpoLoss(config.orpoAlpha()),
                            config.gradientCheckpointing());
                    case RM -> new RewardObjective(rewardModel, splitHeldOut(pairs(pieces, "rm"), config, heldOut),
                            config.rmMargin(), config.gradientCheckpointing());
                };
            } catch (DataFailure | UncheckedIOException e) {
                strategy.close();
                if (rm) {
                    params.close();
                }
                throw (IOException) e.getCause();
            }
            if (config.strategy().zeroStage() > 0) {
                // ZeRO copied the starting weights into its shards (and the DPO reference is computed): free them
                base.parameters().close();
                if (rm) {
                    params.close();
                }
            }
            long perEpoch = Math.max(1, ceilDiv(objective.size(), (long) config.microBatchSize()
                    * config.gradientAccumulationSteps() * communicator.worldSize()));
            long total = config.maxSteps() != RunConfig.UNSET ? config.maxSteps() : perEpoch * config.numEpochs();
            long warmup = config.warmupSteps() != RunConfig.UNSET ? config.warmupSteps()
                    : config.warmupRatio() >= 0 ? LrSchedule.warmupFromRatio(config.warmupRatio(), total) : 0;
            LrSchedule schedule = switch (config.lrScheduler()) {
                case COSINE -> LrSchedule.cosine(config.learningRate(), warmup, total);
                case LINEAR -> LrSchedule.linear(config.learningRate(), warmup, total);
                case CONSTANT -> LrSchedule.constant(config.learningRate(), warmup, total);
            };
            long saveSteps = config.saveSteps() != RunConfig.UNSET ? config.saveSteps()
                    : config.savesPerEpoch() > 0 ? Math.max(1, perEpoch / config.savesPerEpoch()) : 0;
            Map<String, String> provenance = new LinkedHashMap<>();
            provenance.put("tokenizer", tokenizer.fingerprint());
            provenance.put("template", ChatTemplate.NAME);
            provenance.put("data", dataFingerprint(config));
            provenance.put("sequence_len", Integer.toString(config.sequenceLen()));
            log.printf("janus: %s on %d samples, %d steps (%d per epoch), %s, %s%n", objective.name(), objective.size(),
                    total, perEpoch, config.optimizer().name().toLowerCase(), compute.name());
            if (cuda != null) {
                log.println(gpuKernels != null ? "janus: optimizer steps and gradient clipping on the GPU"
                        : "janus: optimizer steps and gradient clipping on the CPU (several ranks or ZeRO)");
            }
            Trainer.Settings settings = new Trainer.Settings(config.microBatchSize(),
                    config.gradientAccumulationSteps(), total, config.maxGradNorm(), config.seed(), saveSteps,
                    config.saveTotalLimit(), config.outputDir());
            try (Trainer trainer = new Trainer(settings, strategy, schedule, objective, provenance, progress)) {
                if (resume != null) {
                    CheckpointStore.Checkpoint from = resume.equals("latest")
                            ? trainer.checkpoints().latest().orElseThrow(() -> new InvalidFileException(
                                    trainer.checkpoints().root(), "no valid checkpoint to resume from"))
                            : CheckpointStore.verify(Path.of(resume));
                    trainer.resume(from);
                    log.printf("janus: resumed from %s (step %d)%n", from.directory(), from.step());
                }
                List<Trainer.StepMetrics> history = trainer.train();
                ParameterSet whole = strategy.gatherForExport(); // the whole model on rank 0 (sharded: gathered)
                if (rankZero) {
                    try {
                        // with ZeRO-3 the trained model's own weights are shards: evaluate the gathered ones
                        RewardModel evaluated = !rm || !strategy.ownsExport() ? rewardModel
                                : new RewardModel(mc, whole, cpu);
                        export(config, mc, whole, evaluated, rm ? evaluation(objective, heldOut) : null,
                                !heldOut.isEmpty(), log);
                    } finally {
                        if (strategy.ownsExport()) {
                            whole.close();
                        }
                    }
                }
                return history;
            } finally {
                if (bf16 != null) {
                    bf16.close();
                }
                if (rm) {
                    params.close();
                }
            }
        }
    }

    /**
     * Writes output_dir/final: the HF model, or for a reward model OpenRLHF's layout with the
     * mean and std of its rewards on {@code evaluation} (measured with {@code rewardModel}).
     */
    private static void export(RunConfig config, MistralConfig mc, ParameterSet stored, RewardModel rewardModel,
                               List<PairExample> evaluation, boolean heldOut, PrintStream log) throws IOException {
        Path finalDir = config.outputDir().resolve("final");
        if (evaluation != null) {
            // mean and std of the rewards on held-out pairs are stored with the model (best-of-N normalises with them)
            RewardEvaluation eval = RewardEvaluation.of(rewardModel, evaluation, config.microBatchSize());
            log.printf("janus: reward model accuracy %.3f on %d %s pairs; reward mean %.4f, std %.4f%n",
                    eval.accuracy(), eval.pairs(), heldOut ? "held-out" : "training (val_set_size is 0)",
                    eval.normalization().mean(), eval.normalization().std());
            RewardModel.save(finalDir, mc, stored, eval.normalization(), stored.dtype());
            java.nio.file.Files.copy(config.tokenizer(), finalDir.resolve("tokenizer.model"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } else {
            ModelExport.export(finalDir, mc, stored, stored.dtype(), config.tokenizer());
        }
        log.printf("janus: final model written to %s; metrics in %s%n", finalDir.toAbsolutePath(),
                config.outputDir().resolve(Trainer.METRICS_FILE).toAbsolutePath());
    }

    /** The pairs a reward model is evaluated on: the held-out ones, or its training pairs when none were held out. */
    private static List<PairExample> evaluation(Objective objective, List<PairExample> heldOut) {
        return heldOut.isEmpty() ? ((PairObjective) objective).pairs : heldOut;
    }

    /** The SFT objective over every sft dataset of the config, packed into rows when sample_packing is on. */
    static Objective sft(Pieces p) {
        List<SftExample> examples = new ArrayList<>();
        for (Path file : datasets(p, "sft")) {
            Validator validator = new Validator(file, ValidationRules.defaults(p.config().sequenceLen()));
            examples.addAll(load(p, validator, () -> Datasets.sft(p.template(), validator)));
        }
        List<int[]> samples = new ArrayList<>();
        if (p.config().samplePacking()) {
            int[] lengths = examples.stream().mapToInt(e -> e.sequence().length()).toArray();
            samples.addAll(Packing.firstFitDecreasing(lengths, p.config().sequenceLen()));
        } else {
            for (int i = 0; i < examples.size(); i++) {
                samples.add(new int[] {i});
            }
        }
        return new SftObjective(p.model(), examples, samples, p.config().gradientCheckpointing());
    }

    /**
     * DPO against the starting weights as the frozen reference: their log-probs of every pair are
     * computed once (in micro-batches of the trainer's size, so step 0 is exactly ln 2 per pair)
     * and cached in output_dir, keyed by model, tokenizer, template, length, row policy and data.
     */
    static Objective dpo(Pieces p) {
        List<PairExample> pairs = pairs(p, "pairs");
        RunConfig c = p.config();
        ValidationRules rules = ValidationRules.defaults(c.sequenceLen());
        try {
            ReferenceKey key = new ReferenceKey(ModelFingerprint.of(p.startingModel().config(), p.parameters()),
                    p.tokenizer().fingerprint(), ChatTemplate.NAME, rules.maxTokens(), ReferenceKey.rowPolicy(rules),
                    dataFingerprint(c));
            Path cache = c.outputDir().resolve("reference_logprobs.json");
            // rank 0 computes and writes the cache; the other ranks read it once it is there
            if (p.communicator().rank() != 0) {
                p.communicator().barrier().await();
            }
            ReferenceLogProbs reference = ReferenceLogProbs.loadOrCompute(cache, key, pairs, () -> {
                p.log().printf("janus: computing reference log-probs of %d pairs (cached in %s)%n", pairs.size(), cache);
                return ReferenceLogProbs.compute(p.startingModel(), pairs, c.microBatchSize(), key);
            });
            if (p.communicator().rank() == 0) {
                p.communicator().barrier().await();
            }
            return new DpoObjective(p.model(), pairs, reference, new DpoLoss(c.dpoBeta(), c.dpoLabelSmoothing(), c.rpoAlpha()),
                    c.gradientCheckpointing());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every dataset of the config, which must all be of {@code type}. */
    private static List<Path> datasets(Pieces p, String type) {
        List<Path> files = new ArrayList<>();
        for (RunConfig.Dataset d : p.config().datasets()) {
            if (!d.type().equals(type)) {
                throw new IllegalArgumentException(d.path() + ": this run reads datasets of type " + type + ", not "
                        + d.type());
            }
            files.add(d.path());
        }
        return files;
    }

    /** Preference pairs (type pairs) or reward pairs (type rm) of every dataset. */
    static List<PairExample> pairs(Pieces p, String type) {
        List<PairExample> pairs = new ArrayList<>();
        for (Path file : datasets(p, type)) {
            Validator validator = new Validator(file, ValidationRules.defaults(p.config().sequenceLen()));
            pairs.addAll(load(p, validator, () -> type.equals("rm") ? Datasets.rewardPairs(p.template(), validator)
                    : Datasets.preferencePairs(p.template(), validator)));
        }
        return pairs;
    }

    /** A data load that always prints the validator's summary, its data errors carried out as {@link DataFailure}. */
    private static <T> List<T> load(Pieces p, Validator validator, DataLoad<T> load) {
        try {
            return load.get();
        } catch (DataException e) {
            throw new DataFailure(e);
        } finally {
            p.log().print(validator.summary());
        }
    }

    @FunctionalInterface
    private interface DataLoad<T> {
        List<T> get() throws DataException;
    }

    /**
     * Moves the last val_set_size of the pairs, in a seeded order, into {@code heldOut} and returns
     * the rest: the reward model's statistics are measured on pairs it did not train on.
     */
    static List<PairExample> splitHeldOut(List<PairExample> pairs, RunConfig c, List<PairExample> heldOut) {
        int held = (int) Math.floor(pairs.size() * c.valSetSize());
        if (held == 0) {
            return pairs;
        }
        if (held >= pairs.size()) {
            throw new IllegalArgumentException("val_set_size " + c.valSetSize() + " leaves no pairs to train on");
        }
        int[] order = new EpochSampler(pairs.size(), c.seed() ^ 0x5EEDL).order(0);
        List<PairExample> train = new ArrayList<>();
        for (int i = 0; i < order.length; i++) {
            (i < order.length - held ? train : heldOut).add(pairs.get(order[i]));
        }
        return train;
    }

    /** A data error raised while building an objective, carried out of the builder function. */
    public static final class DataFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DataFailure(DataException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** SHA-256 over every dataset file's bytes, in config order. */
    static String dataFingerprint(RunConfig config) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (RunConfig.Dataset d : config.datasets()) {
                try (InputStream in = new DigestInputStream(Files.newInputStream(d.path()), md)) {
                    while (in.read(buffer) >= 0) {
                        // digest as we read
                    }
                } catch (java.nio.file.NoSuchFileException e) {
                    throw new InvalidFileException(d.path(), "file not found");
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
