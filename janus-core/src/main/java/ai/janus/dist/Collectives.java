package ai.janus.dist;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;

/** Argument checks every communicator makes, with messages that name the collective and the sizes. */
public final class Collectives {
    private Collectives() {}

    public static void requireF32(String op, Tensor t) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(op + " sums F32 buffers, got " + t);
        }
    }

    /** {@code whole} must have {@code parts} × {@code part.numel()} elements of part's dtype. */
    public static void requireParts(String op, Tensor whole, Tensor part, int parts) {
        if (whole.dtype() != part.dtype()) {
            throw new IllegalArgumentException(op + ": " + whole + " and " + part + " differ in dtype");
        }
        if (whole.numel() != Math.multiplyExact(part.numel(), (long) parts)) {
            throw new IllegalArgumentException(op + " over " + parts + " ranks needs " + parts + " × "
                    + part.numel() + " elements, got " + whole.numel());
        }
    }

    public static void requireRank(int rank, int worldSize) {
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " outside [0, " + worldSize + ")");
        }
    }
}
