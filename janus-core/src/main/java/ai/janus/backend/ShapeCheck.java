package ai.janus.backend;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.Arrays;

/** Argument checks shared by every backend; messages name the argument and both shapes. */
public final class ShapeCheck {
    private ShapeCheck() {}

    /** Requires {@code t} to have this dtype and shape; a dimension of -1 matches anything. */
    public static void require(String name, Tensor t, DType dtype, long... shape) {
        boolean ok = t.dtype() == dtype && t.rank() == shape.length;
        for (int i = 0; ok && i < shape.length; i++) {
            ok = shape[i] == -1 || shape[i] == t.dim(i);
        }
        if (!ok) {
            throw new IllegalArgumentException(name + ": expected " + dtype + Arrays.toString(shape)
                    .replace("-1", "*") + ", got " + t);
        }
    }

    /** Requires an F32 tensor of this shape. */
    public static void f32(String name, Tensor t, long... shape) {
        require(name, t, DType.F32, shape);
    }
}
