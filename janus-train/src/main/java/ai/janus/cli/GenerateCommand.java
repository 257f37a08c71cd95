package ai.janus.cli;

import ai.janus.compute.Compute;
import ai.janus.data.ChatTemplate;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.generate.Generator;
import ai.janus.generate.SamplingConfig;
import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code janus generate}: answers for JSONL prompts ({@code {"system": …, "prompt": …}}, other
 * fields kept) with the model's KV cache, written as the same rows plus {@code response},
 * {@code new_tokens} and {@code stopped_at_eos}.
 */
final class GenerateCommand {
    private static final String USAGE = """
            usage: janus generate --model DIR --prompts FILE.jsonl --out FILE.jsonl [options]
              Renders each row's generation prompt (<s>[INST] {system}\\n{prompt} [/INST]) and samples an answer.
            options:
              --tokenizer MODEL          default DIR/tokenizer.model
              --temperature T            default 1.0 (0: greedy)
              --top-p P                  default 0.9
              --repetition-penalty R     default 1.03
              --max-new-tokens N         default 1024
              --seed S                   default 0; prompt i draws from its own stream, whatever the batch
              --batch B                  prompts decoded together (default 8)
            """;

    private GenerateCommand() {}

    static int run(List<String> argv, PrintStream out, PrintStream err) throws IOException, Janus.UsageException {
        Args args = new Args(argv, Set.of("--model", "--prompts", "--out", "--tokenizer", "--temperature", "--top-p",
                "--repetition-penalty", "--max-new-tokens", "--seed", "--batch"), Set.of());
        if (args.help()) {
            out.print(USAGE);
            return 0;
        }
        args.positionals(0, "options only");
        Path modelDir = Path.of(args.require("--model")), promptsFile = Path.of(args.require("--prompts"));
        Path outFile = Path.of(args.require("--out"));
        AtomicFiles.checkWritable(outFile); // before the generation, not after it
        Path tokenizerFile = Path.of(args.get("--tokenizer", modelDir.resolve("tokenizer.model").toString()));
        SamplingConfig sampling = sampling(args);
        int batch = args.getInt("--batch", 8, 1, Integer.MAX_VALUE);
        List<ObjectNode> rows = readPrompts(promptsFile);
        try (SentencePieceTokenizer tokenizer = checkedTokenizer(tokenizerFile, modelDir);
             HfCheckpoint.Loaded model = HfCheckpoint.load(modelDir); Compute compute = Compute.cpu()) {
            ChatTemplate template = new ChatTemplate(tokenizer);
            Generator generator = new Generator(new Mistral(model.config(), model.weights(), compute.backend()), tokenizer.eosId());
            StringBuilder output = new StringBuilder();
            long started = System.nanoTime(), tokens = 0;
            for (int first = 0; first < rows.size(); first += batch) {
                List<ObjectNode> group = rows.subList(first, Math.min(rows.size(), first + batch));
                List<int[]> prompts = new ArrayList<>();
                for (ObjectNode row : group) {
                    prompts.add(template.prompt(row.path("system").asText(""), row.get("prompt").asText()));
                }
                // Row i draws from a stream of (seed, i), so its answer does not depend on --batch.
                java.util.SplittableRandom[] streams = new java.util.SplittableRandom[group.size()];
                for (int i = 0; i < streams.length; i++) {
                    streams[i] = Generator.streamOf(sampling.seed(), first + i);
                }
                List<Generator.Generation> generated = generator.generate(prompts, sampling, streams, (d, t, n) -> { });
                for (int i = 0; i < group.size(); i++) {
                    Generator.Generation g = generated.get(i);
                    ObjectNode row = group.get(i);
                    row.put("response", tokenizer.decode(g.tokens()));
                    row.put("new_tokens", g.tokens().length);
                    row.put("stopped_at_eos", g.stoppedAtEos());
                    output.append(Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(row))
                            .append('\n');
                    tokens += g.tokens().length;
                }
                double seconds = (System.nanoTime() - started) / 1e9;
                err.printf("generate: %d/%d prompts, %d tokens, %.1f tokens/s%n", Math.min(rows.size(), first + batch),
                        rows.size(), tokens, tokens / seconds);
            }
            AtomicFiles.write(outFile, output.toString().getBytes(StandardCharsets.UTF_8));
            out.printf("janus generate: %d answers written to %s%n", rows.size(), outFile.toAbsolutePath());
        }
        return 0;
    }

    /**
     * The tokenizer at {@code tokenizerFile}, checked against every model directory's config.json
     * before any weights load: the model's vocab_size must equal the tokenizer's number of pieces,
     * as a training run requires, else one line names both files (a 32000-piece tokenizer on a
     * 1000-row model used to fail only in the forward pass, on a token id).
     */
    static SentencePieceTokenizer checkedTokenizer(Path tokenizerFile, Path... modelDirs) throws IOException {
        SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(tokenizerFile);
        try {
            for (Path dir : modelDirs) {
                Path configFile = dir.resolve(HfCheckpoint.CONFIG_FILE);
                int vocab = ai.janus.model.MistralConfig.read(configFile).vocabSize();
                if (vocab != tokenizer.vocabSize()) {
                    throw new InvalidFileException(configFile, "vocab_size " + vocab + " disagrees with the "
                            + tokenizer.vocabSize() + " pieces of " + tokenizerFile);
                }
            }
            return tokenizer;
        } catch (IOException | RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /** The sampling options shared with best-of-n: the Janus settings unless given. */
    static SamplingConfig sampling(Args args) throws Janus.UsageException {
        try {
            return new SamplingConfig(args.getDouble("--temperature", 1.0), args.getDouble("--top-p", 0.9),
                    args.getDouble("--repetition-penalty", 1.03), args.getInt("--max-new-tokens", 1024, 1, Integer.MAX_VALUE),
                    args.getLong("--seed", 0));
        } catch (IllegalArgumentException e) {
            throw new Janus.UsageException(e.getMessage());
        }
    }

    /**
     * Rows with a string "prompt" and an optional string "system"; errors name file and line. Read
     * as training data is, with the 16 MiB line limit: a huge line is an error, not a full heap.
     */
    static List<ObjectNode> readPrompts(Path file) throws IOException {
        List<ObjectNode> rows = new ArrayList<>();
        try (ai.janus.data.JsonlReader reader = ai.janus.data.JsonlReader.open(file,
                ai.janus.data.ValidationRules.DEFAULT_MAX_LINE_BYTES)) {
            for (ai.janus.data.JsonlReader.Line line; (line = reader.next()) != null; ) {
                if (line.problem() != null) {
                    throw new ai.janus.data.DataException(file, line.problem());
                }
                ObjectNode n = line.row();
                if (!n.path("prompt").isTextual() || (n.has("system") && !n.get("system").isTextual())) {
                    throw new InvalidFileException(file, "line " + line.number() + ": expected an object with a string"
                            + " \"prompt\" and an optional string \"system\"");
                }
                rows.add(n);
            }
        }
        return rows;
    }
}
