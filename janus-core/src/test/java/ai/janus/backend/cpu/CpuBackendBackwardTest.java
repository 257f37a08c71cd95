package ai.janus.backend.cpu;

import static ai.janus.backend.cpu.TorchRef.longs;
import static ai.janus.backend.cpu.TorchRef.relativeError;
import static ai.janus.backend.cpu.TorchRef.torch;
import static ai.janus.backend.cpu.TorchRef.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
 * Every backward op against libtorch autograd of its forward formula, on odd shapes. Each test
 * differentiates L = Σ forward(x) ⊙ G for a random G, so torch's gradients are those of the op.
 * Accumulating outputs start from non-zero values to check that they accumulate.
 *
 * <p>Tolerance 1e-5 relative to max|ref| (fp32, other summation order; measured ≤ 1e-6).
 */
@SuppressWarnings("try")
class CpuBackendBackwardTest {
    static final double TOL = 1e-5;
    @AutoClose
    private static final CpuBackend cpu = new CpuBackend(2);

    private static Tensor random(SplittableRandom rng, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return Tensor.of(v, shape);
    }

    private static org.bytedeco.pytorch.Tensor leaf(Tensor t) {
        return torch(t).requires_grad_(true);
    }

    private static void check(String what, float[] actual, org.bytedeco.pytorch.Tensor expected) {
        double e = relativeError(actual, values(expected));
        System.out.printf("backward %-28s %.1e%n", what, e);
        assertTrue(e <= TOL, what + " error " + e);
    }

    @Test
    void matmulGradients() {
        SplittableRandom rng = new SplittableRandom(1);
        try (Tensor x = random(rng, 37, 53); Tensor w = random(rng, 29, 53); Tensor g = random(rng, 37, 29);
             Tensor dx = random(rng, 37, 53); Tensor dw = random(rng, 29, 53); PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor tx = leaf(x), tw = leaf(w);
            torch.matmul(tx, tw.t()).mul(torch(g)).sum().backward();
            org.bytedeco.pytorch.Tensor dw0 = torch(dw), dx0 = torch(dx);
            cpu.matmulInputGradient(dx, g, w, true);
            cpu.matmulWeightGradient(dw, g, x);
            check("matmul dx (accumulate)", dx.toFloatArray(), dx0.add(tx.grad()));
            check("matmul dW", dw.toFloatArray(), dw0.add(tw.grad()));
            cpu.matmulInputGradient(dx, g, w, false);
            check("matmul dx (overwrite)", dx.toFloatArray(), tx.grad());
        }
    }

    @Test
    void rmsNormBackward() {
        SplittableRandom rng = new SplittableRandom(2);
        float eps = 1e-5f;
        try (Tensor x = random(rng, 19, 333); Tensor w = random(rng, 333); Tensor g = random(rng, 19, 333);
             Tensor out = Tensor.allocate(DType.F32, 19, 333); Tensor rstd = Tensor.allocate(DType.F32, 19);
             Tensor dx = random(rng, 19, 333); Tensor dw = random(rng, 333); PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor tx = leaf(x), tw = leaf(w);
            org.bytedeco.pytorch.Tensor r = tx.pow(new Scalar(2.0)).mean(new long[] {-1}, true, new ScalarTypeOptional())
                    .add(new Scalar(eps)).rsqrt();
            tx.mul(r).mul(tw).mul(torch(g)).sum().backward();
            org.bytedeco.pytorch.Tensor dx0 = torch(dx), dw0 = torch(dw);
            cpu.rmsNorm(out, rstd, x, w, eps);
            cpu.rmsNormBackward(dx, dw, g, x, w, rstd);
            check("rmsNorm dx (accumulates)", dx.toFloatArray(), dx0.add(tx.grad()));
            check("rmsNorm dWeight", dw.toFloatArray(), dw0.add(tw.grad()));
        }
    }

