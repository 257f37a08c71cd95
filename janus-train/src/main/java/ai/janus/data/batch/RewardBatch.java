package ai.janus.data.batch;

import ai.janus.data.PairExample;
import ai.janus.data.TemplatedSequence;
import ai.janus.model.TokenBatch;
import java.util.List;

/**
 * A reward-model micro-batch: the tokens, and for each sequence s the batch index of its last
 * real token, its EOS, where {@code RewardModel} reads the reward.
 *
 * <p>Layouts. {@link Layout#PACKED}: sequences back to back, each its own segment.
 * {@link Layout#RIGHT_PADDED}: rows of the longest length, padding after the EOS inside the row's
 * segment; the causal mask keeps it out of the real tokens' view. {@link Layout#LEFT_PADDED}: the
 * padding before a sequence is a segment of its own, so the sequence still starts at position 0
 * and attends to nothing but itself (the same tokens, positions and visible keys as when it is
 * alone: a left pad inside the segment would be attended to, and shift the positions, unless an
 * attention mask removed it, which segments replace here).
 *
 * @param tokens     the token stream and its segments
 * @param lastTokens (S) batch index of each sequence's last real token
 * @param samples    (S) the caller's id of each sequence
 */
public record RewardBatch(TokenBatch tokens, int[] lastTokens, long[] samples) {
    /** Where the padding of a padded batch goes. */
    public enum Layout { PACKED, RIGHT_PADDED, LEFT_PADDED }

    public RewardBatch {
        if (lastTokens.length != samples.length || lastTokens.length == 0) {
            throw new IllegalArgumentException(lastTokens.length + " last-token indices and " + samples.length
                    + " sample ids: need one of each per sequence, at least one");
        }
    }

    /** {@code sequences} (reward-model inputs, each ending with EOS) in {@code layout}, padding with {@code padId}. */
    public static RewardBatch of(List<TemplatedSequence> sequences, long[] sampleIds, Layout layout, int padId) {
        if (sequences.isEmpty() || sampleIds.length != sequences.size()) {
            throw new IllegalArgumentException(sampleIds.length + " sample ids for " + sequences.size() + " sequences");
        }
        int width = 0, real = 0;
        for (TemplatedSequence s : sequences) {
            width = Math.max(width, s.length());
            real = Math.addExact(real, s.length());
        }
        int n = layout == Layout.PACKED ? real : Math.multiplyExact(width, sequences.size());
        int segments = layout == Layout.LEFT_PADDED ? sequences.size() * 2 : sequences.size();
        int[] tokens = new int[n], positions = new int[n], cu = new int[segments + 1], last = new int[sequences.size()];
        int at = 0, segment = 0;
        for (int s = 0; s < sequences.size(); s++) {
            int[] ids = sequences.get(s).ids();
            int pad = layout == Layout.PACKED ? 0 : width - ids.length;
            if (layout == Layout.LEFT_PADDED && pad > 0) {
                at = append(tokens, positions, at, null, pad, padId); // the padding's own segment
                cu[++segment] = at;
            }
            at = append(tokens, positions, at, ids, ids.length, padId);
            last[s] = at - 1;
            if (layout == Layout.RIGHT_PADDED) {
                at = appendContinuing(tokens, positions, at, ids.length, pad, padId);
            }
            cu[++segment] = at;
        }
        return new RewardBatch(new TokenBatch(tokens, positions, java.util.Arrays.copyOf(cu, segment + 1)), last,
                sampleIds.clone());
    }

    /** P pairs in the pair layout (chosen answers first, then the rejected ones), ids = the pairs' lines. */
    public static RewardBatch pairs(List<PairExample> pairs, Layout layout, int padId) {
        return of(PairBatch.sequences(pairs), PairBatch.lines(pairs), layout, padId);
    }

    /** Writes {@code count} tokens (ids, or padId when null) at positions 0.. from {@code at}; returns the new end. */
    private static int append(int[] tokens, int[] positions, int at, int[] ids, int count, int padId) {
        for (int t = 0; t < count; t++) {
            tokens[at + t] = ids == null ? padId : ids[t];
            positions[at + t] = t;
        }
        return at + count;
    }

    /** Right padding: {@code count} pads whose positions continue after the row's {@code from} real tokens. */
    private static int appendContinuing(int[] tokens, int[] positions, int at, int from, int count, int padId) {
        for (int t = 0; t < count; t++) {
            tokens[at + t] = padId;
            positions[at + t] = from + t;
        }
        return at + count;
    }
}
