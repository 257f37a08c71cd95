/**
 * Text generation: a {@link ai.janus.generate.Sampler} with the spec's semantics (repetition
 * penalty, then temperature, then top-p; seeded) and a {@link ai.janus.generate.Generator} that
 * decodes batched prompts over the model's KV cache until EOS or the token budget.
 */
package ai.janus.generate;
