package ai.janus.kernels;

import static ai.janus.kernels.CudaKernels.THREADS;
import static ai.janus.kernels.CudaKernels.blocks;

import ai.janus.backend.ShapeCheck;
import ai.janus.kernels.CudaKernels.Kernel;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.GradClip;
import ai.janus.optim.QuantizationMaps;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The optimizer's element-wise work on the GPU: one AdamW step, one 8-bit AdamW step (and its
 * fp32-state variant for small tensors), the global gradient norm and clipping — the kernels
 * {@code janus_adamw_step}, {@code janus_adamw8bit_step}, {@code janus_adamw8bit_fp32state_step},
 * {@code janus_sum_squares_partial} / {@code janus_sum_finalize} and {@code janus_scale}.
 *
 * <p>Each method takes the tensors of one parameter and the step's hyper-parameters and computes
 * the step coefficients on the host exactly as {@link ai.janus.optim.AdamW} and {@link AdamW8bit}
 * do (doubles for AdamW, rounded to float per coefficient as ATen does; float32 for 8-bit AdamW as
 * the spec does), so a GPU step matches the CPU step: bit for bit for the 8-bit step, within the
 * rounding of sqrt and division for AdamW. fp32 parameters only; the state tensors have the
 * layouts of the CPU optimizers (m, v F32 like the parameter; 8-bit codes U8 like the parameter,
 * scales F32 [ceil(n/2048)]), so they can be moved between the two.
 */
