package ai.janus.train.dist;

import ai.janus.backend.Backend;
import ai.janus.dist.Communicator;
import ai.janus.dist.Work;
import ai.janus.io.InvalidFileException;
import ai.janus.io.SafetensorsFile;
import ai.janus.io.SafetensorsWriter;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.LayerHooks;
import ai.janus.model.ParameterSet;
import ai.janus.optim.GradClip;
import ai.janus.optim.Optimizer;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * ZeRO stages 1, 2 and 3 (Rajbhandari et al., 2020): each rank keeps the optimizer state of its
 * shard only, and at stage 2 its gradients, at stage 3 its weights. The shard is rank r's piece of
 * every unit ({@link ShardLayout}: embedding, each layer, head), padded so that pieces fall on
 * 8-bit optimizer blocks; the optimizer runs over the shard's segments with their
 * {@link ai.janus.optim.ParameterSlice}s, so its update of an element is the whole model's.
 *
 * <pre>
 * stage 1  weights: whole (padded)     gradients: whole; during the last micro-batch's backward each
 *          unit is reduce-scattered into the shard as soon as it is complete
 *          step: update the shard, all-gather every unit's weights
 * stage 2  weights: whole              gradients: embedding and head whole, layers in two slots
 *          (layer l in slot l mod 2); after every micro-batch's backward of layer l its slot is
 *          reduce-scattered (while layer l−1 runs in the other slot), the rank's piece added to the
 *          shard and the slot freed for layer l−2; embedding and head reduce-scattered once per step
 *          step: update the shard, all-gather every unit's weights
 * stage 3  weights: the shard, plus embedding and head gathered at the start of each step, plus
 *          two layer slots: layer l is gathered into slot l mod 2 before its forward and again
 *          before its backward (unless the slot still holds it), the next layer's gather started
 *          while this one computes
 *          gradients: as stage 2       step: update the shard; nothing to gather
 * </pre>
 *
 * The loss of every micro-batch is normalised by the whole step's count over all ranks, so the
 * reduce-scattered sums are the step's gradient. The global norm gathers every rank's per-block
 * sums of squares and adds them in the model's block order, as one process does: on equal
 * gradients it has the same bits, so clipping scales by the same factor. Checkpoints: rank 0 writes the HF model (stages 1, 2) or every rank its weight
 * shard (stage 3), and every rank its optimizer shard; resuming needs the same world size.
 * Parameters must be fp32 (bf16 weights: use DDP).
 */
public final class Zero implements Strategy, LayerHooks {
    /** Rank r's optimizer state in a checkpoint: {@code optimizer-rank-R-of-W.safetensors}. */
    public static String optimizerFile(int rank, int worldSize) {
        return "optimizer-rank-" + rank + "-of-" + worldSize + ".safetensors";
    }

    /** Rank r's weight shard in a stage-3 checkpoint: {@code model-rank-R-of-W.safetensors}. */
    public static String modelFile(int rank, int worldSize) {
        return "model-rank-" + rank + "-of-" + worldSize + ".safetensors";
    }

    private final StrategyKind kind;
    private final int stage;
    private final Communicator communicator;
    private final TrainingParameters parameters;
    private final ShardLayout layout;
    private final int rank;
    private final int layers;
    private final Backend backend;
    private final Parallel parallel;
    /** Stages 1, 2: every weight, padded; the model reads it. Null at stage 3. */
    private final ParameterSet whole;
    /** Stage 3: embedding and head, and the two layer slots; the model reads it. Null otherwise. */
    private final ParameterSet resident;
    /** This rank's weights: a view of {@code whole} (stages 1, 2), or its own buffer (stage 3). */
    private final ParameterSet shardWeights;
    /** Where the backward accumulates: the whole padded set (stage 1) or ends + two slots (stages 2, 3). */
    private final ParameterSet gradients;
    /** This rank's reduced gradients, what the optimizer reads. */
    private final ParameterSet shardGradients;
    /** Stages 2, 3: the reduce-scatter outputs of the two gradient slots. */
    private final Tensor[] slotPieces;
    private final Optimizer optimizer;
    /** The global norm's block sums: how many each rank sends, and where block i of the model is in the gathered array. */
    private final int blocksPerRank;
    private final int[] blockOrder;

