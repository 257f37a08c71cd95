package ai.janus.compute;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.kernels.CudaBackend;
import ai.janus.kernels.CudaOptimizerKernels;
import ai.janus.optim.StepKernels;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.Storage;
import ai.janus.train.config.RunConfig;

/**
 * The compute of one job: the backend the model's ops run on, the CPU backend and its thread pool
 * (always open: bf16 optimizer steps, ZeRO's shard math, evaluation of gathered weights), and the
 * kernels the fp32 optimizer steps and the gradient clipping run on.
 *
 * <pre>
 * backend: cpu                      model ops on the CPU backend; steps on its pool
 * backend: cuda, one rank, no ZeRO  model ops on the GPU; fp32 steps and clipping on the GPU
 * backend: cuda, several ranks/ZeRO model ops on the GPU; steps on the CPU pool over managed memory
 * </pre>
 *
 * Opening CUDA installs the device's managed-memory allocator as {@link Storage}'s, so open a
 * Compute before any tensor the model will read is allocated; {@link #close} puts the previous
 * allocator back. Compute is opened first and closed last.
 */
public final class Compute implements AutoCloseable {
    private final CpuBackend cpu;
    private final CudaBackend cuda;
    private final CudaOptimizerKernels deviceSteps;
    private final Storage.Allocator previousAllocator;

    private Compute(CpuBackend cpu, CudaBackend cuda, CudaOptimizerKernels deviceSteps,
                    Storage.Allocator previousAllocator) {
        this.cpu = cpu;
        this.cuda = cuda;
        this.deviceSteps = deviceSteps;
        this.previousAllocator = previousAllocator;
    }

    /** The CPU backend on every core: what generate, score, best-of-n and the demo run on. */
    public static Compute cpu() {
        return new Compute(new CpuBackend(), null, null, null);
    }

    /**
     * The compute {@code config} asks for, for one rank of a job of {@code worldSize} ranks:
     * the optimizer steps on the GPU only with CUDA on one process without ZeRO (several ranks'
     * norms add GradClip's per-block sums, which the GPU does not reproduce). Checks first
     * ({@link #check}), then opens CUDA (with its allocator) before the CPU pool.
     */
    public static Compute forRun(RunConfig config, int worldSize) {
        check(config, worldSize);
        if (config.backend() != RunConfig.BackendKind.CUDA) {
            return cpu();
        }
        CudaBackend cuda = CudaBackend.open();
        Storage.Allocator previous = Storage.useAllocator(cuda.allocator());
        CudaOptimizerKernels steps = null;
        try {
            steps = stepsOnDevice(config, worldSize) ? new CudaOptimizerKernels(cuda) : null;
            return new Compute(new CpuBackend(), cuda, steps, previous);
        } catch (RuntimeException | Error e) {
            if (steps != null) {
                steps.close();
            }
            Storage.useAllocator(previous);
            cuda.close();
            throw e;
        }
    }

    /**
     * Refuses, in one line and before anything is opened or written, what the chosen compute
     * cannot run: bf16 weights with the optimizer on the GPU (it steps fp32 weights).
     */
    public static void check(RunConfig config, int worldSize) {
        if (stepsOnDevice(config, worldSize) && config.bf16()) {
            throw new IllegalArgumentException("bf16: true with backend: cuda on one rank (strategy local or ddp) is not "
                    + "supported: the GPU optimizer steps fp32 weights; set bf16: false");
        }
    }

    private static boolean stepsOnDevice(RunConfig config, int worldSize) {
        return config.backend() == RunConfig.BackendKind.CUDA && worldSize == 1 && config.strategy().zeroStage() == 0;
    }

    /** The backend the model's ops run on. */
    public Backend backend() {
        return cuda != null ? cuda : cpu;
    }

    /** The CPU backend, open whatever the model runs on. */
    public CpuBackend cpuBackend() {
        return cpu;
    }

    /** The CPU thread pool. */
    public Parallel parallel() {
        return cpu.parallel();
    }

    /** Where fp32 optimizer steps and the gradient clipping run. */
    public StepKernels stepKernels() {
        return deviceSteps != null ? deviceSteps : StepKernels.cpu(cpu.parallel());
    }

    /** Whether the model runs on a GPU. */
    public boolean onDevice() {
        return cuda != null;
    }

    /** Whether the optimizer steps and the clipping run on the GPU. */
    public boolean stepsOnDevice() {
        return deviceSteps != null;
    }

    /** The model backend's name (e.g. {@code cpu (2 threads, OpenBLAS)}, {@code cuda:0 (…)}). */
    public String name() {
        return backend().name();
    }

    @Override
    public void close() {
        cpu.close();
        if (deviceSteps != null) {
            deviceSteps.close();
        }
        if (cuda != null) {
            if (Storage.allocator() == cuda.allocator()) {
                Storage.useAllocator(previousAllocator);
            }
            cuda.close();
        }
    }
}
