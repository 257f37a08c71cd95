package ai.janus.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.ChatTemplate;
import ai.janus.data.TemplatedSequence;
import ai.janus.data.TestData;
import ai.janus.data.batch.RewardBatch;
import ai.janus.model.MistralConfig;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.model.TokenBatch;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A sequence's reward does not depend on how much padding its batch gives it, nor on which side:
 * reward-model inputs of the real template through a tiny reward model, each scored alone, packed,
 * right-padded and left-padded beside companions that give it 0 to 100+ pads.
 *
 * <p>Criterion: |r − r_alone| ≤ 1e-5 · max|r_alone|. The real tokens see the same tokens,
 * positions and keys in every layout, so only the GEMMs' rounding can differ: OpenBLAS rounds a
 * row differently depending on the row count of the call (measured: 2.3e-7 of max|r|; not
 * bit-identical for that reason). Attending to the padding, the mistake padding invites, moves a
 * reward by far more, which the control below shows.
 */
class RewardPaddingInvarianceTest {
    private static final double REL_TOL = 1e-5;

    private static CpuBackend cpu;
    private static ParameterSet params;
    private static RewardModel model;
    private static List<TemplatedSequence> inputs;
    private static int eos;

    @BeforeAll
    static void setUp() {
        ChatTemplate template = new ChatTemplate(TestData.mistral());
        eos = TestData.mistral().eosId();
        inputs = new ArrayList<>();
        for (JsonNode row : Fixtures.shortRows()) {
            inputs.add(template.rewardInput(row.get("system").textValue(), row.get("prompt").textValue(),
                    row.get("output").textValue()));
        }
        MistralConfig c = Fixtures.tinyConfig();
        try (ParameterSet lm = Fixtures.tinyModel(11, 1f)) {
            params = RewardModel.fromCausalLm(c, lm, 12);
        }
        // HF's initialisation, and a value head of std 1 (not 1/65) so that rewards are O(1)
        FloatBuffer w = params.get(RewardModel.VALUE_HEAD).floats();
        for (int i = 0; i < w.capacity(); i++) {
            w.put(i, w.get(i) * (c.hiddenSize() + 1));
        }
        cpu = new CpuBackend();
        model = new RewardModel(c, params, cpu);
    }

    @AfterAll
    static void tearDown() {
        cpu.close();
        params.close();
    }

    private static double[] rewards(List<TemplatedSequence> seqs, RewardBatch.Layout layout) {
        RewardBatch b = RewardBatch.of(seqs, new long[seqs.size()], layout, eos);
        return model.rewards(b.tokens(), b.lastTokens());
    }

    @Test
    void rewardsDoNotDependOnPaddingAmountOrSide() {
        double[] alone = new double[inputs.size()];
        double scale = 0;
        for (int i = 0; i < alone.length; i++) {
            alone[i] = rewards(List.of(inputs.get(i)), RewardBatch.Layout.PACKED)[0];
            scale = Math.max(scale, Math.abs(alone[i]));
        }
        TemplatedSequence longest = inputs.stream().max(java.util.Comparator.comparingInt(TemplatedSequence::length))
                .orElseThrow();
        double worst = 0;
        int compared = 0;
        for (RewardBatch.Layout layout : RewardBatch.Layout.values()) {
            // the whole set at once (each padded to the longest), then each beside the longest (another amount)
            double[] all = rewards(inputs, layout);
            for (int i = 0; i < alone.length; i++) {
                worst = Math.max(worst, Math.abs(all[i] - alone[i]) / scale);
                double beside = rewards(List.of(inputs.get(i), longest), layout)[0];
                worst = Math.max(worst, Math.abs(beside - alone[i]) / scale);
                double behind = rewards(List.of(longest, inputs.get(i)), layout)[1];
                worst = Math.max(worst, Math.abs(behind - alone[i]) / scale);
                compared += 3;
            }
        }
        System.out.printf("reward padding invariance: %d rewards (max |r| %.3f), worst difference %.2e of max |r|%n",
                compared, scale, worst);
        assertTrue(worst <= REL_TOL, "a reward moved by " + worst + " of the largest with the padding");
        assertEquals(3 * 3 * alone.length, compared);
    }

    @Test
    void attendingToLeftPaddingWouldChangeTheReward() {
        // HF-style left padding without an attention mask: pads inside the sequence's segment, positions
        // continuing through them. Moves the reward far beyond the tolerance, so the test above can fail.
        TemplatedSequence s = inputs.get(0);
        int pad = 17;
        int[] tokens = new int[pad + s.length()], positions = new int[tokens.length];
        for (int t = 0; t < tokens.length; t++) {
            tokens[t] = t < pad ? eos : s.ids()[t - pad];
            positions[t] = t;
        }
        double wrong = model.rewards(new TokenBatch(tokens, positions, new int[] {0, tokens.length}),
                new int[] {tokens.length - 1})[0];
        double right = rewards(List.of(s), RewardBatch.Layout.PACKED)[0];
        assertTrue(Math.abs(wrong - right) > 1000 * REL_TOL * Math.abs(right), right + " vs " + wrong);
    }
}
