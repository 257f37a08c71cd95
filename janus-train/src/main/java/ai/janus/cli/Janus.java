package ai.janus.cli;

import ai.janus.dist.DistributedException;
import ai.janus.io.InvalidFileException;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.MistralConfig;
import ai.janus.model.ParameterSet;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * {@code janus <command> [options]}. Commands:
 * <ul>
 *   <li>{@code demo}: the main job, the Janus recipe end to end on a synthetic task
 *       ({@link DemoCommand}).</li>
 *   <li>{@code summary DIR}: the config and parameter table of an HF model directory.</li>
 *   <li>{@code data check FILE --format F}: validates a JSONL data file ({@link DataCheck}).</li>
 * </ul>
 * Exit codes: 0 success, 1 bad input (one-line message on stderr), 2 usage error. No input ends
 * in a stack trace: an error no check foresaw is one line too (JANUS_DEBUG=1 adds the trace).
 */
public final class Janus {
    private static final String USAGE = """
            usage: janus <command> [options]

            commands:
              demo [--out DIR] [--seed N]   the Janus recipe end to end in miniature (SFT, DPO, ORPO, reward model,
                                            best-of-N, held-out evaluation, report) in a few minutes on a CPU
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
              --version                     janus's version (and the git commit it was built from, if known)

            Run 'janus <command> --help' for a command's options.
            """;

    private Janus() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * "janus VERSION (git SHORT_HASH)": the version Maven wrote into version.properties, the
     * commit from git.properties (both in the jar, next to this class); "(git …)" only when known.
     */
    static String version() {
        String version = property("version.properties", "version");
        String git = property("git.properties", "git");
        return "janus " + (version.isEmpty() ? "(version unknown)" : version) + (git.isEmpty() ? "" : " (git " + git + ")");
    }

    private static String property(String resource, String key) {
        try (InputStream in = Janus.class.getResourceAsStream(resource)) {
            if (in == null) {
                return "";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty(key, "").strip();
        } catch (IOException e) {
            return "";
        }
    }

    /** Runs a command; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        if (args[0].equals("--version") || args[0].equals("version")) {
            out.println(version());
            return 0;
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try {
            return switch (args[0]) {
                case "demo" -> DemoCommand.run(rest, out, err);
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
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            // The last net: an input no check foresaw still ends in one line, not a stack trace.
            if (System.getenv("JANUS_DEBUG") != null) {
                e.printStackTrace(err);
            }
            err.println("janus " + args[0] + ": " + (e instanceof OutOfMemoryError ? "out of memory" : "internal error")
                    + " (" + String.valueOf(e).replaceAll("\\s+", " ") + "); JANUS_DEBUG=1 prints the stack trace");
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

    private static int summary(List<String> args, PrintStream out, PrintStream err) throws IOException, UsageException {
        if (args.size() == 1 && (args.get(0).equals("--help") || args.get(0).equals("-h"))) {
            out.println("usage: janus summary DIR");
            out.println("  Reads the HF model directory DIR's config.json and safetensors headers (no weights) and");
            out.println("  prints its summary.");
            return 0;
        }
        if (args.size() != 1) {
            throw new UsageException("expected one model directory, got " + args.size() + " arguments");
        }
        // Headers only: a checkpoint larger than memory is summarised too.
        HfCheckpoint.Header model = HfCheckpoint.inspect(Path.of(args.get(0)));
        for (String w : model.warnings()) {
            err.println("warning: " + w);
        }
        printSummary(model, out);
        return 0;
    }

    private static void printSummary(HfCheckpoint.Header model, PrintStream out) {
        MistralConfig c = model.config();
        out.printf("model        Mistral: %d layers, hidden %d, ffn %d, heads %d / kv heads %d, head dim %d%n",
                c.numHiddenLayers(), c.hiddenSize(), c.intermediateSize(), c.numAttentionHeads(),
                c.numKeyValueHeads(), c.headDim());
        out.printf("             vocab %d, rope theta %s, sliding window %s, tied embeddings %s%n",
                c.vocabSize(), c.ropeTheta(), c.slidingWindow() < 0 ? "none" : c.slidingWindow(), c.tieWordEmbeddings());
        out.printf("parameters   %,d (%.1f MiB in fp32)%n", c.parameterCount(), c.parameterCount() * 4.0 / (1 << 20));
        out.printf("  %-48s %-16s %12s%n", "name", "shape", "elements");
        for (ParameterSet.Spec s : model.specs()) {
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
            throw new UsageException(option + (text.strip().matches("[+-]?[0-9]+")
                    ? " is out of the 64-bit integer range, got '" : " expects an integer, got '") + text + "'");
        }
    }
}