    /** A collective in flight for one slot and the layer it moves. */
    private record InFlight(Work work, int layer) {}

    private boolean last;
    /** Stages 2, 3: the reduce-scatter in flight from each gradient slot (null: none). */
    private final InFlight[] slotReduction = new InFlight[2];
    /** Reductions of whole units (ends; every unit at stage 1) started this step, by unit index. */
    private final Work[] unitReduction;
    /** Stage 3: which layer each weight slot holds (−1: none), and the gather in flight into it (null: none). */
    private final int[] slotHolds = {-1, -1};
    private final InFlight[] slotGather = new InFlight[2];

    public Zero(StrategyKind kind, Communicator communicator, TrainingParameters parameters,
                OptimizerFactory optimizers, Backend backend, Parallel parallel) {
        if (kind.zeroStage() == 0) {
            throw new IllegalArgumentException("Zero is zero1, zero2 or zero3, not " + kind.configName());
        }
        if (parameters.bf16() != null) {
            throw new IllegalArgumentException("strategy " + kind.configName() + " trains fp32 weights; for bf16 "
                    + "weights use strategy ddp (or set bf16: false)");
        }
        this.kind = kind;
        this.stage = kind.zeroStage();
        this.communicator = communicator;
        this.parameters = parameters;
        this.backend = backend;
        this.parallel = parallel;
        this.rank = communicator.rank();
        this.layers = parameters.config().numHiddenLayers();
        List<ParameterSet.Spec> specs = parameters.working().specs();
        this.layout = new ShardLayout(specs, communicator.worldSize());
        List<ParameterSet.Spec> segmentSpecs = layout.segmentSpecs(rank);
        this.unitReduction = new Work[layout.units().size()];

        // every rank starts from rank 0's weights, then keeps what its strategy keeps
        communicator.broadcast(parameters.working().flat(), 0).await();
        if (stage < 3) {
            whole = ParameterSet.allocate(specs, DType.F32, layout.offsets(), layout.size());
            whole.copyFrom(parameters.working());
            resident = null;
            shardWeights = ParameterSet.view(whole.flat(), segmentSpecs, layout.paddedOffsets(rank));
        } else {
            whole = null;
            resident = ParameterSet.allocate(specs, DType.F32, layout.slotOffsets(), layout.slotBufferSize());
            shardWeights = ParameterSet.allocate(segmentSpecs, DType.F32, layout.shardOffsets(rank), layout.shardSize());
            List<ShardLayout.Segment> segments = layout.segments(rank);
            for (int i = 0; i < segments.size(); i++) {
                ShardLayout.Segment s = segments.get(i);
                Tensor from = parameters.working().get(specs.get(s.spec()).name());
                backend.copy(shardWeights.get(segmentSpecs.get(i).name()), from.reshape(from.numel()).rows(s.start(),
                        s.length()));
            }
        }
        gradients = stage == 1 ? ParameterSet.allocate(specs, DType.F32, layout.offsets(), layout.size())
                : ParameterSet.allocate(specs, DType.F32, layout.slotOffsets(), layout.slotBufferSize());
        shardGradients = ParameterSet.allocate(segmentSpecs, DType.F32, layout.shardOffsets(rank), layout.shardSize());
        long slotPiece = layout.slotSize() / communicator.worldSize();
        slotPieces = stage == 1 || layers == 0 ? new Tensor[0]
                : new Tensor[] {Tensor.allocate(DType.F32, slotPiece), Tensor.allocate(DType.F32, slotPiece)};
        optimizer = optimizers.create(shardWeights, layout.slices(rank));
        int most = 0;
        for (int q = 0; q < communicator.worldSize(); q++) {
            most = Math.max(most, blocks(layout.segments(q)));
        }
        blocksPerRank = most;
        blockOrder = blockOrder(layout, most);
    }

