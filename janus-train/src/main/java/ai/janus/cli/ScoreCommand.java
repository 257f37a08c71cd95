package ai.janus.cli;

import ai.janus.compute.Compute;
import ai.janus.data.ChatTemplate;
import ai.janus.data.Datasets;
import ai.janus.data.SftExample;
import ai.janus.data.TemplatedSequence;
import ai.janus.data.ValidationRules;
import ai.janus.data.Validator;
import ai.janus.data.batch.TrainingBatch;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.io.AtomicFiles;
import ai.janus.io.Json;
import ai.janus.loss.ModelLosses;
import ai.janus.loss.SequenceLogProbs;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code janus score}: each SFT row's summed and mean log-prob of its answer (and EOS) under a model. */
final class ScoreCommand {
    private static final String USAGE = """
            usage: janus score --model DIR --data FILE.jsonl --out FILE.jsonl [options]
              Reads SFT rows (system, prompt, output) as training would and writes one JSON line per row:
              {"line": L, "tokens": |M|, "sum_logprob": S, "mean_logprob": S/|M|} over the answer and its EOS;
              a score that is NaN or infinite is written as null, with one warning line on stderr.
            options:
              --tokenizer MODEL     default DIR/tokenizer.model
              --max-tokens N        longest row (default 8192; longer rows are errors, as in data check)
              --batch B             rows scored together (default 8)
            """;

    private ScoreCommand() {}

    /** {@code v}, or null (JSON has no NaN; Jackson would write the string "NaN") noting the row's line. */
    private static Double finite(double v, long line, java.util.Set<Long> notFinite) {
        if (Double.isFinite(v)) {
            return v;
        }
        notFinite.add(line);
        return null;
    }

    static int run(List<String> argv, PrintStream out, PrintStream err) throws IOException, Janus.UsageException {
        Args args = new Args(argv, Set.of("--model", "--data", "--out", "--tokenizer", "--max-tokens", "--batch"), Set.of());
        if (args.help()) {
            out.print(USAGE);
            return 0;
        }
        args.positionals(0, "options only");
        Path modelDir = Path.of(args.require("--model")), data = Path.of(args.require("--data"));
        Path outFile = Path.of(args.require("--out"));
        AtomicFiles.checkWritable(outFile);
        Path tokenizerFile = Path.of(args.get("--tokenizer", modelDir.resolve("tokenizer.model").toString()));
        int batch = args.getInt("--batch", 8, 1, Integer.MAX_VALUE);
        int maxTokens = args.getInt("--max-tokens", 8192, 1, Integer.MAX_VALUE);
        try (SentencePieceTokenizer tokenizer = GenerateCommand.checkedTokenizer(tokenizerFile, modelDir);
             HfCheckpoint.Loaded model = HfCheckpoint.load(modelDir); Compute compute = Compute.cpu()) {
            Validator validator = new Validator(data, ValidationRules.defaults(maxTokens));
            List<SftExample> examples;
            try {
                examples = Datasets.sft(new ChatTemplate(tokenizer), validator);
            } finally {
                err.print(validator.summary());
            }
            Mistral mistral = new Mistral(model.config(), model.weights(), compute.backend());
            StringBuilder output = new StringBuilder();
            java.util.TreeSet<Long> notFinite = new java.util.TreeSet<>();
            for (int from = 0; from < examples.size(); from += batch) {
                List<SftExample> group = examples.subList(from, Math.min(examples.size(), from + batch));
                List<TemplatedSequence> sequences = new ArrayList<>();
                long[] lines = new long[group.size()];
                for (int i = 0; i < group.size(); i++) {
                    sequences.add(group.get(i).sequence());
                    lines[i] = group.get(i).line();
                }
                TrainingBatch tb = TrainingBatch.packed(sequences, lines);
                SequenceLogProbs scores = ModelLosses.score(mistral, tb.tokens(), tb.labels());
                for (int i = 0; i < group.size(); i++) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("line", lines[i]);
                    row.put("tokens", scores.tokens(i));
                    row.put("sum_logprob", finite(scores.sum(i), lines[i], notFinite));
                    row.put("mean_logprob", finite(scores.mean(i), lines[i], notFinite));
                    output.append(Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(row))
                            .append('\n');
                }
                err.printf("score: %d/%d rows%n", Math.min(examples.size(), from + batch), examples.size());
            }
            AtomicFiles.write(outFile, output.toString().getBytes(StandardCharsets.UTF_8));
            if (!notFinite.isEmpty()) {
                err.println("warning: " + notFinite.size() + " row(s) scored NaN or infinity, written as null: line(s) "
                        + notFinite.stream().limit(10).map(String::valueOf).collect(java.util.stream.Collectors
                        .joining(", ")) + (notFinite.size() > 10 ? ", …" : "") + " of " + data);
            }
            out.printf("janus score: %d rows scored into %s%n", examples.size(), outFile.toAbsolutePath());
        }
        return 0;
    }
}
