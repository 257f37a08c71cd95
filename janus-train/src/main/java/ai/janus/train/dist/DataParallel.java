package ai.janus.train.dist;

import ai.janus.backend.Backend;
import ai.janus.dist.Communicator;
import ai.janus.dist.LocalCommunicator;
import ai.janus.dist.Work;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.LayerHooks;
import ai.janus.model.ParameterSet;
import ai.janus.optim.GradClip;
import ai.janus.optim.Optimizer;
import ai.janus.optim.ParameterSlice;
import ai.janus.optim.StepKernels;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * LOCAL and DDP: every rank holds the whole model, its gradients and the optimizer state, and
 * runs the same optimizer step on the same summed gradients.
 *
 * <p>DDP's gradient reduction overlaps the backward of the step's last micro-batch (earlier
 * micro-batches only accumulate, as DDP's {@code no_sync}): the gradient buffer is cut into
 * buckets of about {@code bucket_size_mb}, each a run of whole units (see {@link ShardLayout})
 * that the backward completes one after the other — the head, layer L−1, …, layer 0, the
 * embedding. The model's {@link LayerHooks} report each unit as it completes, and a bucket's
 * all-reduce starts (asynchronously) as soon as its last unit is complete, while the backward
 * of the layers below goes on. {@link #reduceAndClip} waits for every bucket.
 *
 * <p>Numerics: each micro-batch's loss is already normalised by the whole step's count over all
 * ranks, so the sum over ranks is the step's gradient. Against one process running the same
 * micro-batches in sequence the only difference is the order of the additions (a rank sums its
 * own micro-batches, Gloo adds the ranks): with two ranks and one micro-batch each the sums are
 * g0 + g1 on both sides, bit for bit; otherwise they agree to float32 rounding.
 */
public final class DataParallel implements Strategy, LayerHooks {
    /** PyTorch DDP's default bucket size. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    /** A run of units whose gradients are all-reduced together. */
    private static final class Bucket {
        final List<ShardLayout.Unit> units = new ArrayList<>();
        Tensor region;
        int ready;
        Work work;
    }

    private final StrategyKind kind;
    private final Communicator communicator;
    private final TrainingParameters parameters;
    private final ParameterSet gradients;
    private final Optimizer optimizer;
    private final boolean ownsOptimizer;
    private final Backend backend;
    /** Where the gradient norm and clipping run (the CPU pool's unless given). */
    private final StepKernels kernels;
    private final List<Bucket> buckets = new ArrayList<>();   // in backward order
    private final Bucket[] bucketOfUnit;
    private final List<ShardLayout.Unit> units;
    private final int layers;
    private boolean last;

    /**
     * @param parameters  the model's parameters (the caller's; used in place)
     * @param bucketBytes DDP's bucket size
     */
    public DataParallel(StrategyKind kind, Communicator communicator, TrainingParameters parameters,
                        OptimizerFactory optimizers, long bucketBytes, Backend backend, Parallel parallel) {
        this(kind, communicator, parameters, optimizers, true, bucketBytes, backend, StepKernels.cpu(parallel));
    }

    /**
     * The same, with the gradient norm and clipping on {@code kernels} (the GPU's for one CUDA
     * process; the optimizer the factory makes chooses its own).
     */
    public DataParallel(StrategyKind kind, Communicator communicator, TrainingParameters parameters,
                        OptimizerFactory optimizers, long bucketBytes, Backend backend, StepKernels kernels) {
        this(kind, communicator, parameters, optimizers, true, bucketBytes, backend, kernels);
    }

    /** One process with an optimizer the caller made and closes (the trainer's original constructor). */
    public static DataParallel local(TrainingParameters parameters, Optimizer optimizer, Backend backend,
                                     Parallel parallel) {
        return new DataParallel(StrategyKind.LOCAL, new LocalCommunicator(), parameters, (p, s) -> optimizer, false, 0,
                backend, StepKernels.cpu(parallel));
    }

    private DataParallel(StrategyKind kind, Communicator communicator, TrainingParameters parameters,
                         OptimizerFactory optimizers, boolean ownsOptimizer, long bucketBytes, Backend backend,
                         StepKernels kernels) {
        if (kind != StrategyKind.LOCAL && kind != StrategyKind.DDP) {
            throw new IllegalArgumentException("DataParallel is local or ddp, not " + kind.configName());
        }
        if (kind == StrategyKind.LOCAL && communicator.worldSize() != 1) {
            throw new IllegalArgumentException("strategy local runs on one process, this job has "
                    + communicator.worldSize() + " ranks: choose ddp or zero1/2/3");
        }
        this.kind = kind;
        this.communicator = communicator;
        this.parameters = parameters;
        this.backend = backend;
        this.kernels = kernels;
        this.layers = parameters.config().numHiddenLayers();
        ParameterSet stored = parameters.bf16() != null ? parameters.bf16() : parameters.working();
        this.gradients = parameters.working().zerosLike();
        this.units = new ShardLayout(parameters.working().specs(), 1).units();
        this.bucketOfUnit = new Bucket[units.size()];
        if (communicator.worldSize() > 1) {
            planBuckets(bucketBytes);
            // every rank starts from rank 0's weights, as torch's DDP does at construction
            communicator.broadcast(stored.flat(), 0).await();
            if (parameters.bf16() != null) {
                parameters.working().copyFrom(parameters.bf16());
            }
        }
        this.optimizer = optimizers.create(stored, ParameterSlice.whole(stored.specs()));
        this.ownsOptimizer = ownsOptimizer;
    }

    /** Buckets of whole units in backward order (head, last layer, …, first layer, embedding), each about bucketBytes. */
    private void planBuckets(long bucketBytes) {
        Bucket open = null;
        long openBytes = 0;
        for (int u = units.size() - 1; u >= 0; u--) {
            if (open == null) {
                open = new Bucket();
                openBytes = 0;
                buckets.add(open);
            }
            ShardLayout.Unit unit = units.get(u);
            open.units.add(unit);
            bucketOfUnit[u] = open;
            openBytes += 4 * (end(unit) - gradients.offset(unit.firstSpec()));
            if (openBytes >= bucketBytes) {
                open = null;
            }
        }
        for (Bucket b : buckets) {
            ShardLayout.Unit low = b.units.get(b.units.size() - 1), high = b.units.get(0);
            long from = gradients.offset(low.firstSpec());
            b.region = gradients.flat().rows(from, end(high) - from);
        }
    }

    /** One past the last gradient element of {@code unit} (the tensors are back to back). */
    private long end(ShardLayout.Unit unit) {
        int lastSpec = unit.endSpec() - 1;
        return gradients.offset(lastSpec) + gradients.specs().get(lastSpec).numel();
    }

    @Override
    public StrategyKind kind() {
        return kind;
    }

    @Override
    public Communicator communicator() {
        return communicator;
    }

    @Override
    public ParameterSet parameters() {
        return parameters.working();
    }

    @Override
    public ParameterSet gradients() {
        return gradients;
    }

    @Override
    public LayerHooks hooks() {
        return this;
    }

    /** The number of gradient buckets (for tests and logs). */
    public int buckets() {
        return buckets.size();
    }

    @Override
    public void beginStep() {
        backend.zero(gradients.flat());
    }

    @Override
    public void beginMicroBatch(boolean last) {
        this.last = last;
    }

    @Override
    public void beforeBackward(int layer) {
        if (layer == layers - 1) {
            unitDone("head");
        }
    }

    @Override
    public void afterBackward(int layer) {
        unitDone("layer " + layer);
    }

    @Override
    public void endMicroBatch(boolean last) {
        if (last) {
            unitDone("embed");
        }
    }

    /** Unit {@code name}'s gradients are complete: start its bucket's all-reduce once the bucket is. */
    private void unitDone(String name) {
        if (!last || buckets.isEmpty()) {
            return;
        }
        for (int u = 0; u < units.size(); u++) {
            if (units.get(u).name().equals(name)) {
                Bucket b = bucketOfUnit[u];
                if (++b.ready == b.units.size()) {
                    b.work = communicator.allReduce(b.region);
                }
            }
        }
    }

    @Override
    public double reduceAndClip(double maxNorm) {
        for (Bucket b : buckets) {
            if (b.work == null) {
                b.work = communicator.allReduce(b.region); // a unit the hooks never reported (no layers, say)
            }
        }
        for (Bucket b : buckets) {
            b.work.await();
            b.work = null;
            b.ready = 0;
        }
        return maxNorm > 0 ? GradClip.clip(gradients, maxNorm, kernels) : GradClip.norm(gradients, kernels);
    }

    @Override
    public void step(double lr) {
        optimizer.step(gradients, lr);
        if (parameters.bf16() != null) {
            parameters.working().copyFrom(parameters.bf16());
        }
    }

    private ParameterSet stored() {
        return parameters.bf16() != null ? parameters.bf16() : parameters.working();
    }

    @Override
    public void save(Path directory) throws IOException {
        if (communicator.rank() == 0) {
            HfCheckpoint.save(directory, parameters.config(), stored(), stored().dtype(), Long.MAX_VALUE,
                    parameters.configFields());
            optimizer.save(directory.resolve(Strategy.OPTIMIZER_FILE));
        }
    }

    @Override
    public void load(Path directory) throws IOException {
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(directory, parameters.layout())) {
            stored().copyFrom(loaded.parameters());
        }
        if (parameters.bf16() != null) {
            parameters.working().copyFrom(parameters.bf16());
        }
        optimizer.load(directory.resolve(Strategy.OPTIMIZER_FILE));
    }

    @Override
    public ParameterSet gatherForExport() {
        return communicator.rank() == 0 ? stored() : null;
    }

    @Override
    public boolean ownsExport() {
        return false;
    }

    @Override
    public Memory memory() {
        long params = parameters.working().flat().byteSize() + (parameters.bf16() == null ? 0
                : parameters.bf16().flat().byteSize());
        return new Memory(params, gradients.flat().byteSize(), optimizer.stateBytes());
    }

    @Override
    public void close() {
        gradients.close();
        if (ownsOptimizer) {
            optimizer.close();
        }
    }
}
