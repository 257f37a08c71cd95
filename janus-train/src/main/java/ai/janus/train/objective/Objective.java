package ai.janus.train.objective;

import ai.janus.model.ParameterSet;
import java.util.Map;

/**
 * What differs between SFT, DPO, ORPO and the reward model: how a micro-batch of samples becomes
 * a loss and gradients. Samples are indices in [0, {@link #size()}) that the trainer's sampler
 * visits (packed rows or examples for SFT, pairs for the others).
 *
 * <p>Normalisation over the whole optimizer step (docs/spec/reliability.md): the trainer first asks every
 * micro-batch of the step for its {@link #weight} and sums them, then passes the sum to each
 * {@link #run}; the step's loss is the sum of the micro-batch results, so batch 8 and batch
 * 4 × accumulation 2 give the same loss and gradients.
 */
public interface Objective extends AutoCloseable {

    /** A micro-batch's (or a step's) share of the normalisers: pairs (or samples), and supervised tokens. */
    record Weight(long pairs, long tokens) {
        public Weight plus(Weight o) {
            return new Weight(pairs + o.pairs, tokens + o.tokens);
        }
    }

    /** "sft", "dpo", "orpo" or "rm": written to metrics and checkpoints. */
    String name();

    /** How many samples there are. */
    int size();

    /** This micro-batch's share of the step's normalisers. */
    Weight weight(int[] samples);

    /**
     * Forward and backward of one micro-batch: {@code grads += d(contribution)/dθ}, the
     * contribution being this micro-batch's share of the step loss, normalised by {@code step};
     * metrics are contributions too (a step's metric is the sum over its micro-batches).
     */
    Result run(int[] samples, Weight step, ParameterSet grads);

    /** Names a micro-batch's samples for an error message: data lines where the objective knows them. */
    default String describe(int[] samples) {
        return "samples " + java.util.Arrays.toString(samples);
    }

    /** One micro-batch's part of the step: loss contribution, metric contributions, tokens processed. */
    record Result(double loss, Map<String, Double> metrics, long tokens) {}

    @Override
    default void close() {}
}
