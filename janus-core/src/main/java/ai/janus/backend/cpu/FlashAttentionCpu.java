package ai.janus.backend.cpu;

import static ai.janus.backend.ShapeCheck.f32;

import ai.janus.backend.AttentionSpec;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * FlashAttention-2 on the CPU (Dao, 2023), forward and backward, over packed sequences.
 *
 * <pre>
 * forward, per (sequence, kv head, block of BLOCK_Q query rows), for each query head of the group:
 *   m = −inf, l = 0, acc = 0                                            (per row, fp32)
 *   for each key block j intersecting the allowed region:
 *     S = (scale·Q_i)·K_jᵀ, disallowed entries −inf
 *     m_new = max(m, rowmax(S));  alpha = exp(m − m_new);  P = exp(S − m_new)   (m_new = −inf → 0)
 *     l = l·alpha + rowsum(P);  acc = acc·alpha + P·V_j;  m = m_new
 *   O = acc / l (l = 0 → 0);  LSE = m + log(l) (l = 0 → −inf)
 *
 * backward, with D_i = rowsum(dO_i ⊙ O_i) and P = exp(S − LSE_i) recomputed, never stored:
 *   dV_j = Σ_i Pᵀ·dO_i      dP = dO_i·V_jᵀ      dS = P ⊙ (dP − D_i)
 *   dK_j = Σ_i scale·dSᵀ·Q_i                   dQ_i = Σ_j scale·dS·K_j
 * </pre>
 * The backward runs in two passes so that every output row has exactly one writer and the
 * result does not depend on thread timing: pass A, one task per (sequence, kv head, key block),
 * sums dK_j and dV_j over the query blocks that see block j and over the group's query heads
 * (GQA: dK and dV of a kv head are summed over the heads that read it); pass B, one task per
 * (sequence, kv head, query block), sums dQ_i over the key blocks query block i sees. The GPU
 * kernel does this in one pass with atomics on dQ; two passes recompute S and dP once more
 * (7 tile products per tile pair instead of 5) and need no atomics.
 *
 * <p>Masks: query row i (0-based in its sequence) sees key j iff lo(i) ≤ j ≤ hi(i), with
 * off = Tk − Tq, hi(i) = i + off when causal (else Tk − 1) and lo(i) = i + off − W with a window
 * (else 0). Both bounds grow with i, so a query block's keys form one range [lo(first), hi(last)]
 * and a key block's queries one range [j_first − off, j_last + W − off].
 *
 * <p>Memory: per task only tiles (BLOCK_Q x D per head of the group, BLOCK_K x D for K and V,
 * BLOCK_Q x BLOCK_K scores); no T x T buffer exists. Tile products are {@link Simd} micro-GEMMs
 * over heap arrays, K and V also stored transposed (D x BLOCK_K) for the products that need Kᵀ
 * and Vᵀ; they are too small and too many, and run inside this pool's threads, to go through
 * OpenBLAS. Tasks that cover more work (later query blocks, earlier key blocks) go first.
 */
final class FlashAttentionCpu {
    static final int BLOCK_Q = 64;
    static final int BLOCK_K = 64;

    private FlashAttentionCpu() {}

    /** Everything the tasks of one call read and write. Backward-only buffers are null in the forward. */
    private record Problem(int heads, int kvHeads, int d, AttentionSpec spec, int[] cuQ, int[] cuK,
                           FloatBuffer q, FloatBuffer k, FloatBuffer v, FloatBuffer out, FloatBuffer lse,
                           FloatBuffer dOut, FloatBuffer delta, FloatBuffer dq, FloatBuffer dk, FloatBuffer dv) {
        int group() {
            return heads / kvHeads;
        }
    }

    // ------------------------------------------------------------------------------------ forward

    static void forward(Parallel parallel, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                        Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec) {
        long nq = q.dim(0), heads = q.dim(1), d = q.dim(2), nk = k.dim(0), kvHeads = k.dim(1);
        checkInputs(q, k, v, nq, heads, d, nk, kvHeads);
        f32("out", out, nq, heads, d);
        f32("lse", lse, nq, heads);
        int[][] cu = sequences(cuSeqlensQ, cuSeqlensK, nq, nk);
        Problem p = new Problem((int) heads, (int) kvHeads, (int) d, spec, cu[0], cu[1],
                q.floats(), k.floats(), v.floats(), out.floats(), lse.floats(), null, null, null, null, null);
        long[] tasks = tasks(cu[0], BLOCK_Q, (int) kvHeads, true);
        parallel.forEach(tasks.length, i -> forwardTask(p, tasks[i]));
    }

