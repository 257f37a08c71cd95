package ai.janus.optim;

import static org.bytedeco.pytorch.global.torch.from_blob;

import ai.janus.tensor.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Moving values between janus tensors and libtorch, and the relative error the oracle tests use. */
final class TorchOracle {
    private TorchOracle() {}

    /** An owning fp32 torch copy of a janus F32 tensor, same shape. */
    static org.bytedeco.pytorch.Tensor torch(Tensor t) {
        return from_blob(t.floatPointer(), t.shape(), new TensorOptions(ScalarType.Float)).clone();
    }

    /** The values of an fp32 torch tensor, row-major. */
    static float[] values(org.bytedeco.pytorch.Tensor t) {
        org.bytedeco.pytorch.Tensor c = t.contiguous();
        float[] out = new float[Math.toIntExact(c.numel())];
        c.data_ptr_float().get(out);
        return out;
    }

    /**
     * max |a − b| / max |b| over the tensor: the error relative to the tensor's scale (an
     * element near 0 does not blow it up). 0 when equal; infinite when the lengths, the NaN
     * positions or the infinities differ.
     */
    static double relativeError(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            return Double.POSITIVE_INFINITY;
        }
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < actual.length; i++) {
            if (Float.isNaN(actual[i]) != Float.isNaN(expected[i])
                    || (Float.isInfinite(actual[i]) || Float.isInfinite(expected[i])) && actual[i] != expected[i]) {
                return Double.POSITIVE_INFINITY;
            }
            if (Float.isFinite(expected[i])) {
                maxDiff = Math.max(maxDiff, Math.abs((double) actual[i] - expected[i]));
                maxRef = Math.max(maxRef, Math.abs(expected[i]));
            }
        }
        return maxDiff == 0 ? 0 : maxDiff / maxRef;
    }
}
