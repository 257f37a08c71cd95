package ai.janus.data.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.ChatTemplate;
import ai.janus.data.TemplatedSequence;
import ai.janus.data.TestData;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Per-sample SFT losses of templated rows through a tiny random Mistral: packed rows (FFD) and a
 * right-padded batch give the losses of each sample run alone; attention across samples (the
 * packed tokens as one sequence) does not, so the comparison can fail.
 */
class PackedLossTest {
    /**
     * Relative, fp32: the same per-token arithmetic in every layout; only the blocking of GEMMs over
     * a different number of rows changes the rounding (measured: ≤ 2e-7 relative).
     */
    private static final double TOLERANCE = 2e-5;

    private static SentencePieceTokenizer tokenizer;
    private static MistralConfig config;
    private static ParameterSet params;
    private static CpuBackend cpu;
    private static Mistral model;
    private static List<TemplatedSequence> samples;

    @BeforeAll
    static void setUp() throws Exception {
        tokenizer = TestData.mistral();
        ChatTemplate template = new ChatTemplate(tokenizer);
        samples = new ArrayList<>();
        for (JsonNode row : TestData.sentencePieceFixture().get("template")) {
            TemplatedSequence s = template.training(row.get("system").textValue(), row.get("prompt").textValue(),
                    row.get("output").textValue());
            if (s.length() <= 120) {
                samples.add(s);
            }
        }
        assertTrue(samples.size() >= 8, samples.size() + " samples");
        config = MistralConfig.tiny(tokenizer.vocabSize());
        params = ParameterSet.allocate(MistralWeights.specs(config));
        MistralWeights.initialize(config, params, 17);
        // HF's N(0, 0.02) makes a nearly uniform model that barely reads its context; scaled by 4
        // (losses ≈ 13 nats), attending across samples moves a loss by ~16%, far above the tolerance.
        FloatBuffer all = params.flat().floats();
        for (int i = 0; i < all.capacity(); i++) {
            all.put(i, all.get(i) * 4);
        }
        cpu = new CpuBackend();
        model = new Mistral(config, MistralWeights.of(config, params), cpu);
    }

    @AfterAll
    static void tearDown() {
        cpu.close();
        params.close();
    }

    /** Mean NLL over the labelled positions of each segment, in segment order. */
    private static double[] segmentLosses(TokenBatch tokens, int[] labels) {
        double[] loss = new double[tokens.sequences()];
        try (Tensor logp = model.tokenLogProbs(tokens, labels)) {
            FloatBuffer lp = logp.floats();
            int[] cu = tokens.cuSeqlens();
            for (int s = 0; s < loss.length; s++) {
                int n = 0;
                for (int t = cu[s]; t < cu[s + 1]; t++) {
                    if (labels[t] != Backend.IGNORE_INDEX) {
                        loss[s] -= lp.get(t);
                        n++;
                    }
                }
                loss[s] /= n;
            }
        }
        return loss;
    }

    private static double[] alone() {
        double[] loss = new double[samples.size()];
        for (int i = 0; i < loss.length; i++) {
            loss[i] = segmentLosses(TokenBatch.of(samples.get(i).ids()), samples.get(i).shiftedLabels())[0];
        }
        return loss;
    }

    @Test
    void packedRowsGiveEachSampleItsOwnLoss() {
        double[] expected = alone();
        int[] lengths = samples.stream().mapToInt(TemplatedSequence::length).toArray();
        List<int[]> rows = Packing.firstFitDecreasing(lengths, 200);
        assertTrue(rows.size() < samples.size(), "several samples share a row");
        int compared = 0;
        for (int[] row : rows) {
            List<TemplatedSequence> members = new ArrayList<>();
            long[] ids = new long[row.length];
            for (int k = 0; k < row.length; k++) {
                members.add(samples.get(row[k]));
                ids[k] = row[k];
            }
            TrainingBatch batch = TrainingBatch.packed(members, ids);
            double[] losses = segmentLosses(batch.tokens(), batch.labels());
            for (int k = 0; k < row.length; k++) {
                int sample = (int) batch.samples()[k];
                assertEquals(expected[sample], losses[k], TOLERANCE * expected[sample], "sample " + sample);
                compared++;
            }
        }
        assertEquals(samples.size(), compared);
    }

    @Test
    void aPaddedBatchGivesEachSampleItsOwnLoss() {
        double[] expected = alone();
        long[] ids = new long[samples.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        TrainingBatch batch = TrainingBatch.padded(samples, ids, tokenizer.eosId());
        double[] losses = segmentLosses(batch.tokens(), batch.labels());
        for (int i = 0; i < ids.length; i++) {
            assertEquals(expected[i], losses[i], TOLERANCE * expected[i], "sample " + i);
        }
    }

    @Test
    void attentionAcrossSamplesChangesTheLossesSoTheComparisonCanFail() {
        double[] expected = alone();
        TrainingBatch packed = TrainingBatch.packed(samples, new long[samples.size()]);
        int n = packed.tokens().size();
        int[] positions = new int[n];
        for (int t = 0; t < n; t++) {
            positions[t] = t;
        }
        TokenBatch oneSequence = new TokenBatch(packed.tokens().tokens(), positions, new int[] {0, n});
        double[] merged = new double[samples.size()];
        try (Tensor logp = model.tokenLogProbs(oneSequence, packed.labels())) {
            int[] cu = packed.tokens().cuSeqlens();
            for (int s = 0; s < merged.length; s++) {
                int count = 0;
                for (int t = cu[s]; t < cu[s + 1]; t++) {
                    if (packed.labels()[t] != Backend.IGNORE_INDEX) {
                        merged[s] -= logp.floats().get(t);
                        count++;
                    }
                }
                merged[s] /= count;
            }
        }
        assertEquals(expected[0], merged[0], TOLERANCE * expected[0], "the first sample sees nothing before it either way");
        double largest = 0;
        for (int s = 1; s < merged.length; s++) {
            largest = Math.max(largest, Math.abs(merged[s] - expected[s]) / expected[s]);
        }
        assertTrue(largest > 1000 * TOLERANCE, "cross-sample attention moved a loss by only " + largest);
    }
}
