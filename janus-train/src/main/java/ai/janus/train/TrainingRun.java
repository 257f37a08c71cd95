package ai.janus.train;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.ChatTemplate;
import ai.janus.data.DataException;
import ai.janus.data.Datasets;
import ai.janus.data.SftExample;
import ai.janus.data.ValidationRules;
import ai.janus.data.Validator;
import ai.janus.data.batch.Packing;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
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
import java.util.function.Function;

/**
 * A training run from a {@link RunConfig}: the part every objective shares — resolved config
 * printed and saved, tokenizer, base model (its vocabulary must match the tokenizer's), the
 * optimizer, schedule and checkpoint cadence, resume, and the final HF export — around an
 * {@link Objective} built by the caller from the loaded pieces.
 */
public final class TrainingRun {
    /** What an objective is built from. */
    public record Pieces(RunConfig config, ChatTemplate template, Mistral model, CpuBackend backend, PrintStream log) {}

    private TrainingRun() {}

    /**
     * Runs {@code config} to the end (or from {@code resume}: "latest" or a checkpoint directory;
     * null starts fresh) and exports the final model to {@code output_dir/final}. Returns the
     * metrics of the steps run.
     */
    public static List<Trainer.StepMetrics> run(RunConfig config, String resume, Function<Pieces, Objective> objectiveOf,
                                                PrintStream log, Progress progress) throws IOException {
        log.println("janus: resolved run config");
        log.print(config.toYaml().replaceAll("(?m)^", "  ").replace("  ---\n", ""));
        Files.createDirectories(config.outputDir());
        AtomicFiles.write(config.outputDir().resolve("run_config.yaml"), config.toYaml().getBytes(StandardCharsets.UTF_8));
        try (SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(config.tokenizer());
             HfCheckpoint.Loaded base = HfCheckpoint.load(config.baseModel());
             CpuBackend cpu = new CpuBackend()) {
            MistralConfig mc = base.config();
            if (mc.vocabSize() != tokenizer.vocabSize()) {
                throw new InvalidFileException(config.baseModel().resolve(HfCheckpoint.CONFIG_FILE), "vocab_size "
                        + mc.vocabSize() + " disagrees with the " + tokenizer.vocabSize() + " pieces of "
                        + config.tokenizer());
            }
            ChatTemplate template = new ChatTemplate(tokenizer);
            ParameterSet params = base.parameters();
            ParameterSet bf16 = config.bf16() ? ParameterSet.copyOf(params, DType.BF16) : null;
            if (bf16 != null) {
                params.copyFrom(bf16); // train from the bf16 values the optimizer will hold
            }
            Mistral model = new Mistral(mc, MistralWeights.of(mc, params), cpu);
            Objective objective = objectiveOf.apply(new Pieces(config, template, model, cpu, log));
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
                    total, perEpoch, config.optimizer().name().toLowerCase(), cpu.name());
            Trainer.Settings settings = new Trainer.Settings(config.microBatchSize(),
                    config.gradientAccumulationSteps(), total, config.maxGradNorm(), config.seed(), saveSteps,
                    config.saveTotalLimit(), config.outputDir());
            try (Trainer trainer = new Trainer(settings, new Trainer.Parameters(mc, params, bf16), optimizer, schedule,
                    objective, cpu, cpu.parallel(), provenance, progress)) {
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
                ModelExport.export(finalDir, mc, bf16 != null ? bf16 : params, bf16 != null ? DType.BF16 : DType.F32,
                        config.tokenizer());
                log.printf("janus: final model written to %s; metrics in %s%n", finalDir.toAbsolutePath(),
                        config.outputDir().resolve(Trainer.METRICS_FILE).toAbsolutePath());
                return history;
            } finally {
                optimizer.close();
                if (bf16 != null) {
                    bf16.close();
                }
            }
        }
    }

    /** The SFT objective over every sft dataset of the config, packed into rows when sample_packing is on. */
    public static Objective sft(Pieces p) {
        try {
            List<SftExample> examples = new ArrayList<>();
            for (RunConfig.Dataset d : p.config().datasets()) {
                if (!d.type().equals("sft")) {
                    throw new IllegalArgumentException(d.path() + ": an sft run reads datasets of type sft, not " + d.type());
                }
                Validator validator = new Validator(d.path(), ValidationRules.defaults(p.config().sequenceLen()));
                try {
                    examples.addAll(Datasets.sft(p.template(), validator));
                } finally {
                    p.log().print(validator.summary());
                }
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
        } catch (DataException e) {
            throw new DataFailure(e);
        }
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