    @Test
    void ropeBackwardIsTheInverseRotation() {
        SplittableRandom rng = new SplittableRandom(3);
        int n = 7, heads = 3, d = 10;
        try (Tensor x = random(rng, n, heads, d); Tensor cos = random(rng, n, d / 2); Tensor sin = random(rng, n, d / 2);
             Tensor g = random(rng, n, heads, d); PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor tx = leaf(x);
            org.bytedeco.pytorch.Tensor c = torch.cat(new TensorVector(torch(cos), torch(cos)), 1).unsqueeze(1);
            org.bytedeco.pytorch.Tensor s = torch.cat(new TensorVector(torch(sin), torch(sin)), 1).unsqueeze(1);
            org.bytedeco.pytorch.Tensor rotated = torch.cat(new TensorVector(tx.narrow(2, d / 2, d / 2).neg(),
                    tx.narrow(2, 0, d / 2)), 2);
            tx.mul(c).add(rotated.mul(s)).mul(torch(g)).sum().backward();
            cpu.ropeBackward(g, cos, sin);
            check("rope", g.toFloatArray(), tx.grad());
        }
    }

    @Test
    void swigluBackward() {
        SplittableRandom rng = new SplittableRandom(4);
        try (Tensor gate = random(rng, 5, 101); Tensor up = random(rng, 5, 101); Tensor g = random(rng, 5, 101);
             Tensor dGate = Tensor.allocate(DType.F32, 5, 101); Tensor dUp = Tensor.allocate(DType.F32, 5, 101);
             PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor tg = leaf(gate).mul(new Scalar(8.0)), tu = leaf(up);
            tg.retain_grad();
            torch.silu(tg).mul(tu).mul(torch(g)).sum().backward();
            // janus sees the same scaled gate
            Tensor scaledGate = Tensor.of(values(tg.detach()), 5, 101);
            cpu.swigluBackward(dGate, dUp, g, scaledGate, up);
            check("swiglu dGate", dGate.toFloatArray(), tg.grad());
            check("swiglu dUp", dUp.toFloatArray(), tu.grad());
            scaledGate.close();
        }
    }

    @Test
    void embeddingBackwardAddsRepeatedIds() {
        try (Tensor dTable = Tensor.of(new float[] {1, 1, 1, 1, 1, 1}, 3, 2); Tensor ids = Tensor.ofInts(new int[] {2, 0, 2});
             Tensor g = Tensor.of(new float[] {1, 2, 10, 20, 100, 200}, 3, 2)) {
            cpu.embeddingBackward(dTable, g, ids);
            assertArrayEquals(new float[] {11, 21, 1, 1, 102, 203}, dTable.toFloatArray());
        }
    }

    /** V = 40000 spans several logits chunks, as in the forward test. */
    @Test
    void tokenLogProbsBackward() {
        SplittableRandom rng = new SplittableRandom(6);
        int n = 300, c = 8, vocab = 40000;
        int[] labels = new int[n];
        long[] gather = new long[n];
        float[] weights = new float[n];
        for (int t = 0; t < n; t++) {
            labels[t] = t % 17 == 0 ? Backend.IGNORE_INDEX : rng.nextInt(vocab);
            gather[t] = Math.max(0, labels[t]);
            weights[t] = labels[t] == Backend.IGNORE_INDEX ? 0f : (float) (rng.nextDouble() - 0.5);
        }
        try (Tensor h = random(rng, n, c); Tensor w = random(rng, vocab, c); Tensor y = Tensor.ofInts(labels);
             Tensor logp = Tensor.allocate(DType.F32, n); Tensor lse = Tensor.allocate(DType.F32, n);
             Tensor dLogp = Tensor.of(weights, n); Tensor dHidden = random(rng, n, c); Tensor dW = random(rng, vocab, c);
             PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor th = leaf(h), tw = leaf(w);
            torch.log_softmax(torch.matmul(th, tw.t()), 1).gather(1, longs(gather).unsqueeze(1)).squeeze(1)
                    .mul(torch(dLogp)).sum().backward();
            org.bytedeco.pytorch.Tensor dW0 = torch(dW);
            cpu.tokenLogProbs(logp, lse, h, w, y);
            cpu.tokenLogProbsBackward(dHidden, dW, dLogp, h, w, y, lse);
            check("logprobs dHidden (overwrite)", dHidden.toFloatArray(), th.grad());
            check("logprobs dLmHead", dW.toFloatArray(), dW0.add(tw.grad()));
        }
    }
}
