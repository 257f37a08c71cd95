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
    private final Map<String, Tensor> views;

    private ParameterSet(List<Spec> specs, DType dtype) {
        if (dtype != DType.F32 && dtype != DType.BF16) {
            throw new IllegalArgumentException("parameters are F32 or BF16, not " + dtype);
        }
        long total = 0;
        for (Spec s : specs) {
            total = Math.addExact(total, s.numel());
        }
        this.specs = List.copyOf(specs);
        this.dtype = dtype;
        this.flat = Tensor.allocate(dtype, total);
        Map<String, Tensor> byName = new LinkedHashMap<>();
        long offset = 0;
        for (Spec s : specs) {
            if (byName.put(s.name(), Tensor.view(flat.storage(), offset * dtype.byteSize(), dtype, s.shape())) != null) {
                flat.close();
                throw new IllegalArgumentException("duplicate parameter name " + s.name());
            }
            offset += s.numel();
        }
        this.views = Collections.unmodifiableMap(byName);
    }

    /** A zero-filled F32 set with these specs. */
    public static ParameterSet allocate(List<Spec> specs) {
        return new ParameterSet(specs, DType.F32);
    }

    /** A zero-filled set of {@code dtype} (F32 or BF16) with these specs. */
    public static ParameterSet allocate(List<Spec> specs, DType dtype) {
        return new ParameterSet(specs, dtype);
    }

    /** A zero-filled F32 set with the same specs (for gradients and optimizer state). */
    public ParameterSet zerosLike() {
        return new ParameterSet(specs, DType.F32);
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

    /** All parameters as one vector of {@link #dtype()}. */
    public Tensor flat() {
        return flat;
    }

    public long numel() {
        return flat.numel();
    }

    @Override
    public void close() {
        flat.close();
    }
}
