package ai.janus.optim;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.Tensor;
import java.util.List;

/**
 * {@link StepKernels} on the CPU: each tensor cut into {@link Chunk}s, the chunks spread over a
 * {@link Parallel} pool, each stepped by the optimizers' own chunk code ({@link AdamW#stepChunk},
 * {@link AdamW8bit#stepChunk}) over a {@link ParameterStore#ofTensor one-tensor fp32 store}, so
 * the bits are those of the optimizers' whole-set step. Heap scratch is kept per thread.
 */
final class CpuStepKernels implements StepKernels {
    private static final ThreadLocal<AdamW.Scratch> ADAMW_SCRATCH = ThreadLocal.withInitial(AdamW.Scratch::new);
    private static final ThreadLocal<AdamW8bit.Scratch> ADAMW8BIT_SCRATCH =
            ThreadLocal.withInitial(AdamW8bit.Scratch::new);
    /** fp32 values round to themselves: the step, which only seeds stochastic rounding, is unused. */
    private static final long NO_ROUNDING_STEP = 0;

    private final Parallel parallel;

    CpuStepKernels(Parallel parallel) {
        if (parallel == null) {
            throw new IllegalArgumentException("parallel must not be null");
        }
        this.parallel = parallel;
    }

    @Override
    public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, AdamW.Coefficients k) {
        ParameterStore store = ParameterStore.ofTensor(p);
        List<Chunk> chunks = store.chunks();
        parallel.forRange(chunks.size(), 1, (from, to) -> {
            AdamW.Scratch s = ADAMW_SCRATCH.get();
            for (long i = from; i < to; i++) {
                AdamW.stepChunk(store, chunks.get((int) i), g, m, v, k, NO_ROUNDING_STEP, s);
            }
        });
    }

    @Override
    public void adamw8bit(Tensor p, Tensor g, Tensor state1, Tensor state2, Tensor absmax1, Tensor absmax2,
                          AdamW8bit.Coefficients k) {
        step8bit(p, g, new AdamW8bit.BlockwiseMoments(state1, state2, absmax1, absmax2), k);
    }

    @Override
    public void adamw8bitFp32State(Tensor p, Tensor g, Tensor m, Tensor v, AdamW8bit.Coefficients k) {
        step8bit(p, g, new AdamW8bit.Fp32Moments(m, v), k);
    }

    private void step8bit(Tensor p, Tensor g, AdamW8bit.Moments state, AdamW8bit.Coefficients k) {
        ParameterStore store = ParameterStore.ofTensor(p);
        List<Chunk> chunks = store.chunks();
        parallel.forRange(chunks.size(), 1, (from, to) -> {
            AdamW8bit.Scratch s = ADAMW8BIT_SCRATCH.get();
            for (long i = from; i < to; i++) {
                AdamW8bit.stepChunk(store, chunks.get((int) i), g, state, k, NO_ROUNDING_STEP, s);
            }
        });
    }

    @Override
    public double sumOfSquares(ParameterSet gradients) {
        return GradClip.sumOfSquares(gradients, parallel);
    }

    @Override
    public void scale(ParameterSet gradients, float factor) {
        GradClip.scaleAll(gradients, factor, parallel);
    }
}
