package ai.janus.train.dist;

import ai.janus.dist.Communicator;
import ai.janus.model.LayerHooks;
import ai.janus.model.ParameterSet;
import java.io.IOException;
import java.nio.file.Path;

/**
 * How the ranks of a job share one optimizer step, as the trainer ({@code ai.janus.train.Trainer}) drives it:
 *
 * <pre>
 * beginStep()                                   zero the gradients (ZeRO-3: gather the embedding and head)
 * per micro-batch of this rank:
 *   beginMicroBatch(last); forward + backward   the model calls hooks() around each layer
 *   endMicroBatch(last)                         gradients of the last micro-batch start their reduction here at the latest
 * norm = reduceAndClip(maxNorm)                 gradients reduced over the ranks, global norm, clipped
 * step(lr)                                      the optimizer; afterwards every rank's weights are current
 * </pre>
 *
 * {@link DataParallel} is LOCAL and DDP, {@link Zero} is ZeRO-1/2/3. Each strategy owns the
 * parameters the model reads ({@link #parameters()}: created in its layout from the starting
 * weights), the gradients and the optimizer (of the whole model or of this rank's shard).
 */
public interface Strategy extends AutoCloseable {
    /** The file in a checkpoint directory that holds a rank's optimizer state. */
    String OPTIMIZER_FILE = "optimizer.safetensors";

    /** Bytes this rank holds for parameters, gradients and optimizer state (the memory formula's terms). */
    record Memory(long parameters, long gradients, long optimizer) {}

    StrategyKind kind();

    Communicator communicator();

    /** The F32 weights the model reads, in this strategy's layout. */
    ParameterSet parameters();

    /** Where the model's backward accumulates gradients. */
    ParameterSet gradients();

    /** What the model calls around each layer in training. */
    LayerHooks hooks();

    void beginStep();

    /** Before one of this rank's micro-batches; {@code last}: its last of the step (gradients become final in it). */
    void beginMicroBatch(boolean last);

    void endMicroBatch(boolean last);

    /**
     * Completes the gradient reduction of the step and returns the global L2 norm of the step's
     * gradient (the same value on every rank); when {@code maxNorm > 0} and the norm is finite
     * the gradients are scaled by min(1, maxNorm / (norm + 1e-6)).
     */
    double reduceAndClip(double maxNorm);

    /** One optimizer step at learning rate {@code lr}; afterwards {@link #parameters()} are current on every rank. */
    void step(double lr);

    /** Writes this rank's part of a checkpoint into {@code directory} (every rank calls it). */
    void save(Path directory) throws IOException;

    /** Restores this rank's part from a checkpoint {@code directory} written with the same strategy and world size. */
    void load(Path directory) throws IOException;

    /**
     * The whole model's parameters in the stored dtype on rank 0 (gathered when sharded), for the
     * HF export; null on the other ranks. Every rank must call it. The set is the strategy's or
     * a new one, see {@link #ownsExport}.
     */
    ParameterSet gatherForExport();

    /** Whether the set {@link #gatherForExport} returned is the caller's to close. */
    boolean ownsExport();

    Memory memory();

    /** Frees the gradients and the optimizer (and the parameters this strategy allocated). */
    @Override
    void close();
}
