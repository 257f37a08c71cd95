package ai.janus.train;

import ai.janus.model.ParameterSet;
import java.util.Map;

/**
 * What differs between SFT, DPO, ORPO and the reward model: how a micro-batch of samples becomes
 * a loss and gradients. Samples are indices in [0, {@link #size()}) that the trainer's sampler
 * visits (packed rows or examples for SFT, pairs for the others).
 *
 * <p>Normalisation over the whole optimizer step (reliability.md): the trainer first asks every
 * micro-batch of the step for its {@link #weight} (supervised tokens for SFT, pairs for the
 * others), sums them, and passes the sum to each {@link #run}; the step's loss is the sum of the
 * micro-batch results, so batch 8 and batch 4 × accumulation 2 give the same loss and gradients.
 */
public interface Objective extends AutoCloseable {

    /** "sft", "dpo", "orpo" or "rm": written to metrics and checkpoints. */
    String name();

    /** How many samples there are. */
    int size();

    /** This micro-batch's share of the step normaliser. */
    long weight(int[] samples);

    /**
     * Forward and backward of one micro-batch: {@code grads += d(contribution)/dθ}, where the
     * contribution is (Σ of the samples' losses) / {@code stepWeight}; metrics are sums over
     * the micro-batch, divided by {@code stepWeight} where they are means.
     */
    Result run(int[] samples, long stepWeight, ParameterSet grads);

    /** One micro-batch's part of the step: loss contribution, metric contributions, tokens processed. */
    record Result(double loss, Map<String, Double> metrics, long tokens) {}

    @Override
    default void close() {}
}
