package ai.janus.train.cli;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.dist.DistributedException;
import ai.janus.io.InvalidFileException;
import ai.janus.kernels.CudaProbe;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code janus <command> [options]}. Commands:
 * <ul>
 *   <li>{@code demo}: the main job. For now it builds a random tiny Mistral, writes it in HF
 *       layout, loads it back through the checkpoint reader and runs the CPU forward, printing
 *       the model summary and the mean next-token NLL (≈ ln V for random weights). The end-to-end
 *       Janus pipeline replaces it.</li>
 *   <li>{@code summary DIR}: the config and parameter table of an HF model directory.</li>
 *   <li>{@code data check FILE --format F}: validates a JSONL data file ({@link DataCheck}).</li>
 * </ul>
 * Exit codes: 0 success, 1 bad input (one-line message on stderr), 2 usage error.
 */
public final class Janus {
    private static final String USAGE = """
            usage: janus <command> [options]

            commands:
              demo [--out DIR] [--seed N]   build a random tiny Mistral, save it in HF layout, reload it and run
                                            the CPU forward; prints the model summary (default --out runs/demo)
              summary DIR                   print config.json and the parameter table of an HF model directory
              data check FILE --format F    validate a JSONL data file (sft, pairs, rm, bench) and print its summary
              init --out DIR [options]      a random Mistral model directory (HF layout) from a small config
              sft CONFIG.yaml [--resume]    supervised fine-tuning as the YAML run config says
              dpo CONFIG.yaml [--resume]    DPO from the config's base model (the frozen reference), type pairs data
              orpo CONFIG.yaml [--resume]   ORPO (NLL + odds ratio), type pairs data
              rm CONFIG.yaml [--resume]     a Bradley-Terry reward model (backbone + value head), type rm data
              generate --model DIR ...      sample answers for JSONL prompts with the KV cache
              best-of-n --model DIR --reward-model DIR ...   N samples per prompt, the reward model picks one
              score --model DIR --data FILE ...              per-example sum and mean log-probs of SFT rows

            Run 'janus <command> --help' for a command's options.
            """;

