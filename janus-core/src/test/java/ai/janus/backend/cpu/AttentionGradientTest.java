package ai.janus.backend.cpu;

import static ai.janus.backend.cpu.TorchRef.relativeError;
import static ai.janus.backend.cpu.TorchRef.torch;
import static ai.janus.backend.cpu.TorchRef.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.AttentionSpec;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU FlashAttention-2 forward and backward against libtorch's
 * {@code scaled_dot_product_attention} and its autograd, at T = 1024: output, dQ, dK, dV within
 * 1e-5 · max|ref| (fp32 on both sides, other summation order; measured ≈ 1e-6). GQA on the torch
 * side is {@code repeat_interleave} of K and V over the group, whose autograd sums dK and dV
 * back over the group, as the spec requires. Masks: {@code is_causal} (Tq = Tk), and for the
 * window an explicit boolean mask written from the spec (j ∈ [i − W, i]).
 */
@SuppressWarnings("try")
class AttentionGradientTest {
    static final double TOL = 1e-5;
    @AutoClose
    private static final CpuBackend cpu = new CpuBackend(2);

    record Case(String name, int t, int heads, int kvHeads, int d, int window) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case("causal T1024 H8/KV2 D64", 1024, 8, 2, 64, AttentionSpec.NO_WINDOW),
                new Case("window 200 T1024 H8/KV2 D64", 1024, 8, 2, 64, 200),
                new Case("causal T1024 H4/KV1 D128", 1024, 4, 1, 128, AttentionSpec.NO_WINDOW),
                new Case("window 100 T333 H6/KV3 D40", 333, 6, 3, 40, 100)).map(Arguments::of);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void forwardAndBackwardMatchSdpaAutograd(Case c) {
        double[] e = compare(c, 1.0);
        System.out.printf("attention grad %-30s out %.1e  dq %.1e  dk %.1e  dv %.1e%n", c, e[0], e[1], e[2], e[3]);
        for (int i = 0; i < e.length; i++) {
            assertTrue(e[i] <= TOL, c + ": " + new String[] {"out", "dq", "dk", "dv"}[i] + " error " + e[i]);
        }
    }

    @Test
    void theCriterionSeesAWrongGradient() {
        // dOut scaled by 1.0001 on the reference side only: every gradient is off by 1e-4 relative.
        double[] e = compare(new Case("scaled", 256, 4, 2, 32, AttentionSpec.NO_WINDOW), 1.0001);
        for (int i = 1; i < e.length; i++) {
            assertTrue(e[i] > TOL, "a 1e-4 gradient error must fail the criterion: " + e[i]);
        }
    }

    /** Returns the relative errors of [out, dq, dk, dv]; the reference backward uses dOut · refScale. */
    private static double[] compare(Case c, double refScale) {
        int t = c.t(), h = c.heads(), kv = c.kvHeads(), d = c.d();
        SplittableRandom rng = new SplittableRandom(c.name().hashCode());
        float scale = (float) (1 / Math.sqrt(d));
        AttentionSpec spec = new AttentionSpec(true, c.window(), scale);
        try (Tensor q = random(rng, t, h, d); Tensor k = random(rng, t, kv, d); Tensor v = random(rng, t, kv, d);
             Tensor dOut = random(rng, t, h, d); Tensor out = Tensor.allocate(DType.F32, t, h, d);
             Tensor lse = Tensor.allocate(DType.F32, t, h); Tensor dq = Tensor.allocate(DType.F32, t, h, d);
             Tensor dk = Tensor.allocate(DType.F32, t, kv, d); Tensor dv = Tensor.allocate(DType.F32, t, kv, d);
             Tensor cu = Tensor.ofInts(new int[] {0, t}); PointerScope scope = new PointerScope()) {
            cpu.attention(out, lse, q, k, v, cu, cu, spec);
            cpu.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, cu, cu, spec);

            // torch layout (1, heads, T, D), leaves with requires_grad
            org.bytedeco.pytorch.Tensor tq = torch(q).transpose(0, 1).unsqueeze(0).detach().requires_grad_(true);
            org.bytedeco.pytorch.Tensor tk = torch(k).transpose(0, 1).unsqueeze(0).detach().requires_grad_(true);
            org.bytedeco.pytorch.Tensor tv = torch(v).transpose(0, 1).unsqueeze(0).detach().requires_grad_(true);
            org.bytedeco.pytorch.Tensor kr = tk.repeat_interleave(h / kv, new LongOptional(1), new LongOptional());
            org.bytedeco.pytorch.Tensor vr = tv.repeat_interleave(h / kv, new LongOptional(1), new LongOptional());
            DoubleOptional sc = new DoubleOptional(scale);
            org.bytedeco.pytorch.Tensor o = c.window() == AttentionSpec.NO_WINDOW
                    ? org.bytedeco.pytorch.global.torch.scaled_dot_product_attention(tq, kr, vr, new TensorOptional(),
                            0.0, true, sc, false)
                    : org.bytedeco.pytorch.global.torch.scaled_dot_product_attention(tq, kr, vr,
                            new TensorOptional(windowMask(t, c.window())), 0.0, false, sc, false);
            org.bytedeco.pytorch.Tensor g = torch(dOut).transpose(0, 1).unsqueeze(0).mul(new Scalar(refScale));
            o.mul(g).sum().backward(); // d(Σ o ⊙ g)/do = g
            return new double[] {
                    relativeError(out.toFloatArray(), values(o.squeeze(0).transpose(0, 1))),
                    relativeError(dq.toFloatArray(), values(tq.grad().squeeze(0).transpose(0, 1))),
                    relativeError(dk.toFloatArray(), values(tk.grad().squeeze(0).transpose(0, 1))),
                    relativeError(dv.toFloatArray(), values(tv.grad().squeeze(0).transpose(0, 1)))};
        }
    }

    /** (T, T) bool, true where query i may see key j: j ∈ [i − W, i]. */
    private static org.bytedeco.pytorch.Tensor windowMask(int t, int window) {
        org.bytedeco.pytorch.Tensor i = org.bytedeco.pytorch.global.torch.arange(new Scalar(t),
                new TensorOptions(ScalarType.Long)).unsqueeze(1);
        org.bytedeco.pytorch.Tensor j = org.bytedeco.pytorch.global.torch.arange(new Scalar(t),
                new TensorOptions(ScalarType.Long)).unsqueeze(0);
        org.bytedeco.pytorch.Tensor back = i.sub(j);
        return back.ge(new Scalar(0)).logical_and(back.le(new Scalar(window)));
    }

    @Test
    void packedAndBottomRightGradientsMatchPerSequenceSdpa() {
        // Three sequences packed, and a kv-cache style sequence with Tq < Tk (bottom-right causal).
        int[] lq = {100, 37, 5}, lk = {100, 37, 90};
        int h = 4, kv = 2, d = 16;
        int[] cuQ = {0, 100, 137, 142}, cuK = {0, 100, 137, 227};
        SplittableRandom rng = new SplittableRandom(5);
        float scale = (float) (1 / Math.sqrt(d));
        AttentionSpec spec = new AttentionSpec(true, AttentionSpec.NO_WINDOW, scale);
        try (Tensor q = random(rng, 142, h, d); Tensor k = random(rng, 227, kv, d); Tensor v = random(rng, 227, kv, d);
             Tensor dOut = random(rng, 142, h, d); Tensor out = Tensor.allocate(DType.F32, 142, h, d);
             Tensor lse = Tensor.allocate(DType.F32, 142, h); Tensor dq = Tensor.allocate(DType.F32, 142, h, d);
             Tensor dk = Tensor.allocate(DType.F32, 227, kv, d); Tensor dv = Tensor.allocate(DType.F32, 227, kv, d);
             Tensor cq = Tensor.ofInts(cuQ); Tensor ck = Tensor.ofInts(cuK); PointerScope scope = new PointerScope()) {
            cpu.attention(out, lse, q, k, v, cq, ck, spec);
            cpu.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, cq, ck, spec);
            org.bytedeco.pytorch.Tensor[] refQ = new org.bytedeco.pytorch.Tensor[3];
            org.bytedeco.pytorch.Tensor[] refK = new org.bytedeco.pytorch.Tensor[3];
            org.bytedeco.pytorch.Tensor[] refV = new org.bytedeco.pytorch.Tensor[3];
            for (int s = 0; s < 3; s++) {
                org.bytedeco.pytorch.Tensor tq = torch(q).narrow(0, cuQ[s], lq[s]).transpose(0, 1).unsqueeze(0)
                        .detach().requires_grad_(true);
                org.bytedeco.pytorch.Tensor tk = torch(k).narrow(0, cuK[s], lk[s]).transpose(0, 1).unsqueeze(0)
                        .detach().requires_grad_(true);
                org.bytedeco.pytorch.Tensor tv = torch(v).narrow(0, cuK[s], lk[s]).transpose(0, 1).unsqueeze(0)
                        .detach().requires_grad_(true);
                // bottom-right causal mask of the spec: j <= i + Tk − Tq
                org.bytedeco.pytorch.Tensor i = org.bytedeco.pytorch.global.torch.arange(new Scalar(lq[s]),
                        new TensorOptions(ScalarType.Long)).unsqueeze(1);
                org.bytedeco.pytorch.Tensor j = org.bytedeco.pytorch.global.torch.arange(new Scalar(lk[s]),
                        new TensorOptions(ScalarType.Long)).unsqueeze(0);
                org.bytedeco.pytorch.Tensor mask = j.le(i.add(new Scalar(lk[s] - lq[s])));
                org.bytedeco.pytorch.Tensor o = org.bytedeco.pytorch.global.torch.scaled_dot_product_attention(tq,
                        tk.repeat_interleave(h / kv, new LongOptional(1), new LongOptional()),
                        tv.repeat_interleave(h / kv, new LongOptional(1), new LongOptional()),
                        new TensorOptional(mask), 0.0, false, new DoubleOptional(scale), false);
                o.mul(torch(dOut).narrow(0, cuQ[s], lq[s]).transpose(0, 1).unsqueeze(0)).sum().backward();
                refQ[s] = tq.grad().squeeze(0).transpose(0, 1);
                refK[s] = tk.grad().squeeze(0).transpose(0, 1);
                refV[s] = tv.grad().squeeze(0).transpose(0, 1);
            }
            double eq = relativeError(dq.toFloatArray(), values(org.bytedeco.pytorch.global.torch.cat(
                    new TensorVector(refQ), 0)));
            double ek = relativeError(dk.toFloatArray(), values(org.bytedeco.pytorch.global.torch.cat(
                    new TensorVector(refK), 0)));
            double ev = relativeError(dv.toFloatArray(), values(org.bytedeco.pytorch.global.torch.cat(
                    new TensorVector(refV), 0)));
            System.out.printf("attention grad %-30s dq %.1e  dk %.1e  dv %.1e%n", "packed + Tq<Tk", eq, ek, ev);
            assertTrue(eq <= TOL && ek <= TOL && ev <= TOL, "packed gradients: " + eq + " " + ek + " " + ev);
        }
    }

    @Test
    void rowsThatSeeNoKeyGetZeroGradients() {
        // Tq = 3, Tk = 1: queries 0 and 1 see nothing (j <= i − 2); only query 2 contributes.
        try (Tensor q = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 1, 2); Tensor k = Tensor.of(new float[] {1, -1}, 1, 1, 2);
             Tensor v = Tensor.of(new float[] {2, 3}, 1, 1, 2); Tensor dOut = Tensor.of(new float[] {1, 1, 1, 1, 1, 1}, 3, 1, 2);
             Tensor out = Tensor.allocate(DType.F32, 3, 1, 2); Tensor lse = Tensor.allocate(DType.F32, 3, 1);
             Tensor dq = Tensor.allocate(DType.F32, 3, 1, 2); Tensor dk = Tensor.allocate(DType.F32, 1, 1, 2);
             Tensor dv = Tensor.allocate(DType.F32, 1, 1, 2); Tensor cq = Tensor.ofInts(new int[] {0, 3});
             Tensor ck = Tensor.ofInts(new int[] {0, 1})) {
            AttentionSpec spec = AttentionSpec.causal(2, AttentionSpec.NO_WINDOW);
            cpu.attention(out, lse, q, k, v, cq, ck, spec);
            cpu.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, cq, ck, spec);
            // One visible key: P = 1, so dV = dOut of query 2 and dQ = dK = 0 (softmax of one entry is constant).
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[6], dq.toFloatArray());
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[2], dk.toFloatArray());
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {1, 1}, dv.toFloatArray());
            assertEquals(Float.NEGATIVE_INFINITY, lse.toFloatArray()[0]);
        }
    }

    private static Tensor random(SplittableRandom rng, long... shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (rng.nextDouble() * 4 - 2);
        }
        return Tensor.of(values, shape);
    }
}
