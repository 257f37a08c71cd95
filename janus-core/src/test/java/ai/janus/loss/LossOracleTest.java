package ai.janus.loss;

import static org.bytedeco.pytorch.global.torch.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each loss and its gradient with respect to the logits against libtorch autograd, the losses
 * written below from docs/spec/objectives.md's formulas.
 *
 * <p>How janus reaches the logits: {@link Backend#tokenLogProbs} and its backward, the op the
 * model's log-probs come from, are run with hidden states Z (N, V) and an identity lm_head
 * (V, V). Then the logits are exactly Z (a product with 1 and sums of exact zeros) and the
 * returned dHidden is exactly dL/dZ, the gradient with respect to the logits — computed by
 * janus's own chunked log-softmax backward from the dL/dlogp that {@link SequenceLogProbs} and
 * each loss produce. libtorch takes Z as a leaf, log_softmax + gather in fp32, then the spec's
 * formulas in float64. The reward model's loss is compared with respect to its value head's
 * input, the final hidden states (and the value head's weight).
 *
 * <p>Criterion: ‖g − g_ref‖ / ‖g_ref‖ ≤ 1e-5 for the gradient, |L − L_ref| / |L_ref| ≤ 1e-5 for the
 * loss. Both sides take log-softmax in fp32 and reduce in another order, so they differ by a few
 * fp32 roundings: measured ≤ 2e-7, and 1.3e-6 where A ≈ −0.02 (logp = z − lse cancels in fp32 on
 * both sides when the label's probability is near 1). A wrong normaliser or sign is off by O(1),
 * and a loss scaled by 1 + 1e-4 fails (the control test below).
 */
@SuppressWarnings("try")
class LossOracleTest {
    static final double REL_TOL = 1e-5;

    private static CpuBackend cpu;

    @BeforeAll
    static void start() {
        cpu = new CpuBackend();
    }

    @AfterAll
    static void stop() {
        cpu.close();
    }

    // ------------------------------------------------------------------------------- batches

    /** Random logits and labels over packed and right-padded segments. */
    record Batch(int vocab, float[] logits, int[] labels, int[] cu) {
        int n() {
            return labels.length;
        }
    }

    /**
     * Segments of the given lengths: a prompt of 1..4 ignored positions, then supervised ones;
     * every third segment ends with 1..5 positions of padding (ignored), like a right-padded row.
     */
    static Batch batch(long seed, int vocab, int... lengths) {
        return batch(seed, vocab, 0, 0f, lengths);
    }

    /** As {@link #batch(long, int, int...)}, the label's logit raised by {@code boost} in the first {@code boosted} segments. */
    static Batch batch(long seed, int vocab, int boosted, float boost, int... lengths) {
        Random r = new Random(seed);
        int n = 0;
        for (int l : lengths) {
            n += l;
        }
        float[] z = new float[n * vocab];
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) (r.nextGaussian() * 2);
        }
        int[] labels = new int[n], cu = new int[lengths.length + 1];
        int at = 0;
        for (int s = 0; s < lengths.length; s++) {
            int prompt = 1 + r.nextInt(Math.min(4, lengths[s] - 2));
            int pad = s % 3 == 2 ? 1 + r.nextInt(Math.min(5, lengths[s] - prompt - 1)) : 0; // ≥ 1 supervised left
            for (int t = 0; t < lengths[s]; t++) {
                boolean supervised = t >= prompt && t < lengths[s] - pad;
                labels[at + t] = supervised ? r.nextInt(vocab) : Backend.IGNORE_INDEX;
                if (supervised && s < boosted) {
                    z[(at + t) * vocab + labels[at + t]] += boost;
                }
            }
            at += lengths[s];
            cu[s + 1] = at;
        }
        return new Batch(vocab, z, labels, cu);
    }

    /** What a loss gives janus's side: L and dL/dS (or dL/dA) per segment. */
    record LossAndGradient(double loss, double[] dSum, double[] dMean) {}

    /** janus: logp through the backend op, the loss, dL/dlogp, and dL/dZ through the backend backward. */
    static double janus(Batch b, Function<SequenceLogProbs, LossAndGradient> loss, float[] dLogitsOut) {
        int n = b.n(), v = b.vocab();
        try (Tensor z = Tensor.of(b.logits(), n, v); Tensor identity = identity(v); Tensor labels = Tensor.ofInts(b.labels());
             Tensor logp = Tensor.allocate(DType.F32, n); Tensor lse = Tensor.allocate(DType.F32, n);
             Tensor dLogp = Tensor.allocate(DType.F32, n); Tensor dZ = Tensor.allocate(DType.F32, n, v);
             Tensor dIdentity = Tensor.allocate(DType.F32, v, v)) {
            cpu.tokenLogProbs(logp, lse, z, identity, labels);
            SequenceLogProbs seq = SequenceLogProbs.forward(logp, b.labels(), b.cu());
            LossAndGradient l = loss.apply(seq);
            seq.backward(dLogp, l.dSum(), l.dMean());
            cpu.tokenLogProbsBackward(dZ, dIdentity, dLogp, z, identity, labels, lse);
            dZ.floats().get(0, dLogitsOut);
            return l.loss();
        }
    }

    private static Tensor identity(int v) {
        float[] eye = new float[v * v];
        for (int i = 0; i < v; i++) {
            eye[i * v + i] = 1f;
        }
        return Tensor.of(eye, v, v);
    }

    /** Per-segment S (float64 scalars, with autograd) and |M| in libtorch: log_softmax + gather in fp32. */
    record TorchScores(List<org.bytedeco.pytorch.Tensor> sums, long[] tokens) {
        org.bytedeco.pytorch.Tensor mean(int s) {
            return sums.get(s).div(new Scalar((double) tokens[s]));
        }
    }

    static TorchScores torchScores(org.bytedeco.pytorch.Tensor z, Batch b) {
        int n = b.n();
        long[] safe = new long[n];
        float[] mask = new float[n];
        for (int t = 0; t < n; t++) {
            boolean on = b.labels()[t] != Backend.IGNORE_INDEX;
            safe[t] = on ? b.labels()[t] : 0;
            mask[t] = on ? 1f : 0f;
        }
        org.bytedeco.pytorch.Tensor logp = log_softmax(z, 1).gather(1, longs(safe).unsqueeze(1), false).squeeze(1)
                .mul(floats(mask)).to(ScalarType.Double);                       // (N) log p(label), 0 where ignored
        List<org.bytedeco.pytorch.Tensor> sums = new ArrayList<>();
        long[] tokens = new long[b.cu().length - 1];
        for (int s = 0; s < tokens.length; s++) {
            int from = b.cu()[s], to = b.cu()[s + 1];
            sums.add(logp.narrow(0, from, to - from).sum());
            for (int t = from; t < to; t++) {
                tokens[s] += b.labels()[t] != Backend.IGNORE_INDEX ? 1 : 0;
            }
        }
        return new TorchScores(sums, tokens);
    }

    /** libtorch: Z as a leaf, {@code loss(scores)·scale}, backward; returns L·scale and writes dL/dZ. */
    static double torch(Batch b, Function<TorchScores, org.bytedeco.pytorch.Tensor> loss, double scale, float[] dLogitsOut) {
        try (PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor z = floats(b.logits()).reshape(b.n(), b.vocab()).requires_grad_(true);
            org.bytedeco.pytorch.Tensor l = loss.apply(torchScores(z, b)).mul(new Scalar(scale));
            l.backward();
            z.grad().contiguous().data_ptr_float().get(dLogitsOut);
            return l.item_double();
        }
    }

    // --------------------------------------------------------------------------------- cases

    private static final int V = 37;

    @Test
    void sft() {
        Batch b = batch(1, V, 9, 14, 6, 11, 20, 8);
        long step = 150; // this micro-batch and others of the same optimizer step
        check("sft", b, seq -> {
            SftLoss.Result r = SftLoss.forward(seq.sums(0, 6), seq.tokens(0, 6), step);
            return new LossAndGradient(r.loss(), r.dSums(), null);
        }, t -> {
            // L = −(1/|M_step|) Σ_{t∈M} logp_t
            org.bytedeco.pytorch.Tensor sum = t.sums().get(0);
            for (int s = 1; s < 6; s++) {
                sum = sum.add(t.sums().get(s));
            }
            return sum.neg().div(new Scalar((double) step));
        });
    }

    @Test
    void dpo() {
        dpo(new DpoLoss(0.1, 0.0), 2);
    }

    @Test
    void dpoWithLabelSmoothingAndLargeBeta() {
        dpo(new DpoLoss(0.7, 0.2), 3);
    }

    @Test
    void dpoWithRpo() {
        dpo(new DpoLoss(0.1, 0.0, 1.0), 2);
    }

    @Test
    void dpoWithRpoAndLabelSmoothing() {
        dpo(new DpoLoss(0.7, 0.2, 0.5), 3);
    }

    private void dpo(DpoLoss loss, long seed) {
        int p = 3;
        Batch b = batch(seed, V, 12, 9, 15, 10, 13, 8);
        long stepPairs = 8, stepChosenTokens = 70;
        // reference sums: the policy's moved by a few nats, constants on both sides
        double[] refChosen = {-40.0, -25.5, -61.0}, refRejected = {-30.0, -33.0, -48.25};
        check("dpo β " + loss.beta() + " ε " + loss.labelSmoothing() + " α " + loss.rpoAlpha(), b, seq -> {
            DpoLoss.Result r = loss.rpoAlpha() == 0
                    ? loss.forward(seq.sums(0, p), seq.sums(p, 2 * p), refChosen, refRejected, stepPairs)
                    : loss.forward(seq.sums(0, p), seq.tokens(0, p), seq.sums(p, 2 * p), refChosen, refRejected, stepPairs,
                    stepChosenTokens);
            return new LossAndGradient(r.loss(), concat(r.dChosen(), r.dRejected()), null);
        }, t -> {
            // u = β·[(S_π(c) − S_ref(c)) − (S_π(r) − S_ref(r))];  L = −(1−ε)·logσ(u) − ε·logσ(−u), mean over the step's pairs
            // + α·NLL, NLL = −Σ S_π(c) / |M_c,step| (TRL's rpo_alpha · nll_loss, the token mean over the chosen answers)
            org.bytedeco.pytorch.Tensor total = null, nll = null;
            for (int i = 0; i < p; i++) {
                org.bytedeco.pytorch.Tensor u = t.sums().get(i).sub(new Scalar(refChosen[i]))
                        .sub(t.sums().get(p + i).sub(new Scalar(refRejected[i]))).mul(new Scalar(loss.beta()));
                org.bytedeco.pytorch.Tensor li = log_sigmoid(u).mul(new Scalar(-(1 - loss.labelSmoothing())))
                        .sub(log_sigmoid(u.neg()).mul(new Scalar(loss.labelSmoothing())));
                total = total == null ? li : total.add(li);
                nll = nll == null ? t.sums().get(i).neg() : nll.sub(t.sums().get(i));
            }
            org.bytedeco.pytorch.Tensor dpo = total.div(new Scalar((double) stepPairs));
            return loss.rpoAlpha() == 0 ? dpo
                    : dpo.add(nll.div(new Scalar((double) stepChosenTokens)).mul(new Scalar(loss.rpoAlpha())));
        });
    }

    @Test
    void orpo() {
        orpo("orpo", batch(4, V, 14, 10, 9, 16, 11, 12));
    }

    @Test
    void orpoWithNearCertainChosenAnswers() {
        // chosen answers' labels raised by 9 nats: A_c ≈ −0.02, on the log(−expm1(a)) side of log1mexp
        // (a > −ln 2); the rejected answers' A_r ≈ −4 stay on the log1p(−exp(a)) side
        orpo("orpo, A_c near 0", batch(5, V, 3, 9f, 14, 10, 9, 16, 11, 12));
    }

    private void orpo(String name, Batch b) {
        int p = 3;
        OrpoLoss loss = new OrpoLoss(0.1);
        long stepPairs = 7, stepChosenTokens = 60;
        check(name, b, seq -> {
            for (int i = 0; i < p && name.contains("near 0"); i++) {
                assertTrue(seq.mean(i) > -Math.log(2) && seq.mean(p + i) < -Math.log(2), "A_c " + seq.mean(i)
                        + ", A_r " + seq.mean(p + i));
            }
            OrpoLoss.Result r = loss.forward(seq.sums(0, p), seq.tokens(0, p), seq.sums(p, 2 * p), seq.tokens(p, 2 * p),
                    stepPairs, stepChosenTokens);
            return new LossAndGradient(r.loss(), concat(r.dChosen(), r.dRejected()), null);
        }, t -> {
            // NLL = −Σ S_c / |M_c,step|;  lo = (A_c − A_r) − (log1mexp(A_c) − log1mexp(A_r));  L = NLL + λ·mean_step(−logσ(lo))
            org.bytedeco.pytorch.Tensor nll = null, or = null;
            for (int i = 0; i < p; i++) {
                nll = nll == null ? t.sums().get(i).neg() : nll.sub(t.sums().get(i));
                org.bytedeco.pytorch.Tensor ac = t.mean(i), ar = t.mean(p + i);
                org.bytedeco.pytorch.Tensor lo = ac.sub(ar).sub(log1mexp(ac).sub(log1mexp(ar)));
                org.bytedeco.pytorch.Tensor term = log_sigmoid(lo).neg();
                or = or == null ? term : or.add(term);
            }
            return nll.div(new Scalar((double) stepChosenTokens))
                    .add(or.div(new Scalar((double) stepPairs)).mul(new Scalar(loss.lambda())));
        });
    }

    /** The spec's stable log(1 − e^a): a > −ln2 ? log(−expm1(a)) : log1p(−exp(a)); both branches finite for a &lt; 0. */
    private static org.bytedeco.pytorch.Tensor log1mexp(org.bytedeco.pytorch.Tensor a) {
        return a.expm1().neg().log().where(a.gt(new Scalar(-Math.log(2))), a.exp().neg().log1p());
    }

    @Test
    void bradleyTerryWithMargins() {
        bradleyTerry(new double[] {0.5, -0.25, 0.0, 1.5}, 1.0);
    }

    @Test
    void bradleyTerryWithoutMargins() {
        bradleyTerry(null, 1.0);
    }

    /** janus's value head and BT loss against libtorch, gradients w.r.t. the hidden states and the head. */
    private static double[] bradleyTerry(double[] margins, double scale) {
        int p = 4, c = 24, n = 30;
        long stepPairs = 10;
        Random r = new Random(9);
        float[] hidden = new float[n * c], w = new float[c];
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < c; i++) {
            w[i] = (float) (r.nextGaussian() * 0.5);
        }
        int[] last = {3, 7, 12, 15, 19, 22, 26, 29}; // chosen 0..3, rejected 4..7
        float[] dHidden = new float[n * c], dW = new float[c];
        double ours;
        try (Tensor h = Tensor.of(hidden, n, c); Tensor head = Tensor.of(w, 1, c);
             Tensor dh = Tensor.allocate(DType.F32, n, c); Tensor dw = Tensor.allocate(DType.F32, 1, c)) {
            double[] rewards = ai.janus.model.RewardModel.valueForward(h, last, head);
            BradleyTerryLoss.Result res = BradleyTerryLoss.forward(java.util.Arrays.copyOf(rewards, p),
                    java.util.Arrays.copyOfRange(rewards, p, 2 * p), margins, stepPairs);
            ai.janus.model.RewardModel.valueBackward(dh, dw, concat(res.dChosen(), res.dRejected()), h, last, head);
            dh.floats().get(0, dHidden);
            dw.floats().get(0, dW);
            ours = res.loss();
        }
        float[] refHidden = new float[n * c], refW = new float[c];
        double ref;
        try (PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor th = floats(hidden).reshape(n, c).requires_grad_(true);
            org.bytedeco.pytorch.Tensor tw = floats(w).reshape(1, c).requires_grad_(true);
            long[] idx = new long[last.length];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = last[i];
            }
            // r = value_head(hidden)[eos] (fp32 Linear, bias-free);  L = mean_step(−logσ(r_c − r_r − m))
            org.bytedeco.pytorch.Tensor rewards = th.index_select(0, longs(idx)).matmul(tw.t()).squeeze(1)
                    .to(ScalarType.Double);
            org.bytedeco.pytorch.Tensor x = rewards.narrow(0, 0, p).sub(rewards.narrow(0, p, p));
            if (margins != null) {
                x = x.sub(doubles(margins));
            }
            org.bytedeco.pytorch.Tensor l = log_sigmoid(x).neg().sum().div(new Scalar((double) stepPairs))
                    .mul(new Scalar(scale));
            l.backward();
            th.grad().contiguous().data_ptr_float().get(refHidden);
            tw.grad().contiguous().data_ptr_float().get(refW);
            ref = l.item_double();
        }
        double[] errors = {relativeError(ours, ref), relativeError(dHidden, refHidden), relativeError(dW, refW)};
        if (scale == 1.0) {
            System.out.printf("oracle %-28s loss %.2e  dL/dhidden %.2e  dL/dvalue_head %.2e%n",
                    "bradley-terry" + (margins == null ? "" : " + margins"), errors[0], errors[1], errors[2]);
            for (double e : errors) {
                assertTrue(e <= REL_TOL, "bradley-terry: relative error " + e);
            }
        }
        return errors;
    }

    @Test
    void theCriterionSeesALossScaledByOnePlus1e4() {
        // the same comparisons against a reference loss scaled by 1 + 1e-4 must fail: ten times the tolerance
        Batch b = batch(1, V, 9, 14, 6, 11, 20, 8);
        float[] ours = new float[b.n() * V], ref = new float[b.n() * V];
        janus(b, seq -> {
            SftLoss.Result r = SftLoss.forward(seq.sums(0, 6), seq.tokens(0, 6), 150);
            return new LossAndGradient(r.loss(), r.dSums(), null);
        }, ours);
        torch(b, t -> {
            org.bytedeco.pytorch.Tensor sum = t.sums().get(0);
            for (int s = 1; s < 6; s++) {
                sum = sum.add(t.sums().get(s));
            }
            return sum.neg().div(new Scalar(150.0));
        }, 1 + 1e-4, ref);
        assertTrue(relativeError(ours, ref) > REL_TOL, "a 1e-4 gradient error must fail: " + relativeError(ours, ref));
        for (double e : bradleyTerry(null, 1 + 1e-4)) {
            assertTrue(e > REL_TOL, "a 1e-4 error must fail: " + e);
        }
    }

    @Test
    void relativeErrorMeasuresTheNormOfTheDifference() {
        assertEquals(0.0, relativeError(new float[] {1, 2}, new float[] {1, 2}));
        assertEquals(0.5, relativeError(new float[] {3, 4}, new float[] {6, 8}), 1e-12);
        assertEquals(Double.POSITIVE_INFINITY, relativeError(new float[] {Float.NaN}, new float[] {1}));
        assertEquals(1e-3, relativeError(1.001, 1.0), 1e-12);
    }

    private static void check(String name, Batch b, Function<SequenceLogProbs, LossAndGradient> ours,
                              Function<TorchScores, org.bytedeco.pytorch.Tensor> reference) {
        float[] dOurs = new float[b.n() * b.vocab()], dRef = new float[b.n() * b.vocab()];
        double lossOurs = janus(b, ours, dOurs);
        double lossRef = torch(b, reference, 1.0, dRef);
        double lossError = relativeError(lossOurs, lossRef), gradError = relativeError(dOurs, dRef);
        System.out.printf("oracle %-28s loss %.2e  dL/dlogits %.2e  (L = %.6f)%n", name, lossError, gradError, lossRef);
        assertTrue(lossError <= REL_TOL, name + ": loss " + lossOurs + " vs " + lossRef + ", relative error " + lossError);
        assertTrue(gradError <= REL_TOL, name + ": dL/dlogits relative error " + gradError);
    }

    // ------------------------------------------------------------------------------- helpers

    /** ‖a − b‖ / ‖b‖ in double; any NaN or infinity is an infinite error. */
    static double relativeError(float[] a, float[] b) {
        double diff = 0, ref = 0;
        for (int i = 0; i < b.length; i++) {
            if (!Float.isFinite(a[i]) || !Float.isFinite(b[i])) {
                return Double.POSITIVE_INFINITY;
            }
            double d = (double) a[i] - b[i];
            diff += d * d;
            ref += (double) b[i] * b[i];
        }
        return diff == 0 ? 0 : Math.sqrt(diff / ref);
    }

    static double relativeError(double a, double b) {
        return a == b ? 0 : Math.abs(a - b) / Math.abs(b);
    }

    static double[] concat(double[] a, double[] b) {
        double[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static org.bytedeco.pytorch.Tensor floats(float[] values) {
        return from_blob(new org.bytedeco.javacpp.FloatPointer(values), new long[] {values.length},
                new TensorOptions(ScalarType.Float)).clone();
    }

    static org.bytedeco.pytorch.Tensor doubles(double[] values) {
        return from_blob(new org.bytedeco.javacpp.DoublePointer(values), new long[] {values.length},
                new TensorOptions(ScalarType.Double)).clone();
    }

    static org.bytedeco.pytorch.Tensor longs(long[] values) {
        try (LongPointer p = new LongPointer(values)) {
            return from_blob(p, new long[] {values.length}, new TensorOptions(ScalarType.Long)).clone();
        }
    }
}
