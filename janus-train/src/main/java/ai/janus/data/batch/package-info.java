/**
 * From templated sequences to what a trainer feeds the model: right-padded or packed
 * {@link ai.janus.data.batch.TrainingBatch}es (a {@link ai.janus.model.TokenBatch} plus shifted
 * labels), first-fit-decreasing packing ({@link ai.janus.data.batch.Packing}), and the
 * deterministic, resumable order of samples ({@link ai.janus.data.batch.EpochSampler}); and the
 * batches of the pairwise objectives: pairs for DPO and ORPO ({@link ai.janus.data.batch.PairBatch},
 * chosen sequences first) and reward-model batches ({@link ai.janus.data.batch.RewardBatch}: packed,
 * right- or left-padded), which best-of-N also scores with.
 *
 * <p>Legend (docs/architecture.md, "Names"): N tokens of a batch, S sequences (segments) in it,
 * B rows and T width of a padded batch (N = B·T), P pairs.
 */
package ai.janus.data.batch;
