package ai.janus.cli;

import ai.janus.data.Action;
import ai.janus.data.ChatTemplate;
import ai.janus.data.Datasets;
import ai.janus.data.Reason;
import ai.janus.data.RowFormat;
import ai.janus.data.ValidationRules;
import ai.janus.data.Validator;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * {@code janus data check FILE --format sft|pairs|rm|bench [options]}: reads a data file the way
 * training will (validation, template, tokenizer) and prints the summary — also when the check
 * fails, before the one-line error.
 */
final class DataCheck {
    private static final String USAGE = """
            usage: janus data check FILE --format sft|pairs|rm|bench [options]
              Validates a JSONL data file while streaming it and prints rows read, kept, dropped per reason
              and token-length percentiles. A bad row stops the check with file:line[:column]: problem — excerpt.
            options:
              --tokenizer MODEL          SentencePiece .model file (needed for sft, pairs, rm)
              --max-tokens N             longest sequence, prompt + answer + EOS (default 8192)
              --on REASON=ACTION         error | drop | truncate (truncate: too-long only); reasons:
                                         oversized-line, malformed-json, bad-field, empty-answer, too-long,
                                         no-supervised-tokens; every reason is an error by default
              --max-drop-fraction F      fail when more than F of the rows are dropped (default 0.05)
              --max-line-bytes N         longest line read (default 16777216)
            """;

    private DataCheck() {}

    static int run(List<String> args, PrintStream out) throws IOException, Janus.UsageException {
        if (args.isEmpty() || !args.get(0).equals("check")) {
            if (!args.isEmpty() && (args.get(0).equals("--help") || args.get(0).equals("-h"))) {
                out.print(USAGE);
                return 0;
            }
            throw new Janus.UsageException("expected 'check', got " + (args.isEmpty() ? "nothing" : "'" + args.get(0) + "'"));
        }
        Path file = null, tokenizerFile = null;
        String format = null;
        long maxTokens = 8192, maxLineBytes = ValidationRules.DEFAULT_MAX_LINE_BYTES;
        double maxDropFraction = ValidationRules.DEFAULT_MAX_DROP_FRACTION;
        Map<Reason, Action> actions = new EnumMap<>(Reason.class);
        for (int i = 1; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--help", "-h" -> {
                    out.print(USAGE);
                    return 0;
                }
                case "--format" -> format = Janus.value(args, ++i, a);
                case "--tokenizer" -> tokenizerFile = Path.of(Janus.value(args, ++i, a));
                case "--max-tokens" -> maxTokens = Janus.parseLong(Janus.value(args, ++i, a), a);
                case "--max-line-bytes" -> maxLineBytes = Janus.parseLong(Janus.value(args, ++i, a), a);
                case "--max-drop-fraction" -> maxDropFraction = parseFraction(Janus.value(args, ++i, a));
                case "--on" -> {
                    String rule = Janus.value(args, ++i, a);
                    int eq = rule.indexOf('=');
                    if (eq < 0) {
                        throw new Janus.UsageException("--on expects REASON=ACTION, got '" + rule + "'");
                    }
                    try {
                        actions.put(Reason.of(rule.substring(0, eq)), Action.of(rule.substring(eq + 1)));
                    } catch (IllegalArgumentException e) {
                        throw new Janus.UsageException(e.getMessage());
                    }
                }
                default -> {
                    if (a.startsWith("-") || file != null) {
                        throw new Janus.UsageException("unexpected argument '" + a + "'");
                    }
                    file = Path.of(a);
                }
            }
        }
        if (file == null || format == null) {
            throw new Janus.UsageException("needs a FILE and --format sft|pairs|rm|bench");
        }
        if (maxTokens > Integer.MAX_VALUE) {
            throw new Janus.UsageException("--max-tokens must be at most " + Integer.MAX_VALUE + ", got " + maxTokens);
        }
        ValidationRules rules;
        try {
            rules = new ValidationRules((int) maxTokens, maxLineBytes, maxDropFraction, actions);
        } catch (IllegalArgumentException e) {
            throw new Janus.UsageException(e.getMessage());
        }
        Validator validator = new Validator(file, rules);
        if (format.equals("bench")) {
            try {
                Datasets.rows(RowFormat.BENCH, validator);
            } finally {
                out.print(validator.summary());
            }
            return 0;
        }
        if (!List.of("sft", "pairs", "rm").contains(format)) {
            throw new Janus.UsageException("--format must be sft, pairs, rm or bench, got '" + format + "'");
        }
        if (tokenizerFile == null) {
            throw new Janus.UsageException("--format " + format + " needs --tokenizer MODEL");
        }
        try (SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(tokenizerFile)) {
            ChatTemplate template = new ChatTemplate(tokenizer);
            try {
                switch (format) {
                    case "sft" -> Datasets.sft(template, validator);
                    case "pairs" -> Datasets.preferencePairs(template, validator);
                    default -> Datasets.rewardPairs(template, validator);
                }
            } finally {
                out.print(validator.summary());
            }
        }
        return 0;
    }

    private static double parseFraction(String text) throws Janus.UsageException {
        try {
            double f = Double.parseDouble(text);
            if (f >= 0 && f <= 1) {
                return f;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new Janus.UsageException("--max-drop-fraction expects a number in [0, 1], got '" + text + "'");
    }
}
