package ai.janus.train;

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
import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.kernels.CudaBackend;
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
import ai.janus.optim.Optimizer;
import ai.janus.tensor.DType;
import ai.janus.train.checkpoint.CheckpointStore;
import ai.janus.train.config.RunConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
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

    /** What an objective is built from: the model at its starting weights (a reward model for RM). */
    public record Pieces(RunConfig config, ChatTemplate template, Mistral model, RewardModel rewardModel,
                         ParameterSet parameters, SentencePieceTokenizer tokenizer, CpuBackend backend, PrintStream log) {}

    private TrainingRun() {}

    /**
     * Runs {@code config} to the end (or from {@code resume}: "latest" or a checkpoint directory;
     * null starts fresh) and exports the final model to {@code output_dir/final}. Returns the
     * metrics of the steps run.
     */
    public static List<Trainer.StepMetrics> run(RunConfig config, String resume, Stage stage, PrintStream log,
                                                Progress progress) throws IOException {
        log.println("janus: resolved run config");
        log.print(config.toYaml().replaceAll("(?m)^", "  ").replace("  ---\n", ""));
        Files.createDirectories(config.outputDir());
        AtomicFiles.write(config.outputDir().resolve("run_config.yaml"), config.toYaml().getBytes(StandardCharsets.UTF_8));
        // the CUDA backend opens first: its allocator must be in place before the model's tensors are allocated
        try (CudaBackend cuda = config.backend() == RunConfig.BackendKind.CUDA ? CudaBackend.open() : null;
             SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(config.tokenizer());
             HfCheckpoint.Loaded base = HfCheckpoint.load(config.baseModel());
             CpuBackend cpu = new CpuBackend()) {
            // the model's ops run on `compute`; the optimizers and clipping stay on the CPU's pool (over managed
            // memory when cuda is on), which is correct but migrates pages: the GPU optimizer is not wired in yet
            Backend compute = cuda != null ? cuda : cpu;
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
            Mistral model = rm ? null : new Mistral(mc, MistralWeights.of(mc, params), compute);
            RewardModel rewardModel = rm ? new RewardModel(mc, params, compute) : null;
            Pieces pieces = new Pieces(config, template, model, rewardModel, params, tokenizer, cpu, log);
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
                if (rm) {
                    params.close();
                }
                throw (IOException) e.getCause();
            }
            long perEpoch = Math.max(1, ceilDiv(objective.size(), (long) config.microBatchSize()
                    * config.gradientAccumulationSteps()));
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
            AdamWConfig adam = new AdamWConfig(config.adamBeta1(), config.adamBeta2(), config.adamEpsilon(),
                    config.weightDecay());
            Optimizer optimizer = switch (config.optimizer()) {
                case ADAMW -> bf16 != null ? new AdamW(bf16, Bf16Mode.nearestEven(), adam, cpu.parallel())
                        : new AdamW(params, adam, cpu.parallel());
                case ADAMW_8BIT -> bf16 != null ? new AdamW8bit(bf16, Bf16Mode.nearestEven(), adam, cpu.parallel())
                        : new AdamW8bit(params, adam, cpu.parallel());
            };
            Map<String, String> provenance = new LinkedHashMap<>();
            provenance.put("tokenizer", tokenizer.fingerprint());
            provenance.put("template", ChatTemplate.NAME);
            provenance.put("data", dataFingerprint(config));
            provenance.put("sequence_len", Integer.toString(config.sequenceLen()));
            log.printf("janus: %s on %d samples, %d steps (%d per epoch), %s, %s%n", objective.name(), objective.size(),
                    total, perEpoch, config.optimizer().name().toLowerCase(), compute.name());
            Trainer.Settings settings = new Trainer.Settings(config.microBatchSize(),
                    config.gradientAccumulationSteps(), total, config.maxGradNorm(), config.seed(), saveSteps,
                    config.saveTotalLimit(), config.outputDir());
            Trainer.Parameters trainable = rm
                    ? new Trainer.Parameters(mc, params, bf16, RewardModel::specs,
                            Map.of("architectures", List.of(RewardModel.ARCHITECTURE)))
                    : new Trainer.Parameters(mc, params, bf16);
            try (Trainer trainer = new Trainer(settings, trainable, optimizer, schedule, objective, compute, cpu.parallel(),
                    provenance, progress)) {
                if (resume != null) {
                    CheckpointStore.Checkpoint from = resume.equals("latest")
                            ? trainer.checkpoints().latest().orElseThrow(() -> new InvalidFileException(
                                    trainer.checkpoints().root(), "no valid checkpoint to resume from"))
                            : CheckpointStore.verify(Path.of(resume));
                    trainer.resume(from);
                    log.printf("janus: resumed from %s (step %d)%n", from.directory(), from.step());
                }
                List<Trainer.StepMetrics> history = trainer.train();
                Path finalDir = config.outputDir().resolve("final");
                ParameterSet stored = bf16 != null ? bf16 : params;
                if (rm) {
                    // mean and std of the rewards on held-out pairs are stored with the model (best-of-N normalises with them)
                    List<PairExample> evaluation = heldOut.isEmpty() ? ((PairObjective) objective).pairs : heldOut;
                    RewardEvaluation eval = RewardEvaluation.of(rewardModel, evaluation, config.microBatchSize());
                    log.printf("janus: reward model accuracy %.3f on %d %s pairs; reward mean %.4f, std %.4f%n",
                            eval.accuracy(), eval.pairs(), heldOut.isEmpty() ? "training (val_set_size is 0)" : "held-out",
                            eval.normalization().mean(), eval.normalization().std());
                    RewardModel.save(finalDir, mc, stored, eval.normalization(), stored.dtype());
                    java.nio.file.Files.copy(config.tokenizer(), finalDir.resolve("tokenizer.model"),
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                } else {
                    ModelExport.export(finalDir, mc, stored, stored.dtype(), config.tokenizer());
                }
                log.printf("janus: final model written to %s; metrics in %s%n", finalDir.toAbsolutePath(),
                        config.outputDir().resolve(Trainer.METRICS_FILE).toAbsolutePath());
                return history;
            } finally {
                optimizer.close();
                if (bf16 != null) {
                    bf16.close();
                }
                if (rm) {
                    params.close();
                }
            }
        }
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
            ReferenceKey key = new ReferenceKey(ModelFingerprint.of(p.model().config(), p.parameters()),
                    p.tokenizer().fingerprint(), ChatTemplate.NAME, rules.maxTokens(), ReferenceKey.rowPolicy(rules),
                    dataFingerprint(c));
            Path cache = c.outputDir().resolve("reference_logprobs.json");
            ReferenceLogProbs reference = ReferenceLogProbs.loadOrCompute(cache, key, pairs, () -> {
                p.log().printf("janus: computing reference log-probs of %d pairs (cached in %s)%n", pairs.size(), cache);
                return ReferenceLogProbs.compute(p.model(), pairs, c.microBatchSize(), key);
            });
            return new DpoObjective(p.model(), pairs, reference, new DpoLoss(c.dpoBeta(), c.dpoLabelSmoothing()),
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