    private Janus() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try {
            return switch (args[0]) {
                case "demo" -> demo(rest, out, err);
                case "summary" -> summary(rest, out, err);
                case "data" -> DataCheck.run(rest, out);
                case "init" -> InitCommand.run(rest, out);
                case "sft", "dpo", "orpo", "rm" -> TrainCommand.run(args[0], rest, out, err);
                case "generate" -> GenerateCommand.run(rest, out, err);
                case "best-of-n" -> BestOfNCommand.run(rest, out, err);
                case "score" -> ScoreCommand.run(rest, out, err);
                default -> {
                    err.println("janus: unknown command '" + args[0] + "'");
                    err.print(USAGE);
                    yield 2;
                }
            };
        } catch (InvalidFileException e) {
            err.println("janus: " + e.getMessage());
            return 1;
        } catch (UsageException e) {
            err.println("janus " + args[0] + ": " + e.getMessage());
            return 2;
        } catch (IOException | IllegalStateException | IllegalArgumentException | DistributedException e) {
            err.println("janus: " + e.getMessage());
            return 1;
        }
    }

    /** A usage error: wrong option or missing argument. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    private static int demo(List<String> args, PrintStream out, PrintStream err) throws IOException, UsageException {
        Path dir = Path.of("runs", "demo");
        long seed = 1234;
        for (int i = 0; i < args.size(); i++) {
            switch (args.get(i)) {
                case "--help", "-h" -> {
                    out.println("usage: janus demo [--out DIR] [--seed N]");
                    out.println("  Builds a random tiny Mistral (vocab 1000), saves it to DIR/model in HF layout (BF16),");
                    out.println("  loads it back and runs the CPU forward over 4 packed random sequences.");
                    return 0;
                }
                case "--out" -> dir = Path.of(value(args, ++i, "--out"));
                case "--seed" -> seed = parseLong(value(args, ++i, "--seed"), "--seed");
                default -> throw new UsageException("unknown option '" + args.get(i) + "'");
            }
        }
        MistralConfig config = MistralConfig.tiny(1000);
        Path modelDir = dir.resolve("model");
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(config))) {
            MistralWeights.initialize(config, params, seed);
            HfCheckpoint.save(modelDir, config, params, DType.BF16, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        }
        out.println("janus demo: random tiny Mistral written to " + modelDir.toAbsolutePath());
        out.println(CudaProbe.probe());
        try (HfCheckpoint.Loaded model = HfCheckpoint.load(modelDir); CpuBackend cpu = new CpuBackend()) {
            printSummary(model, out);
            SplittableRandom rng = new SplittableRandom(seed);
            int[][] sequences = new int[4][];
            for (int s = 0; s < sequences.length; s++) {
                sequences[s] = rng.ints(96 + 32 * s, 0, config.vocabSize()).toArray();
            }
            TokenBatch batch = TokenBatch.of(sequences);
            int[] labels = nextTokenLabels(batch);
            Mistral mistral = new Mistral(model.config(), model.weights(), cpu);
            long start = System.nanoTime();
            double nll = 0;
            int supervised = 0;
            try (Tensor logp = mistral.tokenLogProbs(batch, labels)) {
                FloatBuffer lp = logp.floats();
                for (int t = 0; t < labels.length; t++) {
                    if (labels[t] != ai.janus.backend.Backend.IGNORE_INDEX) {
                        nll -= lp.get(t);
                        supervised++;
                    }
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf("backend      %s%n", cpu.name());
            out.printf("forward      %d tokens in %d packed sequences, %.3f s (%.0f tokens/s, first call includes JIT warm-up)%n",
                    batch.size(), batch.sequences(), seconds, batch.size() / seconds);
            out.printf("mean NLL     %.4f over %d next-token targets (ln V = %.4f for an untrained model)%n",
                    nll / supervised, supervised, Math.log(config.vocabSize()));
        }
        return 0;
    }

    /** Each token's label is the next token of its own sequence; the last of each sequence is ignored. */
    static int[] nextTokenLabels(TokenBatch batch) {
        int[] labels = new int[batch.size()];
        int[] cu = batch.cuSeqlens();
        for (int s = 0; s < batch.sequences(); s++) {
            for (int t = cu[s]; t < cu[s + 1]; t++) {
                labels[t] = t + 1 < cu[s + 1] ? batch.tokens()[t + 1] : ai.janus.backend.Backend.IGNORE_INDEX;
            }
        }
        return labels;
    }

    private static int summary(List<String> args, PrintStream out, PrintStream err) throws IOException, UsageException {
        if (args.size() == 1 && (args.get(0).equals("--help") || args.get(0).equals("-h"))) {
            out.println("usage: janus summary DIR");
            out.println("  Loads the HF model directory DIR (config.json + safetensors) and prints its summary.");
            return 0;
        }
        if (args.size() != 1) {
            throw new UsageException("expected one model directory, got " + args.size() + " arguments");
        }
        try (HfCheckpoint.Loaded model = HfCheckpoint.load(Path.of(args.get(0)))) {
            for (String w : model.warnings()) {
                err.println("warning: " + w);
            }
            printSummary(model, out);
        }
        return 0;
    }

    private static void printSummary(HfCheckpoint.Loaded model, PrintStream out) {
        MistralConfig c = model.config();
        out.printf("model        Mistral: %d layers, hidden %d, ffn %d, heads %d / kv heads %d, head dim %d%n",
                c.numHiddenLayers(), c.hiddenSize(), c.intermediateSize(), c.numAttentionHeads(),
                c.numKeyValueHeads(), c.headDim());
        out.printf("             vocab %d, rope theta %s, sliding window %s, tied embeddings %s%n",
                c.vocabSize(), c.ropeTheta(), c.slidingWindow() < 0 ? "none" : c.slidingWindow(), c.tieWordEmbeddings());
        out.printf("parameters   %,d (%.1f MiB in fp32)%n", c.parameterCount(), c.parameterCount() * 4.0 / (1 << 20));
        out.printf("  %-48s %-16s %12s%n", "name", "shape", "elements");
        for (ParameterSet.Spec s : model.parameters().specs()) {
            if (s.name().startsWith("model.layers.") && !s.name().startsWith("model.layers.0.")) {
                continue;
            }
            out.printf("  %-48s %-16s %,12d%n", s.name(), Arrays.toString(s.shape()), s.numel());
        }
        if (c.numHiddenLayers() > 1) {
            out.printf("  %-48s%n", "(model.layers.1 .. " + (c.numHiddenLayers() - 1) + " repeat layer 0)");
        }
    }

    static String value(List<String> args, int i, String option) throws UsageException {
        if (i >= args.size()) {
            throw new UsageException(option + " needs a value");
        }
        return args.get(i);
    }

    static long parseLong(String text, String option) throws UsageException {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new UsageException(option + " expects an integer, got '" + text + "'");
        }
    }
}
