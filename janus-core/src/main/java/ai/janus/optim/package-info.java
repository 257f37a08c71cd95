/**
 * Optimizers and what surrounds an optimizer step: {@link ai.janus.optim.AdamW} with fp32 state
 * (PyTorch semantics), the bitsandbytes-compatible blockwise {@link ai.janus.optim.AdamW8bit},
 * {@link ai.janus.optim.LrSchedule}, global gradient-norm clipping ({@link ai.janus.optim.GradClip})
 * and the versioned on-disk optimizer state.
 *
 * <p>One training step, in the order of the spec (docs/spec/objectives.md): {@code GradClip.clip(grads)} →
 * {@code optimizer.step(grads, schedule.lr(s))} → s + 1 → zero the gradients.
 *
 * <p>An optimizer is bound to its parameters at construction: an fp32
 * {@link ai.janus.model.ParameterSet}, or a BF16 one with a {@link ai.janus.optim.Bf16Mode} (round to nearest even as bitsandbytes does, seeded stochastic
 * rounding, or fp32 master weights). Gradients are always an fp32 {@code ParameterSet} with the
 * same specs; {@code step} reads them and never modifies them ({@code GradClip} scales them in
 * place). Every step runs over chunks of whole tensors on a {@link ai.janus.parallel.Parallel}
 * pool; no value depends on which thread ran a chunk, so results are independent of the thread
 * count. Each algorithm's per-element math lives in one static method (the reference a GPU
 * kernel is tested against): {@code AdamWKernel.update}, {@code AdamW8bit.blockUpdate} and
 * {@code AdamW8bit.fp32StateUpdate}.
 *
 * <p>Where that math runs is {@link ai.janus.optim.StepKernels}: the optimizers own their state,
 * coefficients, step count, bf16 handling and state files, and hand each fp32 parameter tensor to
 * their kernels once per step ({@code StepKernels.cpu(parallel)} unless given others, such as
 * janus-kernels' GPU ones); {@code GradClip} takes kernels for its sum of squares and scaling too.
 * bf16 parameters are always stepped on the CPU, by the optimizers' chunk code with rounding.
 */
package ai.janus.optim;

import ai.janus.model.ParameterSet;
