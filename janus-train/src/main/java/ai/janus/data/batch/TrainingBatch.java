package ai.janus.data.batch;

import ai.janus.backend.Backend;
import ai.janus.data.TemplatedSequence;
import ai.janus.model.TokenBatch;
import java.util.Arrays;
import java.util.List;

/**
 * One micro-batch as the model takes it: a {@link TokenBatch} whose segment s holds sample s (plus
 * its padding in a padded batch), and the shifted labels {@code Mistral.tokenLogProbs} expects.
 * Labels never cross a segment: the last real token of each sample, and every pad, is
 * {@link Backend#IGNORE_INDEX}.
 *
 * @param tokens  (N) token stream with positions restarting at 0 per segment and cu_seqlens (S + 1)
 * @param labels  (N) target of each position, or IGNORE_INDEX
 * @param samples (S) the caller's id of the sample in each segment
 * @param lengths (S) real (non-pad) tokens of each segment
 */
public record TrainingBatch(TokenBatch tokens, int[] labels, long[] samples, int[] lengths) {
    public TrainingBatch {
        if (labels.length != tokens.size()) {
            throw new IllegalArgumentException(labels.length + " labels for " + tokens.size() + " tokens");
        }
        if (samples.length != tokens.sequences() || lengths.length != tokens.sequences()) {
            throw new IllegalArgumentException(samples.length + " sample ids and " + lengths.length + " lengths for "
                    + tokens.sequences() + " segments");
        }
        int[] cu = tokens.cuSeqlens();
        for (int s = 0; s < lengths.length; s++) {
            if (lengths[s] < 1 || lengths[s] > cu[s + 1] - cu[s]) {
                throw new IllegalArgumentException("segment " + s + " of " + (cu[s + 1] - cu[s]) + " tokens cannot hold "
                        + lengths[s] + " real tokens");
            }
        }
    }

    /**
     * Sequences back to back, each its own segment with positions from 0, no padding: one packed
     * row (choose its members with {@link Packing#firstFitDecreasing}).
     */
    public static TrainingBatch packed(List<TemplatedSequence> sequences, long[] sampleIds) {
        int[][] ids = new int[sequences.size()][];
        int[] lengths = new int[sequences.size()];
        for (int s = 0; s < ids.length; s++) {
            ids[s] = sequences.get(s).ids();
            lengths[s] = ids[s].length;
        }
        TokenBatch tokens = TokenBatch.of(ids);
        int[] labels = new int[tokens.size()];
        for (int s = 0; s < ids.length; s++) {
            int[] l = sequences.get(s).shiftedLabels();
            System.arraycopy(l, 0, labels, tokens.cuSeqlens()[s], l.length);
        }
        return new TrainingBatch(tokens, labels, checkedIds(sampleIds, ids.length), lengths);
    }

    /**
     * B rows of T = the longest sequence's length, each sequence followed by {@code padId} up to T
     * (trainers pad with EOS; Mistral defines no pad). Padding sits after its row's real tokens, so
     * the causal mask keeps it out of their view; its positions continue 0..T−1 as HF's do.
     */
    public static TrainingBatch padded(List<TemplatedSequence> sequences, long[] sampleIds, int padId) {
        int rows = sequences.size(), width = 0;
        for (TemplatedSequence s : sequences) {
            width = Math.max(width, s.length());
        }
        int n = Math.multiplyExact(rows, width);
        int[] tokens = new int[n], positions = new int[n], labels = new int[n], cu = new int[rows + 1], lengths = new int[rows];
        for (int b = 0; b < rows; b++) {
            TemplatedSequence s = sequences.get(b);
            int at = b * width;
            int[] l = s.shiftedLabels();
            for (int t = 0; t < width; t++) {
                boolean real = t < s.length();
                tokens[at + t] = real ? s.ids()[t] : padId;
                labels[at + t] = real ? l[t] : Backend.IGNORE_INDEX;
                positions[at + t] = t;
            }
            lengths[b] = s.length();
            cu[b + 1] = at + width;
        }
        return new TrainingBatch(new TokenBatch(tokens, positions, cu), labels, checkedIds(sampleIds, rows), lengths);
    }

    private static long[] checkedIds(long[] sampleIds, int count) {
        if (sampleIds.length != count) {
            throw new IllegalArgumentException(sampleIds.length + " sample ids for " + count + " sequences");
        }
        return sampleIds.clone();
    }

    /** (N) 1 on real tokens, 0 on padding. */
    public int[] attentionMask() {
        int[] mask = new int[tokens.size()];
        int[] cu = tokens.cuSeqlens();
        for (int s = 0; s < lengths.length; s++) {
            Arrays.fill(mask, cu[s], cu[s] + lengths[s], 1);
        }
        return mask;
    }

    /** Positions with a label: the answer tokens and EOS of every sample. */
    public long supervisedTokens() {
        long n = 0;
        for (int label : labels) {
            if (label != Backend.IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }
}
