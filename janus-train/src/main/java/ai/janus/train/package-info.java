/**
 * Training: one loop ({@link ai.janus.train.Trainer}) for every objective — micro-batches,
 * gradient accumulation, clipping, schedule, optimizer step, metrics, checkpoints and bit-exact
 * resume — and the objectives ({@link ai.janus.train.objective.Objective}) that are the only thing that
 * differs between SFT, DPO, ORPO and reward-model training.
 */
package ai.janus.train;
