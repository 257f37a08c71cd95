/**
 * The trainer's objectives, in one place: the {@link ai.janus.train.objective.Objective} interface
 * the training loop drives, its four implementations (SFT, DPO, ORPO, reward model; the pairwise
 * ones share {@link ai.janus.train.objective.PairObjective}), how a run config builds them from its
 * datasets ({@link ai.janus.train.objective.RunObjectives}), the DPO reference log-prob cache
 * ({@link ai.janus.train.objective.ReferenceLogProbs}, keyed by
 * {@link ai.janus.train.objective.ReferenceKey} and refused when stale), and the held-out reward
 * statistics stored with a reward model ({@link ai.janus.train.objective.RewardEvaluation}).
 *
 * <p>Their micro-batches are in {@code ai.janus.data.batch} (PairBatch, RewardBatch); the losses
 * and their backward through the model in janus-core's {@code ai.janus.loss} ({@code ModelLosses}).
 */
package ai.janus.train.objective;
