package ai.janus.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static MistralConfig config;
    private static ParameterSet params;
    private static CpuBackend cpu;
    private static Mistral model;

    @BeforeAll
    static void start() {
        config = MistralConfig.tiny(97);
        params = ParameterSet.allocate(MistralWeights.specs(config));
        MistralWeights.initialize(config, params, 3);
        java.nio.FloatBuffer v = params.flat().floats();
        for (int i = 0; i < v.capacity(); i++) {
            v.put(i, v.get(i) * 6); // far from uniform, so greedy and sampled runs differ visibly
        }
        cpu = new CpuBackend();
        model = new Mistral(config, MistralWeights.of(config, params), cpu);
    }

    @AfterAll
    static void stop() {
        cpu.close();
        params.close();
    }

    private static final List<int[]> PROMPTS = List.of(new int[] {1, 5, 9, 14}, new int[] {1, 40}, new int[] {1, 2, 3, 4, 5, 6, 7});

    @Test
    void greedyGenerationFollowsTheFullForwardArgmax() {
        List<Generator.Generation> out = new Generator(model, 2).generate(PROMPTS, SamplingConfig.greedy(6));
        for (int i = 0; i < PROMPTS.size(); i++) {
            int[] sequence = PROMPTS.get(i).clone();
            for (int token : out.get(i).tokens()) {
                try (Tensor logits = model.logits(TokenBatch.of(sequence))) {
                    float[] last = Arrays.copyOfRange(logits.toFloatArray(), (sequence.length - 1) * 97, sequence.length * 97);
                    int argmax = 0;
                    for (int v = 1; v < last.length; v++) {
                        argmax = last[v] > last[argmax] ? v : argmax;
                    }
                    assertEquals(argmax, token, "prompt " + i);
                }
                sequence = Arrays.copyOf(sequence, sequence.length + 1);
                sequence[sequence.length - 1] = token;
            }
        }
    }

    @Test
    void seededSamplingIsReproducibleAndIndependentOfTheBatch() {
        SamplingConfig janus = new SamplingConfig(1.0, 0.9, 1.03, 8, 77);
        Generator g = new Generator(model, -1); // no EOS: every prompt spends its budget
        List<Generator.Generation> all = g.generate(PROMPTS, janus);
        List<Generator.Generation> again = g.generate(PROMPTS, janus);
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertArrayEquals(all.get(i).tokens(), again.get(i).tokens());
            assertEquals(8, all.get(i).tokens().length);
            assertFalse(all.get(i).stoppedAtEos());
        }
        // The first prompt alone draws from the same stream (split first off the seed).
        assertArrayEquals(all.get(0).tokens(), g.generate(PROMPTS.subList(0, 1), janus).get(0).tokens());
        assertNotEquals(Arrays.toString(all.get(0).tokens()),
                Arrays.toString(g.generate(PROMPTS, new SamplingConfig(1.0, 0.9, 1.03, 8, 78)).get(0).tokens()));
    }

    @Test
    void generationStopsAtEos() {
        // Make EOS the token greedy decoding picks first for prompt 1: it must stop at once, empty.
        int first = new Generator(model, -1).generate(List.of(PROMPTS.get(1)), SamplingConfig.greedy(3)).get(0).tokens()[0];
        List<Generator.Generation> out = new Generator(model, first).generate(PROMPTS, SamplingConfig.greedy(5));
        assertTrue(out.get(1).stoppedAtEos());
        assertEquals(0, out.get(1).tokens().length);
        for (Generator.Generation g : out) {
            assertTrue(Arrays.stream(g.tokens()).noneMatch(t -> t == first), "EOS never appears in the output");
        }
    }

    @Test
    void badPromptsAreRefused() {
        Generator g = new Generator(model, 2);
        assertThrows(IllegalArgumentException.class, () -> g.generate(List.of(new int[0]), SamplingConfig.greedy(2)));
        assertThrows(IllegalArgumentException.class, () -> g.generate(List.of(new int[] {500}), SamplingConfig.greedy(2)));
    }
}
