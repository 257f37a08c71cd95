package ai.janus.dist;

import ai.janus.tensor.Tensor;
import java.util.EnumMap;
import java.util.Map;

/**
 * A communicator that passes every collective on to another and counts it: calls and elements
 * per kind, the elements being the collective's full size (all-reduce: the buffer; reduce-scatter:
 * the input; all-gather: the output; broadcast: the buffer). What a rank sends over the wire
 * follows from them: a ring all-reduce of n elements sends 2(W−1)/W·n per rank, a reduce-scatter
 * or an all-gather (W−1)/W·n, a broadcast at most n. Used to measure a strategy's
 * communication volume against its formula (BENCHMARKS.md).
 */
public final class CountingCommunicator implements Communicator {
    /** The kinds of collective counted. */
    public enum Kind { ALL_REDUCE, REDUCE_SCATTER, ALL_GATHER, BROADCAST, BARRIER, VALUES }

    /** Calls and elements of one kind. */
    public record Count(long calls, long elements) {
        Count plus(long n) {
            return new Count(calls + 1, elements + n);
        }
    }

    private final Communicator inner;
    private final Map<Kind, Count> counts = new EnumMap<>(Kind.class);

    public CountingCommunicator(Communicator inner) {
        this.inner = inner;
        reset();
    }

    /** The counts since the last {@link #reset}. */
    public synchronized Map<Kind, Count> counts() {
        return new EnumMap<>(counts);
    }

    public synchronized void reset() {
        for (Kind k : Kind.values()) {
            counts.put(k, new Count(0, 0));
        }
    }

    private synchronized void count(Kind kind, long elements) {
        counts.put(kind, counts.get(kind).plus(elements));
    }

    /**
     * Bytes this rank sends for the counted collectives of F32 elements over a ring of
     * {@link #worldSize()} ranks: 2(W−1)/W per all-reduced element, (W−1)/W per reduce-scattered or
     * all-gathered one, 4 bytes each (broadcasts, barriers and value exchanges left out).
     */
    public synchronized double ringBytesSent() {
        double w = worldSize();
        return 4 * ((w - 1) / w) * (2.0 * counts.get(Kind.ALL_REDUCE).elements()
                + counts.get(Kind.REDUCE_SCATTER).elements() + counts.get(Kind.ALL_GATHER).elements());
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int worldSize() {
        return inner.worldSize();
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Work allReduce(Tensor buffer) {
        count(Kind.ALL_REDUCE, buffer.numel());
        return inner.allReduce(buffer);
    }

    @Override
    public Work reduceScatter(Tensor output, Tensor input) {
        count(Kind.REDUCE_SCATTER, input.numel());
        return inner.reduceScatter(output, input);
    }

    @Override
    public Work allGather(Tensor output, Tensor input) {
        count(Kind.ALL_GATHER, output.numel());
        return inner.allGather(output, input);
    }

    @Override
    public Work broadcast(Tensor buffer, int root) {
        count(Kind.BROADCAST, buffer.numel());
        return inner.broadcast(buffer, root);
    }

    @Override
    public Work barrier() {
        count(Kind.BARRIER, 0);
        return inner.barrier();
    }

    @Override
    public double[] allGather(double[] values) {
        count(Kind.VALUES, values.length);
        return inner.allGather(values);
    }

    @Override
    public void close() {
        inner.close();
    }
}
