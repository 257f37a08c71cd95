package ai.janus.train.dist;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.dist.Communicator;
import ai.janus.optim.StepKernels;

/** The strategy a run config names, over a communicator. */
public final class Strategies {
    private Strategies() {}

    /**
     * Builds {@code kind}'s strategy on this rank (every rank calls it together: strategies
     * communicate while they are built). DataParallel trains {@code parameters} in place; ZeRO
     * copies them into its own layout.
     */
    public static Strategy create(StrategyKind kind, Communicator communicator, TrainingParameters parameters,
                                  OptimizerFactory optimizers, long bucketBytes, CpuBackend cpu) {
        return create(kind, communicator, parameters, optimizers, bucketBytes, cpu, StepKernels.cpu(cpu.parallel()));
    }

    /**
     * The same, with DataParallel's gradient norm and clipping on {@code kernels}. ZeRO always
     * clips on the CPU pool: its norm adds GradClip's per-2048-block sums across the ranks, which
     * other kernels need not reproduce ({@link StepKernels#sumOfSquares}).
     */
    public static Strategy create(StrategyKind kind, Communicator communicator, TrainingParameters parameters,
                                  OptimizerFactory optimizers, long bucketBytes, CpuBackend cpu, StepKernels kernels) {
        return switch (kind) {
            case LOCAL, DDP -> new DataParallel(kind, communicator, parameters, optimizers, bucketBytes, cpu, kernels);
            case ZERO1, ZERO2, ZERO3 -> new Zero(kind, communicator, parameters, optimizers, cpu, cpu.parallel());
        };
    }
}
