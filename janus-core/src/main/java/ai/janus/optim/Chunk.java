package ai.janus.optim;

import ai.janus.model.ParameterSet;
import java.util.ArrayList;
import java.util.List;

/**
 * A contiguous run of elements of one parameter tensor: the unit of parallel optimizer work.
 * {@code start} counts elements within tensor {@code tensor} (an index into the specs);
 * {@code flatStart} counts elements within all parameters in spec order (what a flat
 * {@link ParameterSet} buffer would use), so that seeded per-element randomness does not depend
 * on how the work was split.
 */
record Chunk(int tensor, long start, int length, long flatStart) {
    /**
     * Elements per chunk: a multiple of the 8-bit AdamW block (2048), so that a chunk never
     * splits a block, and 64 KiB per float scratch buffer, so that a chunk's working set stays
     * in L2.
     */
    static final int ELEMENTS = 16384;

    /** Every tensor of {@code specs} cut into chunks of at most {@link #ELEMENTS} elements, in order. */
    static List<Chunk> split(List<ParameterSet.Spec> specs) {
        return split(specs, ParameterSlice.whole(specs));
    }

    /** The same, with each tensor's model-wide element index taken from its slice. */
    static List<Chunk> split(List<ParameterSet.Spec> specs, List<ParameterSlice> slices) {
        List<Chunk> chunks = new ArrayList<>();
        for (int t = 0; t < specs.size(); t++) {
            long n = specs.get(t).numel(), flat = slices.get(t).flatStart();
            for (long start = 0; start < n; start += ELEMENTS) {
                chunks.add(new Chunk(t, start, (int) Math.min(ELEMENTS, n - start), flat + start));
            }
        }
        return chunks;
    }
}