    static int blocks(List<ShardLayout.Segment> segments) {
        int n = 0;
        for (ShardLayout.Segment s : segments) {
            n += (int) ((s.length() + GradClip.BLOCK - 1) / GradClip.BLOCK);
        }
        return n;
    }

    /**
     * For every block of the model in tensor and block order, its index in the ranks' gathered
     * block sums (rank q's at q × perRank + its own order): adding them in this order is what
     * {@link GradClip#sumOfSquares} does over the whole model, so the norm has the same bits.
     */
    static int[] blockOrder(ShardLayout layout, int perRank) {
        List<ParameterSet.Spec> specs = layout.specs();
        List<int[]> where = new ArrayList<>(); // per spec: gathered index of each block
        for (ParameterSet.Spec s : specs) {
            where.add(new int[(int) ((s.numel() + GradClip.BLOCK - 1) / GradClip.BLOCK)]);
        }
        for (int q = 0; q < layout.worldSize(); q++) {
            int k = q * perRank;
            for (ShardLayout.Segment seg : layout.segments(q)) {
                int first = (int) (seg.start() / GradClip.BLOCK);
                int count = (int) ((seg.length() + GradClip.BLOCK - 1) / GradClip.BLOCK);
                for (int b = 0; b < count; b++) {
                    where.get(seg.spec())[first + b] = k++;
                }
            }
        }
        return where.stream().flatMapToInt(Arrays::stream).toArray();
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
        return stage < 3 ? whole : resident;
    }

    @Override
    public ParameterSet gradients() {
        return gradients;
    }

    @Override
    public LayerHooks hooks() {
        return this;
    }

    /** The layout of the shards (for tests and the memory formula). */
    public ShardLayout layout() {
        return layout;
    }

    // -------------------------------------------------------------------------------- regions

    private ShardLayout.Unit unit(String name) {
        for (ShardLayout.Unit u : layout.units()) {
            if (u.name().equals(name)) {
                return u;
            }
        }
        return null;
    }

    private int index(ShardLayout.Unit u) {
        return layout.units().indexOf(u);
    }

    /** Where {@code u}'s gradients accumulate: its own region (stage 1, and the ends), or its slot. */
    private Tensor gradientRegion(ShardLayout.Unit u) {
        long at = stage == 1 ? u.offset() : ShardLayout.isLayer(u) ? layout.slotBase(ShardLayout.layerIndex(u) % 2)
                : layout.endOffset(u);
        return gradients.flat().rows(at, u.size());
    }

    private Tensor shardGradientPiece(ShardLayout.Unit u) {
        return shardGradients.flat().rows(layout.shardOffset(u), layout.piece(u));
    }

    /** Stages 1, 2: where {@code u}'s weights live in the whole set; stage 3: its end region or slot. */
    private Tensor weightRegion(ShardLayout.Unit u) {
        if (stage < 3) {
            return whole.flat().rows(u.offset(), u.size());
        }
        long at = ShardLayout.isLayer(u) ? layout.slotBase(ShardLayout.layerIndex(u) % 2) : layout.endOffset(u);
        return resident.flat().rows(at, u.size());
    }

    /** This rank's piece of {@code u}'s weights: inside the whole set (stages 1, 2: a view), or in the shard (stage 3). */
    private Tensor shardWeightPiece(ShardLayout.Unit u) {
        return stage < 3 ? whole.flat().rows(u.offset() + rank * layout.piece(u), layout.piece(u))
                : shardWeights.flat().rows(layout.shardOffset(u), layout.piece(u));
    }

    // ---------------------------------------------------------------------------------- a step

    @Override
    public void beginStep() {
        backend.zero(gradients.flat());
        backend.zero(shardGradients.flat());
        if (stage == 3) {
            // the shard changed in the last step: every slot is stale, the ends are gathered again
            Arrays.fill(slotHolds, -1);
            List<Work> gathers = new ArrayList<>();
            for (ShardLayout.Unit u : layout.units()) {
                if (!ShardLayout.isLayer(u)) {
                    gathers.add(communicator.allGather(weightRegion(u), shardWeightPiece(u)));
                }
            }
            gathers.forEach(Work::await);
        }
    }