    private static void forwardTask(Problem p, long task) {
        int s = sequence(task), block = block(task), kv = kvHead(task);
        int d = p.d, group = p.group();
        int qStart = p.cuQ[s], tq = p.cuQ[s + 1] - qStart, kStart = p.cuK[s], tk = p.cuK[s + 1] - kStart;
        int i0 = block * BLOCK_Q, rows = Math.min(BLOCK_Q, tq - i0);

        float[][] qt = new float[group][rows * d];   // (rows, D) scale·Q per head of the group
        float[][] acc = new float[group][rows * d];  // (rows, D)
        float[][] m = new float[group][rows];
        float[][] l = new float[group][rows];
        for (int h = 0; h < group; h++) {
            loadRows(p.q, qt[h], qStart + i0, rows, p.heads, kv * group + h, d, p.spec.scale());
            Arrays.fill(m[h], Float.NEGATIVE_INFINITY);
        }
        int[] lo = new int[rows], hi = new int[rows];
        rowBounds(p.spec, i0, rows, tq, tk, lo, hi);

        float[] kT = new float[d * BLOCK_K], vt = new float[BLOCK_K * d], scores = new float[rows * BLOCK_K];
        for (int j0 = lo[0], jLast = hi[rows - 1]; j0 <= jLast; j0 += BLOCK_K) {
            int cols = Math.min(BLOCK_K, jLast + 1 - j0);
            loadTransposed(p.k, kT, kStart + j0, cols, p.kvHeads, kv, d);
            loadRows(p.v, vt, kStart + j0, cols, p.kvHeads, kv, d, 1f);
            for (int h = 0; h < group; h++) {
                forwardTile(qt[h], kT, vt, scores, acc[h], m[h], l[h], rows, cols, d, j0, lo, hi);
            }
        }
        for (int h = 0; h < group; h++) {
            int head = kv * group + h;
            for (int r = 0; r < rows; r++) {
                float sum = l[h][r];
                Simd.scale(acc[h], r * d, d, sum == 0 ? 0 : 1f / sum);
                int token = qStart + i0 + r;
                p.out.put((token * p.heads + head) * d, acc[h], r * d, d);
                p.lse.put(token * p.heads + head, sum == 0 ? Float.NEGATIVE_INFINITY : m[h][r] + (float) StrictMath.log(sum));
            }
        }
    }

    /** One (query block, key block) step of the online softmax for one query head. */
    private static void forwardTile(float[] qt, float[] kT, float[] vt, float[] scores, float[] acc, float[] m,
                                    float[] l, int rows, int cols, int d, int j0, int[] lo, int[] hi) {
        // S = (scale·Q_i)·K_jᵀ                                            (rows, cols), row stride BLOCK_K
        Simd.gemm(scores, 0, BLOCK_K, qt, 0, d, kT, 0, BLOCK_K, rows, cols, d, false);
        for (int r = 0; r < rows; r++) {
            int sRow = r * BLOCK_K;
            mask(scores, sRow, cols, j0, lo[r], hi[r]);
            // m_new = max(m, rowmax(S)); P = exp(S − m_new); alpha = exp(m − m_new)
            float mNew = Math.max(m[r], Simd.max(scores, sRow, cols));
            float base = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
            float alpha = Simd.exp(m[r] - base);
            float rowSum = Simd.expShiftSum(scores, sRow, cols, base, true);
            // l = l·alpha + rowsum(P); acc = acc·alpha (+ P·V below)
            l[r] = l[r] * alpha + rowSum;
            m[r] = mNew;
            if (alpha != 1f) {
                Simd.scale(acc, r * d, d, alpha);
            }
        }
        // acc += P·V_j                                                    (rows, D)
        Simd.gemm(acc, 0, d, scores, 0, BLOCK_K, vt, 0, d, rows, d, cols, true);
    }

    // ----------------------------------------------------------------------------------- backward

