package ai.janus.generate;

/**
 * How to draw each next token (docs/spec/objectives.md, "Sampling and best-of-N").
 *
 * @param temperature       divides the logits; 0 means greedy (argmax, ties to the lowest id)
 * @param topP              keep the smallest set of most likely tokens whose mass is ≥ topP (≥ 1 token); 1 keeps all
 * @param repetitionPenalty for every id already in prompt or output: z/penalty if z > 0, else z·penalty; 1 is off
 * @param maxNewTokens      budget per prompt, EOS not counted
 * @param seed              with the prompt's index, fixes every draw of that prompt
 */
public record SamplingConfig(double temperature, double topP, double repetitionPenalty, int maxNewTokens, long seed) {
    public SamplingConfig {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0 and finite, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetition_penalty must be > 0 and finite, got " + repetitionPenalty);
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be >= 1, got " + maxNewTokens);
        }
    }

    /** The Janus evaluation settings: temperature 1.0, top-p 0.9, repetition penalty 1.03, 1024 new tokens. */
    public static SamplingConfig janus(long seed) {
        return new SamplingConfig(1.0, 0.9, 1.03, 1024, seed);
    }

    /** Greedy decoding (no penalty). */
    public static SamplingConfig greedy(int maxNewTokens) {
        return new SamplingConfig(0, 1, 1, maxNewTokens, 0);
    }
}
