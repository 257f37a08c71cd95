package ai.janus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.oracle.TestCheckpoints.StoredType;
import ai.janus.oracle.TestCheckpoints;
import ai.janus.oracle.TorchMistral.Dims;
import ai.janus.oracle.TorchMistral;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The janus CPU forward against {@link TorchMistral}, a libtorch Mistral written from
 * docs/spec/model.md. Every case writes its checkpoint with {@link TestCheckpoints} (not with
 * janus's writer), loads it with {@link HfCheckpoint#load} and compares the full logits.
 *
 * <p>Criterion: max|janus − torch| ≤ {@link #LOGIT_REL_TOL} · max|torch|. Both sides are fp32 and
 * compute the same formulas in a different summation order (GEMM blocking, softmax and RMSNorm
 * reductions), which gives ~1e-6 relative error at these sizes (measured 4e-7..8e-7); 1e-4 leaves
 * two decades of margin and is still below what a wrong model produces: the must-fail tests below
 * measure 0.5..1 for a wrong RoPE pairing or window and 7e-4 for rms_norm_eps 1e-5 instead of 1e-6.
 */
@SuppressWarnings("try") // PointerScope blocks free what torch allocates inside them; the scope itself is unused
class MistralOracleTest {

    /** fp32 vs fp32, different summation order: typical 1e-6 relative, see class comment. */
    static final double LOGIT_REL_TOL = 1e-4;
    /**
     * log p = z − logsumexp(z): its error is the logit error plus the logsumexp error, each ~1e-6
     * relative to the logits' O(1..5) magnitude, so a few e-6 absolute; 1e-5 · max(1, max|logit|).
     */
    static final double LOGPROB_ABS_TOL = 1e-5;
    static final int IGNORE = -100;

    @TempDir
    Path dir;

    /** One comparison: the largest absolute difference and the largest reference magnitude. */
    record Error(double maxDiff, double maxRef) {
        double ratio() {
            return maxDiff / maxRef;
        }

        boolean passes() {
            return maxDiff <= LOGIT_REL_TOL * maxRef;
        }

        static Error of(float[] actual, float[] expected) {
            assertEquals(expected.length, actual.length, "element count");
            double diff = 0, ref = 0;
            for (int i = 0; i < expected.length; i++) {
                double dd = Math.abs((double) actual[i] - expected[i]);
                diff = Double.isNaN(dd) ? Double.POSITIVE_INFINITY : Math.max(diff, dd);
                ref = Math.max(ref, Math.abs(expected[i]));
            }
            return new Error(diff, ref);
        }
    }

    // ------------------------------------------------------------------ cases (a)–(g)

    @Test
    void equalHeadsAndKvHeads_headDimFromDefault() throws IOException {
        // (a) H = KV = 4; head_dim absent from config.json, so it must default to hidden/heads = 12.
        Dims d = new Dims(97, 48, 80, 2, 4, 4, 12, 10000.0, TorchMistral.NO_WINDOW, 1e-5, false);
        Map<String, Object> config = TestCheckpoints.configJson(d);
        config.remove("head_dim");
        assertMatches("a: H == KV", d, config, StoredType.F32, 11, 19);
    }

    @Test
    void groupedQueryAttention_fourQueryHeadsPerKvHead() throws IOException {
        // (b) H = 8 over KV = 2, theta 1e6 (the v0.2 value), 3 layers.
        Dims d = new Dims(131, 64, 112, 3, 8, 2, 8, 1_000_000.0, TorchMistral.NO_WINDOW, 1e-5, false);
        assertMatches("b: H = 4 KV", d, TestCheckpoints.configJson(d), StoredType.F32, 12, 33);
    }

    @Test
    void headDimNotHiddenOverHeads() throws IOException {
        // (c) hidden 40, 4 heads of 16 (q dim 64 ≠ 40), so o_proj is [40, 64].
        Dims d = new Dims(113, 40, 72, 2, 4, 2, 16, 10000.0, TorchMistral.NO_WINDOW, 1e-6, false);
        assertMatches("c: head_dim != C/H", d, TestCheckpoints.configJson(d), StoredType.F32, 13, 23);
    }

    @Test
    void slidingWindowShorterThanSequence() throws IOException {
        // (d) W = 5 with T = 24: query i sees keys [i − 5, i], so most rows are cut by the window.
        Dims d = new Dims(101, 32, 64, 2, 4, 2, 8, 10000.0, 5, 1e-5, false);
        assertMatches("d: window 5, T 24", d, TestCheckpoints.configJson(d), StoredType.F32, 14, 24);
    }

    @ParameterizedTest(name = "window {0}")
    @ValueSource(ints = {TorchMistral.NO_WINDOW, 6})
    void packedBatchEqualsEachSequenceAlone(int window) throws IOException {
        // (e) three sequences of different lengths in one TokenBatch; each must equal its own run.
        Dims d = new Dims(131, 64, 112, 2, 8, 2, 8, 10000.0, window, 1e-5, false);
        assertMatches("e: packed 7+17+11, window " + window, d, TestCheckpoints.configJson(d), StoredType.F32, 15,
                7, 17, 11);
    }

    @Test
    void bf16Checkpoint() throws IOException {
        // (f) stored BF16; the oracle uses the same bf16-rounded values widened to fp32.
        Dims d = new Dims(150, 64, 96, 2, 4, 2, 16, 10000.0, TorchMistral.NO_WINDOW, 1e-5, false);
        Map<String, Object> config = TestCheckpoints.configJson(d);
        config.put("torch_dtype", "bfloat16");
        assertMatches("f: bf16 checkpoint", d, config, StoredType.BF16, 16, 29);
    }

    @Test
    void tiedEmbeddings() throws IOException {
        // (g) tie_word_embeddings: no lm_head.weight in the file; logits = h·embed_tokensᵀ.
        Dims d = new Dims(300, 48, 96, 2, 6, 3, 8, 10000.0, TorchMistral.NO_WINDOW, 1e-5, true);
        assertMatches("g: tied embeddings", d, TestCheckpoints.configJson(d), StoredType.F32, 17, 21);
    }

    // ------------------------------------------------------------------ token log-probs

    @Test
    void tokenLogProbsMatchTorchLogSoftmaxGather() throws IOException {
        Dims d = new Dims(131, 64, 112, 2, 8, 2, 8, 10000.0, TorchMistral.NO_WINDOW, 1e-5, false);
        int[][] seqs = randomSequences(d.vocab(), 18, 9, 20, 6);
        // labels[t] = next token of the same sequence; the last token of each sequence is ignored (0).
        List<Integer> labelList = new ArrayList<>();
        for (int[] s : seqs) {
            for (int t = 0; t < s.length; t++) {
                labelList.add(t + 1 < s.length ? s[t + 1] : IGNORE);
            }
        }
        int[] labels = labelList.stream().mapToInt(Integer::intValue).toArray();

        try (PointerScope scope = new PointerScope()) {
            Map<String, org.bytedeco.pytorch.Tensor> weights = TestCheckpoints.randomWeights(d, 18);
            TestCheckpoints.writeModel(dir, TestCheckpoints.configJson(d), weights, StoredType.F32);
            float[] actual;
            try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir); CpuBackend backend = new CpuBackend()) {
                Mistral model = new Mistral(loaded.config(), loaded.weights(), backend);
                try (Tensor lp = model.tokenLogProbs(TokenBatch.of(seqs), labels)) {
                    actual = lp.toFloatArray();
                }
            }
            TorchMistral oracle = new TorchMistral(d, weights);
            float[] expected = new float[labels.length];
            double maxLogit = 0;
            int at = 0;
            for (int[] s : seqs) {
                org.bytedeco.pytorch.Tensor z = oracle.logits(toLongs(s));                  // (T, V)
                maxLogit = Math.max(maxLogit, z.abs().max().item_float());
                long[] next = new long[s.length];
                for (int t = 0; t < s.length; t++) {
                    next[t] = labels[at + t] == IGNORE ? 0 : labels[at + t];
                }
                org.bytedeco.pytorch.Tensor logp = torch.log_softmax(z, 1)
                        .gather(1, longTensor(next).unsqueeze(1)).squeeze(1);               // (T)
                float[] lp = TorchMistral.toFloatArray(logp);
                for (int t = 0; t < s.length; t++) {
                    expected[at + t] = labels[at + t] == IGNORE ? 0f : lp[t];
                }
                at += s.length;
            }
            double tol = LOGPROB_ABS_TOL * Math.max(1.0, maxLogit);
            double maxDiff = 0;
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] == IGNORE) {
                    assertEquals(0f, actual[i], "ignored label at token " + i + " must give log p = 0");
                }
                maxDiff = Math.max(maxDiff, Math.abs((double) actual[i] - expected[i]));
            }
            System.out.printf("oracle %-34s max|diff| %.3e  tol %.1e  (max|logit| %.2f)%n", "tokenLogProbs",
                    maxDiff, tol, maxLogit);
            assertTrue(maxDiff <= tol, "tokenLogProbs: max|diff| " + maxDiff + " > " + tol);
        }
    }

    // ------------------------------------------------------------------ the criterion can fail

    @Test
    void interleavedRopeOracleFailsTheCriterion() throws IOException {
        // A model that rotates adjacent pairs (2i, 2i+1) instead of (j, j + D/2) on HF weights equals
        // the rotate_half oracle fed q/k rows permuted per head by the spec's HF→Meta map,
        // row r ← row (r mod D/2)·2 + (r div D/2). It must fail the criterion by a wide margin.
        Dims d = new Dims(131, 64, 112, 2, 8, 2, 8, 10000.0, TorchMistral.NO_WINDOW, 1e-5, false);
        Error e = compare(d, TestCheckpoints.configJson(d), StoredType.F32, 21, (dims, w) -> {
            Map<String, org.bytedeco.pytorch.Tensor> wrong = new LinkedHashMap<>(w);
            for (int i = 0; i < dims.layers(); i++) {
                for (String proj : new String[] {"q_proj", "k_proj"}) {
                    String name = "model.layers." + i + ".self_attn." + proj + ".weight";
                    wrong.put(name, permuteRowsToInterleaved(w.get(name), dims.headDim()));
                }
            }
            return new TorchMistral(dims, wrong);
        }, 27);
        report("wrong: interleaved RoPE", e);
        assertTrue(!e.passes() && e.ratio() > 100 * LOGIT_REL_TOL, "interleaved RoPE should fail clearly: " + e);
    }

    @ParameterizedTest(name = "window {0} vs file 5")
    @ValueSource(ints = {4, 6})
    void windowOffByOneOracleFailsTheCriterion(int wrongWindow) throws IOException {
        Dims d = new Dims(101, 32, 64, 2, 4, 2, 8, 10000.0, 5, 1e-5, false);
        Error e = compare(d, TestCheckpoints.configJson(d), StoredType.F32, 14,
                (dims, w) -> new TorchMistral(dims.withSlidingWindow(wrongWindow), w), 24);
        report("wrong: window " + wrongWindow + " for 5", e);
        assertTrue(!e.passes() && e.ratio() > 10 * LOGIT_REL_TOL, "off-by-one window should fail clearly: " + e);
    }

    @Test
    void defaultEpsOracleFailsOnAnEps1e6Checkpoint() throws IOException {
        // Case (c) declares rms_norm_eps 1e-6; an oracle that uses the common default 1e-5 instead must
        // fail, so the criterion also resolves a model that ignores config.json's eps (measured ~7e-4).
        Dims d = new Dims(113, 40, 72, 2, 4, 2, 16, 10000.0, TorchMistral.NO_WINDOW, 1e-6, false);
        Error e = compare(d, TestCheckpoints.configJson(d), StoredType.F32, 13, (dims, w) -> new TorchMistral(
                new Dims(dims.vocab(), dims.hidden(), dims.intermediate(), dims.layers(), dims.heads(),
                        dims.kvHeads(), dims.headDim(), dims.ropeTheta(), dims.slidingWindow(), 1e-5, dims.tied()),
                w), 23);
        report("wrong: eps 1e-5 for 1e-6", e);
        assertTrue(!e.passes(), "eps 1e-5 instead of 1e-6 should fail: " + e);
    }

    @Test
    void torchBf16ConversionIsRoundToNearestEven() {
        // The BF16 case relies on torch's fp32 → bf16 cast being round-to-nearest-even; check it by hand.
        float[] values = {1.0f, 1.00390625f, 1.01171875f, -3.14159f, 1e-3f, 65504.5f, 0.1f,
                Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x3F818000), Float.intBitsToFloat(0x3F80FFFF)};
        try (PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor t = torch.from_blob(new org.bytedeco.javacpp.FloatPointer(values),
                    new long[] {values.length}, new TensorOptions(ScalarType.Float)).clone();
            float[] rounded = TorchMistral.toFloatArray(t.to(ScalarType.BFloat16));
            for (int i = 0; i < values.length; i++) {
                int bits = Float.floatToRawIntBits(values[i]);
                int rne = (bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000;
                assertEquals(Float.intBitsToFloat(rne), rounded[i], "bf16 of " + values[i]);
            }
        }
    }

    // ------------------------------------------------------------------ harness

    private void assertMatches(String name, Dims d, Map<String, Object> config, StoredType type, long seed,
                               int... lengths) throws IOException {
        Error e = compare(d, config, type, seed, TorchMistral::new, lengths);
        report(name, e);
        assertTrue(e.passes(), name + ": max|diff| " + e.maxDiff() + " > " + LOGIT_REL_TOL + " · max|ref| "
                + e.maxRef() + " (ratio " + e.ratio() + ")");
    }

    /**
     * Writes a random checkpoint of {@code d} (seed), runs janus on the packed batch of sequences of
     * the given lengths, and compares with the oracle built by {@code oracleOf} run on each sequence alone.
     */
    private Error compare(Dims d, Map<String, Object> config, StoredType type, long seed,
                          BiFunction<Dims, Map<String, org.bytedeco.pytorch.Tensor>, TorchMistral> oracleOf,
                          int... lengths) throws IOException {
        int[][] seqs = randomSequences(d.vocab(), seed, lengths);
        try (PointerScope scope = new PointerScope()) {
            Map<String, org.bytedeco.pytorch.Tensor> weights = TestCheckpoints.randomWeights(d, seed);
            TestCheckpoints.writeModel(dir, config, weights, type);
            float[] actual;
            try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir); CpuBackend backend = new CpuBackend()) {
                assertEquals(List.of(), loaded.warnings(), "load warnings");
                Mistral model = new Mistral(loaded.config(), loaded.weights(), backend);
                try (Tensor logits = model.logits(TokenBatch.of(seqs))) {
                    assertEquals(List.of((long) Arrays.stream(lengths).sum(), (long) d.vocab()),
                            List.of(logits.dim(0), logits.dim(1)), "logits shape");
                    actual = logits.toFloatArray();
                }
            }
            TorchMistral oracle = oracleOf.apply(d, TestCheckpoints.asStored(weights, type));
            float[] expected = new float[actual.length];
            int at = 0;
            for (int[] s : seqs) {
                float[] z = TorchMistral.toFloatArray(oracle.logits(toLongs(s)));
                System.arraycopy(z, 0, expected, at, z.length);
                at += z.length;
            }
            return Error.of(actual, expected);
        }
    }

    private static void report(String name, Error e) {
        System.out.printf("oracle %-34s max|diff| %.3e  max|ref| %.3f  ratio %.2e%n", name, e.maxDiff(),
                e.maxRef(), e.ratio());
    }

    private static int[][] randomSequences(int vocab, long seed, int... lengths) {
        Random random = new Random(seed);
        int[][] seqs = new int[lengths.length][];
        for (int s = 0; s < lengths.length; s++) {
            seqs[s] = random.ints(lengths[s], 0, vocab).toArray();
        }
        return seqs;
    }

    private static long[] toLongs(int[] ids) {
        return Arrays.stream(ids).asLongStream().toArray();
    }

    private static org.bytedeco.pytorch.Tensor longTensor(long[] values) {
        try (LongPointer p = new LongPointer(values)) {
            return torch.from_blob(p, new long[] {values.length}, new TensorOptions(ScalarType.Long)).clone();
        }
    }

    /** Per head of D rows: new row r = old row (r mod D/2)·2 + (r div D/2). */
    private static org.bytedeco.pytorch.Tensor permuteRowsToInterleaved(org.bytedeco.pytorch.Tensor w, int headDim) {
        long rows = w.size(0);
        long[] index = new long[(int) rows];
        int half = headDim / 2;
        for (int r = 0; r < rows; r++) {
            int head = r / headDim, within = r % headDim;
            index[r] = (long) head * headDim + (within % half) * 2L + within / half;
        }
        return w.index_select(0, longTensor(index));
    }
}
