package ai.janus.model;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named F32 tensors laid out back to back in one flat allocation, in the order of their specs.
 * Parameters, gradients and optimizer moments all use this type with the same specs, so the
 * i-th element of one flat buffer always corresponds to the i-th element of another.
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
    private final Tensor flat;
    private final Map<String, Tensor> views;

    private ParameterSet(List<Spec> specs) {
        long total = 0;
        for (Spec s : specs) {
            total = Math.addExact(total, s.numel());
        }
        this.specs = List.copyOf(specs);
        this.flat = Tensor.allocate(DType.F32, total);
        Map<String, Tensor> byName = new LinkedHashMap<>();
        long offset = 0;
        for (Spec s : specs) {
            if (byName.put(s.name(), Tensor.view(flat.storage(), offset * 4, DType.F32, s.shape())) != null) {
                flat.close();
                throw new IllegalArgumentException("duplicate parameter name " + s.name());
            }
            offset += s.numel();
        }
        this.views = Collections.unmodifiableMap(byName);
    }

    /** A zero-filled set with these specs. */
    public static ParameterSet allocate(List<Spec> specs) {
        return new ParameterSet(specs);
    }

    /** A zero-filled set with the same specs (for gradients and optimizer state). */
    public ParameterSet zerosLike() {
        return new ParameterSet(specs);
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

    /** All parameters as one F32 vector. */
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
