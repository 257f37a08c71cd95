package ai.janus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A KV-cache decode equals the full forward at every step: three sequences of different lengths
 * are prefilled together, then extended one token per step (one of them stops early, so steps
 * also carry empty segments); after every step the logits of each sequence's newest token must
 * equal the full forward over that sequence's whole prefix. The window (5) is shorter than the
 * sequences, so cached keys leave the window as decoding goes on.
 *
 * <p>Tolerance 1e-5 · max|logit|: the same fp32 code, but OpenBLAS blocks a 1-row product
 * differently from a T-row one and the attention tiles start at other keys, so sums round
 * differently (measured ~1e-7); a decode that used a wrong position or a stale key is off by O(1).
 */
class KvCacheDecodeTest {
    static final double TOL = 1e-5;

    @Test
    void everyDecodeStepEqualsTheFullForward() {
        MistralConfig c = MistralConfig.of(157, 48, 96, 2, 6, 2, 8, 10000.0, 5, false);
        SplittableRandom rng = new SplittableRandom(9);
        int[][] full = {rng.ints(19, 0, 157).toArray(), rng.ints(7, 0, 157).toArray(), rng.ints(12, 0, 157).toArray()};
        int[] prompt = {11, 3, 6};          // prefill lengths
        int[] stopAt = {19, 5, 12};         // sequence 1 stops after 5 tokens
        try (ParameterSet p = ParameterSet.allocate(MistralWeights.specs(c)); CpuBackend cpu = new CpuBackend();
             KvCache cache = new KvCache(c, 3, 20)) {
            MistralWeights.initialize(c, p, 2);
            // larger weights than HF's init so that logits are far from uniform and errors show
            java.nio.FloatBuffer values = p.flat().floats();
            for (int i = 0; i < values.capacity(); i++) {
                values.put(i, values.get(i) * 4);
            }
            Mistral model = new Mistral(c, MistralWeights.of(c, p), cpu);
            int[] done = new int[3];
            double worst = 0;
            for (int step = 0; ; step++) {
                int[][] segment = new int[3][];
                int[] positions, tokens;
                int total = 0;
                for (int s = 0; s < 3; s++) {
                    int upTo = step == 0 ? prompt[s] : Math.min(stopAt[s], done[s] + 1);
                    segment[s] = Arrays.copyOfRange(full[s], done[s], upTo);
                    total += segment[s].length;
                }
                if (total == 0) {
                    break;
                }
                tokens = new int[total];
                positions = new int[total];
                int[] cu = new int[4];
                for (int s = 0, at = 0; s < 3; s++) {
                    for (int t = 0; t < segment[s].length; t++, at++) {
                        tokens[at] = segment[s][t];
                        positions[at] = done[s] + t;
                    }
                    cu[s + 1] = cu[s] + segment[s].length;
                }
                try (Tensor logits = model.decode(cache, new TokenBatch(tokens, positions, cu))) {
                    float[] got = logits.toFloatArray();
                    for (int s = 0; s < 3; s++) {
                        done[s] += segment[s].length;
                        if (segment[s].length == 0) {
                            continue;
                        }
                        float[] expected;
                        try (Tensor ref = model.logits(TokenBatch.of(Arrays.copyOf(full[s], done[s])))) {
                            expected = Arrays.copyOfRange(ref.toFloatArray(), (done[s] - 1) * 157, done[s] * 157);
                        }
                        double maxDiff = 0, maxRef = 0;
                        for (int v = 0; v < 157; v++) {
                            maxDiff = Math.max(maxDiff, Math.abs(got[s * 157 + v] - expected[v]));
                            maxRef = Math.max(maxRef, Math.abs(expected[v]));
                        }
                        worst = Math.max(worst, maxDiff / maxRef);
                        assertTrue(maxDiff <= TOL * maxRef, "step " + step + " sequence " + s + ": " + maxDiff / maxRef);
                    }
                }
            }
            assertEquals(19, cache.length(0));
            assertEquals(5, cache.length(1));
            System.out.printf("kv cache: worst relative logit error over all steps %.1e%n", worst);
        }
    }

    @Test
    void aPositionThatDoesNotContinueTheCacheIsRefused() {
        MistralConfig c = MistralConfig.tiny(50);
        try (ParameterSet p = ParameterSet.allocate(MistralWeights.specs(c)); CpuBackend cpu = new CpuBackend();
             KvCache cache = new KvCache(c, 1, 8)) {
            Mistral model = new Mistral(c, MistralWeights.of(c, p), cpu);
            model.decode(cache, TokenBatch.of(new int[] {1, 2, 3})).close();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.decode(cache, new TokenBatch(new int[] {4}, new int[] {0}, new int[] {0, 1})));
            assertTrue(e.getMessage().contains("the cache continues at 3"), e.getMessage());
            IllegalArgumentException full = assertThrows(IllegalArgumentException.class,
                    () -> model.decode(cache, new TokenBatch(new int[6], new int[] {3, 4, 5, 6, 7, 8}, new int[] {0, 6})));
            assertTrue(full.getMessage().contains("made for 8"), full.getMessage());
        }
    }
}
