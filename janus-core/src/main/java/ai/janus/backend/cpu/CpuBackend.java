package ai.janus.backend.cpu;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.Backend;
import ai.janus.backend.ShapeCheck;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.Pointer;

/**
 * The CPU backend and executable specification of every op: OpenBLAS sgemm for the matrix
 * products, Java on the backend's own thread pool for the rest, fp32 throughout.
 *
 * <p>Threads: one pool of {@code threads} runs everything. OpenBLAS is kept single-threaded and
 * each large GEMM is split by output columns over the pool: OpenBLAS's own threads spin for a
 * while after every call and, measured on 2 cores, made the attention that follows a GEMM twice
 * as slow by taking a core away from the pool.
 */
public final class CpuBackend implements Backend {
    /** Logits rows per chunk of {@link #tokenLogProbs}: chunk floats = rows · V stay near this bound. */
    static final long LOGITS_CHUNK_FLOATS = 1L << 22;
    /** Below this many multiply-adds a GEMM runs on the calling thread alone. */
    static final long PARALLEL_GEMM_MIN_MACS = 1L << 21;

    private final Parallel parallel;

    /** A backend using every available core. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            throw new IllegalStateException("the CPU backend needs the Vector API: start the JVM with "
                    + "--add-modules jdk.incubator.vector");
        }
        Blas.load();
        this.parallel = new Parallel(threads);
    }

    @Override
    public String name() {
        return "cpu(" + parallel.threads() + " threads, " + Blas.config() + ")";
    }

    /** The pool this backend runs its loops on (shared with the CPU attention). */
    public Parallel parallel() {
        return parallel;
    }

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w, boolean accumulate) {
        long m = x.dim(0), k = x.dim(1), n = w.dim(0);
        ShapeCheck.matmul(out, x, w);
        // out[:, n0:n0+len] = x · w[n0:n0+len]ᵀ: each task packs only its rows of w
        inBlocks(n, m * n * k, (n0, len) -> Blas.sgemm(false, true, m, len, k, x.floatPointer(), k,
                w.floatPointer(n0 * k), k, accumulate ? 1f : 0f, out.floatPointer(n0), n));
    }

    @Override
    public void matmulInputGradient(Tensor dx, Tensor dOut, Tensor w, boolean accumulate) {
        long m = dOut.dim(0), n = dOut.dim(1), k = w.dim(1);
        ShapeCheck.matmulInputGradient(dx, dOut, w);
        // dx[:, k0:k0+len] = dOut · w[:, k0:k0+len]
        inBlocks(k, m * n * k, (k0, len) -> Blas.sgemm(false, false, m, len, n, dOut.floatPointer(), n,
                w.floatPointer(k0), k, accumulate ? 1f : 0f, dx.floatPointer(k0), k));
    }

    @Override
    public void matmulWeightGradient(Tensor dw, Tensor dOut, Tensor x) {
        long m = dOut.dim(0), n = dOut.dim(1), k = x.dim(1);
        ShapeCheck.matmulWeightGradient(dw, dOut, x);
        // dw[n0:n0+len] += dOut[:, n0:n0+len]ᵀ · x
        inBlocks(n, m * n * k, (n0, len) -> Blas.sgemm(true, false, len, k, m, dOut.floatPointer(n0), n,
                x.floatPointer(), k, 1f, dw.floatPointer(n0 * k), k));
    }

    /** One block of a GEMM split along one output dimension. */
    @FunctionalInterface
    private interface GemmBlock {
        void run(long start, long length);
    }

    /**
     * Splits {@code extent} output rows or columns into one block per thread (multiples of 16)
     * and runs them on the pool; small products ({@code macs} multiply-adds) run whole on the
     * calling thread. The split depends only on the thread count, so results are reproducible.
     */
    private void inBlocks(long extent, long macs, GemmBlock block) {
        int threads = parallel.threads();
        if (threads == 1 || macs < PARALLEL_GEMM_MIN_MACS) {
            block.run(0, extent);
            return;
        }
        long width = ((extent + threads - 1) / threads + 15) / 16 * 16;
        parallel.forEach((int) ((extent + width - 1) / width), j -> {
            long start = j * width;
            block.run(start, Math.min(width, extent - start));
        });
    }

    @Override
    public void embedding(Tensor out, Tensor table, Tensor ids) {
        long vocab = table.dim(0), c = table.dim(1), n = ids.dim(0);
        ShapeCheck.embedding("out", out, "table", table, ids);
        int[] id = ids.toIntArray();
        ShapeCheck.tokenIds(id, vocab); // before any row is written: a bad id leaves out untouched
        FloatBuffer src = table.floats(), dst = out.floats();
        int width = Math.toIntExact(c);
        parallel.forRange(n, 16, (start, end) -> {
            float[] row = new float[width];
            for (long t = start; t < end; t++) {
                int token = id[(int) t];
                src.get(Math.toIntExact((long) token * width), row);
                dst.put(Math.toIntExact(t * width), row);
            }
        });
    }

    @Override
    public void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids) {
        long vocab = dTable.dim(0), c = dTable.dim(1), n = ids.dim(0);
        ShapeCheck.embedding("dOut", dOut, "dTable", dTable, ids);
        int[] id = ids.toIntArray();
        ShapeCheck.tokenIds(id, vocab);
        FloatBuffer g = dOut.floats(), table = dTable.floats();
        int width = Math.toIntExact(c);
        // Split by columns: every task sees every token in order, so repeated ids add up deterministically.
        parallel.forRange(width, 64, (c0, c1) -> {
            int len = (int) (c1 - c0);
            float[] src = new float[len], dst = new float[len];
            for (int t = 0; t < id.length; t++) {
                int row = id[t] * width + (int) c0;
                g.get(t * width + (int) c0, src);
                table.get(row, dst);
                for (int i = 0; i < len; i++) {
                    dst[i] += src[i];
                }
                table.put(row, dst);
            }
        });
    }

    @Override
    public void rmsNorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        long n = x.dim(0), c = x.dim(1);
        ShapeCheck.rmsNorm(out, rstd, x, weight);
        FloatBuffer in = x.floats(), dst = out.floats(), r = rstd.floats();
        float[] w = weight.toFloatArray();
        int width = Math.toIntExact(c);
        parallel.forRange(n, 8, (start, end) -> {
            float[] row = new float[width];
            for (long t = start; t < end; t++) {
                int at = Math.toIntExact(t * width);
                in.get(at, row);
                double sumSquares = 0;
                for (int i = 0; i < width; i++) {
                    sumSquares += row[i] * row[i];
                }
                float s = (float) (1.0 / Math.sqrt((float) (sumSquares / width) + eps));
                for (int i = 0; i < width; i++) {
                    row[i] = w[i] * (row[i] * s);
                }
                r.put((int) t, s);
                dst.put(at, row);
            }
        });
    }

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        long n = x.dim(0), c = x.dim(1);
        ShapeCheck.rmsNormBackward(dx, dWeight, dOut, x, weight, rstd);
        FloatBuffer in = x.floats(), g = dOut.floats(), dIn = dx.floats(), r = rstd.floats(), dw = dWeight.floats();
        float[] w = weight.toFloatArray();
        int width = Math.toIntExact(c);
        // dx[n] += r·(w⊙g) − r³·x·((w⊙g)·x)/C, one row per step
        parallel.forRange(n, 8, (start, end) -> {
            float[] xr = new float[width], gr = new float[width], dr = new float[width];
            for (long t = start; t < end; t++) {
                int at = Math.toIntExact(t * width);
                in.get(at, xr);
                g.get(at, gr);
                dIn.get(at, dr);
                float s = r.get((int) t);
                for (int i = 0; i < width; i++) {
                    gr[i] *= w[i];
                }
                float coef = s * s * s * Simd.dot(gr, xr, width) / width;
                for (int i = 0; i < width; i++) {
                    dr[i] += s * gr[i] - coef * xr[i];
                }
                dIn.put(at, dr);
            }
        });
        // dWeight[c] += Σ_n dOut[n,c]·x[n,c]·r[n]: split by columns, rows summed in order
        parallel.forRange(width, 64, (c0, c1) -> {
            int len = (int) (c1 - c0);
            float[] acc = new float[len], xr = new float[len], gr = new float[len];
            for (long t = 0; t < n; t++) {
                int at = Math.toIntExact(t * width + c0);
                in.get(at, xr);
                g.get(at, gr);
                float s = r.get((int) t);
                for (int i = 0; i < len; i++) {
                    acc[i] += gr[i] * xr[i] * s;
                }
            }
            for (int i = 0; i < len; i++) {
                dw.put((int) c0 + i, dw.get((int) c0 + i) + acc[i]);
            }
        });
    }

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin) {
        rotate(x, cos, sin, 1f);
    }

    @Override
    public void ropeBackward(Tensor dx, Tensor cos, Tensor sin) {
        rotate(dx, cos, sin, -1f); // the transpose of a rotation is the rotation by the opposite angle
    }

    /** x[j], x[j+D/2] ← x[j]·cos − x[j+D/2]·(sign·sin), x[j+D/2]·cos + x[j]·(sign·sin), per head. */
    private void rotate(Tensor x, Tensor cos, Tensor sin, float sign) {
        long n = x.dim(0), heads = x.dim(1), d = x.dim(2);
        ShapeCheck.rope(x, cos, sin);
        FloatBuffer data = x.floats(), cb = cos.floats(), sb = sin.floats();
        int half = (int) (d / 2), width = Math.toIntExact(heads * d);
        parallel.forRange(n, 8, (start, end) -> {
            float[] row = new float[width], c = new float[half], s = new float[half];
            for (long t = start; t < end; t++) {
                int at = Math.toIntExact(t * width);
                data.get(at, row);
                cb.get((int) t * half, c);
                sb.get((int) t * half, s);
                for (int h = 0; h < heads; h++) {
                    int base = h * 2 * half;
                    for (int j = 0; j < half; j++) {
                        float x1 = row[base + j], x2 = row[base + half + j], sj = sign * s[j];
                        row[base + j] = x1 * c[j] - x2 * sj;
                        row[base + half + j] = x2 * c[j] + x1 * sj;
                    }
                }
                data.put(at, row);
            }
        });
    }

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                          Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec) {
        FlashAttentionCpu.forward(parallel, out, lse, q, k, v, cuSeqlensQ, cuSeqlensK, spec);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
                                  Tensor out, Tensor lse, Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec) {
        FlashAttentionCpu.backward(parallel, dq, dk, dv, dOut, q, k, v, out, lse, cuSeqlensQ, cuSeqlensK, spec);
    }

    @Override
    public void swiglu(Tensor out, Tensor gate, Tensor up) {
        long n = gate.dim(0), f = gate.dim(1);
        ShapeCheck.swiglu(out, gate, up);
        FloatBuffer g = gate.floats(), u = up.floats(), o = out.floats();
        int width = Math.toIntExact(f);
        parallel.forRange(n, 4, (start, end) -> {
            float[] gr = new float[width], ur = new float[width];
            for (long t = start; t < end; t++) {
                int at = Math.toIntExact(t * width);
                g.get(at, gr);
                u.get(at, ur);
                Simd.swiglu(gr, ur, width);
                o.put(at, gr);
            }
        });
    }

    @Override
    public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up) {
        long n = gate.dim(0), f = gate.dim(1);
        ShapeCheck.swigluBackward(dGate, dUp, dOut, gate, up);
        FloatBuffer g = gate.floats(), u = up.floats(), d = dOut.floats(), dg = dGate.floats(), du = dUp.floats();
        int width = Math.toIntExact(f);
        parallel.forRange(n, 4, (start, end) -> {
            float[] gr = new float[width], ur = new float[width], dr = new float[width];
            for (long t = start; t < end; t++) {
                int at = Math.toIntExact(t * width);
                g.get(at, gr);
                u.get(at, ur);
                d.get(at, dr);
                Simd.swigluBackward(gr, ur, dr, width); // gr ← dGate, ur ← dUp
                dg.put(at, gr);
                du.put(at, ur);
            }
        });
    }

    @Override
    public void add(Tensor acc, Tensor x) {
        ShapeCheck.add(acc, x);
        FloatBuffer a = acc.floats(), b = x.floats();
        parallel.forRange(acc.numel(), 1 << 14, (start, end) -> {
            int from = (int) start, len = (int) (end - start);
            float[] ar = new float[len], br = new float[len];
            a.get(from, ar);
            b.get(from, br);
            for (int i = 0; i < len; i++) {
                ar[i] += br[i];
            }
            a.put(from, ar);
        });
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        ShapeCheck.copy(dst, src);
        Pointer.memcpy(at(dst), at(src), src.byteSize());
    }

    @Override
    public void zero(Tensor t) {
        Pointer.memset(at(t), 0, t.byteSize());
    }

    private static Pointer at(Tensor t) {
        return t.storage().pointer(t.byteOffset());
    }

    @Override
    public void tokenLogProbs(Tensor logp, Tensor lse, Tensor hidden, Tensor lmHead, Tensor labels) {
        long n = hidden.dim(0), c = hidden.dim(1), vocab = lmHead.dim(0);
        ShapeCheck.tokenLogProbs(logp, lse, hidden, lmHead, labels);
        ShapeCheck.labels(labels.toIntArray(), vocab);
        IntBuffer label = labels.ints();
        long chunkRows = Math.max(1, Math.min(n, LOGITS_CHUNK_FLOATS / vocab));
        FloatBuffer outLogp = logp.floats(), outLse = lse.floats();
        int v = Math.toIntExact(vocab);
        try (Tensor logits = Tensor.allocate(DType.F32, chunkRows, vocab)) {
            for (long row0 = 0; row0 < n; row0 += chunkRows) {
                long rows = Math.min(chunkRows, n - row0);
                Tensor z = logits.rows(0, rows);
                matmul(z, hidden.rows(row0, rows), lmHead, false);
                FloatBuffer zb = z.floats();
                long first = row0;
                parallel.forRange(rows, 1, (start, end) -> {
                    float[] row = new float[v];
                    for (long r = start; r < end; r++) {
                        zb.get(Math.toIntExact(r * v), row);
                        float max = Simd.max(row, 0, v);
                        float logSumExp = max + (float) StrictMath.log(Simd.expShiftSum(row, 0, v, max, false));
                        int t = (int) (first + r);
                        int y = label.get(t);
                        outLse.put(t, logSumExp);
                        outLogp.put(t, y == IGNORE_INDEX ? 0f : row[y] - logSumExp);
                    }
                });
            }
        }
    }

    @Override
    public void tokenLogProbsBackward(Tensor dHidden, Tensor dLmHead, Tensor dLogp, Tensor hidden, Tensor lmHead,
                                      Tensor labels, Tensor lse) {
        long n = hidden.dim(0), c = hidden.dim(1), vocab = lmHead.dim(0);
        ShapeCheck.tokenLogProbsBackward(dHidden, dLmHead, dLogp, hidden, lmHead, labels, lse);
        int[] label = labels.toIntArray();
        FloatBuffer g = dLogp.floats(), logSumExp = lse.floats();
        long chunkRows = Math.max(1, Math.min(n, LOGITS_CHUNK_FLOATS / vocab));
        int v = Math.toIntExact(vocab);
        try (Tensor logits = Tensor.allocate(DType.F32, chunkRows, vocab)) {
            for (long row0 = 0; row0 < n; row0 += chunkRows) {
                long rows = Math.min(chunkRows, n - row0);
                Tensor z = logits.rows(0, rows), h = hidden.rows(row0, rows);
                matmul(z, h, lmHead, false);
                // z ← dz = dLogp·(onehot(y) − softmax(z)), softmax from the forward's lse
                FloatBuffer zb = z.floats();
                long first = row0;
                parallel.forRange(rows, 1, (start, end) -> {
                    float[] row = new float[v];
                    for (long r = start; r < end; r++) {
                        int t = (int) (first + r), y = label[t];
                        float weight = y == IGNORE_INDEX ? 0f : g.get(t);
                        if (weight == 0f) {
                            java.util.Arrays.fill(row, 0f);
                        } else {
                            zb.get(Math.toIntExact(r * v), row);
                            Simd.expShiftSum(row, 0, v, logSumExp.get(t), true);
                            Simd.scale(row, 0, v, -weight);
                            row[y] += weight;
                        }
                        zb.put(Math.toIntExact(r * v), row);
                    }
                });
                matmulInputGradient(dHidden.rows(row0, rows), z, lmHead, false);
                matmulWeightGradient(dLmHead, z, h);
            }
        }
    }

    @Override
    public void close() {
        parallel.close();
    }
}
