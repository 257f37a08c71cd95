package ai.janus.generate;

import ai.janus.data.ChatTemplate;
import ai.janus.data.TemplatedSequence;
import ai.janus.data.batch.RewardBatch;
import ai.janus.model.RewardModel;
import ai.janus.model.RewardNormalization;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Best-of-N (docs/spec/objectives.md, "Sampling and best-of-N"): N samples per prompt, each scored by the
 * reward model on the reward-model input format ({@code <s>[INST] {system}\n{prompt} [/INST]
 * {response} </s>}), normalised with the model's stored (r − mean)/std, and the argmax returned
 * (the first sample wins ties).
 */
public final class BestOfN {
    private final Generator generator;
    private final RewardModel rewardModel;
    private final RewardNormalization normalization;
    private final ChatTemplate template;

    public BestOfN(Generator generator, RewardModel rewardModel, RewardNormalization normalization, ChatTemplate template) {
        if (normalization == null) {
            throw new IllegalArgumentException("the reward model has no stored mean/std; train it with janus rm, which "
                    + "measures them on held-out pairs");
        }
        this.generator = generator;
        this.rewardModel = rewardModel;
        this.normalization = normalization;
        this.template = template;
    }

    /** One prompt's samples, their raw rewards and normalised scores, and the index of the best. */
    public record Choice(List<String> responses, double[] rewards, double[] scores, int best) {
        public String bestResponse() {
            return responses.get(best);
        }
    }

    /**
     * Draws {@code n} answers to (system, prompt) with {@code sampling}; sample j of the prompt
     * with global {@code index} draws from stream (seed, index·n + j), so results do not depend
     * on how prompts are grouped. Each answer is decoded to text and scored on its reward input.
     */
    public Choice choose(String system, String prompt, int n, SamplingConfig sampling, long index) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1, got " + n);
        }
        int[] ids = template.prompt(system, prompt);
        List<int[]> prompts = new ArrayList<>();
        SplittableRandom[] streams = new SplittableRandom[n];
        for (int j = 0; j < n; j++) {
            prompts.add(ids);
            streams[j] = Generator.streamOf(sampling.seed(), index * n + j);
        }
        List<Generator.Generation> samples = generator.generate(prompts, sampling, streams, (d, t, k) -> { });
        List<String> responses = new ArrayList<>();
        List<TemplatedSequence> inputs = new ArrayList<>();
        for (Generator.Generation g : samples) {
            String text = template.tokenizer().decode(g.tokens());
            responses.add(text);
            inputs.add(template.rewardInput(ids, text));
        }
        return score(responses, inputs);
    }

    /** Scores already sampled {@code responses} (their reward inputs given) and picks the best. */
    Choice score(List<String> responses, List<TemplatedSequence> inputs) {
        long[] ids = new long[inputs.size()];
        for (int j = 0; j < ids.length; j++) {
            ids[j] = j;
        }
        RewardBatch batch = RewardBatch.of(inputs, ids, RewardBatch.Layout.PACKED, 0);
        double[] rewards = rewardModel.rewards(batch.tokens(), batch.lastTokens());
        double[] scores = new double[rewards.length];
        int best = 0;
        for (int j = 0; j < rewards.length; j++) {
            scores[j] = normalization.normalize(rewards[j]);
            if (scores[j] > scores[best]) {
                best = j;
            }
        }
        return new Choice(List.copyOf(responses), rewards, scores, best);
    }
}