    @Override
    public void beginMicroBatch(boolean last) {
        this.last = last;
    }

    @Override
    public void beforeForward(int layer) {
        if (stage == 3) {
            gatherLayer(layer);
            prefetch(layer + 1);
        }
    }

    @Override
    public void beforeBackward(int layer) {
        if (layer == layers - 1 && last) {
            reduceUnit(unit("head"));
        }
        if (stage >= 2) {
            freeGradientSlot(layer % 2);
        }
        if (stage == 3) {
            gatherLayer(layer);
            prefetch(layer - 1);
        }
    }

    @Override
    public void afterBackward(int layer) {
        ShardLayout.Unit u = layout.layer(layer);
        if (stage == 1) {
            if (last) {
                reduceUnit(u);
            }
            return;
        }
        int slot = layer % 2;
        slotReduction[slot] = new InFlight(communicator.reduceScatter(slotPieces[slot].rows(0, layout.piece(u)),
                gradientRegion(u)), layer);
    }

    @Override
    public void endMicroBatch(boolean last) {
        if (last) {
            reduceUnit(unit("embed"));
        }
    }

    /** Starts the reduce-scatter of a whole unit's gradients into this rank's piece (once per step). */
    private void reduceUnit(ShardLayout.Unit u) {
        if (u != null && unitReduction[index(u)] == null) {
            unitReduction[index(u)] = communicator.reduceScatter(shardGradientPiece(u), gradientRegion(u));
        }
    }

    /** Waits for slot {@code slot}'s reduction, adds this rank's piece to the shard and zeroes the slot. */
    private void freeGradientSlot(int slot) {
        InFlight reduction = slotReduction[slot];
        if (reduction == null) {
            return;
        }
        reduction.work().await();
        ShardLayout.Unit u = layout.layer(reduction.layer());
        backend.add(shardGradientPiece(u), slotPieces[slot].rows(0, layout.piece(u)));
        backend.zero(gradientRegion(u));
        slotReduction[slot] = null;
    }

    /** Stage 3: layer {@code layer}'s weights in its slot when this returns. */
    private void gatherLayer(int layer) {
        int slot = layer % 2;
        if (slotHolds[slot] == layer) {
            return;
        }
        if (!gathering(slot, layer)) {
            startGather(layer);
        }
        slotGather[slot].work().await();
        slotGather[slot] = null;
        slotHolds[slot] = layer;
    }

    /** Stage 3: starts gathering {@code layer} into its slot, unless it is there or on its way (or out of range). */
    private void prefetch(int layer) {
        if (layer < 0 || layer >= layers) {
            return;
        }
        int slot = layer % 2;
        if (slotHolds[slot] != layer && !gathering(slot, layer)) {
            startGather(layer);
        }
    }

    /** Stage 3: whether a gather of {@code layer} into {@code slot} is in flight. */
    private boolean gathering(int slot, int layer) {
        return slotGather[slot] != null && slotGather[slot].layer() == layer;
    }

    private void startGather(int layer) {
        int slot = layer % 2;
        if (slotGather[slot] != null) {
            slotGather[slot].work().await(); // a gather of another layer into this slot is in flight: let it land first
        }
        ShardLayout.Unit u = layout.layer(layer);
        slotHolds[slot] = -1;
        slotGather[slot] = new InFlight(communicator.allGather(weightRegion(u), shardWeightPiece(u)), layer);
    }

    @Override
    public double reduceAndClip(double maxNorm) {
        if (stage >= 2) {
            freeGradientSlot(0);
            freeGradientSlot(1);
        }
        for (ShardLayout.Unit u : layout.units()) {
            if (stage == 1 || !ShardLayout.isLayer(u)) {
                reduceUnit(u); // a unit the hooks never reported
            }
        }
        for (int i = 0; i < unitReduction.length; i++) {
            if (unitReduction[i] != null) {
                unitReduction[i].await();
                unitReduction[i] = null;
            }
        }
        double[] mine = Arrays.copyOf(GradClip.blockSumsOfSquares(shardGradients, parallel), blocksPerRank);
        double[] all = communicator.allGather(mine);
        double total = 0;
        for (int i : blockOrder) {
            total += all[i];
        }
        double norm = Math.sqrt(total);
        if (maxNorm > 0) {
            GradClip.scale(shardGradients, norm, maxNorm, parallel);
        }
        return norm;
    }

