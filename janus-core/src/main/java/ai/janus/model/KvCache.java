package ai.janus.model;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.Arrays;

/**
 * The keys and values of every layer for S sequences decoded together, each sequence owning
 * {@code capacity} rows: sequence s's cached tokens are rows [s·capacity, s·capacity + length(s))
 * of each layer's K and V (after RoPE, as attention reads them). {@link Mistral#decode} appends
 * a step's tokens and attends over the rows cached so far.
 *
 * <p>Memory: 2 · L · S · capacity · KV · D floats.
 */
public final class KvCache implements AutoCloseable {
    private final int sequences;
    private final int capacity;
    private final Tensor[] keys;    // L × (S·capacity, KV, D)
    private final Tensor[] values;  // L × (S·capacity, KV, D)
    private final int[] lengths;

    public KvCache(MistralConfig config, int sequences, int capacity) {
        if (sequences < 1 || capacity < 1) {
            throw new IllegalArgumentException("a KV cache needs >= 1 sequence and capacity >= 1, got " + sequences
                    + " and " + capacity);
        }
        this.sequences = sequences;
        this.capacity = capacity;
        int layers = config.numHiddenLayers();
        long rows = Math.multiplyExact((long) sequences, capacity);
        // 2 · L · S · capacity · KV · D floats, checked before the first allocation
        ai.janus.tensor.HostMemory.require(String.format(java.util.Locale.ROOT,
                "a KV cache of %d sequences × %d positions × %d layers", sequences, capacity, layers),
                ai.janus.tensor.HostMemory.product(2L * 4 * layers, rows, config.numKeyValueHeads(), config.headDim()));
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = Tensor.allocate(DType.F32, rows, config.numKeyValueHeads(), config.headDim());
            values[l] = Tensor.allocate(DType.F32, rows, config.numKeyValueHeads(), config.headDim());
        }
        this.lengths = new int[sequences];
    }

    public int sequences() {
        return sequences;
    }

    public int capacity() {
        return capacity;
    }

    /** Tokens cached for sequence {@code s}. */
    public int length(int s) {
        return lengths[s];
    }

    /** (length(s) + extra, KV, D) view of sequence s's keys of {@code layer}: cached rows then room for {@code extra}. */
    Tensor keys(int layer, int s, int extra) {
        return keys[layer].rows((long) s * capacity, lengths[s] + extra);
    }

    Tensor values(int layer, int s, int extra) {
        return values[layer].rows((long) s * capacity, lengths[s] + extra);
    }

    /** Checks that {@code counts[s]} more tokens fit each sequence. */
    void checkRoom(int[] counts) {
        for (int s = 0; s < sequences; s++) {
            if (lengths[s] + counts[s] > capacity) {
                throw new IllegalArgumentException("sequence " + s + " would hold " + (lengths[s] + counts[s])
                        + " tokens; the KV cache was made for " + capacity);
            }
        }
    }

    /** Records that a decode step appended {@code counts[s]} tokens to each sequence. */
    void advance(int[] counts) {
        for (int s = 0; s < sequences; s++) {
            lengths[s] += counts[s];
        }
    }

    /** Forgets every cached token (the buffers are reused). */
    public void clear() {
        Arrays.fill(lengths, 0);
    }

    @Override
    public void close() {
        for (Tensor t : keys) {
            t.close();
        }
        for (Tensor t : values) {
            t.close();
        }
    }
}
