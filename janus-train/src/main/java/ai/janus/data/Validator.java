package ai.janus.data;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * Applies {@link ValidationRules} to the rows of one file while they stream in, and counts what
 * happened. A problem whose action is ERROR ends the load with a one-line {@link DataException};
 * DROP counts the row under its reason and moves on; TRUNCATE cuts a too-long answer. The
 * {@link #summary} is available at any time — print it in a {@code finally}, so it appears even
 * when the load fails — and {@link #finish} fails the load when too many rows were dropped.
 */
public final class Validator {
    /** One answer of a row with its templated sequence; {@code field} names it in messages. */
    public record Candidate(String field, String answer, TemplatedSequence sequence) {}

    private final Path file;
    private final ValidationRules rules;
    private long rowsRead, blankLines, truncatedSequences;
    private final Map<Reason, Lines> dropped = new EnumMap<>(Reason.class);
    private int[] lengths = new int[1024];
    private int lengthCount;
    private RowProblem stoppedBy;

    public Validator(Path file, ValidationRules rules) {
        this.file = file;
        this.rules = rules;
    }

    public Path file() {
        return file;
    }

    public ValidationRules rules() {
        return rules;
    }

    void rowRead() {
        rowsRead++;
    }

    void blankLines(long n) {
        blankLines = n;
    }

    /** Handles a row that cannot be used: throws when its reason is an error, otherwise counts it as dropped. */
    public void reject(RowProblem problem) throws DataException {
        Action action = rules.action(problem.reason());
        if (action == Action.ERROR) {
            stoppedBy = problem;
            throw new DataException(file, problem);
        }
        dropped.computeIfAbsent(problem.reason(), r -> new Lines()).add(problem.line());
    }

    /**
     * Checks the answers of the row at {@code line}: none may be blank ({@link Reason#EMPTY_ANSWER}),
     * and every sequence must fit {@code maxTokens} or, when too-long rows are truncated, leave room
     * for at least one answer token ({@link Reason#NO_SUPERVISED_TOKENS}). Returns the sequences to
     * train on (truncated where needed), or null when the row was dropped.
     */
    public TemplatedSequence[] admit(long line, Candidate... candidates) throws DataException {
        for (Candidate c : candidates) {
            if (c.answer().isBlank()) {
                reject(new RowProblem(Reason.EMPTY_ANSWER, line, 0, "\"" + c.field() + "\" is an empty answer (empty-answer)",
                        RowProblem.excerpt("\"" + c.answer() + "\"", 0)));
                return null;
            }
        }
        int max = rules.maxTokens();
        TemplatedSequence[] fitted = new TemplatedSequence[candidates.length];
        int truncatedHere = 0;
        for (int i = 0; i < candidates.length; i++) {
            TemplatedSequence s = candidates[i].sequence();
            if (s.length() <= max) {
                fitted[i] = s;
                continue;
            }
            String field = "\"" + candidates[i].field() + "\"";
            if (rules.action(Reason.TOO_LONG) != Action.TRUNCATE) {
                reject(new RowProblem(Reason.TOO_LONG, line, 0, String.format(Locale.ROOT,
                        "%s makes a sequence of %,d tokens (prompt part %,d), more than the maximum %,d (too-long)",
                        field, s.length(), s.promptLength(), max), RowProblem.excerpt(candidates[i].answer(), 0)));
                return null;
            }
            if (s.promptLength() + 1 >= max) {
                reject(new RowProblem(Reason.NO_SUPERVISED_TOKENS, line, 0, String.format(Locale.ROOT,
                        "the prompt part has %,d tokens: no token of %s fits within the maximum %,d (no-supervised-tokens)",
                        s.promptLength(), field, max), RowProblem.excerpt(candidates[i].answer(), 0)));
                return null;
            }
            fitted[i] = s.truncated(max);
            truncatedHere++;
        }
        truncatedSequences += truncatedHere;
        for (TemplatedSequence s : fitted) {
            if (lengthCount == lengths.length) {
                lengths = Arrays.copyOf(lengths, lengthCount * 2);
            }
            lengths[lengthCount++] = s.length();
        }
        return fitted;
    }

    /** The counts so far. */
    public ValidationSummary summary() {
        Map<Reason, long[]> lines = new EnumMap<>(Reason.class);
        dropped.forEach((r, l) -> lines.put(r, Arrays.copyOf(l.lines, l.count)));
        return new ValidationSummary(file, rowsRead, blankLines, lines, truncatedSequences,
                Arrays.copyOf(lengths, lengthCount), stoppedBy);
    }

    /** The final summary; a {@link DataException} when no row was kept or more rows were dropped than allowed. */
    public ValidationSummary finish() throws DataException {
        ValidationSummary s = summary();
        if (s.droppedFraction() > rules.maxDropFraction()) {
            StringBuilder reasons = new StringBuilder();
            for (Reason r : Reason.values()) {
                if (s.dropped(r) > 0) {
                    reasons.append(reasons.length() == 0 ? "" : ", ").append(r.key()).append(' ').append(s.dropped(r));
                }
            }
            throw new DataException(file, String.format(Locale.ROOT,
                    "%,d of %,d rows dropped (%.2f%%: %s), more than the allowed %.2f%%", s.droppedTotal(), s.rowsRead(),
                    100 * s.droppedFraction(), reasons, 100 * rules.maxDropFraction()), null);
        }
        if (s.kept() == 0) {
            throw new DataException(file, "no rows to use (" + s.rowsRead() + " read)", null);
        }
        return s;
    }

    /** A growing list of line numbers. */
    private static final class Lines {
        long[] lines = new long[16];
        int count;

        void add(long line) {
            if (count == lines.length) {
                lines = Arrays.copyOf(lines, count * 2);
            }
            lines[count++] = line;
        }
    }
}