    @Override
    public void step(double lr) {
        optimizer.step(shardGradients, lr);
        if (stage < 3) {
            List<Work> gathers = new ArrayList<>();
            for (ShardLayout.Unit u : layout.units()) {
                gathers.add(communicator.allGather(weightRegion(u), shardWeightPiece(u)));
            }
            gathers.forEach(Work::await);
        }
    }

    // ---------------------------------------------------------------------------- checkpoints

    @Override
    public void save(Path directory) throws IOException {
        int w = communicator.worldSize();
        if (stage < 3 && rank == 0) {
            HfCheckpoint.save(directory, parameters.config(), whole, DType.F32, Long.MAX_VALUE,
                    parameters.configFields());
        }
        if (stage == 3) {
            List<SafetensorsWriter.Item> items = new ArrayList<>();
            for (ParameterSet.Spec s : shardWeights.specs()) {
                items.add(new SafetensorsWriter.Item(s.name(), shardWeights.get(s.name()), DType.F32));
            }
            SafetensorsWriter.write(directory.resolve(modelFile(rank, w)), items,
                    Map.of("format", "janus-zero3-shard", "rank", Integer.toString(rank), "world_size",
                            Integer.toString(w)));
        }
        optimizer.save(directory.resolve(optimizerFile(rank, w)));
    }

    @Override
    public void load(Path directory) throws IOException {
        int w = communicator.worldSize();
        if (stage < 3) {
            try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(directory, parameters.layout())) {
                whole.copyFrom(loaded.parameters());
            }
        } else {
            Path file = directory.resolve(modelFile(rank, w));
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (ParameterSet.Spec s : shardWeights.specs()) {
                    SafetensorsFile.Entry e = f.entry(s.name());
                    if (!Arrays.equals(e.shape(), s.shape())) {
                        throw new InvalidFileException(file, "tensor '" + s.name() + "' is " + Arrays.toString(e.shape())
                                + ", rank " + rank + "'s shard holds " + Arrays.toString(s.shape()));
                    }
                    f.readFloats(s.name(), shardWeights.get(s.name()));
                }
            }
        }
        optimizer.load(directory.resolve(optimizerFile(rank, w)));
    }

    @Override
    public ParameterSet gatherForExport() {
        if (stage < 3) {
            return rank == 0 ? whole : null;
        }
        List<ParameterSet.Spec> specs = layout.specs();
        ParameterSet out = rank == 0 ? ParameterSet.allocate(specs, DType.F32, layout.offsets(), layout.size()) : null;
        for (ShardLayout.Unit u : layout.units()) {
            try (Tensor scratch = rank == 0 ? null : Tensor.allocate(DType.F32, u.size())) {
                Tensor into = rank == 0 ? out.flat().rows(u.offset(), u.size()) : scratch;
                communicator.allGather(into, shardWeightPiece(u)).await();
            }
        }
        return out;
    }

    @Override
    public boolean ownsExport() {
        return stage == 3;
    }

    @Override
    public Memory memory() {
        long weights = stage < 3 ? whole.flat().byteSize() : resident.flat().byteSize() + shardWeights.flat().byteSize();
        long grads = gradients.flat().byteSize() + shardGradients.flat().byteSize();
        for (Tensor t : slotPieces) {
            grads += t.byteSize();
        }
        return new Memory(weights, grads, optimizer.stateBytes());
    }

    @Override
    public void close() {
        optimizer.close();
        gradients.close();
        shardGradients.close();
        for (Tensor t : slotPieces) {
            t.close();
        }
        if (whole != null) {
            whole.close();
        }
        if (resident != null) {
            resident.close();
            shardWeights.close();
        }
    }
}
