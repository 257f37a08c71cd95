package ai.janus.optim;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW with fp32 moments and decoupled weight decay, with the semantics of PyTorch's
 * {@code torch.optim.AdamW} (and libtorch's {@code torch::optim::AdamW}, its test oracle). Step
 * t (from 1), for every element, in this order:
 *
 * <pre>
 * p ← p · (1 − lr·weight_decay)                      decoupled decay, before the update
 * m ← β1·m + (1 − β1)·g
 * v ← β2·v + (1 − β2)·g²
 * p ← p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
 * </pre>
 *
 * Hyper-parameters are combined in double and each coefficient is rounded to float where the
 * element-wise op uses it, as ATen does; the element-wise math is {@link AdamWKernel#update}.
 * With bf16 parameters the decayed and the updated weight are each rounded as {@link Bf16Mode}
 * says; the moments stay fp32 (torch would keep them in the parameter dtype).
 *
 * <p>State: 8 bytes per parameter (m and v), plus 4 with fp32 master weights. A non-finite
 * gradient propagates into m, v and the weight, as in PyTorch; the trainer stops on a
 * non-finite gradient norm before it gets here.
 */
public final class AdamW implements Optimizer {
    static final String TYPE = "adamw";

    /**
     * One step's coefficients, as float where the kernel uses them: {@code decay = 1 − lr·wd},
     * {@code negStepSize = −lr/(1 − β1^t)}, {@code sqrtBiasCorrection2 = sqrt(1 − β2^t)}. Public for the
     * {@link StepKernels} implementations, which take them as they are.
     */
    public record Coefficients(float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                        float sqrtBiasCorrection2, float eps, float negStepSize) {
        /** libtorch's arithmetic: doubles throughout, each coefficient cast to float at its op. */
        public static Coefficients of(AdamWConfig c, double lr, long step) {
            double biasCorrection1 = 1 - Math.pow(c.beta1(), step);
            double biasCorrection2 = 1 - Math.pow(c.beta2(), step);
            return new Coefficients((float) (1 - lr * c.weightDecay()), (float) c.beta1(), (float) (1 - c.beta1()),
                    (float) c.beta2(), (float) (1 - c.beta2()), (float) Math.sqrt(biasCorrection2), (float) c.eps(),
                    (float) -(lr / biasCorrection1));
        }
    }

    private final ParameterStore store;
    private final AdamWConfig config;
    /** fp32 parameters: where each tensor's update runs. */
    private final StepKernels kernels;
    /** bf16 parameters: the pool of the rounding path (null with caller's kernels, which are fp32 only). */
    private final Parallel parallel;
    private final List<Chunk> chunks;
    private ParameterSet m;
    private ParameterSet v;
    private long steps;

    /** AdamW over the whole model's fp32 parameters, stepped on the CPU by {@code parallel}'s threads. */
    public static AdamW fp32(ParameterSet parameters, AdamWConfig config, Parallel parallel) {
        return fp32(parameters, ParameterSlice.whole(parameters.specs()), config, StepKernels.cpu(parallel));
    }

    /**
     * AdamW over a shard of fp32 parameters whose per-tensor updates run on {@code kernels}
     * ({@link StepKernels#cpu}, or the GPU's): tensor i of {@code parameters} is
     * {@code slices.get(i)} of the model (see {@link ParameterSlice}; {@link ParameterSlice#whole}
     * for the whole model), and each element is updated as the whole model's would be. bf16
     * parameters are refused: {@code kernels} step fp32 values only.
     */
    public static AdamW fp32(ParameterSet parameters, List<ParameterSlice> slices, AdamWConfig config,
                             StepKernels kernels) {
        return new AdamW(ParameterStore.fp32(parameters, slices), config, kernels, null);
    }

    /** AdamW over the whole model's bf16 parameters, stored as {@code mode} says, stepped on {@code parallel}. */
    public static AdamW bf16(ParameterSet parameters, Bf16Mode mode, AdamWConfig config, Parallel parallel) {
        return bf16(parameters, ParameterSlice.whole(parameters.specs()), mode, config, parallel);
    }

    /**
     * AdamW over a shard of bf16 parameters (see {@link ParameterSlice}), stored as {@code mode}
     * says, stepped on the CPU by {@code parallel}'s threads (bf16 never goes through
     * {@link StepKernels}).
     */
    public static AdamW bf16(ParameterSet parameters, List<ParameterSlice> slices, Bf16Mode mode, AdamWConfig config,
                             Parallel parallel) {
        // the CPU kernels are not used by a bf16 store; building them checks parallel as before
        return new AdamW(ParameterStore.bf16(parameters, slices, mode), config, StepKernels.cpu(parallel), parallel);
    }

    /**
     * The one constructor, behind the factories: {@code kernels} step an fp32 store,
     * {@code parallel} a bf16 one (null with an fp32 store).
     */
    private AdamW(ParameterStore store, AdamWConfig config, StepKernels kernels, Parallel parallel) {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            store.close();
            throw new IllegalStateException("AdamW needs the Vector API: start the JVM with "
                    + "--add-modules jdk.incubator.vector");
        }
        this.store = store;
        this.config = config;
        this.kernels = kernels;
        this.parallel = parallel;
        this.chunks = store.chunks();
        this.m = ParameterSet.allocate(store.specs());
        this.v = ParameterSet.allocate(store.specs());
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
                String name = specs.get(i).name();
                kernels.adamw(store.values(i), gradients.get(name), m.get(name), v.get(name), k);
            }
        } else {
            parallel.forRange(chunks.size(), 1, (from, to) -> {
                Scratch s = new Scratch();
                for (long i = from; i < to; i++) {
                    Chunk c = chunks.get((int) i);
                    String name = specs.get(c.tensor()).name();
                    stepChunk(store, c, gradients.get(name), m.get(name), v.get(name), k, t, s);
                }
            });
        }
        steps = t;
    }

    /** Heap copies of one chunk, one set per thread. */
    static final class Scratch {
        final float[] p = new float[Chunk.ELEMENTS];
        final float[] g = new float[Chunk.ELEMENTS];
        final float[] m = new float[Chunk.ELEMENTS];
        final float[] v = new float[Chunk.ELEMENTS];
    }

    /**
     * One step of chunk {@code c} of {@code store}'s values, whose gradient and moments are
     * {@code g}, {@code m}, {@code v} (views of the chunk's tensor): the decay, then the update,
     * each rounded as the store says (step {@code t} seeds stochastic rounding).
     */
    static void stepChunk(ParameterStore store, Chunk c, Tensor g, Tensor m, Tensor v, Coefficients k, long t,
                          Scratch s) {
        int n = c.length();
        store.read(c, s.p);
        OffHeap.get(g, c.start(), s.g, n);
        OffHeap.get(m, c.start(), s.m, n);
        OffHeap.get(v, c.start(), s.v, n);
        if (k.decay() != 1f) {
            AdamWKernel.scale(s.p, n, k.decay());
            store.roundAll(s.p, c, t, ParameterStore.ROUND_DECAY);
        }
        AdamWKernel.update(s.p, s.g, s.m, s.v, n, k);
        store.roundAll(s.p, c, t, ParameterStore.ROUND_UPDATE);
        store.write(c, s.p);
        OffHeap.put(m, c.start(), s.m, n);
        OffHeap.put(v, c.start(), s.v, n);
    }

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public long stateBytes() {
        long bytes = m.flat().byteSize() + v.flat().byteSize();
        return store.master() == null ? bytes : bytes + store.master().flat().byteSize();
    }

    public AdamWConfig config() {
        return config;
    }

    @Override
    public void save(Path file) throws IOException {
        OptimizerStateFile.write(file, OptimizerStateFile.identity(TYPE, config, store), steps,
                stateTensors(m, v, store.master()));
    }

    @Override
    public void load(Path file) throws IOException {
        List<ParameterSet.Spec> specs = store.specs();
        ParameterSet newM = ParameterSet.allocate(specs), newV = ParameterSet.allocate(specs);
        ParameterSet newMaster = store.master() == null ? null : ParameterSet.allocate(specs);
        long loadedSteps;
        try {
            loadedSteps = OptimizerStateFile.read(file, OptimizerStateFile.identity(TYPE, config, store),
                    stateTensors(newM, newV, newMaster));
        } catch (IOException | RuntimeException e) {
            newM.close();
            newV.close();
            if (newMaster != null) {
                newMaster.close();
            }
            throw e;
        }
        m.close();
        v.close();
        m = newM;
        v = newV;
        if (newMaster != null) {
            try (newMaster) {
                copyTensors(newMaster, store.master());
            }
            store.refreshMirrors();
        }
        steps = loadedSteps;
    }

    /** The file's tensors in parameter order: NAME.m, NAME.v (and NAME.master). */
    private Map<String, Tensor> stateTensors(ParameterSet moments1, ParameterSet moments2, ParameterSet master) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ParameterSet.Spec s : store.specs()) {
            out.put(s.name() + ".m", moments1.get(s.name()));
            out.put(s.name() + ".v", moments2.get(s.name()));
            if (master != null) {
                out.put(s.name() + ".master", master.get(s.name()));
            }
        }
        return out;
    }

    /** Tensor by tensor: one tensor's Java view is limited to 2 GiB, a whole set is not. */
    static void copyTensors(ParameterSet from, ParameterSet to) {
        for (ParameterSet.Spec s : from.specs()) {
            to.get(s.name()).bytes().put(from.get(s.name()).bytes());
        }
    }

    /** A state tensor by its name in the state file (NAME.m, NAME.state1, NAME.absmax2, ...); for tests. */
    Tensor stateTensor(String fileName) {
        Tensor t = stateTensors(m, v, store.master()).get(fileName);
        if (t == null) {
            throw new IllegalArgumentException("no state tensor " + fileName);
        }
        return t;
    }

    @Override
    public void close() {
        m.close();
        v.close();
        store.close();
    }
}
