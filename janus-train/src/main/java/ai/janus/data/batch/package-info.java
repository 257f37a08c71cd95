/**
 * From templated sequences to what a trainer feeds the model: right-padded or packed
 * {@link ai.janus.data.batch.TrainingBatch}es (a {@link ai.janus.model.TokenBatch} plus shifted
 * labels), first-fit-decreasing packing ({@link ai.janus.data.batch.Packing}), and the
 * deterministic, resumable order of samples ({@link ai.janus.data.batch.EpochSampler}).
 *
 * <p>Legend: N tokens of a batch, S sequences (segments) in it, B rows and T width of a padded
 * batch (N = B·T).
 */
package ai.janus.data.batch;
