package ai.janus.optim;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.nio.ByteBuffer;

/**
 * Bulk copies between a range of an off-heap tensor and a heap array. The optimizer works on
 * heap copies of one chunk at a time: C2 and the Vector API compile heap-array loops well, and a
 * chunk view keeps every Java-side buffer far below the 2 GiB limit of one ByteBuffer, whatever
 * the size of the tensor. Indexes are elements of the tensor; the dtype must be the array's.
 */
final class OffHeap {
    private OffHeap() {}

    static void get(Tensor t, long index, float[] dst, int n) {
        range(t, DType.F32, index, n).asFloatBuffer().get(0, dst, 0, n);
    }

    static void put(Tensor t, long index, float[] src, int n) {
        range(t, DType.F32, index, n).asFloatBuffer().put(0, src, 0, n);
    }

    static void get(Tensor t, long index, short[] dst, int n) {
        range(t, DType.BF16, index, n).asShortBuffer().get(0, dst, 0, n);
    }

    static void put(Tensor t, long index, short[] src, int n) {
        range(t, DType.BF16, index, n).asShortBuffer().put(0, src, 0, n);
    }

    static void get(Tensor t, long index, byte[] dst, int n) {
        range(t, DType.U8, index, n).get(0, dst, 0, n);
    }

    static void put(Tensor t, long index, byte[] src, int n) {
        range(t, DType.U8, index, n).put(0, src, 0, n);
    }

    private static ByteBuffer range(Tensor t, DType expected, long index, int n) {
        if (t.dtype() != expected) {
            throw new IllegalStateException("expected a " + expected + " tensor, got " + t);
        }
        if (index < 0 || n < 0 || index + n > t.numel()) {
            throw new IndexOutOfBoundsException("elements [" + index + ", " + (index + n) + ") of " + t);
        }
        int size = expected.byteSize();
        return t.storage().bytes(t.byteOffset() + index * size, (long) n * size);
    }
}
