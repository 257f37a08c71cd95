package ai.janus.kernels;

import static ai.janus.kernels.CudaKernels.THREADS;
import static ai.janus.kernels.CudaKernels.blocks;

import ai.janus.backend.ShapeCheck;
import ai.janus.kernels.CudaKernels.Kernel;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.GradClip;
import ai.janus.optim.QuantizationMaps;
import ai.janus.optim.StepKernels;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.List;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The optimizer's element-wise work on the GPU, as {@link StepKernels}: one AdamW step, one 8-bit
 * AdamW step (and its fp32-state variant for small tensors) of one parameter tensor, and the
 * gradients' sum of squares and scaling — the kernels {@code janus_adamw_step},
 * {@code janus_adamw8bit_step}, {@code janus_adamw8bit_fp32state_step},
 * {@code janus_sum_squares_partial} / {@code janus_sum_finalize} and {@code janus_scale}.
 *
 * <p>Give it to {@link AdamW} or {@link AdamW8bit} ({@code AdamW.fp32(params, slices, config,
 * kernels)}) and to {@link GradClip#clip(ParameterSet, double, StepKernels)}: the optimizers keep
 * their state (allocated through {@link ai.janus.tensor.Storage}, hence in managed memory while
 * the backend is open), coefficients, step count and state files, so a GPU step is the CPU step
 * moved, bit for bit (KERNELS.md: each kernel repeats the Java ops in order, every op rounded
 * explicitly), and a state file saved on one side loads on the other. fp32 parameters only.
 * Each call is one {@link CudaBackend} op: on the device lock, ended by a stream sync.
 *
 * <p>The sum of squares is not GradClip's per-2048-block sum: each tensor is one
 * {@code janus_sum_squares_partial} grid (256 threads × min(ceil(n/4096), 1024) blocks, each
 * thread adding its grid-stride elements in order, then a fixed shuffle tree) and one
 * {@code janus_sum_finalize}, and the tensors' totals are added in tensor order. Both are
 * deterministic and add exact double squares; they differ by at most (d_cpu + d_gpu)·2^-53 of
 * the sum ({@link StepKernels#sumOfSquares}), with d_cpu = 2048 + the model's block count and
 * d_gpu ≤ {@link #additionDepth}: about 4·10^-10 relative for a 7B model, 2·10^-10 on the norm.
 * The clip factor is that norm rounded to float (2^-24 relative), so it can differ in its last
 * bit in rare steps; the scaling itself is GradClip's float multiply, bit for bit.
 */
public final class CudaOptimizerKernels implements StepKernels, AutoCloseable {
    private final CudaBackend backend;
    private final long qmapSigned;
    private final long qmapUnsigned;
    private final long partials;
    private boolean closed;

    /** Kernels on {@code backend}'s device; uploads the two quantization maps once. */
    public CudaOptimizerKernels(CudaBackend backend) {
        this.backend = backend;
        ManagedMemory memory = backend.device().memory();
        this.qmapSigned = upload(memory, QuantizationMaps.signed());
        this.qmapUnsigned = upload(memory, QuantizationMaps.unsigned());
        this.partials = memory.acquire(8L * (CudaKernels.SUM_SQUARES_MAX_BLOCKS + 1), true);
    }

    private static long upload(ManagedMemory memory, float[] table) {
        long at = memory.acquire(4L * table.length, true); // zeroed and synchronised: safe to write from Java
        try (FloatPointer p = new FloatPointer(Cuda.at(at, 4L * table.length))) {
            p.put(table, 0, table.length);
        }
        return at;
    }

    /**
     * One {@code torch.optim.AdamW} step (t = {@code step}, from 1) of one fp32 parameter:
     * {@code p ← p·(1 − lr·wd)}, then m, v and p as {@link AdamW} documents, with
     * {@link AdamW.Coefficients#of}'s coefficients.
     */
    public void adamwStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig c, double lr, long step) {
        requireStep(lr, step);
        adamw(p, g, m, v, AdamW.Coefficients.of(c, lr, step));
    }

    /** {@inheritDoc} On the GPU: {@code janus_adamw_step}, ceil(n/256) × 256. */
    @Override
    public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, AdamW.Coefficients k) {
        long n = p.numel();
        requireLike("g", g, p, DType.F32);
        requireLike("m", m, p, DType.F32);
        requireLike("v", v, p, DType.F32);
        backend.run("adamw", op -> {
            if (n > 0) {
                backend.device().kernels().launch(Kernel.ADAMW_STEP, blocks(n), THREADS, CudaKernels.args()
                        .ptr(op.out(p)).ptr(op.in(g)).ptr(op.out(m)).ptr(op.out(v)).i64(n)
                        .f32(k.beta1()).f32(k.oneMinusBeta1()).f32(k.beta2()).f32(k.oneMinusBeta2()).f32(k.eps())
                        .f32(k.sqrtBiasCorrection2()).f32(k.negStepSize()).f32(k.decay()));
            }
        });
    }

    /**
     * One 8-bit AdamW step of one fp32 parameter of at least {@link AdamW8bit#MIN_8BIT_NUMEL}
     * elements: codes {@code state1}, {@code state2} (U8, the parameter's shape) and block scales
     * {@code absmax1}, {@code absmax2} (F32 [ceil(n/2048)]) updated in place, as
     * {@link AdamW8bit} does (spec docs/spec/adamw8bit.md), with {@link AdamW8bit.Coefficients#of}'s coefficients.
     */
    public void adamw8bitStep(Tensor p, Tensor g, Tensor state1, Tensor state2, Tensor absmax1, Tensor absmax2,
                              AdamWConfig c, double lr, long step) {
        if (!AdamW8bit.isEightBit(p.numel())) {
            throw new IllegalArgumentException("p: 8-bit state needs at least " + AdamW8bit.MIN_8BIT_NUMEL
                    + " elements, got " + p + "; use adamw8bitFp32StateStep");
        }
        requireStep(lr, step);
        adamw8bit(p, g, state1, state2, absmax1, absmax2, AdamW8bit.Coefficients.of(c, lr, step));
    }

    /**
     * {@inheritDoc} On the GPU: {@code janus_adamw8bit_step}, one 256-thread CTA per block. Any
     * size: whether a tensor has 8-bit state is the optimizer's choice (by its model tensor's size,
     * so a ZeRO shard of a large tensor may be small).
     */
    @Override
    public void adamw8bit(Tensor p, Tensor g, Tensor state1, Tensor state2, Tensor absmax1, Tensor absmax2,
                          AdamW8bit.Coefficients k) {
        long n = p.numel();
        requireLike("g", g, p, DType.F32);
        requireLike("state1", state1, p, DType.U8);
        requireLike("state2", state2, p, DType.U8);
        ShapeCheck.f32("absmax1", absmax1, AdamW8bit.blocks(n));
        ShapeCheck.f32("absmax2", absmax2, AdamW8bit.blocks(n));
        backend.run("adamw8bit", op -> {
            if (n > 0) {
                backend.device().kernels().launch(Kernel.ADAMW8BIT_STEP, AdamW8bit.blocks(n), THREADS,
                        coefficients8bit(CudaKernels.args().ptr(op.out(p)).ptr(op.in(g)).ptr(op.out(state1))
                                .ptr(op.out(state2)).ptr(op.out(absmax1)).ptr(op.out(absmax2)).ptr(qmapSigned)
                                .ptr(qmapUnsigned).i64(n), k));
            }
        });
    }

    /** The 8-bit optimizer's step of a tensor below {@link AdamW8bit#MIN_8BIT_NUMEL} elements (fp32 m, v). */
    public void adamw8bitFp32StateStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig c, double lr, long step) {
        requireStep(lr, step);
        adamw8bitFp32State(p, g, m, v, AdamW8bit.Coefficients.of(c, lr, step));
    }

    /** {@inheritDoc} On the GPU: {@code janus_adamw8bit_fp32state_step}, ceil(n/256) × 256. */
    @Override
    public void adamw8bitFp32State(Tensor p, Tensor g, Tensor m, Tensor v, AdamW8bit.Coefficients k) {
        long n = p.numel();
        requireLike("g", g, p, DType.F32);
        requireLike("m", m, p, DType.F32);
        requireLike("v", v, p, DType.F32);
        backend.run("adamw8bitFp32State", op -> {
            if (n > 0) {
                backend.device().kernels().launch(Kernel.ADAMW8BIT_FP32STATE_STEP, blocks(n), THREADS,
                        coefficients8bit(CudaKernels.args().ptr(op.out(p)).ptr(op.in(g)).ptr(op.out(m))
                                .ptr(op.out(v)).i64(n), k));
            }
        });
    }

    /** The trailing arguments of both 8-bit kernels: the coefficients in record order (KERNELS.md). */
    private static CudaKernels.Args coefficients8bit(CudaKernels.Args args, AdamW8bit.Coefficients k) {
        return args.f32(k.beta1()).f32(k.oneMinusBeta1()).f32(k.beta2()).f32(k.oneMinusBeta2()).f32(k.stepSize())
                .f32(k.c2eps()).f32(k.decay()).i32(k.decays() ? 1 : 0);
    }

    /** Σ x² of an F32 tensor, in a fixed order (double partial sums), on the GPU. */
    public double sumSquares(Tensor x) {
        if (x.dtype() != DType.F32) {
            throw new IllegalArgumentException("x: expected an F32 tensor, got " + x);
        }
        if (x.numel() == 0) {
            return 0;
        }
        return backend.call("sumSquares", op -> {
            accumulateSquares(op.in(x), x.numel(), false);
            return readTotal();
        });
    }

    /**
     * {@inheritDoc} On the GPU, one op: a partial-sum grid and a finalize per tensor, the totals
     * added in tensor order on the device (see the class comment for how this order differs from
     * GradClip's blocks).
     */
    @Override
    public double sumOfSquares(ParameterSet gradients) {
        return backend.call("sumOfSquares", op -> {
            boolean first = true;
            for (ParameterSet.Spec s : gradients.specs()) {
                Tensor g = gradients.get(s.name());
                if (g.dtype() != DType.F32) {
                    throw new IllegalArgumentException(s.name() + ": expected an F32 gradient, got " + g);
                }
                if (g.numel() > 0) {
                    accumulateSquares(op.in(g), g.numel(), !first);
                    first = false;
                }
            }
            return first ? 0.0 : readTotal();
        });
    }

    /**
     * The most additions one square goes through in {@link #sumOfSquares} of tensors of these
     * sizes: its thread's grid-stride run, the two 32-lane shuffle trees of the partial and of
     * the finalize (5 each, twice), the finalize's per-thread run over the partials, and the
     * add of each later tensor's total.
     */
    public static long additionDepth(List<ParameterSet.Spec> specs) {
        long depth = 0;
        int tensors = 0;
        for (ParameterSet.Spec s : specs) {
            long n = s.numel();
            if (n == 0) {
                continue;
            }
            tensors++;
            long parts = partsOf(n);
            long perThread = (n + parts * THREADS - 1) / (parts * THREADS);
            long finalizePerThread = (parts + THREADS - 1) / THREADS;
            depth = Math.max(depth, perThread + 10 + finalizePerThread + 10);
        }
        return depth + tensors;
    }

    /** The global L2 norm of every gradient of the set together, as {@link GradClip#norm} defines it (see above). */
    public double gradNorm(ParameterSet gradients) {
        return GradClip.norm(gradients, this);
    }

    /**
     * {@link GradClip#clip} on the GPU: scales every gradient by {@code min(1, maxNorm / (norm +
     * 1e-6))} (the factor rounded to float) and returns the norm before clipping; a non-finite
     * norm leaves the gradients untouched.
     */
    public double clip(ParameterSet gradients, double maxNorm) {
        return GradClip.clip(gradients, maxNorm, this);
    }

    /** {@inheritDoc} On the GPU: {@code janus_scale} per tensor, one op. */
    @Override
    public void scale(ParameterSet gradients, float factor) {
        backend.run("scale", op -> {
            for (ParameterSet.Spec s : gradients.specs()) {
                Tensor g = gradients.get(s.name());
                if (g.dtype() != DType.F32) {
                    throw new IllegalArgumentException(s.name() + ": expected an F32 gradient, got " + g);
                }
                if (g.numel() > 0) {
                    backend.device().kernels().launch(Kernel.SCALE, blocks(g.numel()), THREADS, CudaKernels.args()
                            .ptr(op.out(g)).i64(g.numel()).f32(factor));
                }
            }
        });
    }

    private static long partsOf(long n) {
        return Math.min((n + CudaKernels.SUM_SQUARES_ELEMENTS_PER_BLOCK - 1) / CudaKernels.SUM_SQUARES_ELEMENTS_PER_BLOCK,
                CudaKernels.SUM_SQUARES_MAX_BLOCKS);
    }

    /** Queues partial sums of x² and their fixed-order total into the total cell (added when {@code accumulate}). */
    private void accumulateSquares(long x, long n, boolean accumulate) {
        long parts = partsOf(n);
        long partial = partials + 8;
        CudaKernels k = backend.device().kernels();
        k.launch(Kernel.SUM_SQUARES_PARTIAL, parts, THREADS, CudaKernels.args().ptr(partial).ptr(x).i64(n));
        k.launch(Kernel.SUM_FINALIZE, 1, THREADS, CudaKernels.args().ptr(partials).ptr(partial).i32((int) parts)
                .i32(accumulate ? 1 : 0));
    }

    /** The total cell, after the stream is synchronised. */
    private double readTotal() {
        backend.device().sync();
        try (DoublePointer total = new DoublePointer(Cuda.at(partials, 8))) {
            return total.get(0);
        }
    }

    private static void requireLike(String name, Tensor t, Tensor p, DType dtype) {
        ShapeCheck.require(name, t, dtype, p.shape());
        if (p.dtype() != DType.F32) {
            throw new IllegalArgumentException("p: the GPU optimizer steps fp32 parameters, got " + p);
        }
    }

    private static void requireStep(double lr, long step) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        }
        if (step < 1) {
            throw new IllegalArgumentException("step counts from 1, got " + step);
        }
    }

    /** Returns the quantization maps and the partial-sum cells to the allocator. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            ManagedMemory memory = backend.device().memory();
            synchronized (backend.device()) {
                backend.device().enter();
                backend.device().sync();
                memory.release(qmapSigned);
                memory.release(qmapUnsigned);
                memory.release(partials);
            }
        }
    }
}
