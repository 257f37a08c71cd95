package ai.janus.model;

import ai.janus.tensor.DType;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Tensor;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named tensors of one dtype (F32, or BF16 for bf16 weights) laid out back to back in one flat
 * allocation, in the order of their specs. Parameters, gradients and optimizer moments all use
 * this type with the same specs, so the i-th element of one flat buffer always corresponds to the
 * i-th element of another.
 *
 * <p>Sharded training (ai.janus.train.dist) places tensors at explicit element offsets instead
 * ({@link #allocate(List, DType, long[], long)}): padded so that shards fall on 8-bit optimizer
 * blocks, or with every decoder layer mapped onto one of two shared slots (ZeRO-2/3 gradients,
 * ZeRO-3 weights). Such a set is read and written through its named views only; {@link #flat()}
 * then includes the padding, and with shared slots a tensor's view shows whichever layer was
 * last placed there. {@link #view} makes a set over memory another owns (a shard of a flat buffer).
 */
public final class ParameterSet implements AutoCloseable {
    /** A parameter's name and shape. */
    public record Spec(String name, long[] shape) {
        public Spec {
            shape = shape.clone();
        }

        public long numel() {
            return Tensor.numel(shape);
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape);
        }
    }

    private final List<Spec> specs;
    private final DType dtype;
    private final Tensor flat;
    private final long[] offsets;
    private final Map<String, Tensor> views;

    private ParameterSet(List<Spec> specs, DType dtype) {
        this(specs, dtype, java.util.Arrays.copyOf(packedOffsets(specs), specs.size()), null, -1);
    }

    /**
     * Tensor i at element {@code offsets[i]} of {@code flat} when given (a view, not owned), else
     * of a new zero-filled allocation of {@code size} elements.
     */
    private ParameterSet(List<Spec> specs, DType dtype, long[] offsets, Tensor flat, long size) {
        if (dtype != DType.F32 && dtype != DType.BF16) {
            throw new IllegalArgumentException("parameters are F32 or BF16, not " + dtype);
        }
        if (offsets.length != specs.size()) {
            throw new IllegalArgumentException(offsets.length + " offsets for " + specs.size() + " parameters");
        }
        long total = flat != null ? flat.numel() : size >= 0 ? size : packedOffsets(specs)[specs.size()];
        for (int i = 0; i < specs.size(); i++) {
            if (offsets[i] < 0 || offsets[i] + specs.get(i).numel() > total) {
                throw new IllegalArgumentException(specs.get(i) + " at element " + offsets[i] + " does not fit "
                        + total + " elements");
            }
        }
        if (flat != null && flat.dtype() != dtype) {
            throw new IllegalArgumentException("a " + dtype + " set over a " + flat + " buffer");
        }
        this.specs = List.copyOf(specs);
        this.dtype = dtype;
        this.offsets = java.util.Arrays.copyOf(offsets, specs.size());
        this.flat = flat != null ? flat.reshape(total) : Tensor.allocate(dtype, total);
        Map<String, Tensor> byName = new LinkedHashMap<>();
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            Tensor view = Tensor.view(this.flat.storage(), this.flat.byteOffset() + offsets[i] * dtype.byteSize(), dtype,
                    s.shape());
            if (byName.put(s.name(), view) != null) {
                this.flat.close();
                throw new IllegalArgumentException("duplicate parameter name " + s.name());
            }
        }
        this.views = Collections.unmodifiableMap(byName);
    }

    /** Back-to-back offsets of {@code specs}, plus their total as a last entry. */
    private static long[] packedOffsets(List<Spec> specs) {
        long[] offsets = new long[specs.size() + 1];
        for (int i = 0; i < specs.size(); i++) {
            offsets[i + 1] = Math.addExact(offsets[i], specs.get(i).numel());
        }
        return offsets;
    }

    /**
     * A zero-filled set of {@code size} elements in which parameter i starts at element
     * {@code offsets[i]}: gaps are padding, and tensors may share elements (see the class comment).
     */
    public static ParameterSet allocate(List<Spec> specs, DType dtype, long[] offsets, long size) {
        return new ParameterSet(specs, dtype, offsets, null, size);
    }

    /**
     * A set over {@code flat}'s memory, parameter i at element {@code offsets[i]} of it; it does
     * not own the memory (its close does nothing).
     */
    public static ParameterSet view(Tensor flat, List<Spec> specs, long[] offsets) {
        return new ParameterSet(specs, flat.dtype(), offsets, flat, -1);
    }

    /** A zero-filled F32 set with these specs. */
    public static ParameterSet allocate(List<Spec> specs) {
        return new ParameterSet(specs, DType.F32);
    }

    /** A zero-filled set of {@code dtype} (F32 or BF16) with these specs. */
    public static ParameterSet allocate(List<Spec> specs, DType dtype) {
        return new ParameterSet(specs, dtype);
    }

    /** A zero-filled F32 set with the same specs and layout (for gradients and optimizer state). */
    public ParameterSet zerosLike() {
        return new ParameterSet(specs, DType.F32, offsets, null, flat.numel());
    }

    /** A copy of {@code source} in {@code dtype}: see {@link #copyFrom}. */
    public static ParameterSet copyOf(ParameterSet source, DType dtype) {
        ParameterSet out = new ParameterSet(source.specs, dtype);
        out.copyFrom(source);
        return out;
    }

    /**
     * Copies the values of {@code source} (same specs), converting between dtypes: F32 → BF16
     * rounds to nearest even (torch's {@code .to(torch.bfloat16)}), BF16 → F32 is exact.
     */
    public void copyFrom(ParameterSet source) {
        if (!specNames(specs).equals(specNames(source.specs))) {
            throw new IllegalArgumentException("parameter sets differ in their specs");
        }
        for (Spec s : specs) {
            Tensor from = source.get(s.name()), to = get(s.name());
            if (from.dtype() == to.dtype()) {
                to.bytes().put(from.bytes());
                continue;
            }
            int n = Math.toIntExact(s.numel());
            if (to.dtype() == DType.BF16) {
                java.nio.FloatBuffer in = from.floats();
                java.nio.ShortBuffer out = to.shorts();
                for (int i = 0; i < n; i++) {
                    out.put(i, HalfFloats.floatToBf16(in.get(i)));
                }
            } else {
                java.nio.ShortBuffer in = from.shorts();
                java.nio.FloatBuffer out = to.floats();
                for (int i = 0; i < n; i++) {
                    out.put(i, HalfFloats.bf16ToFloat(in.get(i)));
                }
            }
        }
    }

    private static List<String> specNames(List<Spec> specs) {
        return specs.stream().map(s -> s.name() + Arrays.toString(s.shape())).toList();
    }

    /** F32 or BF16. */
    public DType dtype() {
        return dtype;
    }

    public List<Spec> specs() {
        return specs;
    }

    /** The named view; an unknown name is an error. */
    public Tensor get(String name) {
        Tensor t = views.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no parameter named " + name);
        }
        return t;
    }

    /** Whether a parameter of this name exists. */
    public boolean contains(String name) {
        return views.containsKey(name);
    }

    /** All parameters as one vector of {@link #dtype()} (with the padding of an offset layout). */
    public Tensor flat() {
        return flat;
    }

    /** The element offset of parameter {@code index} in {@link #flat()}. */
    public long offset(int index) {
        return offsets[index];
    }

    public long numel() {
        return flat.numel();
    }

    @Override
    public void close() {
        flat.close();
    }
}
