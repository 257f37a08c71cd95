package ai.janus.optim;

import static ai.janus.optim.QuantizationMaps.SIGNED;
import static ai.janus.optim.QuantizationMaps.SIGNED_ZERO_CODE;
import static ai.janus.optim.QuantizationMaps.UNSIGNED;
import static ai.janus.optim.QuantizationMaps.UNSIGNED_ZERO_CODE;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Blockwise 8-bit AdamW with the semantics of bitsandbytes 0.43's {@code adamw_bnb_8bit}, exactly
 * as written in the spec (docs/spec/adamw8bit.md), every operation in float32 in the spec's order.
 *
 * <p>State per parameter tensor of n elements, in flat element order:
 * <ul>
 *   <li>n ≥ {@value #MIN_8BIT_NUMEL}: m and v as uint8 codes ({@code state1} into the signed map,
 *       {@code state2} into the unsigned map of {@link QuantizationMaps}) with one fp32 scale per
 *       block of {@value #BLOCK_SIZE} elements ({@code absmax1}, {@code absmax2}; the last block
 *       may be partial): 2n + 8·ceil(n/2048) bytes. Codes 0 with scale 0 are moments of exactly
 *       0, so zeroed memory is the initial state.</li>
 *   <li>n &lt; {@value #MIN_8BIT_NUMEL} (strictly): fp32 m and v, 8n bytes, updated by the same
 *       per-element formula without quantization ({@link #fp32StateUpdate}).</li>
 * </ul>
 *
 * <p>A non-finite gradient element resets that element's moments to 0 and leaves its weight
 * unchanged. Weight decay is applied after the update, {@code p ← p·(1 − lr·wd)}, only when
 * wd &gt; 0. With bf16 parameters the updated and the decayed weight are each rounded as
 * {@link Bf16Mode} says (nearest even is bitsandbytes' behaviour).
 */
public final class AdamW8bit implements Optimizer {
    /** Elements per quantization block. */
    public static final int BLOCK_SIZE = 2048;
    /** Tensors with fewer elements than this keep fp32 moments. */
    public static final long MIN_8BIT_NUMEL = 4096;
    static final String TYPE = "adamw8bit";

    static {
        if (Chunk.ELEMENTS % BLOCK_SIZE != 0) {
            throw new IllegalStateException("optimizer chunks must hold whole 8-bit blocks");
        }
    }

    /**
     * One step's float32 coefficients (spec: {@code c1 = 1 − β1^t}, {@code c2 = sqrt(1 − β2^t)},
     * {@code stepSize = −lr·c2/c1}); {@code c2eps = c2·eps}; {@code decay = 1 − lr·wd}, applied
     * only when {@code decays} (wd &gt; 0). β^t is Math.pow on the float β rounded to float. Public for
     * the {@link StepKernels} implementations, which take them as they are.
     */
    public record Coefficients(float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float stepSize,
                        float c2eps, float decay, boolean decays) {
        public static Coefficients of(AdamWConfig c, double lr, long step) {
            float b1 = (float) c.beta1(), b2 = (float) c.beta2(), eps = (float) c.eps();
            float rate = (float) lr, wd = (float) c.weightDecay();
            float c1 = 1f - (float) Math.pow(b1, step);
            float c2 = (float) Math.sqrt(1f - (float) Math.pow(b2, step));
            float stepSize = -rate * c2 / c1;
            return new Coefficients(b1, 1f - b1, b2, 1f - b2, stepSize, c2 * eps, 1f - rate * wd, wd > 0f);
        }
    }

    /** One parameter tensor's moments. */
    sealed interface Moments permits Fp32Moments, BlockwiseMoments {
        /** The state tensors under their file names (NAME.m / NAME.state1 ...), in file order. */
        void putTensors(String name, Map<String, Tensor> into);

        long bytes();

        void close();
    }

    /** m, v: F32 with the parameter's shape. */
    record Fp32Moments(Tensor m, Tensor v) implements Moments {
        public void putTensors(String name, Map<String, Tensor> into) {
            into.put(name + ".m", m);
            into.put(name + ".v", v);
        }

        public long bytes() {
            return m.byteSize() + v.byteSize();
        }

        public void close() {
            m.close();
            v.close();
        }
    }

    /** state1, state2: U8 codes with the parameter's shape; absmax1, absmax2: F32 [blocks]. */
    record BlockwiseMoments(Tensor state1, Tensor state2, Tensor absmax1, Tensor absmax2) implements Moments {
        public void putTensors(String name, Map<String, Tensor> into) {
            into.put(name + ".state1", state1);
            into.put(name + ".state2", state2);
            into.put(name + ".absmax1", absmax1);
            into.put(name + ".absmax2", absmax2);
        }

        public long bytes() {
            return state1.byteSize() + state2.byteSize() + absmax1.byteSize() + absmax2.byteSize();
        }

        public void close() {
            state1.close();
            state2.close();
            absmax1.close();
            absmax2.close();
        }
    }

    /** Per-thread heap copies of one chunk. */
    static final class Scratch {
        final float[] p = new float[Chunk.ELEMENTS];
        final float[] g = new float[Chunk.ELEMENTS];
        final float[] s1 = new float[Chunk.ELEMENTS];
        final float[] s2 = new float[Chunk.ELEMENTS];
        final byte[] code1 = new byte[Chunk.ELEMENTS];
        final byte[] code2 = new byte[Chunk.ELEMENTS];
        final float[] absmax1 = new float[Chunk.ELEMENTS / BLOCK_SIZE];
        final float[] absmax2 = new float[Chunk.ELEMENTS / BLOCK_SIZE];
    }

    private final ParameterStore store;
    private final AdamWConfig config;
    /** fp32 parameters: where each tensor's update runs. */
    private final StepKernels kernels;
    /** bf16 parameters: the pool of the rounding path (null with caller's kernels, which are fp32 only). */
    private final Parallel parallel;
    private final List<Chunk> chunks;
    private List<Moments> moments;
    private long steps;

    /** 8-bit AdamW over the whole model's fp32 parameters, stepped on the CPU by {@code parallel}'s threads. */
    public static AdamW8bit fp32(ParameterSet parameters, AdamWConfig config, Parallel parallel) {
        return fp32(parameters, ParameterSlice.whole(parameters.specs()), config, StepKernels.cpu(parallel));
    }

    /**
     * 8-bit AdamW over a shard of fp32 parameters whose per-tensor updates run on {@code kernels}
     * ({@link StepKernels#cpu}, or the GPU's): tensor i of {@code parameters} is
     * {@code slices.get(i)} of the model (see {@link ParameterSlice}; {@link ParameterSlice#whole}
     * for the whole model), and each element is updated as the whole model's would be (a tensor
     * has 8-bit state by its model tensor's size). bf16 parameters are refused: {@code kernels}
     * step fp32 values only.
     */
    public static AdamW8bit fp32(ParameterSet parameters, List<ParameterSlice> slices, AdamWConfig config,
                                 StepKernels kernels) {
        return new AdamW8bit(ParameterStore.fp32(parameters, slices), config, kernels, null);
    }

    /** 8-bit AdamW over the whole model's bf16 parameters, stored as {@code mode} says, stepped on {@code parallel}. */
    public static AdamW8bit bf16(ParameterSet parameters, Bf16Mode mode, AdamWConfig config, Parallel parallel) {
        return bf16(parameters, ParameterSlice.whole(parameters.specs()), mode, config, parallel);
    }

    /**
     * 8-bit AdamW over a shard of bf16 parameters (see {@link ParameterSlice}), stored as
     * {@code mode} says, stepped on the CPU by {@code parallel}'s threads (bf16 never goes through
     * {@link StepKernels}).
     */
    public static AdamW8bit bf16(ParameterSet parameters, List<ParameterSlice> slices, Bf16Mode mode,
                                 AdamWConfig config, Parallel parallel) {
        // the CPU kernels are not used by a bf16 store; building them checks parallel as before
        return new AdamW8bit(ParameterStore.bf16(parameters, slices, mode), config, StepKernels.cpu(parallel),
                parallel);
    }

    /**
     * The one constructor, behind the factories: {@code kernels} step an fp32 store,
     * {@code parallel} a bf16 one (null with an fp32 store).
     */
    private AdamW8bit(ParameterStore store, AdamWConfig config, StepKernels kernels, Parallel parallel) {
        this.store = store;
        this.config = config;
        this.kernels = kernels;
        this.parallel = parallel;
        this.chunks = store.chunks();
        this.moments = allocateMoments(store.specs(), store.slices());
    }

    /** Per tensor: 8-bit state when its model tensor has at least 4096 elements (a slice then starts on a block). */
    private static List<Moments> allocateMoments(List<ParameterSet.Spec> specs, List<ParameterSlice> slices) {
        List<Moments> out = new ArrayList<>(specs.size());
        for (int i = 0; i < specs.size(); i++) {
            ParameterSet.Spec s = specs.get(i);
            long n = s.numel();
            if (isEightBit(slices.get(i).tensorNumel())) {
                if (slices.get(i).start() % BLOCK_SIZE != 0) {
                    throw new IllegalArgumentException(s.name() + " starts at element " + slices.get(i).start()
                            + " of its tensor, not on an 8-bit block of " + BLOCK_SIZE);
                }
                long blocks = blocks(n);
                out.add(new BlockwiseMoments(Tensor.allocate(DType.U8, s.shape()), Tensor.allocate(DType.U8, s.shape()),
                        Tensor.allocate(DType.F32, blocks), Tensor.allocate(DType.F32, blocks)));
            } else {
                out.add(new Fp32Moments(Tensor.allocate(DType.F32, s.shape()), Tensor.allocate(DType.F32, s.shape())));
            }
        }
        return out;
    }

    /** Whether a tensor of {@code numel} elements gets 8-bit state (the spec's strict "< 4096 keeps fp32"). */
    public static boolean isEightBit(long numel) {
        return numel >= MIN_8BIT_NUMEL;
    }

    /** Blocks of a tensor of {@code numel} elements: ceil(numel / 2048). */
    public static long blocks(long numel) {
        return (numel + BLOCK_SIZE - 1) / BLOCK_SIZE;
    }

    @Override
    public void step(ParameterSet gradients, double lr) {
        store.requireGradients(gradients);
        AdamWConfig.requireLearningRate(lr);
        long t = steps + 1;
        Coefficients k = Coefficients.of(config, lr, t);
        List<ParameterSet.Spec> specs = store.specs();
        if (store.isFp32()) {
            for (int i = 0; i < specs.size(); i++) {
                Tensor p = store.values(i), g = gradients.get(specs.get(i).name());
                Moments state = moments.get(i);
                if (state instanceof BlockwiseMoments b) {
                    kernels.adamw8bit(p, g, b.state1(), b.state2(), b.absmax1(), b.absmax2(), k);
                } else if (state instanceof Fp32Moments f) {
                    kernels.adamw8bitFp32State(p, g, f.m(), f.v(), k);
                }
            }
        } else {
            parallel.forRange(chunks.size(), 1, (from, to) -> {
                Scratch s = new Scratch();
                for (long i = from; i < to; i++) {
                    Chunk c = chunks.get((int) i);
                    stepChunk(store, c, gradients.get(specs.get(c.tensor()).name()), moments.get(c.tensor()), k, t, s);
                }
            });
        }
        steps = t;
    }

    /**
     * One step of chunk {@code c} of {@code store}'s values, whose gradient is {@code g} (a view
     * of the chunk's tensor) and whose tensor's moments are {@code state}: block by block
     * ({@link #blockUpdate}) or element by element ({@link #fp32StateUpdate}), each weight
     * rounded as the store says (step {@code t} seeds stochastic rounding).
     */
    static void stepChunk(ParameterStore store, Chunk c, Tensor g, Moments state, Coefficients k, long t,
                          Scratch s) {
        int n = c.length();
        store.read(c, s.p);
        OffHeap.get(g, c.start(), s.g, n);
        if (state instanceof BlockwiseMoments b) {
            long firstBlock = c.start() / BLOCK_SIZE;
            int blocks = (int) blocks(n);
            OffHeap.get(b.state1(), c.start(), s.code1, n);
            OffHeap.get(b.state2(), c.start(), s.code2, n);
            OffHeap.get(b.absmax1(), firstBlock, s.absmax1, blocks);
            OffHeap.get(b.absmax2(), firstBlock, s.absmax2, blocks);
            for (int block = 0; block < blocks; block++) {
                int off = block * BLOCK_SIZE;
                blockUpdate(s.p, s.g, s.code1, s.code2, s.absmax1, s.absmax2, block, off, Math.min(BLOCK_SIZE, n - off),
                        k, s.s1, s.s2, store, c.flatStart(), t);
            }
            OffHeap.put(b.state1(), c.start(), s.code1, n);
            OffHeap.put(b.state2(), c.start(), s.code2, n);
            OffHeap.put(b.absmax1(), firstBlock, s.absmax1, blocks);
            OffHeap.put(b.absmax2(), firstBlock, s.absmax2, blocks);
        } else if (state instanceof Fp32Moments f) {
            OffHeap.get(f.m(), c.start(), s.s1, n);
            OffHeap.get(f.v(), c.start(), s.s2, n);
            fp32StateUpdate(s.p, s.g, s.s1, s.s2, n, k, store, c.flatStart(), t);
            OffHeap.put(f.m(), c.start(), s.s1, n);
            OffHeap.put(f.v(), c.start(), s.s2, n);
        }
        store.write(c, s.p);
    }

    /**
     * One 8-bit AdamW step of block {@code block}: elements {@code [off, off + n)} of the chunk
     * arrays, whose scales are {@code absmax1[block]}, {@code absmax2[block]}. Updates p, the
     * codes and the scales in place; {@code s1}, {@code s2} are scratch for the dequantized
     * moments. Element j of the chunk is flat parameter element {@code flat0 + j}.
     */
    static void blockUpdate(float[] p, float[] g, byte[] code1, byte[] code2, float[] absmax1, float[] absmax2,
                            int block, int off, int n, Coefficients k, float[] s1, float[] s2,
                            ParameterStore store, long flat0, long step) {
        int end = off + n;
        float scale1 = absmax1[block], scale2 = absmax2[block];
        // Dequantize and update the moments; a non-finite gradient resets the element's moments.
        float new1 = 0f, new2 = 0f;
        for (int j = off; j < end; j++) {
            float gj = g[j];
            if (Float.isFinite(gj)) {
                float m = SIGNED[code1[j] & 0xff] * scale1;
                s1[j] = k.beta1() * m + k.oneMinusBeta1() * gj;
                float v = UNSIGNED[code2[j] & 0xff] * scale2;
                s2[j] = k.beta2() * v + k.oneMinusBeta2() * (gj * gj);
            } else {
                s1[j] = 0f;
                s2[j] = 0f;
            }
            // max as a comparison: a NaN moment (only after an overflow) never becomes the scale
            float a = Math.abs(s1[j]);
            if (a > new1) {
                new1 = a;
            }
            if (s2[j] > new2) {
                new2 = s2[j];
            }
        }
        absmax1[block] = new1;
        absmax2[block] = new2;
        // The weight, from the unquantized new moments; decay after the update (bitsandbytes' order).
        for (int j = off; j < end; j++) {
            if (Float.isFinite(g[j])) {
                float x = store.round(p[j] + k.stepSize() * s1[j] / ((float) Math.sqrt(s2[j]) + k.c2eps()),
                        flat0 + j, step, ParameterStore.ROUND_UPDATE);
                if (k.decays()) {
                    x = store.round(x * k.decay(), flat0 + j, step, ParameterStore.ROUND_DECAY);
                }
                p[j] = x;
            }
        }
        // Requantize against the new scales (the spec's search, by table); an all-zero block keeps the codes of 0.
        for (int j = off; j < end; j++) {
            code1[j] = (byte) (new1 == 0f ? SIGNED_ZERO_CODE : signedCode(s1[j] / new1, s1[j]));
            code2[j] = (byte) (new2 == 0f ? UNSIGNED_ZERO_CODE : QuantizerTable.UNSIGNED.quantize(s2[j] / new2));
        }
    }

    /**
     * The signed code of a first moment: the quantizer's code, moved one step towards the
     * moment's side when the code's value has the other sign (the spec's sign fix: the search
     * can land on a code of the wrong sign next to 0). sign(±0) = 0 on both sides.
     */
    static int signedCode(float normalised, float moment) {
        int code = QuantizerTable.SIGNED.quantize(normalised);
        if (Math.signum(SIGNED[code]) != Math.signum(moment)) {
            code += moment > 0 ? 1 : -1;
        }
        return code;
    }

    /**
     * The step of a tensor with fewer than {@value #MIN_8BIT_NUMEL} elements: the per-element
     * formula of {@link #blockUpdate} with m and v kept in fp32 (bitsandbytes' 32-bit kernel),
     * over {@code [0, n)}; the same non-finite-gradient rule.
     */
    static void fp32StateUpdate(float[] p, float[] g, float[] m, float[] v, int n, Coefficients k,
                                ParameterStore store, long flat0, long step) {
        for (int j = 0; j < n; j++) {
            float gj = g[j];
            if (!Float.isFinite(gj)) {
                m[j] = 0f;
                v[j] = 0f;
                continue;
            }
            m[j] = k.beta1() * m[j] + k.oneMinusBeta1() * gj;
            v[j] = k.beta2() * v[j] + k.oneMinusBeta2() * (gj * gj);
            float x = store.round(p[j] + k.stepSize() * m[j] / ((float) Math.sqrt(v[j]) + k.c2eps()),
                    flat0 + j, step, ParameterStore.ROUND_UPDATE);
            if (k.decays()) {
                x = store.round(x * k.decay(), flat0 + j, step, ParameterStore.ROUND_DECAY);
            }
            p[j] = x;
        }
    }

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public long stateBytes() {
        long bytes = store.master() == null ? 0 : store.master().flat().byteSize();
        for (Moments m : moments) {
            bytes += m.bytes();
        }
        return bytes;
    }

    /** Bytes of state of one parameter tensor (moments only, master weights excluded). */
    public long stateBytes(String name) {
        List<ParameterSet.Spec> specs = store.specs();
        for (int i = 0; i < specs.size(); i++) {
            if (specs.get(i).name().equals(name)) {
                return moments.get(i).bytes();
            }
        }
        throw new IllegalArgumentException("no parameter named " + name);
    }

    public AdamWConfig config() {
        return config;
    }

    @Override
    public void save(Path file) throws IOException {
        OptimizerStateFile.write(file, identity(), steps, stateTensors(moments, store.master()));
    }

    @Override
    public void load(Path file) throws IOException {
        List<Moments> loaded = allocateMoments(store.specs(), store.slices());
        ParameterSet newMaster = store.master() == null ? null : ParameterSet.allocate(store.specs());
        long loadedSteps;
        try {
            loadedSteps = OptimizerStateFile.read(file, identity(), stateTensors(loaded, newMaster));
        } catch (IOException | RuntimeException e) {
            loaded.forEach(Moments::close);
            if (newMaster != null) {
                newMaster.close();
            }
            throw e;
        }
        moments.forEach(Moments::close);
        moments = loaded;
        if (newMaster != null) {
            try (newMaster) {
                AdamW.copyTensors(newMaster, store.master());
            }
            store.refreshMirrors();
        }
        steps = loadedSteps;
    }

    private Map<String, String> identity() {
        Map<String, String> id = OptimizerStateFile.identity(TYPE, config, store);
        id.put("block_size", Integer.toString(BLOCK_SIZE));
        id.put("min_8bit_numel", Long.toString(MIN_8BIT_NUMEL));
        return id;
    }

    private Map<String, Tensor> stateTensors(List<Moments> state, ParameterSet master) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<ParameterSet.Spec> specs = store.specs();
        for (int i = 0; i < specs.size(); i++) {
            String name = specs.get(i).name();
            state.get(i).putTensors(name, out);
            if (master != null) {
                out.put(name + ".master", master.get(name));
            }
        }
        return out;
    }

    /** A state tensor by its name in the state file (NAME.m, NAME.state1, NAME.absmax2, ...); for tests. */
    Tensor stateTensor(String fileName) {
        Tensor t = stateTensors(moments, store.master()).get(fileName);
        if (t == null) {
            throw new IllegalArgumentException("no state tensor " + fileName);
        }
        return t;
    }

    @Override
    public void close() {
        moments.forEach(Moments::close);
        store.close();
    }
}
