package ai.janus.backend.cpu;

import static ai.janus.backend.cpu.TorchRef.longs;
import static ai.janus.backend.cpu.TorchRef.relativeError;
import static ai.janus.backend.cpu.TorchRef.torch;
import static ai.janus.backend.cpu.TorchRef.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.Backend;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Every CPU op but attention against its formula written in libtorch. Shapes are odd on purpose
 * (widths that are not multiples of the vector length) so the masked vector tails run.
 *
 * <p>Tolerances: fp32 against fp32; elementwise ops with at most a few roundings are held to
 * 1e-6 relative (torch's exp and ours may differ by 1 ulp); reductions over hundreds of
 * elements and GEMMs to 1e-5.
 */
@SuppressWarnings("try")
class CpuBackendOpsTest {
    static final double ELEMENTWISE = 1e-6;
    static final double REDUCTION = 1e-5;
    @AutoClose
    private static final CpuBackend cpu = new CpuBackend(2);

    private static Tensor random(SplittableRandom rng, double range, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * range);
        }
        return Tensor.of(v, shape);
    }

    @Test
    void matmulAndAccumulate() {
        SplittableRandom rng = new SplittableRandom(1);
        try (Tensor x = random(rng, 1, 37, 53); Tensor w = random(rng, 1, 29, 53); Tensor out = random(rng, 1, 37, 29);
             PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor before = torch(out);
            org.bytedeco.pytorch.Tensor product = torch.matmul(torch(x), torch(w).t());
            cpu.matmul(out, x, w, true);
            assertTrue(relativeError(out.toFloatArray(), values(before.add(product))) <= REDUCTION);
            cpu.matmul(out, x, w, false);
            assertTrue(relativeError(out.toFloatArray(), values(product)) <= REDUCTION);
        }
    }

    @Test
    void rmsNormMatchesTheFormula() {
        SplittableRandom rng = new SplittableRandom(2);
        float eps = 1e-5f;
        try (Tensor x = random(rng, 3, 19, 333); Tensor w = random(rng, 2, 333);
             Tensor out = Tensor.allocate(DType.F32, 19, 333); Tensor rstd = Tensor.allocate(DType.F32, 19);
             PointerScope scope = new PointerScope()) {
            cpu.rmsNorm(out, rstd, x, w, eps);
            // RMSNorm(x, w) = w ⊙ x · rsqrt(mean(x²) + eps)
            org.bytedeco.pytorch.Tensor tx = torch(x);
            org.bytedeco.pytorch.Tensor r = tx.pow(new Scalar(2.0)).mean(new long[] {-1}, true, new ScalarTypeOptional())
                    .add(new Scalar(eps)).rsqrt();
            assertTrue(relativeError(out.toFloatArray(), values(tx.mul(r).mul(torch(w)))) <= REDUCTION);
            assertTrue(relativeError(rstd.toFloatArray(), values(r.squeeze(1))) <= REDUCTION);
        }
    }

    @Test
    void rmsNormMayWriteInPlace() {
        SplittableRandom rng = new SplittableRandom(3);
        try (Tensor x = random(rng, 1, 4, 10); Tensor copy = Tensor.of(x.toFloatArray(), 4, 10); Tensor w = random(rng, 1, 10);
             Tensor expected = Tensor.allocate(DType.F32, 4, 10); Tensor rstd = Tensor.allocate(DType.F32, 4)) {
            cpu.rmsNorm(expected, rstd, copy, w, 1e-6f);
            cpu.rmsNorm(x, rstd, x, w, 1e-6f);
            assertArrayEquals(expected.toFloatArray(), x.toFloatArray());
        }
    }

    @Test
    void ropeIsRotateHalf() {
        SplittableRandom rng = new SplittableRandom(4);
        int n = 7, heads = 3, d = 10;
        try (Tensor x = random(rng, 1, n, heads, d); Tensor cos = random(rng, 1, n, d / 2); Tensor sin = random(rng, 1, n, d / 2);
             PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor tx = torch(x);
            // x' = x·cos + rotate_half(x)·sin, cos/sin repeated over both halves, broadcast over heads
            org.bytedeco.pytorch.Tensor c = torch.cat(new TensorVector(torch(cos), torch(cos)), 1).unsqueeze(1);
            org.bytedeco.pytorch.Tensor s = torch.cat(new TensorVector(torch(sin), torch(sin)), 1).unsqueeze(1);
            org.bytedeco.pytorch.Tensor rotated = torch.cat(new TensorVector(tx.narrow(2, d / 2, d / 2).neg(),
                    tx.narrow(2, 0, d / 2)), 2);
            org.bytedeco.pytorch.Tensor expected = tx.mul(c).add(rotated.mul(s));
            cpu.rope(x, cos, sin);
            assertTrue(relativeError(x.toFloatArray(), values(expected)) <= ELEMENTWISE);
        }
    }

    @Test
    void swigluInPlace() {
        SplittableRandom rng = new SplittableRandom(5);
        try (Tensor g = random(rng, 12, 5, 101); Tensor u = random(rng, 3, 5, 101); PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor expected = torch.silu(torch(g)).mul(torch(u));
            cpu.swiglu(g, g, u);
            assertTrue(relativeError(g.toFloatArray(), values(expected)) <= ELEMENTWISE);
        }
    }

    @Test
    void embeddingGathersRowsAndRejectsOutOfRangeIds() {
        try (Tensor table = Tensor.of(new float[] {0, 1, 10, 11, 20, 21}, 3, 2); Tensor ids = Tensor.ofInts(new int[] {2, 0, 2});
             Tensor out = Tensor.allocate(DType.F32, 3, 2); Tensor bad = Tensor.ofInts(new int[] {1, 3, 0})) {
            cpu.embedding(out, table, ids);
            assertArrayEquals(new float[] {20, 21, 0, 1, 20, 21}, out.toFloatArray());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cpu.embedding(out, table, bad));
            assertEquals("token id 3 at position 1 is outside the vocabulary [0, 3)", e.getMessage());
        }
    }

    @Test
    void addAccumulates() {
        try (Tensor a = Tensor.of(new float[] {1, 2, 3}, 3); Tensor b = Tensor.of(new float[] {10, 20, 30}, 3)) {
            cpu.add(a, b);
            assertArrayEquals(new float[] {11, 22, 33}, a.toFloatArray());
        }
    }

    /** V = 40000 makes the 2^22-float logits chunk hold 104 rows, so 300 tokens take 3 chunks. */
    @Test
    void tokenLogProbsOverSeveralChunksMatchLogSoftmax() {
        SplittableRandom rng = new SplittableRandom(6);
        int n = 300, c = 8, vocab = 40000;
        assertTrue(CpuBackend.LOGITS_CHUNK_FLOATS / vocab < n, "the test must span several chunks");
        int[] labels = new int[n];
        long[] gather = new long[n];
        for (int t = 0; t < n; t++) {
            labels[t] = t % 17 == 0 ? Backend.IGNORE_INDEX : rng.nextInt(vocab);
            gather[t] = Math.max(0, labels[t]);
        }
        try (Tensor h = random(rng, 2, n, c); Tensor w = random(rng, 2, vocab, c); Tensor y = Tensor.ofInts(labels);
             Tensor logp = Tensor.allocate(DType.F32, n); Tensor lse = Tensor.allocate(DType.F32, n);
             PointerScope scope = new PointerScope()) {
            cpu.tokenLogProbs(logp, lse, h, w, y);
            org.bytedeco.pytorch.Tensor z = torch.matmul(torch(h), torch(w).t());
            float[] expected = values(torch.log_softmax(z, 1).gather(1, longs(gather).unsqueeze(1)).squeeze(1));
            float[] expectedLse = values(z.logsumexp(new long[] {1}, false));
            float[] got = logp.toFloatArray();
            for (int t = 0; t < n; t++) {
                if (labels[t] == Backend.IGNORE_INDEX) {
                    assertEquals(0f, got[t], "ignored positions give 0");
                    expected[t] = 0;
                }
            }
            // log p = z − lse: error ~ ulp(lse) ≈ 1e-6 of |z| ≤ 16 here; asserted relative to max|log p|.
            assertTrue(relativeError(got, expected) <= REDUCTION, "logp error " + relativeError(got, expected));
            assertTrue(relativeError(lse.toFloatArray(), expectedLse) <= REDUCTION);
        }
    }

    @Test
    void tokenLogProbsRejectsLabelsOutsideTheVocabulary() {
        try (Tensor h = Tensor.allocate(DType.F32, 2, 4); Tensor w = Tensor.allocate(DType.F32, 5, 4);
             Tensor y = Tensor.ofInts(new int[] {1, 5}); Tensor logp = Tensor.allocate(DType.F32, 2);
             Tensor lse = Tensor.allocate(DType.F32, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cpu.tokenLogProbs(logp, lse, h, w, y));
            assertTrue(e.getMessage().startsWith("label 5 at position 1 is outside the vocabulary [0, 5)"), e.getMessage());
        }
    }

    @Test
    void shapeErrorsNameTheArgument() {
        try (Tensor x = Tensor.allocate(DType.F32, 3, 4); Tensor w = Tensor.allocate(DType.F32, 5, 6);
             Tensor out = Tensor.allocate(DType.F32, 3, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cpu.matmul(out, x, w, false));
            assertEquals("w: expected F32[5, 4], got F32[5, 6]", e.getMessage());
        }
    }
}
