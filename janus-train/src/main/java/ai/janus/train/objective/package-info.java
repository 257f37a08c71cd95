/**
 * The objectives' data side: micro-batches of pairs for DPO and ORPO ({@link
 * ai.janus.data.batch.PairBatch}) and for the reward model ({@link
 * ai.janus.data.batch.RewardBatch}: packed, right- or left-padded), the DPO reference
 * log-prob cache ({@link ai.janus.train.objective.ReferenceLogProbs}, keyed by
 * {@link ai.janus.train.objective.ReferenceKey} and refused when stale), and the held-out reward
 * statistics stored with a reward model ({@link ai.janus.train.objective.RewardEvaluation}).
 *
 * <p>The losses and their backward live in janus-core's {@code ai.janus.loss}; {@code ModelLosses}
 * there runs one micro-batch of each objective on these batches.
 */
package ai.janus.train.objective;
