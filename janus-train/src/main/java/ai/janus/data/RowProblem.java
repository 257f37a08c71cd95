package ai.janus.data;

/**
 * What is wrong with one line of a data file.
 *
 * @param reason  the policy it falls under
 * @param line    1-based line number
 * @param column  1-based character column, or 0 when the problem is not at one place (a missing field)
 * @param problem one sentence, no file or line
 * @param excerpt a short, printable piece of the offending text (see {@link #excerpt})
 */
public record RowProblem(Reason reason, long line, long column, String problem, String excerpt) {
    private static final int EXCERPT_CHARS = 60;
    private static final int CONTEXT_BEFORE = 20;

    public RowProblem {
        if (line < 1 || column < 0) {
            throw new IllegalArgumentException("line " + line + " column " + column);
        }
    }

    /** {@code line[:column]: problem — excerpt}, one line. */
    public String describe() {
        return line + (column > 0 ? ":" + column : "") + ": " + problem + (excerpt.isEmpty() ? "" : " — " + excerpt);
    }

    /**
     * At most 60 characters of {@code text} starting 20 before {@code column} (1-based; 0 for the
     * start), with "…" where it was cut. Control and line-separator characters are escaped so the
     * excerpt never breaks the one-line message; a surrogate pair is never split.
     */
    public static String excerpt(String text, long column) {
        int from = (int) Math.max(0, Math.min(text.length(), column - 1 - CONTEXT_BEFORE));
        if (from > 0 && Character.isLowSurrogate(text.charAt(from))) {
            from--;
        }
        int to = Math.min(text.length(), from + EXCERPT_CHARS);
        if (to < text.length() && to > from && Character.isHighSurrogate(text.charAt(to - 1))) {
            to--;
        }
        StringBuilder out = new StringBuilder(to - from + 8);
        if (from > 0) {
            out.append('…');
        }
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029
                            || (Character.isSurrogate(c) && !pairedAt(text, i))) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        if (to < text.length()) {
            out.append('…');
        }
        return out.toString();
    }

    private static boolean pairedAt(String text, int i) {
        char c = text.charAt(i);
        return Character.isHighSurrogate(c)
                ? i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))
                : i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
    }
}
