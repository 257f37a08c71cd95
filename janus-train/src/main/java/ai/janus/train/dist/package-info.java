/**
 * Training on several ranks: how the {@code ai.janus.train.Trainer}'s optimizer step is shared
 * out ({@link ai.janus.train.dist.Strategy}) over an {@link ai.janus.dist.Communicator}.
 *
 * <ul>
 *   <li>{@link ai.janus.train.dist.DataParallel}: LOCAL (one process) and DDP (bucketed gradient
 *       all-reduce overlapped with the backward).</li>
 *   <li>ZeRO stages 1–3: optimizer state, then gradients, then parameters sharded.</li>
 *   <li>{@link ai.janus.train.dist.ShardLayout}: the units a model is communicated in (embedding,
 *       each layer, head), their padding to the 8-bit optimizer's 2048-element blocks and the
 *       per-rank pieces.</li>
 * </ul>
 *
 * Every rank runs the same trainer over the same data and starting weights; the trainer hands
 * each rank its own micro-batches of every step, so the ranks together run exactly what one
 * process with W times the gradient accumulation would, in the same order.
 */
package ai.janus.train.dist;
