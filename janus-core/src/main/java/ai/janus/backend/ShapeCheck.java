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

    // The shape contract of each Backend op, one place for every backend (names as in Backend).

    /** {@link Backend#matmul}: out (M, N), x (M, K), w (N, K). */
    public static void matmul(Tensor out, Tensor x, Tensor w) {
        long m = x.dim(0), k = x.dim(1), n = w.dim(0);
        f32("x", x, m, k);
        f32("w", w, n, k);
        f32("out", out, m, n);
    }

    /** {@link Backend#matmulInputGradient}: dx (M, K), dOut (M, N), w (N, K). */
    public static void matmulInputGradient(Tensor dx, Tensor dOut, Tensor w) {
        long m = dOut.dim(0), n = dOut.dim(1), k = w.dim(1);
        f32("dOut", dOut, m, n);
        f32("w", w, n, k);
        f32("dx", dx, m, k);
    }

    /** {@link Backend#matmulWeightGradient}: dw (N, K), dOut (M, N), x (M, K). */
    public static void matmulWeightGradient(Tensor dw, Tensor dOut, Tensor x) {
        long m = dOut.dim(0), n = dOut.dim(1), k = x.dim(1);
        f32("dOut", dOut, m, n);
        f32("x", x, m, k);
        f32("dw", dw, n, k);
    }

    /** {@link Backend#embedding} and its backward: rows (N, C) of a table (V, C), ids (N) I32. */
    public static void embedding(String rowsName, Tensor rows, String tableName, Tensor table, Tensor ids) {
        long vocab = table.dim(0), c = table.dim(1), n = ids.dim(0);
        f32(tableName, table, vocab, c);
        require("ids", ids, DType.I32, n);
        f32(rowsName, rows, n, c);
    }

    /** {@link Backend#rmsNorm}: out, x (N, C); weight (C); rstd (N). */
    public static void rmsNorm(Tensor out, Tensor rstd, Tensor x, Tensor weight) {
        long n = x.dim(0), c = x.dim(1);
        f32("x", x, n, c);
        f32("out", out, n, c);
        f32("weight", weight, c);
        f32("rstd", rstd, n);
    }

    /** {@link Backend#rmsNormBackward}: dx, dOut, x (N, C); weight, dWeight (C); rstd (N). */
    public static void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        long n = x.dim(0), c = x.dim(1);
        f32("x", x, n, c);
        f32("dOut", dOut, n, c);
        f32("dx", dx, n, c);
        f32("weight", weight, c);
        f32("dWeight", dWeight, c);
        f32("rstd", rstd, n);
    }

    /** {@link Backend#rope} and its backward: x (N, heads, D) with D even; cos, sin (N, D/2). */
    public static void rope(Tensor x, Tensor cos, Tensor sin) {
        long n = x.dim(0), heads = x.dim(1), d = x.dim(2);
        f32("x", x, n, heads, d);
        if (d % 2 != 0) {
            throw new IllegalArgumentException("x: RoPE needs an even head dim, got " + x);
        }
        f32("cos", cos, n, d / 2);
        f32("sin", sin, n, d / 2);
    }

    /** {@link Backend#swiglu}: out, gate, up (N, F). */
    public static void swiglu(Tensor out, Tensor gate, Tensor up) {
        long n = gate.dim(0), f = gate.dim(1);
        f32("gate", gate, n, f);
        f32("up", up, n, f);
        f32("out", out, n, f);
    }

    /** {@link Backend#swigluBackward}: every tensor (N, F). */
    public static void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up) {
        long n = gate.dim(0), f = gate.dim(1);
        f32("gate", gate, n, f);
        f32("up", up, n, f);
        f32("dOut", dOut, n, f);
        f32("dGate", dGate, n, f);
        f32("dUp", dUp, n, f);
    }

    /** {@link Backend#add}: acc and x F32 of one shape. */
    public static void add(Tensor acc, Tensor x) {
        if (!acc.sameLayout(x) || acc.dtype() != DType.F32) {
            throw new IllegalArgumentException("add: acc " + acc + " and x " + x + " must be F32 of one shape");
        }
    }

    /** {@link Backend#copy}: one dtype and element count. */
    public static void copy(Tensor dst, Tensor src) {
        if (dst.dtype() != src.dtype() || dst.numel() != src.numel()) {
            throw new IllegalArgumentException("copy: dst " + dst + " and src " + src + " differ in dtype or size");
        }
    }

    /** {@link Backend#tokenLogProbs}: hidden (N, C), lmHead (V, C), labels (N) I32, logp and lse (N). */
    public static void tokenLogProbs(Tensor logp, Tensor lse, Tensor hidden, Tensor lmHead, Tensor labels) {
        long n = hidden.dim(0), c = hidden.dim(1), vocab = lmHead.dim(0);
        f32("hidden", hidden, n, c);
        f32("lmHead", lmHead, vocab, c);
        require("labels", labels, DType.I32, n);
        f32("logp", logp, n);
        f32("lse", lse, n);
    }

    /** {@link Backend#tokenLogProbsBackward}: as the forward, plus dHidden (N, C), dLmHead (V, C), dLogp (N). */
    public static void tokenLogProbsBackward(Tensor dHidden, Tensor dLmHead, Tensor dLogp, Tensor hidden, Tensor lmHead,
                                             Tensor labels, Tensor lse) {
        long n = hidden.dim(0), c = hidden.dim(1), vocab = lmHead.dim(0);
        f32("hidden", hidden, n, c);
        f32("lmHead", lmHead, vocab, c);
        f32("dHidden", dHidden, n, c);
        f32("dLmHead", dLmHead, vocab, c);
        f32("dLogp", dLogp, n);
        f32("lse", lse, n);
        require("labels", labels, DType.I32, n);
    }
}
