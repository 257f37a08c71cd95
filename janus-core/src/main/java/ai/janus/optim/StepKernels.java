package ai.janus.optim;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.Tensor;

/**
 * Where the element-wise work of an optimizer step runs: the per-tensor update of {@link AdamW}
 * and {@link AdamW8bit}, and the sum of squares and scaling of {@link GradClip}. The optimizers
 * keep everything else — state allocation, hyper-parameters and their coefficients, the step
 * count, bf16 handling, save and load — and call one method per parameter tensor per step.
 *
 * <p>{@link #cpu} is the reference: the Vector API and scalar Java of {@link AdamWKernel},
 * {@link AdamW8bit#blockUpdate} and {@link AdamW8bit#fp32StateUpdate} on a {@link Parallel}
 * pool, chunk by chunk; every optimizer built with a {@code Parallel} uses it. janus-kernels'
 * {@code CudaOptimizerKernels} runs the same operations on the GPU. Only fp32 parameters go
 * through this interface: bf16 parameters (rounded to nearest even, stochastically, or mirrored
 * from fp32 master weights) are stepped on the CPU by the optimizers themselves, and an optimizer
 * built with kernels refuses them.
 *
 * <p>Tensors are views of one parameter (or one ZeRO shard of it, whose 8-bit blocks start at the
 * view's first element): {@code g} is read, the others are updated in place. Implementations
 * must produce the bits of {@link #cpu}, except {@link #sumOfSquares}, whose order of additions
 * may differ (see there).
 */
public interface StepKernels {

    /**
     * One {@link AdamW} step of one fp32 tensor: {@code p ← p·k.decay()} (skipped when it is 1),
     * then {@code m}, {@code v} and {@code p} as {@link AdamWKernel#update} computes them.
     * {@code m}, {@code v}: F32 like {@code p}.
     */
    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, AdamW.Coefficients k);

    /**
     * One {@link AdamW8bit} step of one fp32 tensor with 8-bit state, block by block of
     * {@value AdamW8bit#BLOCK_SIZE} elements from the tensor's first ({@link AdamW8bit#blockUpdate}):
     * codes {@code state1}, {@code state2} (U8 like {@code p}) and scales {@code absmax1},
     * {@code absmax2} (F32 [ceil(n / 2048)]) updated in place.
     */
    void adamw8bit(Tensor p, Tensor g, Tensor state1, Tensor state2, Tensor absmax1, Tensor absmax2,
                   AdamW8bit.Coefficients k);

    /**
     * The {@link AdamW8bit} step of one fp32 tensor whose model tensor has fewer than
     * {@value AdamW8bit#MIN_8BIT_NUMEL} elements: fp32 {@code m}, {@code v}
     * ({@link AdamW8bit#fp32StateUpdate}).
     */
    void adamw8bitFp32State(Tensor p, Tensor g, Tensor m, Tensor v, AdamW8bit.Coefficients k);

    /**
     * Σ g² over every element of every gradient, in double. {@link #cpu} adds as
     * {@link GradClip#sumOfSquares} defines (per {@value GradClip#BLOCK}-element block in order,
     * then the block sums in order). Another implementation may add in another fixed order: the
     * terms are exact in double (a float's square has at most 48 significant bits) and all
     * non-negative, so only the additions round, and two orders differ by at most
     * (d1 + d2)·2^-53 of the sum, where d is the most additions any one term goes through.
     */
    double sumOfSquares(ParameterSet gradients);

    /** {@code g ← g·factor} (a float multiply) for every element of every gradient. */
    void scale(ParameterSet gradients, float factor);

    /** The reference implementation on {@code parallel}'s threads. */
    static StepKernels cpu(Parallel parallel) {
        return new CpuStepKernels(parallel);
    }
}
