package ai.janus.backend.cpu;

import static ai.janus.backend.ShapeCheck.f32;
import static ai.janus.backend.ShapeCheck.require;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.Backend;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

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
        f32("x", x, m, k);
        f32("w", w, n, k);
        f32("out", out, m, n);
        float beta = accumulate ? 1f : 0f;
        if (parallel.threads() == 1 || m * n * k < PARALLEL_GEMM_MIN_MACS) {
            Blas.sgemm(false, true, m, n, k, x.floatPointer(), k, w.floatPointer(), k, beta, out.floatPointer(), n);
            return;
        }
        // One column block of out (rows of w) per task: each task packs only its slice of w.
        long blocks = parallel.threads();
        long width = (n + blocks - 1) / blocks;
        width = (width + 15) / 16 * 16;
        long block = width;
        parallel.forEach((int) ((n + block - 1) / block), j -> {
            long n0 = j * block, cols = Math.min(block, n - n0);
            Blas.sgemm(false, true, m, cols, k, x.floatPointer(), k, w.floatPointer(n0 * k), k, beta,
                    out.floatPointer(n0), n);
        });
    }

    @Override
    public void embedding(Tensor out, Tensor table, Tensor ids) {
        long vocab = table.dim(0), c = table.dim(1), n = ids.dim(0);
        f32("table", table, vocab, c);
        require("ids", ids, DType.I32, n);
        f32("out", out, n, c);
        IntBuffer id = ids.ints();
        FloatBuffer src = table.floats(), dst = out.floats();
        int width = Math.toIntExact(c);
        parallel.forRange(n, 16, (start, end) -> {
            float[] row = new float[width];
            for (long t = start; t < end; t++) {
                int token = id.get((int) t);
                if (token < 0 || token >= vocab) {
                    throw new IllegalArgumentException("token id " + token + " at position " + t
                            + " is outside the vocabulary [0, " + vocab + ")");
                }
                src.get(Math.toIntExact((long) token * width), row);
                dst.put(Math.toIntExact(t * width), row);
            }
        });
    }

    @Override
    public void rmsNorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        long n = x.dim(0), c = x.dim(1);
        f32("x", x, n, c);
        f32("out", out, n, c);
        f32("weight", weight, c);
        f32("rstd", rstd, n);
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
    public void rope(Tensor x, Tensor cos, Tensor sin) {
        long n = x.dim(0), heads = x.dim(1), d = x.dim(2);
        f32("x", x, n, heads, d);
        if (d % 2 != 0) {
            throw new IllegalArgumentException("x: RoPE needs an even head dim, got " + x);
        }
        f32("cos", cos, n, d / 2);
        f32("sin", sin, n, d / 2);
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
                        float x1 = row[base + j], x2 = row[base + half + j];
                        row[base + j] = x1 * c[j] - x2 * s[j];
                        row[base + half + j] = x2 * c[j] + x1 * s[j];
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
    public void swiglu(Tensor out, Tensor gate, Tensor up) {
        long n = gate.dim(0), f = gate.dim(1);
        f32("gate", gate, n, f);
        f32("up", up, n, f);
        f32("out", out, n, f);
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
    public void add(Tensor acc, Tensor x) {
        if (!acc.sameLayout(x) || acc.dtype() != DType.F32) {
            throw new IllegalArgumentException("add: acc " + acc + " and x " + x + " must be F32 of one shape");
        }
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
    public void tokenLogProbs(Tensor logp, Tensor lse, Tensor hidden, Tensor lmHead, Tensor labels) {
        long n = hidden.dim(0), c = hidden.dim(1), vocab = lmHead.dim(0);
        f32("hidden", hidden, n, c);
        f32("lmHead", lmHead, vocab, c);
        require("labels", labels, DType.I32, n);
        f32("logp", logp, n);
        f32("lse", lse, n);
        IntBuffer label = labels.ints();
        for (long t = 0; t < n; t++) {
            int y = label.get((int) t);
            if (y != IGNORE_INDEX && (y < 0 || y >= vocab)) {
                throw new IllegalArgumentException("label " + y + " at position " + t
                        + " is outside the vocabulary [0, " + vocab + ") and is not " + IGNORE_INDEX);
            }
        }
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
                        float logSumExp = max + (float) Math.log(Simd.expShiftSum(row, 0, v, max, false));
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
    public void close() {
        parallel.close();
    }
}
