package ai.janus.tensor;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * A contiguous, row-major view of off-heap {@link Storage}: dtype, shape and byte offset.
 *
 * <p>A tensor made by {@link #allocate} owns its storage and frees it on {@link #close()}; views
 * ({@link #view}, {@link #rows}, {@link #reshape}) share it and their close is a no-op.
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final long byteOffset;
    private final long[] shape;
    private final DType dtype;
    private final long numel;
    private final boolean owner;

    private Tensor(Storage storage, long byteOffset, DType dtype, long[] shape, boolean owner) {
        this.numel = numel(shape);
        long bytes = Math.multiplyExact(numel, dtype.byteSize());
        if (byteOffset < 0 || byteOffset + bytes > storage.byteSize()) {
            throw new IndexOutOfBoundsException("tensor " + dtype + Arrays.toString(shape) + " at byte "
                    + byteOffset + " does not fit a storage of " + storage.byteSize() + " bytes");
        }
        this.storage = storage;
        this.byteOffset = byteOffset;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.owner = owner;
    }

    /** A new zero-filled tensor owning its storage. */
    public static Tensor allocate(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(numel(shape), dtype.byteSize());
        return new Tensor(Storage.allocate(bytes), 0, dtype, shape, true);
    }

    /** A view of {@code storage} starting at {@code byteOffset}; does not own the storage. */
    public static Tensor view(Storage storage, long byteOffset, DType dtype, long... shape) {
        return new Tensor(storage, byteOffset, dtype, shape, false);
    }

    /** A new F32 tensor holding a copy of {@code values}. */
    public static Tensor of(float[] values, long... shape) {
        Tensor t = allocate(DType.F32, shape);
        if (t.numel != values.length) {
            t.close();
            throw new IllegalArgumentException(values.length + " values do not fill shape " + Arrays.toString(shape));
        }
        t.floats().put(0, values);
        return t;
    }

    /** A new I32 tensor holding a copy of {@code values}, shape [values.length]. */
    public static Tensor ofInts(int[] values) {
        Tensor t = allocate(DType.I32, values.length);
        t.ints().put(0, values);
        return t;
    }

    /** Product of the dimensions; every dimension must be >= 0. */
    public static long numel(long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public long numel() {
        return numel;
    }

    public long byteSize() {
        return numel * dtype.byteSize();
    }

    public Storage storage() {
        return storage;
    }

    public long byteOffset() {
        return byteOffset;
    }

    /** A view with another shape of the same element count. */
    public Tensor reshape(long... newShape) {
        if (numel(newShape) != numel) {
            throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(newShape));
        }
        return new Tensor(storage, byteOffset, dtype, newShape, false);
    }

    /** Rows {@code [start, start + count)} of the first dimension, as a view. */
    public Tensor rows(long start, long count) {
        if (shape.length == 0 || start < 0 || count < 0 || start + count > shape[0]) {
            throw new IndexOutOfBoundsException("rows [" + start + ", " + (start + count) + ") of " + this);
        }
        long rowBytes = shape[0] == 0 ? 0 : byteSize() / shape[0];
        long[] s = shape.clone();
        s[0] = count;
        return new Tensor(storage, byteOffset + start * rowBytes, dtype, s, false);
    }

    /** The raw little-endian bytes of this tensor. */
    public ByteBuffer bytes() {
        return storage.bytes(byteOffset, byteSize());
    }

    /** The elements of an F32 tensor. */
    public FloatBuffer floats() {
        requireDType(DType.F32);
        return bytes().asFloatBuffer();
    }

    /** The elements of an I32 tensor. */
    public IntBuffer ints() {
        requireDType(DType.I32);
        return bytes().asIntBuffer();
    }

    /** The raw bits of a BF16 or F16 tensor. */
    public ShortBuffer shorts() {
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalStateException("expected a BF16 or F16 tensor, got " + this);
        }
        return bytes().asShortBuffer();
    }

    /** A native pointer to the first element of an F32 tensor, for BLAS. */
    public FloatPointer floatPointer() {
        return floatPointer(0);
    }

    /** A native pointer to element {@code index} (row-major) of an F32 tensor. */
    public FloatPointer floatPointer(long index) {
        requireDType(DType.F32);
        if (index < 0 || index > numel) {
            throw new IndexOutOfBoundsException("element " + index + " of " + this);
        }
        return storage.floatPointer(byteOffset + index * 4);
    }

    /** A heap copy of a floating tensor's values widened to float. */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel)];
        switch (dtype) {
            case F32 -> floats().get(0, out);
            case BF16 -> {
                ShortBuffer s = shorts();
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.bf16ToFloat(s.get(i));
                }
            }
            case F16 -> {
                ShortBuffer s = shorts();
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.f16ToFloat(s.get(i));
                }
            }
            default -> throw new IllegalStateException("expected a floating tensor, got " + this);
        }
        return out;
    }

    /** A heap copy of an I32 tensor's values. */
    public int[] toIntArray() {
        int[] out = new int[Math.toIntExact(numel)];
        ints().get(0, out);
        return out;
    }

    /** Sets every element of an F32 tensor to {@code value}. */
    public void fill(float value) {
        FloatBuffer f = floats();
        for (int i = 0, n = f.capacity(); i < n; i++) {
            f.put(i, value);
        }
    }

    /** True when both tensors have the same dtype and shape. */
    public boolean sameLayout(Tensor other) {
        return dtype == other.dtype && Arrays.equals(shape, other.shape);
    }

    private void requireDType(DType expected) {
        if (dtype != expected) {
            throw new IllegalStateException("expected a " + expected + " tensor, got " + this);
        }
    }

    /** Frees the storage when this tensor owns it; a no-op for views. */
    @Override
    public void close() {
        if (owner) {
            storage.close();
        }
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