public final class CudaOptimizerKernels implements AutoCloseable {
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
     * {@code p ← p·(1 − lr·wd)}, then m, v and p as {@link ai.janus.optim.AdamW} documents.
     */
    public void adamwStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig c, double lr, long step) {
        long n = p.numel();
        requireLike("g", g, p, DType.F32);
        requireLike("m", m, p, DType.F32);
        requireLike("v", v, p, DType.F32);
        requireStep(lr, step);
        double bc1 = 1 - Math.pow(c.beta1(), step), bc2 = 1 - Math.pow(c.beta2(), step);
        backend.run(op -> {
            if (n > 0) {
                backend.device().kernels().launch(Kernel.ADAMW_STEP, blocks(n), THREADS, CudaKernels.args()
                        .ptr(op.out(p)).ptr(op.in(g)).ptr(op.out(m)).ptr(op.out(v)).i64(n)
                        .f32((float) c.beta1()).f32((float) (1 - c.beta1())).f32((float) c.beta2())
                        .f32((float) (1 - c.beta2())).f32((float) c.eps()).f32((float) Math.sqrt(bc2))
                        .f32((float) -(lr / bc1)).f32((float) (1 - lr * c.weightDecay())));
            }
            return null;
        });
    }

    /**
     * One 8-bit AdamW step of one fp32 parameter of at least {@link AdamW8bit#MIN_8BIT_NUMEL}
     * elements: codes {@code state1}, {@code state2} (U8, the parameter's shape) and block scales
     * {@code absmax1}, {@code absmax2} (F32 [ceil(n/2048)]) updated in place, as
     * {@link AdamW8bit} does (spec adamw8bit.md).
     */
    public void adamw8bitStep(Tensor p, Tensor g, Tensor state1, Tensor state2, Tensor absmax1, Tensor absmax2,
                              AdamWConfig c, double lr, long step) {
        long n = p.numel();
        if (!AdamW8bit.isEightBit(n)) {
            throw new IllegalArgumentException("p: 8-bit state needs at least " + AdamW8bit.MIN_8BIT_NUMEL
                    + " elements, got " + p + "; use adamw8bitFp32StateStep");
        }
        requireLike("g", g, p, DType.F32);
        requireLike("state1", state1, p, DType.U8);
        requireLike("state2", state2, p, DType.U8);
        ShapeCheck.f32("absmax1", absmax1, AdamW8bit.blocks(n));
        ShapeCheck.f32("absmax2", absmax2, AdamW8bit.blocks(n));
        requireStep(lr, step);
        float[] k = coefficients8bit(c, lr, step);
        backend.run(op -> {
            backend.device().kernels().launch(Kernel.ADAMW8BIT_STEP, AdamW8bit.blocks(n), THREADS, CudaKernels.args()
                    .ptr(op.out(p)).ptr(op.in(g)).ptr(op.out(state1)).ptr(op.out(state2)).ptr(op.out(absmax1))
                    .ptr(op.out(absmax2)).ptr(qmapSigned).ptr(qmapUnsigned).i64(n)
                    .f32(k[0]).f32(k[1]).f32(k[2]).f32(k[3]).f32(k[4]).f32(k[5]).f32(k[6]).i32(k[7] != 0 ? 1 : 0));
            return null;
        });
    }

    /** The 8-bit optimizer's step of a tensor below {@link AdamW8bit#MIN_8BIT_NUMEL} elements (fp32 m, v). */
    public void adamw8bitFp32StateStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamWConfig c, double lr, long step) {
        long n = p.numel();
        requireLike("g", g, p, DType.F32);
        requireLike("m", m, p, DType.F32);
        requireLike("v", v, p, DType.F32);
        requireStep(lr, step);
        float[] k = coefficients8bit(c, lr, step);
        backend.run(op -> {
            if (n > 0) {
                backend.device().kernels().launch(Kernel.ADAMW8BIT_FP32STATE_STEP, blocks(n), THREADS,
                        CudaKernels.args().ptr(op.out(p)).ptr(op.in(g)).ptr(op.out(m)).ptr(op.out(v)).i64(n)
                                .f32(k[0]).f32(k[1]).f32(k[2]).f32(k[3]).f32(k[4]).f32(k[5]).f32(k[6])
                                .i32(k[7] != 0 ? 1 : 0));
            }
            return null;
        });
    }

    /**
     * AdamW8bit.Coefficients.of, in the same float32 arithmetic: {β1, 1−β1, β2, 1−β2, stepSize =
     * −lr·c2/c1, c2·eps, decay = 1 − lr·wd, decays (1 when wd &gt; 0)} with c1 = 1 − β1^t and
     * c2 = sqrt(1 − β2^t).
     */
    static float[] coefficients8bit(AdamWConfig c, double lr, long step) {
        float b1 = (float) c.beta1(), b2 = (float) c.beta2(), eps = (float) c.eps();
        float rate = (float) lr, wd = (float) c.weightDecay();
        float c1 = 1f - (float) Math.pow(b1, step);
        float c2 = (float) Math.sqrt(1f - (float) Math.pow(b2, step));
        float stepSize = -rate * c2 / c1;
        return new float[] {b1, 1f - b1, b2, 1f - b2, stepSize, c2 * eps, 1f - rate * wd, wd > 0f ? 1f : 0f};
    }

    /** Σ x² of an F32 tensor, in a fixed order (double partial sums), on the GPU. */
    public double sumSquares(Tensor x) {
        if (x.dtype() != DType.F32) {
            throw new IllegalArgumentException("x: expected an F32 tensor, got " + x);
        }
        if (x.numel() == 0) {
            return 0;
        }
        return backend.run(op -> {
            accumulateSquares(op.in(x), x.numel(), false);
            return readTotal();
        });
    }

    /** The global L2 norm of every gradient of the set together, as {@link GradClip#norm} defines it. */
    public double gradNorm(ParameterSet gradients) {
        return Math.sqrt(backend.run(op -> {
            boolean first = true;
            for (ParameterSet.Spec s : gradients.specs()) {
                Tensor g = gradients.get(s.name());
                if (g.numel() > 0) {
                    accumulateSquares(op.in(g), g.numel(), !first);
                    first = false;
                }
            }
            return first ? 0.0 : readTotal();
        }));
    }

    /**
     * {@link GradClip#clip} on the GPU: scales every gradient by {@code min(1, maxNorm / (norm +
     * 1e-6))} (the factor rounded to float) and returns the norm before clipping; a non-finite
     * norm leaves the gradients untouched.
     */
    public double clip(ParameterSet gradients, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("max norm must be finite and > 0, got " + maxNorm);
        }
        double norm = gradNorm(gradients);
        double coef = maxNorm / (norm + GradClip.EPS);
        if (!Double.isFinite(norm) || coef >= 1) {
            return norm;
        }
        float factor = (float) coef;
        backend.run(op -> {
            for (ParameterSet.Spec s : gradients.specs()) {
                Tensor g = gradients.get(s.name());
                if (g.numel() > 0) {
                    backend.device().kernels().launch(Kernel.SCALE, blocks(g.numel()), THREADS, CudaKernels.args()
                            .ptr(op.out(g)).i64(g.numel()).f32(factor));
                }
            }
            return null;
        });
        return norm;
    }

    /** Queues partial sums of x² and their fixed-order total into the total cell (added when {@code accumulate}). */
    private void accumulateSquares(long x, long n, boolean accumulate) {
        long parts = Math.min((n + CudaKernels.SUM_SQUARES_ELEMENTS_PER_BLOCK - 1)
                / CudaKernels.SUM_SQUARES_ELEMENTS_PER_BLOCK, CudaKernels.SUM_SQUARES_MAX_BLOCKS);
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
