package ai.janus.train.objective;

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
import ai.janus.io.InvalidFileException;
import ai.janus.loss.DpoLoss;
import ai.janus.loss.OrpoLoss;
import ai.janus.model.Mistral;
import ai.janus.model.ModelFingerprint;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.train.config.RunConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The objectives of a run config, built from its datasets: SFT (packed when sample_packing is
 * on), DPO against the starting weights (reference log-probs cached in output_dir), ORPO, and the
 * reward model with its held-out split. Each load prints the validator's summary; a data error
 * comes out as {@link DataFailure}.
 */
public final class RunObjectives {
    /**
     * What an objective is built from: the model it trains (a reward model for RM; its weights are
     * the strategy's), the starting weights and a model over them (the DPO reference), and the
     * communicator of the job's ranks; {@code dataFingerprint} is {@link #dataFingerprint} of the
     * config, computed once per run (it reads every dataset whole).
     */
    public record Inputs(RunConfig config, ChatTemplate template, SentencePieceTokenizer tokenizer, Mistral model,
                         RewardModel rewardModel, ParameterSet startingParameters, Mistral startingModel,
                         PrintStream log, Communicator communicator, String dataFingerprint) {}

    private RunObjectives() {}

    /** The SFT objective over every sft dataset of the config, packed into rows when sample_packing is on. */
    public static Objective sft(Inputs p) {
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
    public static Objective dpo(Inputs p) {
        List<PairExample> pairs = pairs(p, "pairs");
        RunConfig c = p.config();
        ValidationRules rules = ValidationRules.defaults(c.sequenceLen());
        try {
            ReferenceKey key = new ReferenceKey(ModelFingerprint.of(p.startingModel().config(), p.startingParameters()),
                    p.tokenizer().fingerprint(), ChatTemplate.NAME, rules.maxTokens(), ReferenceKey.rowPolicy(rules),
                    p.dataFingerprint());
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

    /** ORPO over every pairs dataset of the config. */
    public static Objective orpo(Inputs p) {
        return new OrpoObjective(p.model(), pairs(p, "pairs"), new OrpoLoss(p.config().orpoAlpha()),
                p.config().gradientCheckpointing());
    }

    /**
     * The reward model's objective over every rm dataset of the config, less the pairs moved into
     * {@code heldOut} ({@link #splitHeldOut}).
     */
    public static Objective rewardModel(Inputs p, List<PairExample> heldOut) {
        return new RewardObjective(p.rewardModel(), splitHeldOut(pairs(p, "rm"), p.config(), heldOut),
                p.config().rmMargin(), p.config().gradientCheckpointing());
    }

    /** The pairs a reward model is evaluated on: the held-out ones, or its training pairs when none were held out. */
    public static List<PairExample> evaluationPairs(Objective rewardObjective, List<PairExample> heldOut) {
        return heldOut.isEmpty() ? ((PairObjective) rewardObjective).pairs : heldOut;
    }

    /** Every dataset of the config, which must all be of {@code type}. */
    private static List<Path> datasets(Inputs p, String type) {
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
    static List<PairExample> pairs(Inputs p, String type) {
        List<PairExample> pairs = new ArrayList<>();
        for (Path file : datasets(p, type)) {
            Validator validator = new Validator(file, ValidationRules.defaults(p.config().sequenceLen()));
            pairs.addAll(load(p, validator, () -> type.equals("rm") ? Datasets.rewardPairs(p.template(), validator)
                    : Datasets.preferencePairs(p.template(), validator)));
        }
        return pairs;
    }

    /** A data load that always prints the validator's summary, its data errors carried out as {@link DataFailure}. */
    private static <T> List<T> load(Inputs p, Validator validator, DataLoad<T> load) {
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
    public static String dataFingerprint(RunConfig config) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (RunConfig.Dataset d : config.datasets()) {
                ai.janus.data.JsonlReader.requireRegularFile(d.path());
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
}
