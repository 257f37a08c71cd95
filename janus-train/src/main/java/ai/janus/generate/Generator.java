package ai.janus.generate;

import ai.janus.model.KvCache;
import ai.janus.model.Mistral;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Batched generation over the model's KV cache: all prompts are prefilled in one step, then
 * every unfinished prompt advances one token per step until it draws EOS or spends its budget.
 * Prompt i draws its uniforms from its own stream, split off {@code seed} by i, so its output
 * does not depend on which other prompts share the batch.
 */
public final class Generator {
    private final Mistral model;
    private final int eosId;

    public Generator(Mistral model, int eosId) {
        this.model = model;
        this.eosId = eosId;
    }

    /** What one prompt produced: the new tokens (EOS excluded) and whether it ended at EOS. */
    public record Generation(int[] tokens, boolean stoppedAtEos) {}

    /** A progress callback: {@code done} of {@code total} prompts finished, {@code tokens} generated so far. */
    @FunctionalInterface
    public interface Progress {
        void update(int done, int total, long tokens);
    }

    public List<Generation> generate(List<int[]> prompts, SamplingConfig config) {
        return generate(prompts, config, (done, total, tokens) -> { });
    }

    /** Generates a continuation of each prompt (token ids, BOS included as the template writes it). */
    public List<Generation> generate(List<int[]> prompts, SamplingConfig config, Progress progress) {
        SplittableRandom root = new SplittableRandom(config.seed());
        SplittableRandom[] streams = new SplittableRandom[prompts.size()];
        for (int i = 0; i < streams.length; i++) {
            streams[i] = root.split();
        }
        return generate(prompts, config, streams, progress);
    }

    /**
     * The stream of the prompt with the given global {@code index}: a function of (seed, index)
     * only, for callers that batch a long list and want each row's answer independent of the batch.
     */
    public static SplittableRandom streamOf(long seed, long index) {
        return new SplittableRandom(seed ^ (index * 0x9E3779B97F4A7C15L));
    }

    /** As {@link #generate(List, SamplingConfig, Progress)}, drawing prompt i's uniforms from {@code streams[i]}. */
    public List<Generation> generate(List<int[]> prompts, SamplingConfig config, SplittableRandom[] streams,
                                     Progress progress) {
        if (streams.length != prompts.size()) {
            throw new IllegalArgumentException(streams.length + " random streams for " + prompts.size() + " prompts");
        }
        int count = prompts.size(), longest = 0;
        for (int i = 0; i < count; i++) {
            if (prompts.get(i).length == 0) {
                throw new IllegalArgumentException("prompt " + i + " is empty");
            }
            longest = Math.max(longest, prompts.get(i).length);
        }
        if (count == 0) {
            return List.of();
        }
        long positions = (long) longest + config.maxNewTokens(); // both up to 2^31 - 1: no int overflow
        if (positions > model.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("the longest prompt (" + longest + " tokens) plus " + config.maxNewTokens()
                    + " new tokens exceeds max_position_embeddings " + model.config().maxPositionEmbeddings());
        }
        int capacity = (int) positions;
        Sampler sampler = new Sampler(config);
        SplittableRandom[] rng = streams;
        BitSet[] seen = new BitSet[count];
        List<List<Integer>> outputs = new ArrayList<>();
        boolean[] finished = new boolean[count], eos = new boolean[count];
        for (int i = 0; i < count; i++) {
            seen[i] = new BitSet();
            Arrays.stream(prompts.get(i)).forEach(seen[i]::set);
            outputs.add(new ArrayList<>());
        }
        int[] next = new int[count];
        long generated = 0;
        int done = 0;
        try (KvCache cache = new KvCache(model.config(), count, capacity)) {
            TokenBatch step = prefill(prompts);
            while (true) {
                try (Tensor logits = model.decode(cache, step)) {
                    float[] row = new float[model.config().vocabSize()];
                    for (int i = 0; i < count; i++) {
                        if (finished[i]) {
                            continue;
                        }
                        logits.floats().get(i * row.length, row);
                        int token = sampler.sample(row, seen[i], rng[i].nextDouble());
                        if (token == eosId) {
                            finished[i] = eos[i] = true;
                        } else {
                            outputs.get(i).add(token);
                            seen[i].set(token);
                            next[i] = token;
                            generated++;
                            finished[i] = outputs.get(i).size() == config.maxNewTokens();
                        }
                        if (finished[i]) {
                            progress.update(++done, count, generated);
                        }
                    }
                }
                if (done == count) {
                    break;
                }
                step = nextStep(cache, finished, next);
            }
        }
        List<Generation> result = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            result.add(new Generation(outputs.get(i).stream().mapToInt(Integer::intValue).toArray(), eos[i]));
        }
        return result;
    }

    private static TokenBatch prefill(List<int[]> prompts) {
        return TokenBatch.of(prompts.toArray(new int[0][]));
    }

    /** One token for each unfinished prompt, at the position after its cached tokens; none for the others. */
    private static TokenBatch nextStep(KvCache cache, boolean[] finished, int[] next) {
        int active = 0;
        for (boolean f : finished) {
            active += f ? 0 : 1;
        }
        int[] tokens = new int[active], positions = new int[active], cu = new int[finished.length + 1];
        for (int i = 0, at = 0; i < finished.length; i++) {
            if (!finished[i]) {
                tokens[at] = next[i];
                positions[at] = cache.length(i);
                at++;
            }
            cu[i + 1] = at;
        }
        return new TokenBatch(tokens, positions, cu);
    }
}
