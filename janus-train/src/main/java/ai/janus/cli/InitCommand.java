package ai.janus.cli;

import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.tensor.DType;
import ai.janus.train.ModelExport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** {@code janus init}: a random Mistral model directory from a small config. */
final class InitCommand {
    private static final String USAGE = """
            usage: janus init --out DIR [--tokenizer MODEL] [--preset tiny|bench-small] [--hidden N --layers N
                              --heads N --kv-heads N --ffn N --head-dim N] [--seed N] [--dtype f32|bf16]
              Writes a randomly initialised Mistral (HF init: N(0, 0.02) matrices, unit norms) in HF layout:
              config.json, model.safetensors, generation_config.json and the tokenizer.model copied beside them.
              The vocabulary size is the tokenizer's (or the preset's without one).
            """;

    private InitCommand() {}

    static int run(List<String> argv, PrintStream out) throws IOException, Janus.UsageException {
        Args args = new Args(argv, Set.of("--out", "--tokenizer", "--preset", "--hidden", "--layers", "--heads",
                "--kv-heads", "--ffn", "--head-dim", "--seed", "--dtype"), Set.of());
        if (args.help()) {
            out.print(USAGE);
            return 0;
        }
        args.positionals(0, "no positional arguments");
        Path dir = Path.of(args.require("--out"));
        if (java.nio.file.Files.exists(dir) && !java.nio.file.Files.isDirectory(dir)) {
            throw new ai.janus.io.InvalidFileException(dir, "exists and is not a directory; --out names the model"
                    + " directory to write");
        }
        Path tokenizer = args.has("--tokenizer") ? Path.of(args.get("--tokenizer", null)) : null;
        MistralConfig preset = switch (args.get("--preset", "tiny")) {
            case "tiny" -> MistralConfig.tiny(1000);
            case "bench-small" -> MistralConfig.benchSmall();
            default -> throw new Janus.UsageException("--preset must be tiny or bench-small");
        };
        int vocab = preset.vocabSize();
        if (tokenizer != null) {
            try (SentencePieceTokenizer t = SentencePieceTokenizer.load(tokenizer)) {
                vocab = t.vocabSize();
            }
        }
        int hidden = dimension(args, "--hidden", preset.hiddenSize());
        int heads = dimension(args, "--heads", preset.numAttentionHeads());
        MistralConfig config;
        try {
            config = MistralConfig.of(vocab, hidden, dimension(args, "--ffn", preset.intermediateSize()),
                    dimension(args, "--layers", preset.numHiddenLayers()), heads,
                    dimension(args, "--kv-heads", preset.numKeyValueHeads()),
                    dimension(args, "--head-dim", args.has("--hidden") || args.has("--heads") ? Math.max(1, hidden / heads)
                            : preset.headDim()), preset.ropeTheta(), preset.slidingWindow(), false);
        } catch (IllegalArgumentException e) {
            throw new Janus.UsageException(e.getMessage());
        }
        String tooBig = config.memoryRefusal();
        if (tooBig != null) {
            throw new IllegalStateException(tooBig);
        }
        DType dtype = switch (args.get("--dtype", "f32")) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> throw new Janus.UsageException("--dtype must be f32 or bf16");
        };
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(config))) {
            MistralWeights.initialize(config, params, args.getLong("--seed", 1234));
            ModelExport.export(dir, config, params, dtype, tokenizer);
        }
        out.printf("janus init: %,d-parameter Mistral (%d layers, hidden %d, vocab %d) written to %s%n",
                config.parameterCount(), config.numHiddenLayers(), config.hiddenSize(), vocab, dir.toAbsolutePath());
        return 0;
    }

    /** A size of the model: a positive int, never a wrapped 64-bit value. */
    private static int dimension(Args args, String name, int absent) throws Janus.UsageException {
        return args.getInt(name, absent, 1, Integer.MAX_VALUE);
    }
}
