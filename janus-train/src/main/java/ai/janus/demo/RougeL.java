package ai.janus.demo;

import java.util.List;

/**
 * ROUGE-L F1 over whitespace tokens (docs/spec/objectives.md, "Diversity metric"): with L the length of the
 * longest common subsequence of the two token sequences of lengths m and n, precision L/m,
 * recall L/n and F1 = 2·P·R/(P + R) = 2L/(m + n). Tokens compare exactly (case and punctuation
 * count). Two empty texts are identical (1); one empty text shares nothing (0).
 */
public final class RougeL {
    private RougeL() {}

    public static double f1(String a, String b) {
        String[] x = tokens(a), y = tokens(b);
        if (x.length == 0 || y.length == 0) {
            return x.length == y.length ? 1 : 0;
        }
        return 2.0 * lcs(x, y) / (x.length + y.length);
    }

    /** Length of the longest common subsequence, by the textbook dynamic programme in one row. */
    static int lcs(String[] x, String[] y) {
        int[] row = new int[y.length + 1];
        for (String xi : x) {
            int diagonal = 0;   // row[j - 1] of the previous row
            for (int j = 1; j <= y.length; j++) {
                int above = row[j];
                row[j] = xi.equals(y[j - 1]) ? diagonal + 1 : Math.max(above, row[j - 1]);
                diagonal = above;
            }
        }
        return row[y.length];
    }

    /**
     * The diversity of the responses to one instruction's system messages: the mean ROUGE-L F1
     * over every unordered pair (lower is more diverse).
     */
    public static double meanPairwise(List<String> responses) {
        if (responses.size() < 2) {
            throw new IllegalArgumentException("diversity needs at least 2 responses, got " + responses.size());
        }
        double sum = 0;
        int pairs = 0;
        for (int i = 0; i < responses.size(); i++) {
            for (int j = i + 1; j < responses.size(); j++) {
                sum += f1(responses.get(i), responses.get(j));
                pairs++;
            }
        }
        return sum / pairs;
    }

    private static String[] tokens(String s) {
        String t = s.strip();
        return t.isEmpty() ? new String[0] : t.split("\\s+");
    }
}
