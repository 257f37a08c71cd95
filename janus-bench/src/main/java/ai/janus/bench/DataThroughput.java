package ai.janus.bench;

import ai.janus.data.ChatTemplate;
import ai.janus.data.Datasets;
import ai.janus.data.RowFormat;
import ai.janus.data.SftExample;
import ai.janus.data.SftRow;
import ai.janus.data.SourceRow;
import ai.janus.data.ValidationRules;
import ai.janus.data.Validator;
import ai.janus.data.batch.Packing;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.io.Json;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Reading throughput of the data pipeline on one thread: a generated JSONL file shaped like the
 * Multifaceted Collection (metadata with a 4-entry preference set, a ~120-word system message, a
 * ~80-word prompt, a ~350-word answer, some accents, emoji, code and newlines) read three ways:
 * JSON + field validation only; the whole SFT load (validation, template, SentencePiece through
 * JNI); and SentencePiece alone on the same strings in memory. Then FFD packing of the lengths.
 * Each figure is the median of 5 timed runs after 2 warm-up runs. No libtorch peer exists for
 * this work, so the figures are absolute.
 *
 * {@code java --add-modules jdk.incubator.vector -cp janus-bench/target/benchmarks.jar ai.janus.bench.DataThroughput [rows] [tokenizer.model]}
 */
public final class DataThroughput {
    private static final String[] WORDS = ("the a of to and in is you that it for are as with be on this your by not or an"
            + " preference style concise expert background knowledge informative harmless response answer explain détaillé"
            + " naïve café 😀 user assistant example code function return value system message dimension").split(" ");
    private static final int RUNS = 5, WARMUP = 2;

    private DataThroughput() {}

    public static void main(String[] args) throws Exception {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        Path model = Path.of(args.length > 1 ? args[1] : "janus-train/src/test/resources/fixtures/sentencepiece/mistral-tokenizer-v1.model");
        Path file = Files.createTempFile("janus-data-throughput", ".jsonl");
        try (SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(model)) {
            generate(file, rows, new Random(1));
            long bytes = Files.size(file);
            ChatTemplate template = new ChatTemplate(tokenizer);
            ValidationRules rules = ValidationRules.defaults(8192);

            double[] read = new double[RUNS], load = new double[RUNS], encode = new double[RUNS], pack = new double[RUNS];
            List<SourceRow<SftRow>> parsed = null;
            List<SftExample> examples = null;
            for (int run = -WARMUP; run < RUNS; run++) {
                long t0 = System.nanoTime();
                parsed = Datasets.rows(RowFormat.SFT, new Validator(file, rules));
                long t1 = System.nanoTime();
                examples = Datasets.sft(template, new Validator(file, rules));
                long t2 = System.nanoTime();
                long sink = 0;
                for (SourceRow<SftRow> r : parsed) {
                    sink += tokenizer.encode(ChatTemplate.promptText(r.row().system(), r.row().prompt())).length;
                    sink += tokenizer.encode(r.row().output()).length;
                }
                long t3 = System.nanoTime();
                int[] lengths = examples.stream().mapToInt(e -> e.sequence().length()).toArray();
                sink += Packing.firstFitDecreasing(lengths, 16384).size();
                long t4 = System.nanoTime();
                if (sink == 42) {
                    System.out.print("");
                }
                if (run >= 0) {
                    read[run] = (t1 - t0) / 1e9;
                    load[run] = (t2 - t1) / 1e9;
                    encode[run] = (t3 - t2) / 1e9;
                    pack[run] = (t4 - t3) / 1e9;
                }
            }
            long tokens = examples.stream().mapToLong(e -> e.sequence().length()).sum();
            System.out.printf(Locale.ROOT, "%,d rows, %.1f MiB, %,d tokens (%.0f per row), one thread, median of %d runs%n",
                    rows, bytes / 1048576.0, tokens, (double) tokens / rows, RUNS);
            report("read + validate fields", median(read), rows, tokens, bytes);
            report("full SFT load (+ template, tokenize)", median(load), rows, tokens, bytes);
            report("SentencePiece encode alone", median(encode), rows, tokens, bytes);
            System.out.printf(Locale.ROOT, "  %-38s %8.1f ms for %,d sequences%n", "FFD packing into rows of 16384",
                    median(pack) * 1e3, examples.size());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static void report(String what, double seconds, long rows, long tokens, long bytes) {
        System.out.printf(Locale.ROOT, "  %-38s %8.3f s  %,10.0f rows/s  %,12.0f tokens/s  %6.1f MiB/s%n", what, seconds,
                rows / seconds, tokens / seconds, bytes / 1048576.0 / seconds);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static String words(Random rng, int mean) {
        StringBuilder out = new StringBuilder();
        int n = mean / 2 + rng.nextInt(mean);
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                out.append(rng.nextInt(40) == 0 ? "\n" : " ");
            }
            out.append(WORDS[rng.nextInt(WORDS.length)]);
            if (rng.nextInt(60) == 0) {
                out.append(". `x = f(y) + 1;`");
            }
        }
        return out.toString();
    }

    private static void generate(Path file, int rows, Random rng) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 0; i < rows; i++) {
                ObjectNode row = Json.MAPPER.createObjectNode();
                row.put("main_source", "OpenHermesPreferences");
                row.put("original_source", "glaive-code-assist");
                ArrayNode preferences = row.putArray("preference_set");
                for (String dimension : new String[] {"style", "background_knowledge", "informativeness", "harmlessness"}) {
                    preferences.addObject().put("dimension", dimension).put("subdimension", words(rng, 2))
                            .put("preference", words(rng, 6)).put("description", words(rng, 30));
                }
                row.put("system", words(rng, 120));
                row.put("prompt", words(rng, 80));
                row.put("output", words(rng, 350));
                out.write(row.toString());
                out.write('\n');
            }
        }
    }
}
