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

    /**
     * Reads and checks packed-sequence offsets (cu_seqlens): I32 (S + 1), starting at 0, never
     * decreasing, ending at {@code rows}. Returns them.
     */
    public static int[] cuSeqlens(String name, Tensor cu, long rows) {
        require(name, cu, DType.I32, -1);
        int[] c = cu.toIntArray();
        if (c.length < 2 || c[0] != 0 || c[c.length - 1] != rows) {
            throw new IllegalArgumentException(name + " must start at 0 and end at " + rows + " rows");
        }
        for (int s = 1; s < c.length; s++) {
            if (c[s] < c[s - 1]) {
                throw new IllegalArgumentException(name + " decreases at index " + s + ": " + c[s - 1] + " > " + c[s]);
            }
        }
        return c;
    }

    /** Requires every token id in [0, vocab); the message names the first offender and its position. */
    public static void tokenIds(int[] ids, long vocab) {
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= vocab) {
                throw new IllegalArgumentException("token id " + ids[t] + " at position " + t
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    /** Requires every label in [0, vocab) or {@link Backend#IGNORE_INDEX}. */
    public static void labels(int[] labels, long vocab) {
        for (int t = 0; t < labels.length; t++) {
            int y = labels[t];
            if (y != Backend.IGNORE_INDEX && (y < 0 || y >= vocab)) {
                throw new IllegalArgumentException("label " + y + " at position " + t
                        + " is outside the vocabulary [0, " + vocab + ") and is not " + Backend.IGNORE_INDEX);
            }
        }
    }
}
