package ai.janus.optim;

import ai.janus.model.ParameterSet;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Where an optimizer reads and writes parameter values, and how it rounds an updated value to
 * the parameters' precision. Four kinds: fp32 parameters; bf16 parameters rounded to nearest
 * even, or stochastically; bf16 parameters that mirror fp32 master weights owned here.
 *
 * <p>The update math runs in float on heap copies of a chunk: {@link #read} widens (bf16 → float
 * is exact), the optimizer computes and calls {@link #round} after each operation whose result
 * the parameter dtype would round (PyTorch and bitsandbytes round every in-place op on a bf16
 * tensor), and {@link #write} stores the values, which are then exactly representable.
 */
final class ParameterStore implements AutoCloseable {
    /** Stochastic rounding salts: the roundings within one step draw independent bits. */
    static final int ROUND_UPDATE = 0;
    static final int ROUND_DECAY = 1;

    private final Bf16Mode.Kind bf16;
    private final long seed;
    private final List<ParameterSet.Spec> specs;
    private final List<ParameterSlice> slices;
    /** What the update reads and writes: the fp32 parameters, the bf16 parameters, or the master copy. */
    private final Tensor[] values;
    /** With master weights only: the bf16 parameters, kept equal to the master rounded to nearest even. */
    private final Tensor[] mirrors;
    private final ParameterSet master;

    private ParameterStore(Bf16Mode.Kind bf16, long seed, List<ParameterSet.Spec> specs, List<ParameterSlice> slices,
                           Tensor[] values, Tensor[] mirrors, ParameterSet master) {
        ParameterSlice.check(specs, slices);
        this.bf16 = bf16;
        this.seed = seed;
        this.specs = specs;
        this.slices = List.copyOf(slices);
        this.values = values;
        this.mirrors = mirrors;
        this.master = master;
    }

    static ParameterStore fp32(ParameterSet parameters, List<ParameterSlice> slices) {
        requireDType(parameters, ai.janus.tensor.DType.F32);
        List<ParameterSet.Spec> specs = parameters.specs();
        Tensor[] values = specs.stream().map(s -> parameters.get(s.name())).toArray(Tensor[]::new);
        return new ParameterStore(null, 0, specs, slices, values, null, null);
    }

    static ParameterStore bf16(ParameterSet parameters, List<ParameterSlice> slices, Bf16Mode mode) {
        requireDType(parameters, ai.janus.tensor.DType.BF16);
        List<ParameterSet.Spec> specs = parameters.specs();
        Tensor[] bf16 = specs.stream().map(s -> parameters.get(s.name())).toArray(Tensor[]::new);
        if (mode.kind() != Bf16Mode.Kind.FP32_MASTER) {
            return new ParameterStore(mode.kind(), mode.seed(), specs, slices, bf16, null, null);
        }
        ParameterSet master = ParameterSet.allocate(specs);
        master.copyFrom(parameters);
        Tensor[] values = specs.stream().map(s -> master.get(s.name())).toArray(Tensor[]::new);
        return new ParameterStore(mode.kind(), 0, specs, slices, values, bf16, master);
    }

    /**
     * A store over one fp32 tensor (whole, from element 0): what the CPU {@link StepKernels} step
     * chunk by chunk with the optimizers' own chunk code.
     */
    static ParameterStore ofTensor(Tensor p) {
        if (p.dtype() != ai.janus.tensor.DType.F32) {
            throw new IllegalArgumentException("p: expected an F32 tensor, got " + p);
        }
        List<ParameterSet.Spec> specs = List.of(new ParameterSet.Spec("p", p.shape()));
        return new ParameterStore(null, 0, specs, ParameterSlice.whole(specs), new Tensor[] {p}, null, null);
    }

    private static void requireDType(ParameterSet parameters, ai.janus.tensor.DType dtype) {
        if (parameters.dtype() != dtype) {
            throw new IllegalArgumentException("expected " + dtype + " parameters, got " + parameters.dtype());
        }
    }

    /** The name recorded in optimizer state files. */
    String label() {
        if (bf16 == null) {
            return "fp32";
        }
        return switch (bf16) {
            case NEAREST_EVEN -> "bf16-nearest-even";
            case STOCHASTIC -> "bf16-stochastic";
            case FP32_MASTER -> "bf16-fp32-master";
        };
    }

    long seed() {
        return seed;
    }

    List<ParameterSet.Spec> specs() {
        return specs;
    }

    /** Where each tensor lies in the whole model ({@link ParameterSlice#whole} unless a shard). */
    List<ParameterSlice> slices() {
        return slices;
    }

    /** The chunks of the optimizer's work, with model-wide element indexes. */
    List<Chunk> chunks() {
        return Chunk.split(specs, slices);
    }

    /** True for fp32 parameters: the values are the parameters, no rounding (what {@link StepKernels} step). */
    boolean isFp32() {
        return bf16 == null;
    }

    /** The values of tensor {@code i}: what the update reads and writes. */
    Tensor values(int i) {
        return values[i];
    }

    /** The fp32 master weights, or null when the parameters are their own master. */
    ParameterSet master() {
        return master;
    }

    /** After the master weights were replaced (state load), makes the bf16 parameters mirror them again. */
    void refreshMirrors() {
        if (master == null) {
            return;
        }
        float[] x = new float[Chunk.ELEMENTS];
        for (Chunk c : chunks()) {
            read(c, x);
            write(c, x);
        }
    }

    /** The values of chunk {@code c}, widened to float, into {@code dst[0, c.length)}. */
    void read(Chunk c, float[] dst) {
        Tensor t = values[c.tensor()];
        if (mirrors != null || bf16 == null) {
            OffHeap.get(t, c.start(), dst, c.length());
            return;
        }
        short[] bits = new short[c.length()];
        OffHeap.get(t, c.start(), bits, c.length());
        for (int i = 0; i < bits.length; i++) {
            dst[i] = HalfFloats.bf16ToFloat(bits[i]);
        }
    }

    /** Stores {@code src[0, c.length)}, already rounded by {@link #round}, as chunk {@code c}. */
    void write(Chunk c, float[] src) {
        if (bf16 == null) {
            OffHeap.put(values[c.tensor()], c.start(), src, c.length());
            return;
        }
        short[] bits = new short[c.length()];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = HalfFloats.floatToBf16(src[i]); // exact for rounded values; nearest even from the master
        }
        if (mirrors != null) {
            OffHeap.put(values[c.tensor()], c.start(), src, c.length());
            OffHeap.put(mirrors[c.tensor()], c.start(), bits, c.length());
        } else {
            OffHeap.put(values[c.tensor()], c.start(), bits, c.length());
        }
    }

    /** True when {@link #round} is the identity (fp32 values: fp32 parameters or master weights). */
    boolean roundsToFloat() {
        return bf16 == null || bf16 == Bf16Mode.Kind.FP32_MASTER;
    }

    /**
     * {@code x} rounded to the parameters' precision: unchanged for fp32 values, nearest even or
     * stochastic for bf16. {@code flatIndex}, {@code step} and {@code salt} pick the random bits.
     */
    float round(float x, long flatIndex, long step, int salt) {
        if (roundsToFloat()) {
            return x;
        }
        if (bf16 == Bf16Mode.Kind.NEAREST_EVEN) {
            return HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x));
        }
        return roundStochastic(x, randomBits(streamKey(step, salt), flatIndex));
    }

    /** {@link #round} over {@code x[0, c.length)}, the values of chunk {@code c}. */
    void roundAll(float[] x, Chunk c, long step, int salt) {
        if (roundsToFloat()) {
            return;
        }
        if (bf16 == Bf16Mode.Kind.NEAREST_EVEN) {
            for (int i = 0; i < c.length(); i++) {
                x[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x[i]));
            }
            return;
        }
        long key = streamKey(step, salt);
        for (int i = 0; i < c.length(); i++) {
            x[i] = roundStochastic(x[i], randomBits(key, c.flatStart() + i));
        }
    }

    private long streamKey(long step, int salt) {
        return mix64(seed ^ mix64(step * 2 + salt));
    }

    /** 16 random bits for one element: a counter-based hash, so no state and no thread dependence. */
    static int randomBits(long streamKey, long flatIndex) {
        return (int) (mix64(streamKey + flatIndex * 0x9E3779B97F4A7C15L) >>> 48);
    }

    /**
     * Stochastic rounding to bf16: adding 16 uniform random bits to the low half of the float's
     * bits and truncating rounds the magnitude up with probability (dropped bits) / 2^16, so the
     * expected result is x. A bf16-exact x (low half zero) is unchanged. Infinity and NaN round
     * to nearest even (the addition could turn infinity into NaN).
     */
    static float roundStochastic(float x, int random16) {
        int bits = Float.floatToRawIntBits(x);
        if ((bits & 0x7f800000) == 0x7f800000) {
            return HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x));
        }
        return Float.intBitsToFloat((bits + random16) & 0xffff0000);
    }

    /** SplitMix64's finaliser: a bijective 64-bit mix with good avalanche. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** Gradients must be an fp32 set with exactly the parameters' names and shapes, in order. */
    void requireGradients(ParameterSet gradients) {
        requireSameSpecs("gradients", specs, gradients.specs());
    }

    static void requireSameSpecs(String what, List<ParameterSet.Spec> expected, List<ParameterSet.Spec> actual) {
        if (expected.size() != actual.size()) {
            throw new IllegalArgumentException(what + " have " + actual.size() + " tensors, the parameters have "
                    + expected.size());
        }
        for (int i = 0; i < expected.size(); i++) {
            ParameterSet.Spec e = expected.get(i), a = actual.get(i);
            if (!e.name().equals(a.name()) || !Arrays.equals(e.shape(), a.shape())) {
                throw new IllegalArgumentException(what + " tensor " + i + " is " + a + ", the parameter is " + e);
            }
        }
    }

    /** Frees the master weights, if any; the parameters belong to the caller. */
    @Override
    public void close() {
        if (master != null) {
            master.close();
        }
    }
}
