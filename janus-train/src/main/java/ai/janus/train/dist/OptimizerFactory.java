package ai.janus.train.dist;

import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.Bf16Mode;
import ai.janus.optim.Optimizer;
import ai.janus.optim.ParameterSlice;
import ai.janus.optim.StepKernels;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import java.util.List;

/** Makes the run's optimizer over the parameters a strategy updates: the whole model, or one rank's shard of it. */
@FunctionalInterface
public interface OptimizerFactory {
    /**
     * @param parameters F32 or BF16 parameters (the shard's segments for ZeRO)
     * @param slices     where each of them lies in the whole model
     */
    Optimizer create(ParameterSet parameters, List<ParameterSlice> slices);

    /**
     * The run config's optimizer: F32 parameters step on {@code kernels} (the GPU's on a one-rank
     * CUDA run, else the CPU pool's); BF16 parameters always on {@code parallel}, rounding to
     * nearest even from their fp32 master copy.
     */
    static OptimizerFactory of(OptimizerKind kind, AdamWConfig adam, StepKernels kernels, Parallel parallel) {
        return (p, slices) -> switch (kind) {
            case ADAMW -> p.dtype() == DType.BF16 ? AdamW.bf16(p, slices, Bf16Mode.nearestEven(), adam, parallel)
                    : AdamW.fp32(p, slices, adam, kernels);
            case ADAMW_8BIT -> p.dtype() == DType.BF16 ? AdamW8bit.bf16(p, slices, Bf16Mode.nearestEven(), adam, parallel)
                    : AdamW8bit.fp32(p, slices, adam, kernels);
        };
    }
}
