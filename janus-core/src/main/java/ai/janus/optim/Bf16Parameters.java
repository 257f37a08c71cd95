package ai.janus.optim;

import ai.janus.model.ParameterSet;
import ai.janus.tensor.DType;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named BF16 parameters back to back in one flat allocation, in the order of their specs: the
 * bf16 counterpart of {@link ParameterSet} (which is F32 only), for optimizers that update bf16
 * weights. The CPU backend computes in fp32, so a bf16 training step widens these into an fp32
 * {@code ParameterSet} ({@link #widenInto}, exact) for the forward and backward.
 */
public final class Bf16Parameters implements AutoCloseable {
    private static final int CONVERT_CHUNK = Chunk.ELEMENTS;

    private final List<ParameterSet.Spec> specs;
    private final Tensor flat;
    private final Map<String, Tensor> views;

    private Bf16Parameters(List<ParameterSet.Spec> specs) {
        long total = 0;
        for (ParameterSet.Spec s : specs) {
            total = Math.addExact(total, s.numel());
        }
        this.specs = List.copyOf(specs);
        this.flat = Tensor.allocate(DType.BF16, total);
        Map<String, Tensor> byName = new LinkedHashMap<>();
        long offset = 0;
        for (ParameterSet.Spec s : specs) {
            if (byName.put(s.name(), Tensor.view(flat.storage(), offset * 2, DType.BF16, s.shape())) != null) {
                flat.close();
                throw new IllegalArgumentException("duplicate parameter name " + s.name());
            }
            offset += s.numel();
        }
        this.views = Collections.unmodifiableMap(byName);
    }

    /** A zero-filled set with these specs. */
    public static Bf16Parameters allocate(List<ParameterSet.Spec> specs) {
        return new Bf16Parameters(specs);
    }

    /** The values of {@code fp32} rounded to nearest even (torch's {@code .to(torch.bfloat16)}). */
    public static Bf16Parameters roundedFrom(ParameterSet fp32) {
        Bf16Parameters out = new Bf16Parameters(fp32.specs());
        float[] values = new float[CONVERT_CHUNK];
        short[] bits = new short[CONVERT_CHUNK];
        for (Chunk c : Chunk.split(out.specs)) {
            String name = out.specs.get(c.tensor()).name();
            OffHeap.get(fp32.get(name), c.start(), values, c.length());
            for (int i = 0; i < c.length(); i++) {
                bits[i] = HalfFloats.floatToBf16(values[i]);
            }
            OffHeap.put(out.get(name), c.start(), bits, c.length());
        }
        return out;
    }

    /** Writes these values, widened to float (exact), into {@code fp32}, which must have the same specs. */
    public void widenInto(ParameterSet fp32) {
        ParameterStore.requireSameSpecs("fp32 parameters", specs, fp32.specs());
        float[] values = new float[CONVERT_CHUNK];
        short[] bits = new short[CONVERT_CHUNK];
        for (Chunk c : Chunk.split(specs)) {
            String name = specs.get(c.tensor()).name();
            OffHeap.get(get(name), c.start(), bits, c.length());
            for (int i = 0; i < c.length(); i++) {
                values[i] = HalfFloats.bf16ToFloat(bits[i]);
            }
            OffHeap.put(fp32.get(name), c.start(), values, c.length());
        }
    }

    public List<ParameterSet.Spec> specs() {
        return specs;
    }

    /** The named BF16 view; an unknown name is an error. */
    public Tensor get(String name) {
        Tensor t = views.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no parameter named " + name);
        }
        return t;
    }

    /** All parameters as one BF16 vector. */
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
