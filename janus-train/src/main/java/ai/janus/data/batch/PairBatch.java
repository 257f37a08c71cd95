package ai.janus.data.batch;

import ai.janus.data.PairExample;
import ai.janus.data.TemplatedSequence;
import java.util.ArrayList;
import java.util.List;

/**
 * DPO / ORPO micro-batches in the pair layout of {@code ai.janus.loss.ModelLosses}: P pairs make 2P
 * segments, the chosen answers first (segment i) and then the rejected ones (segment P + i). Each
 * segment's sample id is its pair's line, so an error about a segment can name the row.
 */
public final class PairBatch {
    private PairBatch() {}

    /** The pairs' sequences packed back to back (no padding). */
    public static TrainingBatch packed(List<PairExample> pairs) {
        return TrainingBatch.packed(sequences(pairs), lines(pairs));
    }

    /** The pairs' sequences as 2P right-padded rows (padding with {@code padId}, never a label). */
    public static TrainingBatch padded(List<PairExample> pairs, int padId) {
        return TrainingBatch.padded(sequences(pairs), lines(pairs), padId);
    }

    static List<TemplatedSequence> sequences(List<PairExample> pairs) {
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("a pair batch needs at least one pair");
        }
        List<TemplatedSequence> out = new ArrayList<>(2 * pairs.size());
        pairs.forEach(p -> out.add(p.chosen()));
        pairs.forEach(p -> out.add(p.rejected()));
        return out;
    }

    static long[] lines(List<PairExample> pairs) {
        long[] ids = new long[2 * pairs.size()];
        for (int i = 0; i < pairs.size(); i++) {
            ids[i] = pairs.get(i).line();
            ids[pairs.size() + i] = pairs.get(i).line();
        }
        return ids;
    }
}
