package ai.janus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import ai.janus.io.SafetensorsCheckpoint;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reward model's layout, checkpoint round trip, value head initialisation and input checks. */
class RewardModelTest {
    private static final MistralConfig CONFIG = MistralConfig.of(120, 32, 64, 2, 4, 2, 8, 10000.0,
            AttentionSpec.NO_WINDOW, false);

    @TempDir
    Path dir;

    private static ParameterSet randomRewardModel(MistralConfig c, long seed) {
        try (ParameterSet lm = ParameterSet.allocate(MistralWeights.specs(c))) {
            MistralWeights.initialize(c, lm, seed);
            return RewardModel.fromCausalLm(c, lm, seed + 1);
        }
    }

    @Test
    void theLayoutIsOpenRlhfs() {
        List<String> names = RewardModel.specs(CONFIG).stream().map(ParameterSet.Spec::name).toList();
        assertEquals(RewardModel.VALUE_HEAD, names.get(names.size() - 1));
        assertArrayEquals(new long[] {1, 32}, RewardModel.specs(CONFIG).get(names.size() - 1).shape());
        for (String name : names.subList(0, names.size() - 1)) {
            assertTrue(name.startsWith("model."), name);
        }
        assertEquals(MistralWeights.specs(CONFIG).size(), names.size()); // lm_head out, value head in
    }

    @Test
    void theValueHeadIsDrawnWithStd1OverHiddenPlus1() {
        MistralConfig wide = MistralConfig.of(16, 4095, 8, 1, 1, 1, 2, 10000.0, AttentionSpec.NO_WINDOW, false);
        List<ParameterSet.Spec> head = List.of(new ParameterSet.Spec(RewardModel.VALUE_HEAD, new long[] {1, 4095}));
        try (ParameterSet a = ParameterSet.allocate(head); ParameterSet b = ParameterSet.allocate(head)) {
            RewardModel.initializeValueHead(wide, a, 5);
            RewardModel.initializeValueHead(wide, b, 5);
            float[] w = a.get(RewardModel.VALUE_HEAD).toFloatArray();
            assertArrayEquals(w, b.get(RewardModel.VALUE_HEAD).toFloatArray(), "seeded");
            double sum = 0, squares = 0;
            for (float v : w) {
                sum += v;
                squares += (double) v * v;
            }
            double mean = sum / w.length, std = Math.sqrt(squares / w.length - mean * mean);
            // 4095 draws: the sample std is within 3% of σ = 1/4096 with overwhelming probability
            assertEquals(1.0 / 4096, std, 0.03 / 4096);
            assertEquals(0, mean, 4.0 / 4096 / Math.sqrt(4095));
        }
    }

    @Test
    void fromCausalLmCopiesTheBackboneAndDropsLmHead() {
        try (ParameterSet lm = ParameterSet.allocate(MistralWeights.specs(CONFIG))) {
            MistralWeights.initialize(CONFIG, lm, 8);
            try (ParameterSet rm = RewardModel.fromCausalLm(CONFIG, lm, 9)) {
                for (ParameterSet.Spec s : MistralWeights.backboneSpecs(CONFIG)) {
                    assertArrayEquals(lm.get(s.name()).toFloatArray(), rm.get(s.name()).toFloatArray(), s.name());
                }
                assertTrue(!rm.contains(MistralWeights.LM_HEAD));
                // a backbone has no token log-probs
                try (CpuBackend cpu = new CpuBackend()) {
                    Mistral backbone = new Mistral(CONFIG, MistralWeights.of(CONFIG, rm), cpu);
                    IllegalStateException e = assertThrows(IllegalStateException.class,
                            () -> backbone.tokenLogProbs(TokenBatch.of(new int[] {1, 5}), new int[] {5, -100}));
                    assertTrue(e.getMessage().contains("without lm_head.weight"), e.getMessage());
                }
            }
        }
    }

    @Test
    void saveAndLoadRoundTripInTheOpenRlhfLayout() throws IOException {
        try (ParameterSet params = randomRewardModel(CONFIG, 3)) {
            RewardModel.save(dir, CONFIG, params, new RewardNormalization(0.25, 1.75), DType.F32);
            JsonNode config = Json.read(dir.resolve("config.json"));
            assertEquals("RewardModel", config.get("architectures").get(0).textValue());
            assertEquals("mistral", config.get("model_type").textValue());
            assertEquals(0.25, config.get("mean").doubleValue());
            assertEquals(1.75, config.get("std").doubleValue());
            try (SafetensorsCheckpoint files = SafetensorsCheckpoint.open(dir)) {
                Set<String> expected = new TreeSet<>(RewardModel.specs(CONFIG).stream().map(ParameterSet.Spec::name).toList());
                assertEquals(expected, new TreeSet<>(files.names()));
            }
            try (RewardModel.Loaded loaded = RewardModel.load(dir)) {
                assertEquals(new RewardNormalization(0.25, 1.75), loaded.normalization());
                assertTrue(loaded.warnings().isEmpty(), loaded.warnings().toString());
                assertTrue(!loaded.config().extra().containsKey("mean"), "mean/std belong to the normalization");
                for (ParameterSet.Spec s : params.specs()) {
                    assertArrayEquals(params.get(s.name()).toFloatArray(), loaded.parameters().get(s.name()).toFloatArray(),
                            s.name());
                }
                // saved again without a normalisation: none is stored
                Path again = dir.resolve("again");
                RewardModel.save(again, loaded.config(), loaded.parameters(), null, DType.BF16);
                try (RewardModel.Loaded reloaded = RewardModel.load(again)) {
                    assertNull(reloaded.normalization());
                    float[] w = reloaded.parameters().get(RewardModel.VALUE_HEAD).toFloatArray();
                    float[] orig = params.get(RewardModel.VALUE_HEAD).toFloatArray();
                    for (int i = 0; i < w.length; i++) {
                        assertEquals(orig[i], w[i], Math.abs(orig[i]) / 128, "bf16 keeps 8 bits");
                    }
                }
            }
        }
    }

