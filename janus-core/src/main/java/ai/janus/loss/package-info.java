/**
 * The training objectives (docs/spec/objectives.md, "Losses"): per-sequence scores from per-token
 * log-probs ({@link ai.janus.loss.SequenceLogProbs}), {@link ai.janus.loss.SftLoss},
 * {@link ai.janus.loss.DpoLoss}, {@link ai.janus.loss.OrpoLoss} and the reward model's
 * {@link ai.janus.loss.BradleyTerryLoss}, and {@link ai.janus.loss.ModelLosses}, which runs each on one
 * micro-batch of a model.
 *
 * <p>Reading order: {@code Mistral.forward} gives logp (N) → {@code SequenceLogProbs.forward} gives
 * S (sum) and A (mean) per sequence → a loss gives L, its metrics and dL/dS (or dL/dr for the reward
 * model) → {@code SequenceLogProbs.backward} gives dL/dlogp (N) → {@code Mistral.backward}.
 *
 * <p>Conventions. Losses are computed in double from fp32 log-probs, with the stable forms of
 * {@link ai.janus.loss.StableMath} (StrictMath: the same bits everywhere). Each loss returns this
 * micro-batch's share of the optimizer step's loss, normalised by a step-wide count the caller
 * supplies (supervised tokens for SFT, pairs for the pairwise losses: docs/spec/reliability.md),
 * so that the shares and their gradients add up over micro-batches and ranks. Backwards here
 * overwrite their outputs ({@code dLogp}); the model's backward accumulates parameter gradients.
 * Shapes use the legend of docs/architecture.md ("Names"): N tokens, S sequences, P pairs.
 */
package ai.janus.loss;
