/**
 * The Mistral model: its HF configuration, its parameters as named views of one flat buffer,
 * HF checkpoint loading and saving, and the forward pass written against
 * {@link ai.janus.backend.Backend}.
 *
 * <p>Reading order: {@link ai.janus.model.MistralConfig} → {@link ai.janus.model.MistralWeights}
 * (tensor names and shapes) → {@link ai.janus.model.HfCheckpoint} → {@link ai.janus.model.Mistral}
 * (the forward, top to bottom, with a shape comment on every buffer) → {@link ai.janus.model.RewardModel}
 * (the backbone without lm_head plus a value head, in OpenRLHF's checkpoint layout, with its
 * stored {@link ai.janus.model.RewardNormalization}). {@link ai.janus.model.ModelFingerprint}
 * identifies a model's function for caches of its outputs.
 */
package ai.janus.model;
