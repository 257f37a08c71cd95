package ai.janus.backend.cpu;

import static org.bytedeco.pytorch.global.torch.from_blob;

import ai.janus.tensor.Tensor;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Moving values between janus tensors and libtorch for the backend's oracle tests. */
final class TorchRef {
    private TorchRef() {}

    /** An owning fp32 torch copy of a janus F32 tensor, same shape. */
    static org.bytedeco.pytorch.Tensor torch(Tensor t) {
        return from_blob(t.floatPointer(), t.shape(), new TensorOptions(ScalarType.Float)).clone();
    }

    /** An owning int64 torch tensor of {@code values}. */
    static org.bytedeco.pytorch.Tensor longs(long... values) {
        try (LongPointer p = new LongPointer(values)) {
            return from_blob(p, new long[] {values.length}, new TensorOptions(ScalarType.Long)).clone();
        }
    }

    /** The values of an fp32 torch tensor, row-major. */
    static float[] values(org.bytedeco.pytorch.Tensor t) {
        org.bytedeco.pytorch.Tensor c = t.contiguous();
        float[] out = new float[Math.toIntExact(c.numel())];
        c.data_ptr_float().get(out);
        return out;
    }

    /** max |a − b| / max |b| (0 when b is all zeros and a equals it); infinities must match exactly. */
    static double relativeError(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(actual.length + " values, expected " + expected.length);
        }
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < actual.length; i++) {
            if (Float.isInfinite(expected[i]) || Float.isInfinite(actual[i])) {
                if (actual[i] != expected[i]) {
                    return Double.POSITIVE_INFINITY;
                }
                continue;
            }
            if (Float.isNaN(actual[i]) != Float.isNaN(expected[i])) {
                return Double.POSITIVE_INFINITY;
            }
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        return maxDiff == 0 ? 0 : maxDiff / maxRef;
    }
}