    /**
     * Gradients of {@link #forward}: dq (Nq, H, D), dk and dv (Nk, KV, D), all overwritten, from
     * dOut (Nq, H, D) and the forward's inputs, output and LSE.
     */
    static void backward(Parallel parallel, Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k,
                         Tensor v, Tensor out, Tensor lse, Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec) {
        long nq = q.dim(0), heads = q.dim(1), d = q.dim(2), nk = k.dim(0), kvHeads = k.dim(1);
        checkInputs(q, k, v, nq, heads, d, nk, kvHeads);
        f32("out", out, nq, heads, d);
        f32("lse", lse, nq, heads);
        f32("dOut", dOut, nq, heads, d);
        f32("dq", dq, nq, heads, d);
        f32("dk", dk, nk, kvHeads, d);
        f32("dv", dv, nk, kvHeads, d);
        int[][] cu = sequences(cuSeqlensQ, cuSeqlensK, nq, nk);
        try (Tensor delta = Tensor.allocate(DType.F32, nq, heads)) {
            // D_i = rowsum(dO_i ⊙ O_i), once per (token, head)
            FloatBuffer o = out.floats(), g = dOut.floats(), dl = delta.floats();
            int width = (int) d;
            parallel.forRange(nq * heads, 64, (start, end) -> {
                float[] a = new float[width], b = new float[width];
                for (long row = start; row < end; row++) {
                    o.get((int) (row * width), a);
                    g.get((int) (row * width), b);
                    dl.put((int) row, Simd.dot(a, b, width));
                }
            });
            Problem p = new Problem((int) heads, (int) kvHeads, width, spec, cu[0], cu[1], q.floats(), k.floats(),
                    v.floats(), o, lse.floats(), g, dl, dq.floats(), dk.floats(), dv.floats());
            long[] keyTasks = tasks(cu[1], BLOCK_K, (int) kvHeads, false);
            parallel.forEach(keyTasks.length, i -> keyBlockTask(p, keyTasks[i]));
            long[] queryTasks = tasks(cu[0], BLOCK_Q, (int) kvHeads, true);
            parallel.forEach(queryTasks.length, i -> queryBlockTask(p, queryTasks[i]));
        }
    }

    /** Pass A: dK_j and dV_j of one key block, over every query head of the group and query block that sees it. */
    private static void keyBlockTask(Problem p, long task) {
        int s = sequence(task), block = block(task), kv = kvHead(task);
        int d = p.d, group = p.group();
        int qStart = p.cuQ[s], tq = p.cuQ[s + 1] - qStart, kStart = p.cuK[s], tk = p.cuK[s + 1] - kStart;
        int off = tk - tq, j0 = block * BLOCK_K, cols = Math.min(BLOCK_K, tk - j0);
        int iFirst = p.spec.causal() ? Math.max(0, j0 - off) : 0;
        int iLast = p.spec.hasWindow() ? Math.min(tq - 1, j0 + cols - 1 + p.spec.window() - off) : tq - 1;

        float[] kT = new float[d * BLOCK_K], vT = new float[d * BLOCK_K];
        loadTransposed(p.k, kT, kStart + j0, cols, p.kvHeads, kv, d);
        loadTransposed(p.v, vT, kStart + j0, cols, p.kvHeads, kv, d);
        float[] dK = new float[cols * d], dV = new float[cols * d];                    // (cols, D)
        float[] qt = new float[BLOCK_Q * d], dO = new float[BLOCK_Q * d];               // (rows, D)
        float[] probs = new float[BLOCK_Q * BLOCK_K], dS = new float[BLOCK_Q * BLOCK_K]; // (rows, cols)
        float[] lse = new float[BLOCK_Q], delta = new float[BLOCK_Q];
        int[] lo = new int[BLOCK_Q], hi = new int[BLOCK_Q];
        for (int h = 0; h < group; h++) {
            int head = kv * group + h;
            for (int i0 = iFirst; i0 <= iLast; i0 += BLOCK_Q) {
                int rows = Math.min(BLOCK_Q, iLast + 1 - i0);
                loadRows(p.q, qt, qStart + i0, rows, p.heads, head, d, p.spec.scale());
                loadRows(p.dOut, dO, qStart + i0, rows, p.heads, head, d, 1f);
                loadRowStats(p, lse, delta, qStart + i0, rows, head);
                rowBounds(p.spec, i0, rows, tq, tk, lo, hi);
                probabilitiesAndScoreGradient(qt, dO, kT, vT, probs, dS, lse, delta, rows, cols, d, j0, lo, hi);
                // dV_j += Pᵀ·dO_i;  dK_j += dSᵀ·(scale·Q_i)
                Simd.gemmTransposedA(dV, 0, d, probs, 0, BLOCK_K, dO, 0, d, cols, d, rows, true);
                Simd.gemmTransposedA(dK, 0, d, dS, 0, BLOCK_K, qt, 0, d, cols, d, rows, true);
            }
        }
        for (int c = 0; c < cols; c++) {
            int at = ((kStart + j0 + c) * p.kvHeads + kv) * d;
            p.dk.put(at, dK, c * d, d);
            p.dv.put(at, dV, c * d, d);
        }
    }

