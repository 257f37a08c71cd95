package ai.janus.backend.cpu;

import static ai.janus.backend.cpu.TorchRef.relativeError;
import static ai.janus.backend.cpu.TorchRef.torch;
import static ai.janus.backend.cpu.TorchRef.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.AttentionSpec;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU FlashAttention-2 forward against attention written in libtorch from
 * docs/spec/model.md "Attention semantics": per sequence and head, S = q·kᵀ·scale, query i sees key j
 * iff j ≤ i + Tk − Tq (causal) and j ≥ i + Tk − Tq − W (window), LSE = logsumexp of the allowed
 * scores, O = softmax(S)·v, and a row that sees nothing gives O = 0, LSE = −inf.
 *
 * <p>Tolerance: fp32 against fp32 with another summation order (tiles of 64 keys, online
 * rescaling): ~1e-6 relative measured; 1e-5 · max|ref| is asserted. A wrong mask moves outputs
 * by O(1) relative (the must-fail case below).
 */
@SuppressWarnings("try")
class FlashAttentionCpuTest {
    static final double TOL = 1e-5;
    @AutoClose
    private static final CpuBackend cpu = new CpuBackend(2);

    /** One attention problem: per-sequence query and key lengths, heads, head dim, mask. */
    record Case(String name, int[] lq, int[] lk, int heads, int kvHeads, int d, boolean causal, int window) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases() {
        int none = AttentionSpec.NO_WINDOW;
        return Stream.of(
                new Case("causal T97 H4/KV2 D12", new int[] {97}, new int[] {97}, 4, 2, 12, true, none),
                new Case("causal T130 H8/KV2 D64 window 33", new int[] {130}, new int[] {130}, 8, 2, 64, true, 33),
                new Case("causal T200 H3/KV1 D20 window 0", new int[] {200}, new int[] {200}, 3, 1, 20, true, 0),
                new Case("packed 3 seqs + empty, D16", new int[] {40, 0, 71, 5}, new int[] {40, 0, 71, 5}, 4, 4, 16,
                        true, none),
                new Case("kv cache Tq5 Tk70 (bottom-right)", new int[] {5, 1}, new int[] {70, 33}, 4, 2, 8, true, none),
                new Case("Tq70 > Tk5: empty rows", new int[] {70}, new int[] {5}, 2, 1, 8, true, none),
                new Case("not causal Tq50 Tk90", new int[] {50}, new int[] {90}, 2, 2, 24, false, none),
                new Case("D128 T129 window 64", new int[] {129}, new int[] {129}, 2, 1, 128, true, 64))
                .map(Arguments::of);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesTheSpecWrittenInLibtorch(Case c) {
        double[] errors = run(c, c.window());
        System.out.printf("attention %-36s out %.2e  lse %.2e%n", c, errors[0], errors[1]);
        assertTrue(errors[0] <= TOL, c + ": output error " + errors[0]);
        assertTrue(errors[1] <= TOL, c + ": LSE error " + errors[1]);
    }

    @Test
    void aWrongWindowFailsTheCriterion() {
        Case c = new Case("window 8 vs reference 9", new int[] {60}, new int[] {60}, 2, 1, 16, true, 8);
        double[] errors = run(c, 9);
        assertTrue(errors[0] > 1e-3, "the criterion must see a window off by one: " + errors[0]);
    }

    /** Runs janus with {@code c.window()} and the reference with {@code refWindow}; returns [out error, lse error]. */
    private static double[] run(Case c, int refWindow) {
        int sequences = c.lq().length;
        int[] cuQ = new int[sequences + 1], cuK = new int[sequences + 1];
        for (int s = 0; s < sequences; s++) {
            cuQ[s + 1] = cuQ[s] + c.lq()[s];
            cuK[s + 1] = cuK[s] + c.lk()[s];
        }
        int nq = cuQ[sequences], nk = cuK[sequences], h = c.heads(), kv = c.kvHeads(), d = c.d();
        SplittableRandom rng = new SplittableRandom(c.name().hashCode());
        float scale = (float) (1 / Math.sqrt(d));
        AttentionSpec spec = new AttentionSpec(c.causal(), c.window(), scale);
        try (Tensor q = random(rng, nq, h, d); Tensor k = random(rng, nk, kv, d); Tensor v = random(rng, nk, kv, d);
             Tensor out = Tensor.allocate(DType.F32, nq, h, d); Tensor lse = Tensor.allocate(DType.F32, nq, h);
             Tensor cq = Tensor.ofInts(cuQ); Tensor ck = Tensor.ofInts(cuK);
             PointerScope scope = new PointerScope()) {
            cpu.attention(out, lse, q, k, v, cq, ck, spec);
            org.bytedeco.pytorch.Tensor[] ref = reference(torch(q), torch(k), torch(v), cuQ, cuK, h / kv, scale,
                    c.causal(), refWindow);
            return new double[] {relativeError(out.toFloatArray(), values(ref[0])),
                    relativeError(lse.toFloatArray(), values(ref[1]))};
        }
    }

