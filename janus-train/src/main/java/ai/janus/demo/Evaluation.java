package ai.janus.demo;

import ai.janus.data.ChatTemplate;
import ai.janus.generate.BestOfN;
import ai.janus.generate.Generator;
import ai.janus.generate.SamplingConfig;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One model's answers to the held-out tasks, scored: the mean adherence per dimension and
 * overall, and the response diversity (mean ROUGE-L F1 between the answers to the system
 * messages of one instruction, averaged over instructions; lower is more diverse).
 */
public record Evaluation(String name, List<String> responses, List<AdherenceChecker.Scores> scores,
                         Map<Dimension, Double> meanPerDimension, double overall, double diversity) {
    public Evaluation {
        responses = List.copyOf(responses);
        scores = List.copyOf(scores);
        meanPerDimension = Map.copyOf(meanPerDimension);
    }

    /** Scores {@code responses}, answer i to {@code tasks.get(i)}; tasks come in groups sharing an instruction. */
    public static Evaluation of(String name, List<Task> tasks, List<String> responses) {
        if (tasks.size() != responses.size() || tasks.isEmpty()) {
            throw new IllegalArgumentException(responses.size() + " responses for " + tasks.size() + " tasks");
        }
        List<AdherenceChecker.Scores> scores = new ArrayList<>();
        Map<Dimension, Double> sums = new EnumMap<>(Dimension.class);
        double overall = 0;
        for (int i = 0; i < tasks.size(); i++) {
            AdherenceChecker.Scores s = AdherenceChecker.score(tasks.get(i), responses.get(i));
            scores.add(s);
            for (Dimension d : Dimension.values()) {
                sums.merge(d, (double) s.of(d), Double::sum);
            }
            overall += s.overall();
        }
        sums.replaceAll((d, v) -> v / tasks.size());
        double diversity = 0;
        int groups = 0;
        for (int i = 0; i < tasks.size(); ) {
            int j = i;
            while (j < tasks.size() && tasks.get(j).instruction().equals(tasks.get(i).instruction())) {
                j++;
            }
            if (j - i >= 2) {
                diversity += RougeL.meanPairwise(responses.subList(i, j));
                groups++;
            }
            i = j;
        }
        return new Evaluation(name, responses, scores, sums, overall / tasks.size(),
                groups == 0 ? Double.NaN : diversity / groups);
    }

    /**
     * Greedy answers ({@code maxNewTokens} at most), all tasks decoded as one batch; without
     * {@code withSystem} the system message is left out of the prompt (the ablation).
     */
    public static List<String> greedy(Generator generator, ChatTemplate template, List<Task> tasks, boolean withSystem,
                                      int maxNewTokens) {
        List<int[]> prompts = new ArrayList<>();
        for (Task t : tasks) {
            prompts.add(template.prompt(withSystem ? t.system() : "", t.instruction()));
        }
        SplittableRandom[] streams = new SplittableRandom[prompts.size()];
        for (int i = 0; i < streams.length; i++) {
            streams[i] = Generator.streamOf(0, i);   // unused by greedy decoding, which draws nothing
        }
        List<String> out = new ArrayList<>();
        for (Generator.Generation g : generator.generate(prompts, SamplingConfig.greedy(maxNewTokens), streams,
                (d, t, k) -> { })) {
            out.add(template.tokenizer().decode(g.tokens()));
        }
        return out;
    }

    /** The reward model's pick of {@code n} samples per task; task i draws from streams (seed, i·n + j). */
    public static List<String> bestOfN(BestOfN bestOfN, List<Task> tasks, int n, SamplingConfig sampling) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < tasks.size(); i++) {
            out.add(bestOfN.choose(tasks.get(i).system(), tasks.get(i).instruction(), n, sampling, i).bestResponse());
        }
        return out;
    }
}