    /** Pass B: dQ_i of one query block for every query head of the group, over the key blocks it sees. */
    private static void queryBlockTask(Problem p, long task) {
        int s = sequence(task), block = block(task), kv = kvHead(task);
        int d = p.d, group = p.group();
        int qStart = p.cuQ[s], tq = p.cuQ[s + 1] - qStart, kStart = p.cuK[s], tk = p.cuK[s + 1] - kStart;
        int i0 = block * BLOCK_Q, rows = Math.min(BLOCK_Q, tq - i0);

        float[][] qt = new float[group][rows * d], dO = new float[group][rows * d], dQ = new float[group][rows * d];
        float[][] lse = new float[group][rows], delta = new float[group][rows];
        for (int h = 0; h < group; h++) {
            int head = kv * group + h;
            loadRows(p.q, qt[h], qStart + i0, rows, p.heads, head, d, p.spec.scale());
            loadRows(p.dOut, dO[h], qStart + i0, rows, p.heads, head, d, 1f);
            loadRowStats(p, lse[h], delta[h], qStart + i0, rows, head);
        }
        int[] lo = new int[rows], hi = new int[rows];
        rowBounds(p.spec, i0, rows, tq, tk, lo, hi);

        float[] kT = new float[d * BLOCK_K], vT = new float[d * BLOCK_K], kRows = new float[BLOCK_K * d];
        float[] probs = new float[rows * BLOCK_K], dS = new float[rows * BLOCK_K];
        for (int j0 = lo[0], jLast = hi[rows - 1]; j0 <= jLast; j0 += BLOCK_K) {
            int cols = Math.min(BLOCK_K, jLast + 1 - j0);
            loadTransposed(p.k, kT, kStart + j0, cols, p.kvHeads, kv, d);
            loadTransposed(p.v, vT, kStart + j0, cols, p.kvHeads, kv, d);
            loadRows(p.k, kRows, kStart + j0, cols, p.kvHeads, kv, d, 1f);
            for (int h = 0; h < group; h++) {
                probabilitiesAndScoreGradient(qt[h], dO[h], kT, vT, probs, dS, lse[h], delta[h], rows, cols, d, j0,
                        lo, hi);
                // dQ_i += dS·K_j (scale applied once at the end)
                Simd.gemm(dQ[h], 0, d, dS, 0, BLOCK_K, kRows, 0, d, rows, d, cols, true);
            }
        }
        for (int h = 0; h < group; h++) {
            int head = kv * group + h;
            Simd.scale(dQ[h], 0, rows * d, p.spec.scale());
            for (int r = 0; r < rows; r++) {
                p.dq.put(((qStart + i0 + r) * p.heads + head) * d, dQ[h], r * d, d);
            }
        }
    }

    /**
     * The recomputed tile of both passes: {@code P = exp(S − LSE)} with S masked, and
     * {@code dS = P ⊙ (dO·Vᵀ − D)}, both (rows, cols) with row stride BLOCK_K. A row whose LSE
     * is −inf saw no key in the forward; its P is 0.
     */
    private static void probabilitiesAndScoreGradient(float[] qt, float[] dO, float[] kT, float[] vT, float[] probs,
                                                      float[] dS, float[] lse, float[] delta, int rows, int cols,
                                                      int d, int j0, int[] lo, int[] hi) {
        Simd.gemm(probs, 0, BLOCK_K, qt, 0, d, kT, 0, BLOCK_K, rows, cols, d, false);
        Simd.gemm(dS, 0, BLOCK_K, dO, 0, d, vT, 0, BLOCK_K, rows, cols, d, false);
        for (int r = 0; r < rows; r++) {
            int sRow = r * BLOCK_K;
            mask(probs, sRow, cols, j0, lo[r], hi[r]);
            float shift = lse[r] == Float.NEGATIVE_INFINITY ? Float.POSITIVE_INFINITY : lse[r];
            Simd.expShiftSum(probs, sRow, cols, shift, true);
            Simd.softmaxGradient(dS, probs, sRow, cols, delta[r]);
        }
    }

    // ------------------------------------------------------------------------------------ helpers

    private static void checkInputs(Tensor q, Tensor k, Tensor v, long nq, long heads, long d, long nk, long kvHeads) {
        f32("q", q, nq, heads, d);
        f32("k", k, nk, kvHeads, d);
        f32("v", v, nk, kvHeads, d);
        if (kvHeads == 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("q heads " + heads + " must be a multiple of kv heads " + kvHeads);
        }
    }

