package ai.janus.loss;

/** Argument checks shared by the pairwise losses. */
final class Pairs {
    private Pairs() {}

    /** P, after checking that every array has P ≥ 1 entries and that the step holds at least P pairs. */
    static int count(long stepPairs, double[]... perPair) {
        int p = perPair[0].length;
        for (double[] a : perPair) {
            if (a.length != p) {
                throw new IllegalArgumentException("per-pair arrays differ in length: " + a.length + " != " + p);
            }
        }
        if (p == 0) {
            throw new IllegalArgumentException("no pairs");
        }
        if (stepPairs < p) {
            throw new IllegalArgumentException("the step has " + stepPairs + " pairs, fewer than the " + p
                    + " of this micro-batch alone: count every micro-batch of the step");
        }
        return p;
    }

    static void checkTokens(String side, long[] tokens, int p) {
        if (tokens.length != p) {
            throw new IllegalArgumentException(tokens.length + " " + side + " token counts for " + p + " pairs");
        }
        for (int i = 0; i < p; i++) {
            if (tokens[i] < 1) {
                throw new IllegalArgumentException("pair " + i + ": the " + side + " answer has " + tokens[i]
                        + " supervised tokens");
            }
        }
    }
}