    /** Attention from the spec, one sequence and head at a time, with explicit masks. */
    private static org.bytedeco.pytorch.Tensor[] reference(org.bytedeco.pytorch.Tensor q, org.bytedeco.pytorch.Tensor k,
            org.bytedeco.pytorch.Tensor v, int[] cuQ, int[] cuK, int group, float scale, boolean causal, int window) {
        long heads = q.size(1), d = q.size(2);
        org.bytedeco.pytorch.Tensor out = torch.zeros(new long[] {q.size(0), heads, d}, new TensorOptions(ScalarType.Float));
        org.bytedeco.pytorch.Tensor lse = torch.full(new long[] {q.size(0), heads}, new Scalar(Float.NEGATIVE_INFINITY),
                new TensorOptions(ScalarType.Float));
        for (int s = 0; s + 1 < cuQ.length; s++) {
            int tq = cuQ[s + 1] - cuQ[s], tk = cuK[s + 1] - cuK[s];
            if (tq == 0) {
                continue;
            }
            // allowed[i][j]: j <= i + tk - tq (causal) and j >= i + tk - tq - W (window)
            org.bytedeco.pytorch.Tensor i = torch.arange(new Scalar(tq), new TensorOptions(ScalarType.Long)).unsqueeze(1);
            org.bytedeco.pytorch.Tensor j = torch.arange(new Scalar(tk), new TensorOptions(ScalarType.Long)).unsqueeze(0);
            org.bytedeco.pytorch.Tensor diagonal = i.add(new Scalar(tk - tq));                 // (tq, 1)
            org.bytedeco.pytorch.Tensor allowed = torch.ones(new long[] {tq, tk}, new TensorOptions(ScalarType.Bool));
            if (causal) {
                allowed = allowed.logical_and(j.le(diagonal));
            }
            if (window >= 0) {
                allowed = allowed.logical_and(j.ge(diagonal.sub(new Scalar(window))));
            }
            for (long head = 0; head < heads; head++) {
                org.bytedeco.pytorch.Tensor qs = q.narrow(0, cuQ[s], tq).select(1, head);          // (tq, D)
                org.bytedeco.pytorch.Tensor ks = k.narrow(0, cuK[s], tk).select(1, head / group);  // (tk, D)
                org.bytedeco.pytorch.Tensor vs = v.narrow(0, cuK[s], tk).select(1, head / group);  // (tk, D)
                org.bytedeco.pytorch.Tensor scores = qs.matmul(ks.t()).mul(new Scalar(scale))
                        .masked_fill(allowed.logical_not(), new Scalar(Float.NEGATIVE_INFINITY));
                org.bytedeco.pytorch.Tensor rowLse = scores.logsumexp(new long[] {1}, false);      // (tq)
                org.bytedeco.pytorch.Tensor p = scores.sub(rowLse.unsqueeze(1)).exp()             // rows of -inf: NaN
                        .nan_to_num(new org.bytedeco.pytorch.DoubleOptional(0.0),
                                new org.bytedeco.pytorch.DoubleOptional(), new org.bytedeco.pytorch.DoubleOptional());
                out.narrow(0, cuQ[s], tq).select(1, head).copy_(p.matmul(vs));
                lse.narrow(0, cuQ[s], tq).select(1, head).copy_(rowLse);
            }
        }
        return new org.bytedeco.pytorch.Tensor[] {out, lse};
    }

    private static Tensor random(SplittableRandom rng, long... shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (rng.nextDouble() * 4 - 2);
        }
        return Tensor.of(values, shape);
    }

    @Test
    void emptyRowsGiveZeroOutputAndMinusInfinityLse() {
        try (Tensor q = Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 2); Tensor k = Tensor.of(new float[] {1, 1}, 1, 1, 2);
             Tensor v = Tensor.of(new float[] {5, 7}, 1, 1, 2); Tensor out = Tensor.allocate(DType.F32, 2, 1, 2);
             Tensor lse = Tensor.allocate(DType.F32, 2, 1); Tensor cq = Tensor.ofInts(new int[] {0, 2});
             Tensor ck = Tensor.ofInts(new int[] {0, 1})) {
            // Tq = 2, Tk = 1: query 0 sees j <= 0 + 1 - 2 = -1, nothing; query 1 sees key 0.
            cpu.attention(out, lse, q, k, v, cq, ck, AttentionSpec.causal(2, AttentionSpec.NO_WINDOW));
            float[] o = out.toFloatArray();
            assertEquals(0f, o[0]);
            assertEquals(0f, o[1]);
            assertEquals(5f, o[2]);
            assertEquals(7f, o[3]);
            assertEquals(Float.NEGATIVE_INFINITY, lse.toFloatArray()[0]);
            assertEquals((float) (7 / Math.sqrt(2)), lse.toFloatArray()[1], 1e-6f);
        }
    }

    @Test
    void badArgumentsNameTheArgument() {
        try (Tensor q = Tensor.allocate(DType.F32, 4, 3, 8); Tensor k = Tensor.allocate(DType.F32, 4, 2, 8);
             Tensor out = Tensor.allocate(DType.F32, 4, 3, 8); Tensor lse = Tensor.allocate(DType.F32, 4, 3);
             Tensor cu = Tensor.ofInts(new int[] {0, 4}); Tensor badCu = Tensor.ofInts(new int[] {0, 3, 2})) {
            AttentionSpec spec = AttentionSpec.causal(8, AttentionSpec.NO_WINDOW);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.attention(out, lse, q, k, k, cu, cu, spec));
            assertTrue(e.getMessage().contains("multiple of kv heads"), e.getMessage());
            IllegalArgumentException wrongOut = assertThrows(IllegalArgumentException.class,
                    () -> cpu.attention(lse, lse, q, q, q, cu, cu, spec));
            assertTrue(wrongOut.getMessage().startsWith("out:"), wrongOut.getMessage());
            IllegalArgumentException cuError = assertThrows(IllegalArgumentException.class,
                    () -> cpu.attention(out, lse, q, q, q, badCu, badCu, spec));
            assertTrue(cuError.getMessage().contains("cuSeqlensQ"), cuError.getMessage());
        }
    }
}