    /** Both cu_seqlens, checked against each other and the row counts. */
    private static int[][] sequences(Tensor cuSeqlensQ, Tensor cuSeqlensK, long nq, long nk) {
        int[] cuQ = offsets("cuSeqlensQ", cuSeqlensQ, nq);
        int[] cuK = offsets("cuSeqlensK", cuSeqlensK, nk);
        if (cuQ.length != cuK.length) {
            throw new IllegalArgumentException("cuSeqlensQ has " + (cuQ.length - 1) + " sequences but cuSeqlensK has "
                    + (cuK.length - 1));
        }
        return new int[][] {cuQ, cuK};
    }

    /** Reads and checks cu_seqlens: starts at 0, never decreases, ends at {@code rows}. */
    static int[] offsets(String name, Tensor cu, long rows) {
        return ai.janus.backend.ShapeCheck.cuSeqlens(name, cu, rows);
    }

    /** [lo, hi] of the keys each of {@code rows} query rows from {@code i0} may see (see class comment). */
    private static void rowBounds(AttentionSpec spec, int i0, int rows, int tq, int tk, int[] lo, int[] hi) {
        int off = tk - tq;
        for (int r = 0; r < rows; r++) {
            int i = i0 + r;
            hi[r] = spec.causal() ? Math.min(tk - 1, i + off) : tk - 1;
            lo[r] = spec.hasWindow() ? Math.max(0, i + off - spec.window()) : 0;
        }
    }

    /** Sets the entries of one score row outside keys [lo, hi] to −inf; the row starts at key j0. */
    private static void mask(float[] scores, int sRow, int cols, int j0, int lo, int hi) {
        int allowedFrom = Math.max(0, lo - j0), allowedTo = Math.min(cols - 1, hi - j0);
        if (allowedFrom > 0 || allowedTo < cols - 1) {
            for (int c = 0; c < cols; c++) {
                if (c < allowedFrom || c > allowedTo) {
                    scores[sRow + c] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }

    /** Copies head {@code head} of {@code count} token rows from {@code first} into (count, D) rows, times {@code factor}. */
    private static void loadRows(FloatBuffer src, float[] dst, int first, int count, int heads, int head, int d,
                                 float factor) {
        for (int r = 0; r < count; r++) {
            src.get(((first + r) * heads + head) * d, dst, r * d, d);
        }
        if (factor != 1f) {
            Simd.scale(dst, 0, count * d, factor);
        }
    }

    /** Copies head {@code head} of {@code count} token rows transposed into (D, BLOCK_K). */
    private static void loadTransposed(FloatBuffer src, float[] dst, int first, int count, int heads, int head, int d) {
        for (int c = 0; c < count; c++) {
            int at = ((first + c) * heads + head) * d;
            for (int e = 0; e < d; e++) {
                dst[e * BLOCK_K + c] = src.get(at + e);
            }
        }
    }

    /** LSE and D of {@code rows} query rows of one head. */
    private static void loadRowStats(Problem p, float[] lse, float[] delta, int first, int rows, int head) {
        for (int r = 0; r < rows; r++) {
            lse[r] = p.lse.get((first + r) * p.heads + head);
            delta[r] = p.delta.get((first + r) * p.heads + head);
        }
    }

    // -------------------------------------------------------------------------------------- tasks

    /**
     * Tasks (sequence, block, kv head) packed into longs, one per block of {@code blockSize} rows of
     * each sequence ({@code cu}) and kv head; with {@code lastFirst} the highest block indices come
     * first (causal query blocks: the later, the more keys), else the lowest (key blocks).
     */
    private static long[] tasks(int[] cu, int blockSize, int kvHeads, boolean lastFirst) {
        int maxBlocks = 0, count = 0;
        for (int s = 0; s + 1 < cu.length; s++) {
            int blocks = ceilDiv(cu[s + 1] - cu[s], blockSize);
            maxBlocks = Math.max(maxBlocks, blocks);
            count += blocks * kvHeads;
        }
        long[] tasks = new long[count];
        int t = 0;
        for (int n = 0; n < maxBlocks; n++) {
            int b = lastFirst ? maxBlocks - 1 - n : n;
            for (int s = 0; s + 1 < cu.length; s++) {
                if (b < ceilDiv(cu[s + 1] - cu[s], blockSize)) {
                    for (int kv = 0; kv < kvHeads; kv++) {
                        tasks[t++] = ((long) s << 40) | ((long) b << 20) | kv;
                    }
                }
            }
        }
        return tasks;
    }

    private static int sequence(long task) {
        return (int) (task >>> 40);
    }

    private static int block(long task) {
        return (int) ((task >>> 20) & 0xfffff);
    }

    private static int kvHead(long task) {
        return (int) (task & 0xfffff);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
