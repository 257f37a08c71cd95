package ai.janus.dist;

import ai.janus.tensor.Tensor;

/**
 * Collectives over the ranks of one job: the operations data-parallel and ZeRO training need.
 * Each returns at once with a {@link Work} handle; the buffers belong to the collective until its
 * {@code await()} returns.
 *
 * <p>Ordering: every rank must issue the same collectives, with the same sizes, in the same
 * order (as with c10d process groups); a rank that issues another sequence deadlocks or fails
 * at the timeout. Reductions are sums over F32 buffers; the order in which an engine adds the
 * ranks' values is the engine's (Gloo's ring starts at a different rank for each chunk), so a sum
 * over more than two ranks is not associative-order-exact against a sequential sum. Results are
 * identical on every rank.
 *
 * <p>Sizes: {@code reduceScatter} and {@code allGather} split a buffer into {@link #worldSize()}
 * equal parts in rank order (ZeRO pads its flat buffers so that this holds).
 */
public interface Communicator extends AutoCloseable {
    /** This process's rank in [0, worldSize). */
    int rank();

    int worldSize();

    /** "local", "gloo" or "nccl", for logs. */
    String name();

    /** {@code buffer ← Σ_ranks buffer}, in place (F32). */
    Work allReduce(Tensor buffer);

    /**
     * {@code output ← part rank() of Σ_ranks input}: input has worldSize × output.numel()
     * elements (F32); output must not overlap input.
     */
    Work reduceScatter(Tensor output, Tensor input);

    /**
     * {@code output ← input of rank 0 ‖ input of rank 1 ‖ …}: output has worldSize ×
     * input.numel() elements of input's dtype (F32 or BF16). input may be this rank's part of
     * output (an in-place gather).
     */
    Work allGather(Tensor output, Tensor input);

    /** {@code buffer ← buffer of root} (F32 or BF16). */
    Work broadcast(Tensor buffer, int root);

    /** Completes once every rank has reached it. */
    Work barrier();

    /**
     * Every rank's {@code values} (the same length on every rank), rank after rank: a small
     * blocking exchange for counts and metrics. Doubles travel bit for bit, so sums taken from
     * the result in a fixed order are the same on every rank and exact for integer counts
     * below 2^53.
     */
    double[] allGather(double[] values);

    /** Releases the engine's resources; pending collectives must have been awaited. */
    @Override
    void close();
}
