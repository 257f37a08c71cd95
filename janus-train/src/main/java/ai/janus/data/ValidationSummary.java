package ai.janus.data;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * What validation saw in one file: rows read, kept, dropped per reason (with their lines),
 * truncated sequences and the token lengths of the kept sequences. {@link #toString} is the report
 * printed after every load, successful or not.
 *
 * @param rowsRead           non-blank lines read
 * @param blankLines         whitespace-only lines, skipped
 * @param droppedLines       for each reason, the lines of the rows dropped for it, in file order
 * @param truncatedSequences sequences cut to the maximum length (kept)
 * @param sortedLengths      the token count of every kept sequence, ascending
 * @param stoppedBy          the error that ended the load, or null
 */
public record ValidationSummary(Path file, long rowsRead, long blankLines, Map<Reason, long[]> droppedLines,
                                long truncatedSequences, int[] sortedLengths, RowProblem stoppedBy) {
    private static final int LINES_SHOWN = 5;

    public ValidationSummary {
        EnumMap<Reason, long[]> copy = new EnumMap<>(Reason.class);
        for (Reason r : Reason.values()) {
            copy.put(r, droppedLines.getOrDefault(r, new long[0]).clone());
        }
        droppedLines = Collections.unmodifiableMap(copy);
        sortedLengths = sortedLengths.clone();
        Arrays.sort(sortedLengths);
    }

    public long dropped(Reason reason) {
        return droppedLines.get(reason).length;
    }

    public long droppedTotal() {
        long n = 0;
        for (long[] lines : droppedLines.values()) {
            n += lines.length;
        }
        return n;
    }

    /** Rows read and neither dropped nor the one that stopped the load. */
    public long kept() {
        return rowsRead - droppedTotal() - (stoppedBy == null ? 0 : 1);
    }

    /** Dropped rows over rows read (0 for an empty file). */
    public double droppedFraction() {
        return rowsRead == 0 ? 0 : (double) droppedTotal() / rowsRead;
    }

    /** The nearest-rank percentile p ∈ (0, 100] of the kept sequences' token counts, or 0 when there are none. */
    public int lengthPercentile(double p) {
        if (!(p > 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must lie in (0, 100], got " + p);
        }
        if (sortedLengths.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sortedLengths.length);
        return sortedLengths[Math.max(rank, 1) - 1];
    }

    public long totalTokens() {
        long n = 0;
        for (int length : sortedLengths) {
            n += length;
        }
        return n;
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "data %s: %,d rows read, %,d kept, %,d dropped (%.2f%%)",
                file, rowsRead, kept(), droppedTotal(), 100 * droppedFraction()));
        if (truncatedSequences > 0) {
            out.append(String.format(Locale.ROOT, ", %,d sequences truncated", truncatedSequences));
        }
        if (blankLines > 0) {
            out.append(String.format(Locale.ROOT, ", %,d blank lines skipped", blankLines));
        }
        out.append('\n');
        for (Reason r : Reason.values()) {
            long[] lines = droppedLines.get(r);
            if (lines.length > 0) {
                String shown = Arrays.toString(Arrays.copyOf(lines, Math.min(lines.length, LINES_SHOWN)));
                out.append(String.format(Locale.ROOT, "  dropped %-22s %,9d  lines %s%s%n", r.key(), lines.length,
                        shown.substring(1, shown.length() - 1), lines.length > LINES_SHOWN ? ", …" : ""));
            }
        }
        if (sortedLengths.length > 0) {
            out.append(String.format(Locale.ROOT,
                    "  tokens per sequence: p50 %,d  p90 %,d  p99 %,d  max %,d  (%,d sequences, %,d tokens)%n",
                    lengthPercentile(50), lengthPercentile(90), lengthPercentile(99), lengthPercentile(100),
                    sortedLengths.length, totalTokens()));
        }
        if (stoppedBy != null) {
            out.append("  stopped at line ").append(stoppedBy.line()).append(" (").append(stoppedBy.reason().key())
                    .append(" is an error)\n");
        }
        return out.toString();
    }
}
