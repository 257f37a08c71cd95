package ai.janus.kernels;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.GradClip;
import ai.janus.optim.Optimizer;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The op cases every backend must pass, written once. Each case is a run (tensors in, named
 * outputs out, on a given backend) plus the op's definition evaluated in plain double loops in
 * this file, never through janus code. {@link CpuOpContractTest} checks the CPU backend against
 * the definition at fp32 tolerance — so the cases themselves can fail and are proven —
 * {@link CudaOpContractTest} checks the CUDA backend against the CPU backend: bit for bit
 * ({@link Tol#CPU_BITS}, {@link Tol#EXACT}) for the kernels native/KERNELS.md marks bit-identical
 * (embedding backward, rmsnorm dw, rope, swiglu, add, scale, fp32 AdamW, 8-bit AdamW with fp32
 * parameters), at the fp32/bf16 tolerances of {@link Tol} for the rest.
 */
abstract class OpContract {
    /** Named outputs of one run, in a fixed order. */
    static final class Outputs {
        final Map<String, float[]> values = new LinkedHashMap<>();

        Outputs put(String name, Tensor t) {
            values.put(name, t.toFloatArray());
            return this;
        }
    }

    /**
     * Checks one case: {@code run} on the backend under test against {@code definition} (CPU) or
     * against {@code run} on the CPU (CUDA) with {@code gpu} tolerances per output.
     */
    abstract void verify(String op, Function<Backend, Outputs> run, Map<String, double[]> definition,
                         Map<String, Tol> gpu);

    // ------------------------------------------------------------------------------ data

    static float[] randn(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    static float[] scaled(float[] x, float s) {
        float[] y = x.clone();
        for (int i = 0; i < y.length; i++) {
            y[i] *= s;
        }
        return y;
    }

    static Map<String, double[]> def(Object... nameThenValues) {
        Map<String, double[]> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenValues.length; i += 2) {
            m.put((String) nameThenValues[i], (double[]) nameThenValues[i + 1]);
        }
        return m;
    }

    static Map<String, Tol> tol(Object... nameThenTol) {
        Map<String, Tol> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenTol.length; i += 2) {
            m.put((String) nameThenTol[i], (Tol) nameThenTol[i + 1]);
        }
        return m;
    }

    // ------------------------------------------------------------------------------ matmuls

    static final int M = 37, K = 70, N = 45;

    /** out = x·wᵀ (+ old out). */
    static double[] matmulDef(float[] x, float[] w, float[] old, int m, int k, int n) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = old == null ? 0 : old[i * n + j];
                for (int p = 0; p < k; p++) {
                    s += (double) x[i * k + p] * w[j * k + p];
                }
                out[i * n + j] = s;
            }
        }
        return out;
    }

    @Test
    void matmul() {
        float[] x = randn(M * K, 1), w = scaled(randn(N * K, 2), 0.1f), old = randn(M * N, 3);
        for (boolean accumulate : new boolean[] {false, true}) {
            verify("matmul(accumulate=" + accumulate + ")", b -> {
                try (Tensor xt = Tensor.of(x, M, K); Tensor wt = Tensor.of(w, N, K); Tensor out = Tensor.of(old, M, N)) {
                    b.matmul(out, xt, wt, accumulate);
                    return new Outputs().put("out", out);
                }
            }, def("out", matmulDef(x, w, accumulate ? old : null, M, K, N)), tol("out", Tol.BF16_GEMM));
        }
    }

    @Test
    void matmulInputGradient() {
        float[] g = randn(M * N, 4), w = scaled(randn(N * K, 5), 0.1f), old = randn(M * K, 6);
        for (boolean accumulate : new boolean[] {false, true}) {
            double[] expected = new double[M * K];
            for (int i = 0; i < M; i++) {
                for (int p = 0; p < K; p++) {
                    double s = accumulate ? old[i * K + p] : 0;
                    for (int j = 0; j < N; j++) {
                        s += (double) g[i * N + j] * w[j * K + p];
                    }
                    expected[i * K + p] = s;
                }
            }
            verify("matmulInputGradient(accumulate=" + accumulate + ")", b -> {
                try (Tensor gt = Tensor.of(g, M, N); Tensor wt = Tensor.of(w, N, K); Tensor dx = Tensor.of(old, M, K)) {
                    b.matmulInputGradient(dx, gt, wt, accumulate);
                    return new Outputs().put("dx", dx);
                }
            }, def("dx", expected), tol("dx", Tol.BF16_GEMM));
        }
    }

    @Test
    void matmulWeightGradientAccumulates() {
        float[] g = randn(M * N, 7), x = randn(M * K, 8), old = randn(N * K, 9);
        double[] expected = new double[N * K];
        for (int j = 0; j < N; j++) {
            for (int p = 0; p < K; p++) {
                double s = old[j * K + p];
                for (int i = 0; i < M; i++) {
                    s += (double) g[i * N + j] * x[i * K + p];
                }
                expected[j * K + p] = s;
            }
        }
        verify("matmulWeightGradient", b -> {
            try (Tensor gt = Tensor.of(g, M, N); Tensor xt = Tensor.of(x, M, K); Tensor dw = Tensor.of(old, N, K)) {
                b.matmulWeightGradient(dw, gt, xt);
                return new Outputs().put("dw", dw);
            }
        }, def("dw", expected), tol("dw", Tol.BF16_GEMM));
    }

    // ------------------------------------------------------------------------------ rows and element-wise

    @Test
    void embeddingForwardAndBackward() {
        int vocab = 11, c = 300, n = 9; // c > 256: more than one block of columns
        int[] ids = {3, 0, 10, 3, 3, 7, 0, 1, 10};
        float[] table = randn(vocab * c, 10), dOut = randn(n * c, 11), oldTable = randn(vocab * c, 12);
        double[] out = new double[n * c], dTable = Tol.widen(oldTable);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                out[i * c + j] = table[ids[i] * c + j];
            }
        }
        // in order of i, in fp32 as the op defines (repeated ids add up deterministically)
        float[] acc = oldTable.clone();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                acc[ids[i] * c + j] += dOut[i * c + j];
            }
        }
        dTable = Tol.widen(acc);
        verify("embedding", b -> {
            try (Tensor t = Tensor.of(table, vocab, c); Tensor id = Tensor.ofInts(ids); Tensor o = Tensor.of(new float[n * c], n, c);
                 Tensor g = Tensor.of(dOut, n, c); Tensor dt = Tensor.of(oldTable, vocab, c)) {
                b.embedding(o, t, id);
                b.embeddingBackward(dt, g, id);
                return new Outputs().put("out", o).put("dTable", dt);
            }
        }, def("out", out, "dTable", dTable), tol("out", Tol.EXACT, "dTable", Tol.EXACT));
    }

    @Test
    void rmsNormForwardAndBackward() {
        int n = 13, c = 333;
        float eps = 1e-5f;
        float[] x = randn(n * c, 13), w = randn(c, 14), dOut = randn(n * c, 15), oldDx = randn(n * c, 16),
                oldDw = randn(c, 17);
        double[] out = new double[n * c], rstd = new double[n], dx = Tol.widen(oldDx), dw = Tol.widen(oldDw);
        float[] rstdF = new float[n];
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int j = 0; j < c; j++) {
                ss += (double) x[i * c + j] * x[i * c + j];
            }
            rstd[i] = 1 / Math.sqrt(ss / c + eps);
            rstdF[i] = (float) rstd[i];
            for (int j = 0; j < c; j++) {
                out[i * c + j] = w[j] * x[i * c + j] * rstd[i];
            }
        }
        for (int i = 0; i < n; i++) {
            double r = rstdF[i], gx = 0;
            for (int j = 0; j < c; j++) {
                gx += (double) w[j] * dOut[i * c + j] * x[i * c + j];
            }
            for (int j = 0; j < c; j++) {
                dx[i * c + j] += r * w[j] * dOut[i * c + j] - r * r * r * x[i * c + j] * gx / c;
                dw[j] += (double) dOut[i * c + j] * x[i * c + j] * r;
            }
        }
        verify("rmsNorm", b -> {
            try (Tensor xt = Tensor.of(x, n, c); Tensor wt = Tensor.of(w, c); Tensor o = Tensor.of(new float[n * c], n, c);
                 Tensor r = Tensor.of(new float[n], n); Tensor rIn = Tensor.of(rstdF, n); Tensor g = Tensor.of(dOut, n, c);
                 Tensor dxt = Tensor.of(oldDx, n, c); Tensor dwt = Tensor.of(oldDw, c)) {
                b.rmsNorm(o, r, xt, wt, eps);
                b.rmsNormBackward(dxt, dwt, g, xt, wt, rIn);
                return new Outputs().put("out", o).put("rstd", r).put("dx", dxt).put("dWeight", dwt);
            }
        }, def("out", out, "rstd", rstd, "dx", dx, "dWeight", dw),
                // dWeight: columns walk the rows in order with the CPU's products (KERNELS.md: bit-identical);
                // out, rstd, dx hold block reductions in another order than the CPU's
                tol("out", Tol.FP32_KERNEL, "rstd", Tol.FP32_KERNEL, "dx", Tol.FP32_KERNEL, "dWeight", Tol.CPU_BITS));
    }

    @Test
    void ropeForwardAndBackward() {
        int n = 7, heads = 3, d = 16, half = d / 2;
        float[] x = randn(n * heads * d, 18), angle = randn(n * half, 19);
        float[] cos = new float[n * half], sin = new float[n * half];
        for (int i = 0; i < cos.length; i++) {
            cos[i] = (float) Math.cos(angle[i] * 3);
            sin[i] = (float) Math.sin(angle[i] * 3);
        }
        double[] fwd = new double[x.length], bwd = new double[x.length];
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < half; j++) {
                    int a = (t * heads + h) * d + j, bIdx = a + half;
                    double c = cos[t * half + j], s = sin[t * half + j];
                    fwd[a] = x[a] * c - x[bIdx] * s;
                    fwd[bIdx] = x[bIdx] * c + x[a] * s;
                    bwd[a] = x[a] * c + x[bIdx] * s;
                    bwd[bIdx] = x[bIdx] * c - x[a] * s;
                }
            }
        }
        verify("rope", b -> {
            try (Tensor f = Tensor.of(x, n, heads, d); Tensor g = Tensor.of(x, n, heads, d);
                 Tensor ct = Tensor.of(cos, n, half); Tensor st = Tensor.of(sin, n, half)) {
                b.rope(f, ct, st);
                b.ropeBackward(g, ct, st);
                return new Outputs().put("forward", f).put("backward", g);
            }
        }, def("forward", fwd, "backward", bwd), tol("forward", Tol.CPU_BITS, "backward", Tol.CPU_BITS));
    }

    @Test
    void swigluForwardAndBackward() {
        int n = 5, f = 301;
        float[] gate = scaled(randn(n * f, 20), 3), up = randn(n * f, 21), dOut = randn(n * f, 22);
        double[] out = new double[n * f], dGate = new double[n * f], dUp = new double[n * f];
        for (int i = 0; i < n * f; i++) {
            double g = gate[i], s = 1 / (1 + Math.exp(-g));
            out[i] = g * s * up[i];
            dUp[i] = dOut[i] * g * s;
            dGate[i] = dOut[i] * up[i] * s * (1 + g * (1 - s));
        }
        verify("swiglu", b -> {
            try (Tensor g = Tensor.of(gate, n, f); Tensor u = Tensor.of(up, n, f); Tensor o = Tensor.of(new float[n * f], n, f);
                 Tensor d = Tensor.of(dOut, n, f); Tensor dg = Tensor.of(new float[n * f], n, f);
                 Tensor du = Tensor.of(new float[n * f], n, f)) {
                b.swiglu(o, g, u);
                b.swigluBackward(dg, du, d, g, u);
                return new Outputs().put("out", o).put("dGate", dg).put("dUp", du);
            }
        }, def("out", out, "dGate", dGate, "dUp", dUp),
                tol("out", Tol.CPU_BITS, "dGate", Tol.CPU_BITS, "dUp", Tol.CPU_BITS)); // the CPU's exp polynomial
    }

    @Test
    void addCopyZero() {
        int n = 1000;
        float[] a = randn(n, 23), x = randn(n, 24);
        double[] sum = new double[n];
        for (int i = 0; i < n; i++) {
            sum[i] = a[i] + x[i]; // one fp32 add, rounded: exact in double of the float sum
            sum[i] = (float) sum[i];
        }
        verify("add/copy/zero", b -> {
            try (Tensor acc = Tensor.of(a, n); Tensor xt = Tensor.of(x, n); Tensor copy = Tensor.of(new float[n], n);
                 Tensor zero = Tensor.of(x, n)) {
                b.add(acc, xt);
                b.copy(copy, xt);
                b.zero(zero);
                return new Outputs().put("add", acc).put("copy", copy).put("zero", zero);
            }
        }, def("add", sum, "copy", Tol.widen(x), "zero", new double[n]),
                tol("add", Tol.EXACT, "copy", Tol.EXACT, "zero", Tol.EXACT));
    }

    // ------------------------------------------------------------------------------ attention

    /** One attention problem: packed sequences, heads, mask. */
    record Attn(String name, int[] cuQ, int[] cuK, int heads, int kvHeads, int d, AttentionSpec spec) {
        int nq() {
            return cuQ[cuQ.length - 1];
        }

        int nk() {
            return cuK[cuK.length - 1];
        }
    }

    static List<Attn> attentionCases() {
        int d = 32;
        float scale = (float) (1 / Math.sqrt(d));
        List<Attn> cases = new ArrayList<>();
        cases.add(new Attn("causal, one sequence of 70", new int[] {0, 70}, new int[] {0, 70}, 2, 2, d,
                AttentionSpec.causal(d, AttentionSpec.NO_WINDOW)));
        cases.add(new Attn("causal GQA 4/2, window 8", new int[] {0, 70}, new int[] {0, 70}, 4, 2, d,
                AttentionSpec.causal(d, 8)));
        cases.add(new Attn("packed varlen 17, 1, 0, 81 (causal, GQA 4/1)", new int[] {0, 17, 18, 18, 99},
                new int[] {0, 17, 18, 18, 99}, 4, 1, d, AttentionSpec.causal(d, AttentionSpec.NO_WINDOW)));
        cases.add(new Attn("queries past their keys: empty rows (causal, Tq 9 Tk 3; Tq 5 Tk 0)",
                new int[] {0, 9, 14}, new int[] {0, 3, 3}, 2, 2, d, AttentionSpec.causal(d, AttentionSpec.NO_WINDOW)));
        cases.add(new Attn("non-causal, uneven Tq/Tk, window 4", new int[] {0, 20, 31}, new int[] {0, 26, 30}, 2, 1, d,
                new AttentionSpec(false, 4, scale)));
        return cases;
    }

    /** The definition: masked softmax attention in double; returns {out, lse, dq, dk, dv}. */
    static double[][] attentionDef(Attn a, float[] q, float[] k, float[] v, float[] dOut) {
        int h = a.heads(), kvh = a.kvHeads(), d = a.d(), group = h / kvh;
        double[] out = new double[a.nq() * h * d], lse = new double[a.nq() * h];
        double[] dq = new double[q.length], dk = new double[k.length], dv = new double[v.length];
        for (int s = 0; s + 1 < a.cuQ().length; s++) {
            int q0 = a.cuQ()[s], tq = a.cuQ()[s + 1] - q0, k0 = a.cuK()[s], tk = a.cuK()[s + 1] - k0;
            for (int head = 0; head < h; head++) {
                int kv = head / group;
                for (int i = 0; i < tq; i++) {
                    int hi = a.spec().causal() ? Math.min(tk - 1, i + tk - tq) : tk - 1;
                    int lo = a.spec().hasWindow() ? Math.max(0, i + tk - tq - a.spec().window()) : 0;
                    int row = (q0 + i) * h + head;
                    if (hi < lo) {
                        lse[row] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double[] p = new double[tk];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = lo; j <= hi; j++) {
                        double sc = 0;
                        for (int e = 0; e < d; e++) {
                            sc += (double) q[row * d + e] * k[((k0 + j) * kvh + kv) * d + e];
                        }
                        p[j] = sc * a.spec().scale();
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = lo; j <= hi; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    lse[row] = max + Math.log(sum);
                    for (int j = lo; j <= hi; j++) {
                        p[j] /= sum;
                        for (int e = 0; e < d; e++) {
                            out[row * d + e] += p[j] * v[((k0 + j) * kvh + kv) * d + e];
                        }
                    }
                    // backward: delta = dO·O, dP = dO·V, dS = P (dP − delta)
                    double delta = 0;
                    for (int e = 0; e < d; e++) {
                        delta += dOut[row * d + e] * out[row * d + e];
                    }
                    for (int j = lo; j <= hi; j++) {
                        int kr = ((k0 + j) * kvh + kv) * d;
                        double dp = 0;
                        for (int e = 0; e < d; e++) {
                            dp += (double) dOut[row * d + e] * v[kr + e];
                            dv[kr + e] += p[j] * dOut[row * d + e];
                        }
                        double ds = p[j] * (dp - delta) * a.spec().scale();
                        for (int e = 0; e < d; e++) {
                            dq[row * d + e] += ds * k[kr + e];
                            dk[kr + e] += ds * q[row * d + e];
                        }
                    }
                }
            }
        }
        return new double[][] {out, lse, dq, dk, dv};
    }

    @Test
    void attentionForwardAndBackward() {
        long seed = 30;
        for (Attn a : attentionCases()) {
            int h = a.heads(), kvh = a.kvHeads(), d = a.d(), nq = a.nq(), nk = a.nk();
            float[] q = randn(nq * h * d, seed++), k = randn(nk * kvh * d, seed++), v = randn(nk * kvh * d, seed++),
                    dOut = randn(nq * h * d, seed++);
            double[][] e = attentionDef(a, q, k, v, dOut);
            verify("attention[" + a.name() + "]", b -> {
                try (Tensor qt = Tensor.of(q, nq, h, d); Tensor kt = Tensor.of(k, nk, kvh, d); Tensor vt = Tensor.of(v, nk, kvh, d);
                     Tensor cuQ = Tensor.ofInts(a.cuQ()); Tensor cuK = Tensor.ofInts(a.cuK());
                     Tensor out = Tensor.of(new float[nq * h * d], nq, h, d); Tensor lse = Tensor.of(new float[nq * h], nq, h);
                     Tensor g = Tensor.of(dOut, nq, h, d); Tensor dq = Tensor.of(randn(nq * h * d, 1), nq, h, d);
                     Tensor dk = Tensor.of(randn(nk * kvh * d, 2), nk, kvh, d);
                     Tensor dv = Tensor.of(randn(nk * kvh * d, 3), nk, kvh, d)) {
                    b.attention(out, lse, qt, kt, vt, cuQ, cuK, a.spec());
                    b.attentionBackward(dq, dk, dv, g, qt, kt, vt, out, lse, cuQ, cuK, a.spec());
                    return new Outputs().put("out", out).put("lse", lse).put("dq", dq).put("dk", dk).put("dv", dv);
                }
            }, def("out", e[0], "lse", e[1], "dq", e[2], "dk", e[3], "dv", e[4]),
                    tol("out", Tol.BF16_ATTENTION, "lse", Tol.BF16_ATTENTION, "dq", Tol.BF16_ATTENTION_GRAD,
                            "dk", Tol.BF16_ATTENTION_GRAD, "dv", Tol.BF16_ATTENTION_GRAD));
        }
    }

    // ------------------------------------------------------------------------------ log-probs

    /** V = 50 over chunks of 17 columns on the GPU (see CudaOpContractTest's logits chunk), with ignored labels. */
    static final int LP_N = 23, LP_C = 24, LP_V = 50;

    @Test
    void tokenLogProbsForwardAndBackward() {
        float[] hidden = randn(LP_N * LP_C, 40), head = scaled(randn(LP_V * LP_C, 41), 0.5f),
                dLogp = randn(LP_N, 42), oldDHead = randn(LP_V * LP_C, 43);
        int[] labels = new SplittableRandom(44).ints(LP_N, 0, LP_V).toArray();
        labels[0] = Backend.IGNORE_INDEX;
        labels[7] = Backend.IGNORE_INDEX;
        labels[LP_N - 1] = Backend.IGNORE_INDEX;
        labels[3] = LP_V - 1; // the last column of the last chunk
        double[] logp = new double[LP_N], lse = new double[LP_N];
        double[] dHidden = new double[LP_N * LP_C], dHead = Tol.widen(oldDHead);
        for (int t = 0; t < LP_N; t++) {
            double[] z = new double[LP_V];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < LP_V; v++) {
                for (int c = 0; c < LP_C; c++) {
                    z[v] += (double) hidden[t * LP_C + c] * head[v * LP_C + c];
                }
                max = Math.max(max, z[v]);
            }
            double sum = 0;
            for (double zv : z) {
                sum += Math.exp(zv - max);
            }
            lse[t] = max + Math.log(sum);
            int y = labels[t];
            logp[t] = y == Backend.IGNORE_INDEX ? 0 : z[y] - lse[t];
            double w = y == Backend.IGNORE_INDEX ? 0 : dLogp[t];
            for (int v = 0; v < LP_V; v++) {
                double dz = w * ((v == y ? 1 : 0) - Math.exp(z[v] - lse[t]));
                for (int c = 0; c < LP_C; c++) {
                    dHidden[t * LP_C + c] += dz * head[v * LP_C + c];
                    dHead[v * LP_C + c] += dz * hidden[t * LP_C + c];
                }
            }
        }
        float[] lseF = new float[LP_N];
        for (int t = 0; t < LP_N; t++) {
            lseF[t] = (float) lse[t];
        }
        verify("tokenLogProbs", b -> {
            try (Tensor h = Tensor.of(hidden, LP_N, LP_C); Tensor w = Tensor.of(head, LP_V, LP_C);
                 Tensor y = Tensor.ofInts(labels); Tensor lp = Tensor.of(new float[LP_N], LP_N);
                 Tensor ls = Tensor.of(new float[LP_N], LP_N); Tensor lsIn = Tensor.of(lseF, LP_N);
                 Tensor g = Tensor.of(dLogp, LP_N); Tensor dh = Tensor.of(randn(LP_N * LP_C, 45), LP_N, LP_C);
                 Tensor dw = Tensor.of(oldDHead, LP_V, LP_C)) {
                b.tokenLogProbs(lp, ls, h, w, y);
                b.tokenLogProbsBackward(dh, dw, g, h, w, y, lsIn);
                return new Outputs().put("logp", lp).put("lse", ls).put("dHidden", dh).put("dLmHead", dw);
            }
        }, def("logp", logp, "lse", lse, "dHidden", dHidden, "dLmHead", dHead),
                tol("logp", Tol.BF16_LOGPROBS, "lse", Tol.BF16_LOGPROBS, "dHidden", Tol.BF16_GEMM,
                        "dLmHead", Tol.BF16_GEMM));
    }

    // ------------------------------------------------------------------------------ optimizer

    /** The GPU optimizer kernels of a CUDA backend, made once per backend. */
    private static final Map<Backend, CudaOptimizerKernels> GPU_STEPS = new java.util.IdentityHashMap<>();

    static synchronized CudaOptimizerKernels gpuSteps(CudaBackend b) {
        return GPU_STEPS.computeIfAbsent(b, x -> new CudaOptimizerKernels(b));
    }

    /** {@code grads.length} AdamW steps of one fp32 tensor from zero moments; the CPU optimizer or the GPU kernel. */
    static Outputs adamwRun(Backend b, float[] p0, float[][] grads, AdamWConfig c, double lr, boolean eightBit) {
        int n = p0.length;
        List<ParameterSet.Spec> specs = List.of(new ParameterSet.Spec("w", new long[] {n}));
        try (ParameterSet p = ParameterSet.allocate(specs); ParameterSet g = ParameterSet.allocate(specs)) {
            p.get("w").floats().put(0, p0);
            if (b instanceof CpuBackend cpu) {
                try (Optimizer opt = eightBit ? AdamW8bit.fp32(p, c, cpu.parallel()) : AdamW.fp32(p, c, cpu.parallel())) {
                    for (float[] grad : grads) {
                        g.get("w").floats().put(0, grad);
                        opt.step(g, lr);
                    }
                }
            } else {
                CudaOptimizerKernels k = gpuSteps((CudaBackend) b);
                boolean blockwise = eightBit && AdamW8bit.isEightBit(n);
                long blocks = AdamW8bit.blocks(n);
                try (Tensor m = Tensor.allocate(blockwise ? DType.U8 : DType.F32, n);
                     Tensor v = Tensor.allocate(blockwise ? DType.U8 : DType.F32, n);
                     Tensor a1 = Tensor.allocate(DType.F32, blocks); Tensor a2 = Tensor.allocate(DType.F32, blocks)) {
                    for (int t = 0; t < grads.length; t++) {
                        g.get("w").floats().put(0, grads[t]);
                        if (blockwise) {
                            k.adamw8bitStep(p.get("w"), g.get("w"), m, v, a1, a2, c, lr, t + 1);
                        } else if (eightBit) {
                            k.adamw8bitFp32StateStep(p.get("w"), g.get("w"), m, v, c, lr, t + 1);
                        } else {
                            k.adamwStep(p.get("w"), g.get("w"), m, v, c, lr, t + 1);
                        }
                    }
                }
            }
            return new Outputs().put("p", p.get("w"));
        }
    }

    @Test
    void adamwTwoSteps() {
        int n = 3001;
        float[] p0 = randn(n, 50);
        float[][] grads = {randn(n, 51), scaled(randn(n, 52), 1e-3f)};
        AdamWConfig c = AdamWConfig.janus().withWeightDecay(0.1);
        double lr = 1e-2;
        // torch.optim.AdamW: p ← p(1 − lr·wd); m, v; p ← p − lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)
        double[] p = Tol.widen(p0), m = new double[n], v = new double[n];
        for (int t = 1; t <= grads.length; t++) {
            double bc1 = 1 - Math.pow(c.beta1(), t), bc2 = 1 - Math.pow(c.beta2(), t);
            for (int i = 0; i < n; i++) {
                double g = grads[t - 1][i];
                p[i] *= 1 - lr * c.weightDecay();
                m[i] = c.beta1() * m[i] + (1 - c.beta1()) * g;
                v[i] = c.beta2() * v[i] + (1 - c.beta2()) * g * g;
                p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + c.eps());
            }
        }
        verify("adamw(2 steps)", b -> adamwRun(b, p0, grads, c, lr, false), def("p", p), tol("p", Tol.CPU_BITS));
    }

    @Test
    void adamw8bitFirstStepIsTheUnquantizedUpdate() {
        // Step 1 updates the weight from the unquantized new moments (quantization only affects later steps):
        // m = (1−β1)g, v = (1−β2)g², p ← (p + stepSize·m/(sqrt(v) + c2·eps))·(1 − lr·wd), stepSize = −lr·c2/c1.
        AdamWConfig c = AdamWConfig.janus().withWeightDecay(0.01);
        double lr = 1e-3;
        for (int n : new int[] {5000, 100}) { // 8-bit blocks (two full and one partial), and fp32 state
            float[] p0 = randn(n, 60 + n), g = randn(n, 61 + n);
            double c1 = 1 - c.beta1(), c2 = Math.sqrt(1 - c.beta2()), step = -lr * c2 / c1;
            double[] p = new double[n];
            for (int i = 0; i < n; i++) {
                double m = (1 - c.beta1()) * g[i], v = (1 - c.beta2()) * g[i] * g[i];
                p[i] = (p0[i] + step * m / (Math.sqrt(v) + c2 * c.eps())) * (1 - lr * c.weightDecay());
            }
            verify("adamw8bit(1 step, n=" + n + ")", b -> adamwRun(b, p0, new float[][] {g}, c, lr, true), def("p", p),
                    tol("p", Tol.CPU_BITS));
        }
    }

    @Test
    void adamw8bitThreeStepsThroughTheCodes() {
        AdamWConfig c = AdamWConfig.janus().withWeightDecay(0.01);
        int n = 5000;
        float[] p0 = randn(n, 70);
        float[][] grads = {randn(n, 71), scaled(randn(n, 72), 10), scaled(randn(n, 73), 0.01f)};
        // no closed form through the quantization: the CPU optimizer (bit-exact with the spec) is the reference
        verify("adamw8bit(3 steps)", b -> adamwRun(b, p0, grads, c, 1e-3, true), null, tol("p", Tol.CPU_BITS));
    }

    @Test
    void gradientNorm() {
        float[][] tensors = {randn(10_000, 80), randn(7, 81), new float[0], scaled(randn(70_000, 82), 1e-3f)};
        double sum = 0;
        for (float[] t : tensors) {
            for (float x : t) {
                sum += (double) x * x;
            }
        }
        double norm = Math.sqrt(sum);
        verify("gradient norm", b -> {
            List<ParameterSet.Spec> specs = new ArrayList<>();
            for (int i = 0; i < tensors.length; i++) {
                specs.add(new ParameterSet.Spec("g" + i, new long[] {tensors[i].length}));
            }
            try (ParameterSet g = ParameterSet.allocate(specs)) {
                for (int i = 0; i < tensors.length; i++) {
                    g.get("g" + i).floats().put(0, tensors[i]);
                }
                double value = b instanceof CpuBackend cpu ? GradClip.norm(g, cpu.parallel())
                        : gpuSteps((CudaBackend) b).gradNorm(g);
                try (Tensor t = Tensor.of(new float[] {(float) value}, 1)) {
                    return new Outputs().put("norm", t);
                }
            }
        }, def("norm", new double[] {(float) norm}), tol("norm", Tol.ADAMW));
    }

    @Test
    void gradientClipScales() {
        float[][] tensors = {randn(5000, 90), randn(3, 91), scaled(randn(20_000, 92), 0.1f)};
        double sum = 0;
        for (float[] t : tensors) {
            for (float x : t) {
                sum += (double) x * x;
            }
        }
        double maxNorm = 1.0; // the norm is about 70: every gradient is scaled
        float factor = (float) (maxNorm / (Math.sqrt(sum) + GradClip.EPS));
        Map<String, double[]> expected = new LinkedHashMap<>();
        Map<String, Tol> gpu = new LinkedHashMap<>();
        for (int i = 0; i < tensors.length; i++) {
            double[] e = new double[tensors[i].length];
            for (int j = 0; j < e.length; j++) {
                e[j] = tensors[i][j] * factor; // one float multiply
            }
            expected.put("g" + i, e);
            // janus_scale is one rounded multiply per element (bit-identical); the factor is (float) of
            // maxNorm / (norm + 1e-6) on each side, from norms that agree to double rounding
            gpu.put("g" + i, Tol.CPU_BITS);
        }
        verify("gradient clip", b -> {
            List<ParameterSet.Spec> specs = new ArrayList<>();
            for (int i = 0; i < tensors.length; i++) {
                specs.add(new ParameterSet.Spec("g" + i, new long[] {tensors[i].length}));
            }
            try (ParameterSet g = ParameterSet.allocate(specs)) {
                for (int i = 0; i < tensors.length; i++) {
                    g.get("g" + i).floats().put(0, tensors[i]);
                }
                if (b instanceof CpuBackend cpu) {
                    GradClip.clip(g, maxNorm, cpu.parallel());
                } else {
                    gpuSteps((CudaBackend) b).clip(g, maxNorm);
                }
                Outputs out = new Outputs();
                for (int i = 0; i < tensors.length; i++) {
                    out.put("g" + i, g.get("g" + i));
                }
                return out;
            }
        }, expected, gpu);
    }

    /** A shared CPU backend for the cases (and, in the CUDA suite, the reference runs). */
    static CpuBackend cpu() {
        return Holder.CPU;
    }

    private static final class Holder {
        static final CpuBackend CPU = new CpuBackend(2);
    }
}