    @Test
    void theWrongLayoutIsAOneLineErrorNamingTheMissingTensor() throws IOException {
        try (ParameterSet params = randomRewardModel(CONFIG, 3);
             ParameterSet lm = ParameterSet.allocate(MistralWeights.specs(CONFIG))) {
            RewardModel.save(dir.resolve("rm"), CONFIG, params, null, DType.F32);
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> HfCheckpoint.load(dir.resolve("rm")));
            assertTrue(e.getMessage().contains("missing tensor 'lm_head.weight'"), e.getMessage());
            HfCheckpoint.save(dir.resolve("lm"), CONFIG, lm, DType.F32, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
            e = assertThrows(InvalidFileException.class, () -> RewardModel.load(dir.resolve("lm")));
            assertTrue(e.getMessage().contains("missing tensor 'value_head.weight'"), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"));
        }
    }

    @Test
    void aBadStoredNormalizationIsRefused() throws IOException {
        try (ParameterSet params = randomRewardModel(CONFIG, 3)) {
            RewardModel.save(dir, CONFIG, params, new RewardNormalization(0.0, 1.0), DType.F32);
            Path config = dir.resolve("config.json");
            ObjectNode json = (ObjectNode) Json.read(config);
            json.put("std", "wide");
            Files.write(config, Json.write(json));
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> RewardModel.load(dir));
            assertEquals(config + ": fields \"mean\" and \"std\" must both be numbers, found 0.0 and wide", e.getMessage());
            json.put("std", 0.0);
            Files.write(config, Json.write(json));
            e = assertThrows(InvalidFileException.class, () -> RewardModel.load(dir));
            assertTrue(e.getMessage().endsWith("reward std must be positive and finite, got 0.0"), e.getMessage());
        }
    }

    @Test
    void normalizationUsesTheSampleStdClampedFromBelow() {
        RewardNormalization n = RewardNormalization.of(new double[] {1, 2, 3, 4});
        assertEquals(2.5, n.mean());
        assertEquals(Math.sqrt(5.0 / 3), n.std(), 1e-15);
        assertEquals((4 - 2.5) / Math.sqrt(5.0 / 3), n.normalize(4), 1e-15);
        assertEquals(RewardNormalization.MIN_STD, RewardNormalization.of(new double[] {7, 7}).std());
        assertThrows(IllegalArgumentException.class, () -> RewardNormalization.of(new double[] {1}));
    }

    @Test
    void aSequenceThatDoesNotEndWithEosIsAnErrorNamingIt() {
        try (ParameterSet params = randomRewardModel(CONFIG, 3); CpuBackend cpu = new CpuBackend()) {
            RewardModel rm = new RewardModel(CONFIG, params, cpu);
            int eos = CONFIG.eosTokenId();
            TokenBatch batch = TokenBatch.of(new int[] {1, 17, 30, eos}, new int[] {1, 44, 45, 46, eos});
            assertEquals(2, rm.rewards(batch, new int[] {3, 8}).length);
            // the second sequence cut before its EOS (as a truncation that dropped it would leave it)
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> rm.rewards(batch, new int[] {3, 7}));
            assertEquals("sequence 1 does not end with EOS: its last token (batch index 7) is id 46, not 2; a reward is "
                    + "read at the EOS that ends each reward-model input", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> rm.forward(batch, new int[] {3, 9}, false));
            assertThrows(IllegalArgumentException.class, () -> rm.rewards(batch, new int[0]));
        }
    }

    @Test
    void theRewardIsTheValueHeadAtTheEosRow() {
        try (ParameterSet params = randomRewardModel(CONFIG, 4); CpuBackend cpu = new CpuBackend()) {
            RewardModel rm = new RewardModel(CONFIG, params, cpu);
            int eos = CONFIG.eosTokenId();
            TokenBatch batch = TokenBatch.of(new int[] {1, 17, 30, eos}, new int[] {1, 44, eos});
            Mistral backbone = new Mistral(CONFIG, MistralWeights.of(CONFIG, params), cpu);
            try (Tensor hidden = backbone.hidden(batch)) {
                FloatBuffer h = hidden.floats();
                float[] w = params.get(RewardModel.VALUE_HEAD).toFloatArray();
                double[] expected = new double[2];
                int[] rows = {3, 6};
                for (int s = 0; s < 2; s++) {
                    for (int j = 0; j < 32; j++) {
                        expected[s] += (double) h.get(rows[s] * 32 + j) * w[j];
                    }
                }
                assertArrayEquals(expected, rm.rewards(batch, rows));
                try (RewardModel.ForwardState st = rm.forward(batch, rows, true)) {
                    assertArrayEquals(expected, st.rewards(), "the training forward gives the same bits");
                }
            }
        }
    }
}
