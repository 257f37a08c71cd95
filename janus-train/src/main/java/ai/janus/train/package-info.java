/**
 * Training: one loop ({@link ai.janus.train.Trainer}) for every objective — micro-batches,
 * gradient accumulation, clipping, schedule, optimizer step, metrics, checkpoints and bit-exact
 * resume — and a whole run from a run config ({@link ai.janus.train.TrainingRun}): compute,
 * tokenizer, starting weights, strategy, objective, schedule, resume and the HF export. The
 * objectives, the only thing that differs between SFT, DPO, ORPO and reward-model training, are in
 * {@code ai.janus.train.objective}.
 */
package ai.janus.train;
