package ai.janus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.oracle.TestCheckpoints;
import ai.janus.oracle.TestCheckpoints.StoredType;
import ai.janus.oracle.TorchMistral;
import ai.janus.oracle.TorchMistral.Dims;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every parameter's gradient of the mean token NLL against libtorch autograd through
 * {@link TorchMistral} (the spec-written oracle), on the forward oracle's configurations (a)–(g).
 * janus runs the packed batch through {@link Mistral#forward} / {@link Mistral#backward}; the
 * oracle runs each sequence alone and sums the losses, both normalised by the supervised tokens
 * of the whole batch.
 *
 * <p>Criterion per tensor: ‖g − g_ref‖ / ‖g_ref‖ ≤ 1e-4. Both sides are fp32; a gradient goes
 * through every layer's GEMMs and reductions in another order than torch's, which costs about
 * 1e-6 relative per layer (measured 1e-6..5e-6 here); a wrong backward is off by O(1).
 */
@SuppressWarnings("try")
class MistralGradientOracleTest {
    static final double GRAD_REL_TOL = 1e-4;

    @TempDir
    Path dir;

    @Test
    void a_equalHeadsAndKvHeads() throws IOException {
        check("a: H == KV", new Dims(97, 48, 80, 2, 4, 4, 12, 10000.0, TorchMistral.NO_WINDOW, 1e-5, false),
                StoredType.F32, 11, 19);
    }

    @Test
    void b_groupedQueryAttention() throws IOException {
        check("b: H = 4 KV", new Dims(131, 64, 112, 3, 8, 2, 8, 1_000_000.0, TorchMistral.NO_WINDOW, 1e-5, false),
                StoredType.F32, 12, 33);
    }

    @Test
    void c_headDimNotHiddenOverHeads() throws IOException {
        check("c: head_dim != C/H", new Dims(113, 40, 72, 2, 4, 2, 16, 10000.0, TorchMistral.NO_WINDOW, 1e-6, false),
                StoredType.F32, 13, 23);
    }

    @Test
    void d_slidingWindow() throws IOException {
        check("d: window 5, T 24", new Dims(101, 32, 64, 2, 4, 2, 8, 10000.0, 5, 1e-5, false), StoredType.F32, 14, 24);
    }

    @Test
    void e_packedSequences() throws IOException {
        check("e: packed 7+17+11, window 6", new Dims(131, 64, 112, 2, 8, 2, 8, 10000.0, 6, 1e-5, false),
                StoredType.F32, 15, 7, 17, 11);
    }

    @Test
    void f_bf16Checkpoint() throws IOException {
        check("f: bf16 checkpoint", new Dims(150, 64, 96, 2, 4, 2, 16, 10000.0, TorchMistral.NO_WINDOW, 1e-5, false),
                StoredType.BF16, 16, 29);
    }

    @Test
    void g_tiedEmbeddings() throws IOException {
        check("g: tied embeddings", new Dims(300, 48, 96, 2, 6, 3, 8, 10000.0, TorchMistral.NO_WINDOW, 1e-5, true),
                StoredType.F32, 17, 21);
    }

    @Test
    void theCriterionSeesAWrongGradient() throws IOException {
        // The same comparison against gradients of a loss scaled by 1.001 must fail: a relative
        // error of 1e-3 is ten times the tolerance.
        Map<String, Double> errors = errors(new Dims(97, 48, 80, 2, 4, 2, 12, 10000.0, TorchMistral.NO_WINDOW, 1e-5,
                false), StoredType.F32, 11, 1.001, 19);
        assertTrue(errors.values().stream().allMatch(e -> e > GRAD_REL_TOL), "a 0.1% gradient error must fail: "
                + errors);
    }

    private void check(String name, Dims d, StoredType type, long seed, int... lengths) throws IOException {
        Map<String, Double> errors = errors(d, type, seed, 1.0, lengths);
        double worst = errors.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        String worstName = errors.entrySet().stream().filter(e -> e.getValue() == worst).findFirst().orElseThrow()
                .getKey();
        System.out.printf("gradients %-28s %d tensors, worst %.2e (%s)%n", name, errors.size(), worst, worstName);
        errors.forEach((tensor, error) -> assertTrue(error <= GRAD_REL_TOL,
                name + ": " + tensor + " relative error " + error));
    }

    /** ‖g − g_ref‖ / ‖g_ref‖ per parameter; the reference loss is multiplied by {@code refScale}. */
    private Map<String, Double> errors(Dims d, StoredType type, long seed, double refScale, int... lengths)
            throws IOException {
        int[][] seqs = randomSequences(d.vocab(), seed, lengths);
        int[] labels = nextTokenLabels(seqs);
        long supervised = Arrays.stream(labels).filter(y -> y != Backend.IGNORE_INDEX).count();
        Map<String, Double> errors = new LinkedHashMap<>();
        try (PointerScope scope = new PointerScope()) {
            Map<String, org.bytedeco.pytorch.Tensor> weights = TestCheckpoints.randomWeights(d, seed);
            TestCheckpoints.writeModel(dir, TestCheckpoints.configJson(d), weights, type);

            // janus: packed forward, dLogp = −1/|M| on supervised positions, backward
            Map<String, float[]> ours = new LinkedHashMap<>();
            try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir); CpuBackend backend = new CpuBackend();
                 ParameterSet grads = loaded.parameters().zerosLike()) {
                Mistral model = new Mistral(loaded.config(), loaded.weights(), backend);
                try (Mistral.ForwardState st = model.forward(TokenBatch.of(seqs), labels, false);
                     Tensor dLogp = meanNllGradient(labels, supervised)) {
                    model.backward(st, dLogp, grads);
                }
                for (ParameterSet.Spec s : grads.specs()) {
                    ours.put(s.name(), grads.get(s.name()).toFloatArray());
                }
            }

            // libtorch autograd: each sequence alone, losses summed, normalised by the same count
            Map<String, org.bytedeco.pytorch.Tensor> stored = TestCheckpoints.asStored(weights, type);
            stored.values().forEach(w -> w.requires_grad_(true));
            TorchMistral oracle = new TorchMistral(d, stored);
            org.bytedeco.pytorch.Tensor loss = null;
            int at = 0;
            for (int[] s : seqs) {
                long[] ids = Arrays.stream(s).asLongStream().toArray();
                long[] targets = new long[s.length - 1];
                for (int t = 0; t + 1 < s.length; t++) {
                    targets[t] = labels[at + t];
                }
                org.bytedeco.pytorch.Tensor z = oracle.logitsWithGrad(ids).narrow(0, 0, s.length - 1);
                org.bytedeco.pytorch.Tensor nll = torch.log_softmax(z, 1).gather(1, longTensor(targets).unsqueeze(1))
                        .sum().neg();
                loss = loss == null ? nll : loss.add(nll);
                at += s.length;
            }
            loss.div(new Scalar((double) supervised)).mul(new Scalar(refScale)).backward();
            for (Map.Entry<String, float[]> e : ours.entrySet()) {
                float[] ref = TorchMistral.toFloatArray(stored.get(e.getKey()).grad());
                errors.put(e.getKey(), relativeNormError(e.getValue(), ref));
            }
        }
        assertEquals(d.tied() ? 3 + 9 * d.layers() - 1 : 3 + 9 * d.layers(), errors.size(), "every parameter compared");
        return errors;
    }

    static Tensor meanNllGradient(int[] labels, long supervised) {
        float[] g = new float[labels.length];
        for (int t = 0; t < labels.length; t++) {
            g[t] = labels[t] == Backend.IGNORE_INDEX ? 0f : (float) (-1.0 / supervised);
        }
        return Tensor.of(g, labels.length);
    }

    static int[] nextTokenLabels(int[][] seqs) {
        int n = Arrays.stream(seqs).mapToInt(s -> s.length).sum(), at = 0;
        int[] labels = new int[n];
        for (int[] s : seqs) {
            for (int t = 0; t < s.length; t++) {
                labels[at + t] = t + 1 < s.length ? s[t + 1] : Backend.IGNORE_INDEX;
            }
            at += s.length;
        }
        return labels;
    }

    static double relativeNormError(float[] actual, float[] expected) {
        double diff = 0, ref = 0;
        for (int i = 0; i < expected.length; i++) {
            double dd = (double) actual[i] - expected[i];
            diff += dd * dd;
            ref += (double) expected[i] * expected[i];
        }
        return Math.sqrt(diff) / Math.sqrt(ref);
    }

    static int[][] randomSequences(int vocab, long seed, int... lengths) {
        Random random = new Random(seed);
        int[][] seqs = new int[lengths.length][];
        for (int s = 0; s < lengths.length; s++) {
            seqs[s] = random.ints(lengths[s], 0, vocab).toArray();
        }
        return seqs;
    }

    private static org.bytedeco.pytorch.Tensor longTensor(long[] values) {
        try (LongPointer p = new LongPointer(values)) {
            return torch.from_blob(p, new long[] {values.length}, new TensorOptions(ScalarType.Long)).clone();
        }
    }

}
