package ai.janus.backend.cpu;

import static ai.janus.backend.ShapeCheck.f32;
import static ai.janus.backend.ShapeCheck.require;

import ai.janus.backend.AttentionSpec;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * FlashAttention-2 forward on the CPU (Dao, 2023, Algorithm 1), over packed sequences.
 *
 * <pre>
 * per (sequence, kv head, block of BLOCK_Q query rows), for each query head g of the group:
 *   m = −inf, l = 0, acc = 0                                  (per row, fp32)
 *   for each key block j intersecting the allowed region:
 *     S = (scale·Q_i)·K_jᵀ, disallowed entries −inf
 *     m_new = max(m, rowmax(S));  alpha = exp(m − m_new);  P = exp(S − m_new)   (m_new = −inf → 0)
 *     l = l·alpha + rowsum(P);  acc = acc·alpha + P·V_j;  m = m_new
 *   O = acc / l (l = 0 → 0);  LSE = m + log(l) (l = 0 → −inf)
 * </pre>
 * Query row i (0-based in its sequence) sees key j iff lo(i) ≤ j ≤ hi(i), with off = Tk − Tq,
 * hi(i) = i + off when causal (else Tk − 1) and lo(i) = i + off − W with a window (else 0).
 * Both bounds grow with i, so a query block's keys are the single range [lo(first), hi(last)].
 *
 * <p>Memory: per task only tiles (BLOCK_Q x D per head of the group, BLOCK_K x D for K and V,
 * BLOCK_Q x BLOCK_K scores); no T x T buffer exists. The tile products are {@link Simd#gemm}
 * micro-GEMMs over heap arrays (K stored transposed); they are too small and too many, and run
 * inside this pool's threads, to go through OpenBLAS.
 *
 * <p>GQA: the query heads h = kv·G … kv·G + G − 1 (G = H / KV) share one task and one copy of
 * each K/V tile. Tasks are (sequence, kv head, query block), the longest (last) blocks first.
 */
final class FlashAttentionCpu {
    static final int BLOCK_Q = 64;
    static final int BLOCK_K = 64;

    private FlashAttentionCpu() {}

    static void forward(Parallel parallel, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                        Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec) {
        long nq = q.dim(0), heads = q.dim(1), d = q.dim(2), nk = k.dim(0), kvHeads = k.dim(1);
        f32("q", q, nq, heads, d);
        f32("k", k, nk, kvHeads, d);
        f32("v", v, nk, kvHeads, d);
        f32("out", out, nq, heads, d);
        f32("lse", lse, nq, heads);
        if (kvHeads == 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("q heads " + heads + " must be a multiple of kv heads " + kvHeads);
        }
        int[] cuQ = offsets("cuSeqlensQ", cuSeqlensQ, nq);
        int[] cuK = offsets("cuSeqlensK", cuSeqlensK, nk);
        if (cuQ.length != cuK.length) {
            throw new IllegalArgumentException("cuSeqlensQ has " + (cuQ.length - 1) + " sequences but cuSeqlensK has "
                    + (cuK.length - 1));
        }
        Geometry g = new Geometry((int) heads, (int) kvHeads, (int) d, spec, cuQ, cuK,
                q.floats(), k.floats(), v.floats(), out.floats(), lse.floats());
        long[] tasks = tasks(cuQ, (int) kvHeads);
        parallel.forEach(tasks.length, i -> runTask(g, tasks[i]));
    }

    /** Reads and checks cu_seqlens: starts at 0, never decreases, ends at {@code rows}. */
    static int[] offsets(String name, Tensor cu, long rows) {
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

    /** Everything a task reads, fixed for one call. */
    private record Geometry(int heads, int kvHeads, int d, AttentionSpec spec, int[] cuQ, int[] cuK,
                            FloatBuffer q, FloatBuffer k, FloatBuffer v, FloatBuffer out, FloatBuffer lse) {}

    /** Packs (sequence, query block, kv head) into longs, largest query blocks first. */
    private static long[] tasks(int[] cuQ, int kvHeads) {
        int count = 0;
        for (int s = 0; s + 1 < cuQ.length; s++) {
            count += ceilDiv(cuQ[s + 1] - cuQ[s], BLOCK_Q) * kvHeads;
        }
        long[] tasks = new long[count];
        int maxBlocks = 0;
        for (int s = 0; s + 1 < cuQ.length; s++) {
            maxBlocks = Math.max(maxBlocks, ceilDiv(cuQ[s + 1] - cuQ[s], BLOCK_Q));
        }
        int t = 0;
        for (int b = maxBlocks - 1; b >= 0; b--) {
            for (int s = 0; s + 1 < cuQ.length; s++) {
                if (b < ceilDiv(cuQ[s + 1] - cuQ[s], BLOCK_Q)) {
                    for (int kv = 0; kv < kvHeads; kv++) {
                        tasks[t++] = ((long) s << 40) | ((long) b << 20) | kv;
                    }
                }
            }
        }
        return tasks;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static void runTask(Geometry g, long task) {
        int s = (int) (task >>> 40), block = (int) ((task >>> 20) & 0xfffff), kv = (int) (task & 0xfffff);
        int d = g.d, group = g.heads / g.kvHeads;
        int qStart = g.cuQ[s], tq = g.cuQ[s + 1] - qStart;
        int kStart = g.cuK[s], tk = g.cuK[s + 1] - kStart;
        int offset = tk - tq;
        int i0 = block * BLOCK_Q, rows = Math.min(BLOCK_Q, tq - i0);
        float scale = g.spec.scale();

        float[][] qt = new float[group][rows * d];
        float[][] acc = new float[group][rows * d];
        float[][] m = new float[group][rows];
        float[][] l = new float[group][rows];
        for (int h = 0; h < group; h++) {
            int head = kv * group + h;
            for (int r = 0; r < rows; r++) {
                g.q.get(((qStart + i0 + r) * g.heads + head) * d, qt[h], r * d, d);
                for (int e = r * d; e < (r + 1) * d; e++) {
                    qt[h][e] *= scale;
                }
            }
            java.util.Arrays.fill(m[h], Float.NEGATIVE_INFINITY);
        }

        int[] lo = new int[rows], hi = new int[rows];
        for (int r = 0; r < rows; r++) {
            int i = i0 + r;
            hi[r] = g.spec.causal() ? Math.min(tk - 1, i + offset) : tk - 1;
            lo[r] = g.spec.hasWindow() ? Math.max(0, i + offset - g.spec.window()) : 0;
        }
        int jFirst = lo[0], jLast = hi[rows - 1];

        float[] kT = new float[d * BLOCK_K], vt = new float[BLOCK_K * d], row = new float[d];
        float[] scores = new float[rows * BLOCK_K];
        for (int j0 = jFirst; j0 <= jLast; j0 += BLOCK_K) {
            int cols = Math.min(BLOCK_K, jLast + 1 - j0);
            for (int c = 0; c < cols; c++) {
                int at = ((kStart + j0 + c) * g.kvHeads + kv) * d;
                g.k.get(at, row, 0, d);
                for (int e = 0; e < d; e++) {
                    kT[e * BLOCK_K + c] = row[e];
                }
                g.v.get(at, vt, c * d, d);
            }
            for (int h = 0; h < group; h++) {
                tile(qt[h], kT, vt, scores, acc[h], m[h], l[h], rows, cols, d, j0, lo, hi);
            }
        }

        for (int h = 0; h < group; h++) {
            int head = kv * group + h;
            for (int r = 0; r < rows; r++) {
                float sum = l[h][r];
                float inv = sum == 0 ? 0 : 1f / sum;
                for (int e = r * d; e < (r + 1) * d; e++) {
                    acc[h][e] *= inv;
                }
                int token = qStart + i0 + r;
                g.out.put((token * g.heads + head) * d, acc[h], r * d, d);
                g.lse.put(token * g.heads + head, sum == 0 ? Float.NEGATIVE_INFINITY : m[h][r] + (float) Math.log(sum));
            }
        }
    }

    /** One (query block, key block) step of the online softmax for one query head. */
    private static void tile(float[] qt, float[] kT, float[] vt, float[] scores, float[] acc, float[] m, float[] l,
                             int rows, int cols, int d, int j0, int[] lo, int[] hi) {
        // S = (scale·Q_i)·K_jᵀ                                            (rows, cols), row stride BLOCK_K
        Simd.gemm(scores, 0, BLOCK_K, qt, 0, d, kT, 0, BLOCK_K, rows, cols, d, false);
        for (int r = 0; r < rows; r++) {
            int sRow = r * BLOCK_K;
            // mask the entries of this row outside [lo, hi]
            int allowedFrom = Math.max(0, lo[r] - j0), allowedTo = Math.min(cols - 1, hi[r] - j0);
            if (allowedFrom > 0 || allowedTo < cols - 1) {
                for (int c = 0; c < cols; c++) {
                    if (c < allowedFrom || c > allowedTo) {
                        scores[sRow + c] = Float.NEGATIVE_INFINITY;
                    }
                }
            }
            // m_new = max(m, rowmax(S)); P = exp(S − m_new); alpha = exp(m − m_new)
            float mNew = Math.max(m[r], Simd.max(scores, sRow, cols));
            float base = mNew == Float.NEGATIVE_INFINITY ? 0f : mNew;
            float alpha = (float) Math.exp(m[r] - base);
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
}
