package ai.janus.kernels;

import static ai.janus.backend.ShapeCheck.f32;
import static ai.janus.kernels.Cuda.check;
import static ai.janus.kernels.CudaKernels.THREADS;
import static ai.janus.kernels.CudaKernels.blocks;
import static org.bytedeco.cuda.global.cudart.cuMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cuMemsetD8Async;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.Backend;
import ai.janus.backend.ShapeCheck;
import ai.janus.kernels.CudaKernels.Kernel;
import ai.janus.tensor.Storage;
import ai.janus.tensor.Tensor;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;

/**
 * The CUDA backend: every {@link Backend} op as kernels from {@code native/} (the ABI is
 * {@code native/KERNELS.md}) and cuBLASLt products, on one GPU, with the CPU backend's semantics
 * (shapes validated the same way, ids and labels range-checked on the host, the same
 * accumulate rules). {@link ai.janus.backend.cpu.CpuBackend} is the specification; the contract
 * tests run both.
 *
 * <p>Memory: {@link #open} changes no global state. The caller installs the device's caching
 * managed-memory allocator, {@link #allocator()}, as {@link Storage}'s, and puts the previous one
 * back before closing:
 *
 * <pre>{@code
 * try (CudaBackend cuda = CudaBackend.open()) {
 *     Storage.Allocator previous = Storage.useAllocator(cuda.allocator());
 *     try {
 *         ... // tensors allocated here live in managed memory
 *     } finally {
 *         Storage.useAllocator(previous);
 *     }
 * }
 * }</pre>
 *
 * While it is installed every tensor allocated (the model's activations, parameter and gradient
 * sets, optimizer state) is addressable by kernels and by Java. A tensor from elsewhere —
 * allocated before, while it was not installed, or a memory-mapped checkpoint — is staged: copied
 * into a managed block for the op, and copied back if the op writes it. Tensors already allocated
 * stay valid after close (see {@link CudaDevice}). As a safety net, {@link #close} puts back the
 * allocator that was current when the backend opened if {@link #allocator()} is still current.
 *
 * <p>Ops: each op is one call of the package-private helper {@code call} (or {@code run}), which
 * takes the device's lock, stages the operands and ends the op (stream synchronisation,
 * copy-back, release of the staging); {@link CudaOptimizerKernels} runs its kernels through the
 * same helper.
 *
 * <p>Precision: the tensor-core work takes bf16 inputs — matmul operands, attention's Q, K, V and
 * dO are cast from fp32 into cached scratch (round to nearest even) — and accumulates in fp32;
 * every other op is fp32 like the CPU. Outputs are fp32.
 *
 * <p>Synchronisation: every op ends with a stream synchronisation, so its results are readable
 * from Java when it returns, and a kernel fault surfaces in the op that caused it. Simple and
 * correct with managed memory; it is also the first thing to optimise (an event per op, or
 * synchronising only before host reads, would let the CPU queue the next op while the GPU works).
 * Ops of all backends on one device are serialised by the device's lock.
 */
public final class CudaBackend implements Backend {
    /** Largest logits chunk of {@link #tokenLogProbs}: rows × vocab columns ≤ this (64 MiB of fp32). */
    public static final long DEFAULT_LOGITS_CHUNK_FLOATS = 1L << 24;
    /** Rows per chunk of {@link #tokenLogProbs}; the vocab is cut so a chunk stays under the float bound. */
    static final long LOGITS_ROW_CHUNK = 8192;

    /** Scratch buffers by use; each grows to the largest size asked and is reused. */
    private enum Role { A, B, C, Q, K, V, DOUT, LOGITS, RUN_MAX, RUN_SUM, LABEL_LOGIT, DELTA }

    private final CudaDevice device;
    private final CudaKernels kernels;
    private final ManagedMemory memory;
    /** Storage's allocator when this backend opened: what {@link #close} puts back if ours is still current. */
    private final Storage.Allocator previous;
    private final long logitsChunkFloats;
    private final Map<Role, long[]> scratch = new EnumMap<>(Role.class); // {address, bytes}
    private boolean closed;

    private CudaBackend(CudaDevice device, long logitsChunkFloats) {
        this.device = device;
        this.kernels = device.kernels();
        this.memory = device.memory();
        this.logitsChunkFloats = logitsChunkFloats;
        this.previous = Storage.allocator();
    }

    /**
     * Why the CUDA backend cannot run here, or empty when it can: the driver or its JavaCPP
     * bindings cannot be loaded (no libcuda.so.1 is the usual reason), there is no device, or the
     * kernels were not built into this jar. Never throws.
     */
    public static Optional<String> unavailableReason() {
        CudaProbe.Result probe = CudaProbe.probe();
        if (!probe.available()) {
            return Optional.of(probe.detail());
        }
        try {
            Loader.load(cublas.class);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            return Optional.of(("cannot load cuBLASLt (" + e.getMessage() + "); is libcublasLt.so.13 of CUDA 13 on "
                    + "LD_LIBRARY_PATH?").replaceAll("\\s+", " "));
        }
        if (!CudaKernels.resourcePresent()) {
            return Optional.of("kernel resource missing: " + CudaKernels.RESOURCE + " is not in this build "
                    + "(janus-kernels built with -Djanus.skipNative=true or without nvcc)");
        }
        return Optional.empty();
    }

    /** The backend on device 0. */
    public static CudaBackend open() {
        return open(0, DEFAULT_LOGITS_CHUNK_FLOATS);
    }

    /**
     * The backend on device {@code ordinal}, whose {@link #tokenLogProbs} materialises at most
     * {@code logitsChunkFloats} logits at a time. Throws {@link IllegalStateException} with the
     * reason when CUDA is unavailable (see {@link #unavailableReason()}).
     */
    public static CudaBackend open(int ordinal, long logitsChunkFloats) {
        if (logitsChunkFloats < 1) {
            throw new IllegalArgumentException("logitsChunkFloats must be >= 1, got " + logitsChunkFloats);
        }
        Optional<String> why = unavailableReason();
        if (why.isPresent()) {
            throw new IllegalStateException("CUDA backend unavailable: " + why.get());
        }
        CudaDevice device;
        try {
            device = CudaDevice.get(ordinal);
        } catch (CudaException | UnsatisfiedLinkError e) {
            throw new IllegalStateException("CUDA backend could not start on device " + ordinal + ": "
                    + e.getMessage(), e);
        }
        synchronized (device) {
            return new CudaBackend(device, logitsChunkFloats);
        }
    }

    @Override
    public String name() {
        return "cuda:" + device.ordinal() + " (" + device.name() + ", sm_" + device.computeCapability() + ")";
    }

    /**
     * The device's caching managed-memory allocator, the same instance for every backend on this
     * device. Install it with {@code Storage.useAllocator(cuda.allocator())} before allocating
     * the tensors the ops will read and write, and put the allocator that call returns back
     * before closing (see the class comment).
     */
    public Storage.Allocator allocator() {
        return memory;
    }

    /** Bytes of managed memory held by janus on this device (live tensors plus the allocator's cache). */
    public long reservedBytes() {
        return memory.reservedBytes();
    }

    // ------------------------------------------------------------------------------ operands

    /**
     * One op's device view of its tensors (see {@link #call}). Tensors in this device's managed
     * memory are used in place; any other storage is staged once per op (aliasing views share the
     * staging) and written back by {@link #finish} when the op writes it. {@link #close} releases
     * the staging.
     */
    private final class Op implements Operands, AutoCloseable {
        private final Map<Storage, long[]> staged = new IdentityHashMap<>(); // {address, written 0/1}

        Op(String name) {
            if (closed) {
                throw new IllegalStateException("CUDA backend was closed: cannot run " + name);
            }
            device.enter();
        }

        @Override
        public long in(Tensor t) {
            return address(t, false);
        }

        @Override
        public long out(Tensor t) {
            return address(t, true);
        }

        private long address(Tensor t, boolean writes) {
            Storage s = t.storage();
            long at = s.address(t.byteOffset());
            if (!s.isBorrowed() && memory.owns(at, Math.max(1, t.byteSize()))) {
                return at;
            }
            long[] stage = staged.get(s);
            if (stage == null) {
                long bytes = Math.max(1, s.byteSize());
                stage = new long[] {memory.acquire(bytes, false), 0};
                staged.put(s, stage);
                device.sync(); // a reused block may still be in use by work queued earlier in this op
                Pointer.memcpy(Cuda.at(stage[0], bytes), s.pointer(0), s.byteSize());
            }
            if (writes) {
                stage[1] = 1;
            }
            return stage[0] + t.byteOffset();
        }

        /** Waits for the op's work, then copies staged outputs back to their storage. */
        void finish() {
            device.sync();
            for (Map.Entry<Storage, long[]> e : staged.entrySet()) {
                if (e.getValue()[1] == 1) {
                    Storage s = e.getKey();
                    Pointer.memcpy(s.pointer(0), Cuda.at(e.getValue()[0], s.byteSize()), s.byteSize());
                }
            }
        }

        @Override
        public void close() {
            List<long[]> blocks = new ArrayList<>(staged.values());
            staged.clear();
            if (!blocks.isEmpty()) {
                device.sync(); // the staging blocks must be idle before reuse
                blocks.forEach(b -> memory.release(b[0]));
            }
        }
    }

    /** A scratch block of at least {@code bytes} for {@code role}; contents undefined. */
    private long scratch(Role role, long bytes) {
        long[] s = scratch.get(role);
        if (s == null || s[1] < bytes) {
            if (s != null) {
                memory.release(s[0]); // stream-ordered: later users of the block queue behind this op
            }
            long size = Math.max(ManagedMemory.MIN_BLOCK, bytes);
            s = new long[] {memory.acquire(size, false), size};
            scratch.put(role, s);
        }
        return s[0];
    }

    /** {@code n} floats at {@code src} rounded to bf16 into the {@code role} scratch; returns its address. */
    private long toBf16(Role role, long src, long n) {
        long dst = scratch(role, Math.max(2, n * 2));
        if (n > 0) {
            kernels.launch(Kernel.CAST_F32_BF16, blocks(n), THREADS, CudaKernels.args().ptr(dst).ptr(src).i64(n));
        }
        return dst;
    }

    private void memset(long address, long bytes) {
        if (bytes > 0) {
            check(cuMemsetD8Async(address, (byte) 0, bytes, device.stream()), "cuMemsetD8Async");
        }
    }

    // ------------------------------------------------------------------------------ matmuls

    /** Row-major {@code out (M, N) = x (M, K)·w (N, K)ᵀ + beta·out}, x and w already bf16. */
    private void gemmXWt(long out, long xb, long wb, long m, long n, long k, float beta) {
        // column-major: outᵀ (N×M) = w (N×K as Kᵀ-layout, transposed) · xᵀ (K×M)
        device.gemm().gemm(true, false, n, m, k, wb, k, xb, k, beta, out, n);
    }

    /** Row-major {@code dx (M, K) = dOut (M, N)·w (N, K) + beta·dx}, dOut and w already bf16. */
    private void gemmDoutW(long dx, long dOutB, long wb, long m, long n, long k, float beta) {
        // column-major: dxᵀ (K×M) = wᵀ (K×N) · dOutᵀ (N×M)
        device.gemm().gemm(false, false, k, m, n, wb, k, dOutB, n, beta, dx, k);
    }

    /** Row-major {@code dw (N, K) += dOut (M, N)ᵀ·x (M, K)}, dOut and x already bf16. */
    private void gemmDoutTX(long dw, long dOutB, long xb, long m, long n, long k) {
        // column-major: dwᵀ (K×N) = xᵀ (K×M) · dOut (M×N), dOut read as the transpose of dOutᵀ (N×M)
        device.gemm().gemm(false, true, k, n, m, xb, k, dOutB, n, 1f, dw, k);
    }

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w, boolean accumulate) {
        long m = x.dim(0), k = x.dim(1), n = w.dim(0);
        ShapeCheck.matmul(out, x, w);
        run("matmul", op -> {
            long o = op.out(out);
            if (m > 0 && n > 0) {
                if (k == 0) {
                    if (!accumulate) {
                        memset(o, out.byteSize());
                    }
                } else {
                    long xb = toBf16(Role.A, op.in(x), m * k), wb = toBf16(Role.B, op.in(w), n * k);
                    gemmXWt(o, xb, wb, m, n, k, accumulate ? 1f : 0f);
                }
            }
        });
    }

    @Override
    public void matmulInputGradient(Tensor dx, Tensor dOut, Tensor w, boolean accumulate) {
        long m = dOut.dim(0), n = dOut.dim(1), k = w.dim(1);
        ShapeCheck.matmulInputGradient(dx, dOut, w);
        run("matmulInputGradient", op -> {
            long o = op.out(dx);
            if (m > 0 && k > 0) {
                if (n == 0) {
                    if (!accumulate) {
                        memset(o, dx.byteSize());
                    }
                } else {
                    long gb = toBf16(Role.A, op.in(dOut), m * n), wb = toBf16(Role.B, op.in(w), n * k);
                    gemmDoutW(o, gb, wb, m, n, k, accumulate ? 1f : 0f);
                }
            }
        });
    }

    @Override
    public void matmulWeightGradient(Tensor dw, Tensor dOut, Tensor x) {
        long m = dOut.dim(0), n = dOut.dim(1), k = x.dim(1);
        ShapeCheck.matmulWeightGradient(dw, dOut, x);
        run("matmulWeightGradient", op -> {
            long o = op.out(dw);
            if (m > 0 && n > 0 && k > 0) {
                long gb = toBf16(Role.A, op.in(dOut), m * n), xb = toBf16(Role.B, op.in(x), m * k);
                gemmDoutTX(o, gb, xb, m, n, k);
            }
        });
    }

    // ------------------------------------------------------------------------------ element-wise and rows

    @Override
    public void embedding(Tensor out, Tensor table, Tensor ids) {
        long vocab = table.dim(0), c = table.dim(1), n = ids.dim(0);
        ShapeCheck.embedding("out", out, "table", table, ids);
        ShapeCheck.tokenIds(ids.toIntArray(), vocab);
        run("embedding", op -> {
            if (n > 0 && c > 0) {
                kernels.launch(Kernel.EMBEDDING_FORWARD, n, THREADS, CudaKernels.args().ptr(op.out(out))
                        .ptr(op.in(table)).ptr(op.in(ids)).i32(toInt("n", n)).i32(toInt("c", c)));
            }
        });
    }

    @Override
    public void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids) {
        long vocab = dTable.dim(0), c = dTable.dim(1), n = ids.dim(0);
        ShapeCheck.embedding("dOut", dOut, "dTable", dTable, ids);
        ShapeCheck.tokenIds(ids.toIntArray(), vocab);
        run("embeddingBackward", op -> {
            if (n > 0 && c > 0) {
                kernels.launch(Kernel.EMBEDDING_BACKWARD, blocks(c), THREADS, CudaKernels.args()
                        .ptr(op.out(dTable)).ptr(op.in(dOut)).ptr(op.in(ids)).i32(toInt("n", n)).i32(toInt("c", c)));
            }
        });
    }

    @Override
    public void rmsNorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        long n = x.dim(0), c = x.dim(1);
        ShapeCheck.rmsNorm(out, rstd, x, weight);
        run("rmsNorm", op -> {
            if (n > 0) {
                kernels.launch(Kernel.RMSNORM_FORWARD, n, THREADS, CudaKernels.args().ptr(op.out(out))
                        .ptr(op.out(rstd)).ptr(op.in(x)).ptr(op.in(weight)).i32(toInt("n", n)).i32(toInt("c", c))
                        .f32(eps));
            }
        });
    }

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        long n = x.dim(0), c = x.dim(1);
        ShapeCheck.rmsNormBackward(dx, dWeight, dOut, x, weight, rstd);
        run("rmsNormBackward", op -> {
            if (n > 0 && c > 0) {
                int ni = toInt("n", n), ci = toInt("c", c);
                long dOutA = op.in(dOut), xA = op.in(x), rstdA = op.in(rstd);
                kernels.launch(Kernel.RMSNORM_BACKWARD_DX, n, THREADS, CudaKernels.args().ptr(op.out(dx))
                        .ptr(dOutA).ptr(xA).ptr(op.in(weight)).ptr(rstdA).i32(ni).i32(ci));
                kernels.launch(Kernel.RMSNORM_BACKWARD_DW, blocks(c), THREADS, CudaKernels.args()
                        .ptr(op.out(dWeight)).ptr(dOutA).ptr(xA).ptr(rstdA).i32(ni).i32(ci));
            }
        });
    }

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin) {
        rotate("rope", x, cos, sin, 1f);
    }

    @Override
    public void ropeBackward(Tensor dx, Tensor cos, Tensor sin) {
        rotate("ropeBackward", dx, cos, sin, -1f); // the transpose of a rotation is the rotation by the opposite angle
    }

    private void rotate(String name, Tensor x, Tensor cos, Tensor sin, float sinSign) {
        long n = x.dim(0), heads = x.dim(1), d = x.dim(2);
        ShapeCheck.rope(x, cos, sin);
        run(name, op -> {
            long pairs = heads * d / 2;
            if (n > 0 && pairs > 0) {
                int block = (int) Math.min(1024, (pairs + 31) / 32 * 32);
                kernels.launch(Kernel.ROPE, n, block, CudaKernels.args().ptr(op.out(x)).ptr(op.in(cos))
                        .ptr(op.in(sin)).i32(toInt("n", n)).i32(toInt("heads", heads)).i32(toInt("d", d))
                        .f32(sinSign));
            }
        });
    }

    @Override
    public void swiglu(Tensor out, Tensor gate, Tensor up) {
        long n = gate.dim(0), f = gate.dim(1);
        ShapeCheck.swiglu(out, gate, up);
        long count = n * f;
        run("swiglu", op -> {
            if (count > 0) {
                kernels.launch(Kernel.SWIGLU_FORWARD, blocks(count), THREADS, CudaKernels.args().ptr(op.out(out))
                        .ptr(op.in(gate)).ptr(op.in(up)).i64(count));
            }
        });
    }

    @Override
    public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up) {
        long n = gate.dim(0), f = gate.dim(1);
        ShapeCheck.swigluBackward(dGate, dUp, dOut, gate, up);
        long count = n * f;
        run("swigluBackward", op -> {
            if (count > 0) {
                kernels.launch(Kernel.SWIGLU_BACKWARD, blocks(count), THREADS, CudaKernels.args()
                        .ptr(op.out(dGate)).ptr(op.out(dUp)).ptr(op.in(dOut)).ptr(op.in(gate)).ptr(op.in(up))
                        .i64(count));
            }
        });
    }

    @Override
    public void add(Tensor acc, Tensor x) {
        ShapeCheck.add(acc, x);
        long count = acc.numel();
        run("add", op -> {
            if (count > 0) {
                kernels.launch(Kernel.ADD, blocks(count), THREADS, CudaKernels.args().ptr(op.out(acc))
                        .ptr(op.in(x)).i64(count));
            }
        });
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        ShapeCheck.copy(dst, src);
        run("copy", op -> {
            if (src.byteSize() > 0) {
                check(cuMemcpyAsync(op.out(dst), op.in(src), src.byteSize(), device.stream()), "cuMemcpyAsync");
            }
        });
    }

    @Override
    public void zero(Tensor t) {
        run("zero", op -> {
            memset(op.out(t), t.byteSize());
        });
    }

    // ------------------------------------------------------------------------------ attention

    /** The shapes, offsets and launch extents of one attention call, checked as the CPU checks them. */
    private record AttentionShape(long nq, long heads, long d, long nk, long kvHeads, int sequences, int maxSeqQ,
                                  int maxSeqK) {
        static AttentionShape of(Tensor q, Tensor k, Tensor v, Tensor cuQ, Tensor cuK) {
            long nq = q.dim(0), heads = q.dim(1), d = q.dim(2), nk = k.dim(0), kvHeads = k.dim(1);
            f32("q", q, nq, heads, d);
            f32("k", k, nk, kvHeads, d);
            f32("v", v, nk, kvHeads, d);
            if (kvHeads == 0 || heads % kvHeads != 0) {
                throw new IllegalArgumentException("q heads " + heads + " must be a multiple of kv heads " + kvHeads);
            }
            if (d % 16 != 0 || d < 16 || d > CudaKernels.FA_MAX_D) {
                throw new IllegalArgumentException("q: the CUDA attention supports head dims that are multiples of 16 "
                        + "from 16 to " + CudaKernels.FA_MAX_D + ", got " + d);
            }
            int[] offQ = ShapeCheck.cuSeqlens("cuSeqlensQ", cuQ, nq);
            int[] offK = ShapeCheck.cuSeqlens("cuSeqlensK", cuK, nk);
            if (offQ.length != offK.length) {
                throw new IllegalArgumentException("cuSeqlensQ has " + (offQ.length - 1)
                        + " sequences but cuSeqlensK has " + (offK.length - 1));
            }
            int maxQ = 0, maxK = 0;
            for (int s = 1; s < offQ.length; s++) {
                maxQ = Math.max(maxQ, offQ[s] - offQ[s - 1]);
                maxK = Math.max(maxK, offK[s] - offK[s - 1]);
            }
            return new AttentionShape(nq, heads, d, nk, kvHeads, offQ.length - 1, maxQ, maxK);
        }

        /** The mask and scale arguments every attention kernel ends with: h, kvh, d, causal, window, scale. */
        CudaKernels.Args tail(CudaKernels.Args a, AttentionSpec spec) {
            return a.i32((int) heads).i32((int) kvHeads).i32((int) d).i32(spec.causal() ? 1 : 0)
                    .i32(spec.hasWindow() ? spec.window() : -1).f32(spec.scale());
        }
    }

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                          Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec) {
        AttentionShape s = AttentionShape.of(q, k, v, cuSeqlensQ, cuSeqlensK);
        f32("out", out, s.nq(), s.heads(), s.d());
        f32("lse", lse, s.nq(), s.heads());
        run("attention", op -> {
            if (s.maxSeqQ() > 0) {
                aligned8("out", op.out(out));
                long qb = toBf16(Role.Q, op.in(q), q.numel());
                long kb = toBf16(Role.K, op.in(k), k.numel());
                long vb = toBf16(Role.V, op.in(v), v.numel());
                kernels.launch(Kernel.FLASH_FORWARD, ceilDiv(s.maxSeqQ(), CudaKernels.FA_BLOCK_M), s.heads(),
                        s.sequences(), CudaKernels.FA_THREADS, s.tail(CudaKernels.args().ptr(op.out(out))
                                .ptr(op.out(lse)).ptr(qb).ptr(kb).ptr(vb).ptr(op.in(cuSeqlensQ))
                                .ptr(op.in(cuSeqlensK)), spec));
            }
        });
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
                                  Tensor out, Tensor lse, Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec) {
        AttentionShape s = AttentionShape.of(q, k, v, cuSeqlensQ, cuSeqlensK);
        f32("out", out, s.nq(), s.heads(), s.d());
        f32("lse", lse, s.nq(), s.heads());
        f32("dOut", dOut, s.nq(), s.heads(), s.d());
        f32("dq", dq, s.nq(), s.heads(), s.d());
        f32("dk", dk, s.nk(), s.kvHeads(), s.d());
        f32("dv", dv, s.nk(), s.kvHeads(), s.d());
        run("attentionBackward", op -> {
            long dqA = aligned8("dq", op.out(dq)), dkA = aligned8("dk", op.out(dk)), dvA = aligned8("dv", op.out(dv));
            if (s.maxSeqQ() == 0 || s.maxSeqK() == 0) {
                // no query sees a key: every gradient is 0
                memset(dqA, dq.byteSize());
                memset(dkA, dk.byteSize());
                memset(dvA, dv.byteSize());
            } else {
                long rows = s.nq() * s.heads();
                long delta = scratch(Role.DELTA, rows * 4);
                kernels.launch(Kernel.FLASH_BACKWARD_DELTA, (rows + 7) / 8, THREADS, CudaKernels.args().ptr(delta)
                        .ptr(op.in(dOut)).ptr(op.in(out)).i32(toInt("nq", s.nq())).i32((int) s.heads())
                        .i32((int) s.d()));
                long qb = toBf16(Role.Q, op.in(q), q.numel());
                long kb = toBf16(Role.K, op.in(k), k.numel());
                long vb = toBf16(Role.V, op.in(v), v.numel());
                long gb = toBf16(Role.DOUT, op.in(dOut), dOut.numel());
                long lseA = op.in(lse), cuQ = op.in(cuSeqlensQ), cuK = op.in(cuSeqlensK);
                kernels.launch(Kernel.FLASH_BACKWARD_DKDV, ceilDiv(s.maxSeqK(), CudaKernels.FA_BLOCK_N),
                        s.kvHeads(), s.sequences(), CudaKernels.FA_THREADS, s.tail(CudaKernels.args().ptr(dkA)
                                .ptr(dvA).ptr(qb).ptr(kb).ptr(vb).ptr(gb).ptr(lseA).ptr(delta).ptr(cuQ).ptr(cuK),
                                spec));
                kernels.launch(Kernel.FLASH_BACKWARD_DQ, ceilDiv(s.maxSeqQ(), CudaKernels.FA_BLOCK_M), s.heads(),
                        s.sequences(), CudaKernels.FA_THREADS, s.tail(CudaKernels.args().ptr(dqA).ptr(qb).ptr(kb)
                                .ptr(vb).ptr(gb).ptr(lseA).ptr(delta).ptr(cuQ).ptr(cuK), spec));
            }
        });
    }

    // ------------------------------------------------------------------------------ log-probs

    /** Rows per chunk and vocab columns per chunk for {@code n} rows over a vocab of {@code vocab}. */
    private long[] logitsChunks(long n, long vocab) {
        long rows = Math.max(1, Math.min(n, Math.min(LOGITS_ROW_CHUNK, logitsChunkFloats)));
        long cols = Math.max(1, Math.min(vocab, logitsChunkFloats / rows));
        return new long[] {rows, cols};
    }

    @Override
    public void tokenLogProbs(Tensor logp, Tensor lse, Tensor hidden, Tensor lmHead, Tensor labels) {
        long n = hidden.dim(0), c = hidden.dim(1), vocab = lmHead.dim(0);
        ShapeCheck.tokenLogProbs(logp, lse, hidden, lmHead, labels);
        ShapeCheck.labels(labels.toIntArray(), vocab);
        if (n > 0 && vocab == 0) {
            throw new IllegalArgumentException("lmHead: an empty vocabulary has no log-probabilities, got " + lmHead);
        }
        long[] chunk = logitsChunks(n, vocab);
        run("tokenLogProbs", op -> {
            long h = op.in(hidden), w = op.in(lmHead), y = op.in(labels), lp = op.out(logp), ls = op.out(lse);
            long logits = scratch(Role.LOGITS, chunk[0] * chunk[1] * 4);
            long runMax = scratch(Role.RUN_MAX, chunk[0] * 4), runSum = scratch(Role.RUN_SUM, chunk[0] * 4);
            long label = scratch(Role.LABEL_LOGIT, chunk[0] * 4);
            for (long r0 = 0; r0 < n; r0 += chunk[0]) {
                long rows = Math.min(chunk[0], n - r0);
                long hb = toBf16(Role.A, h + r0 * c * 4, rows * c);
                long yRows = y + r0 * 4;
                for (long v0 = 0; v0 < vocab; v0 += chunk[1]) {
                    long cols = Math.min(chunk[1], vocab - v0);
                    chunkLogits(logits, hb, w + v0 * c * 4, rows, cols, c);
                    kernels.launch(Kernel.LOGPROBS_CHUNK_FORWARD, rows, THREADS, CudaKernels.args().ptr(runMax)
                            .ptr(runSum).ptr(label).ptr(logits).ptr(yRows).i32((int) rows).i32(toInt("vChunk", cols))
                            .i32(toInt("vOffset", v0)).i32(v0 == 0 ? 1 : 0));
                }
                kernels.launch(Kernel.LOGPROBS_FINALIZE, blocks(rows), THREADS, CudaKernels.args().ptr(lp + r0 * 4)
                        .ptr(ls + r0 * 4).ptr(runMax).ptr(runSum).ptr(label).ptr(yRows).i32((int) rows));
            }
        });
    }

    /** {@code logits (rows, cols) = hidden rows (bf16 at hb) · lmHead rows [v0, v0 + cols)ᵀ} (fp32 at w). */
    private void chunkLogits(long logits, long hb, long w, long rows, long cols, long c) {
        if (c == 0) {
            memset(logits, rows * cols * 4);
            return;
        }
        long wb = toBf16(Role.B, w, cols * c);
        gemmXWt(logits, hb, wb, rows, cols, c, 0f);
    }

    @Override
    public void tokenLogProbsBackward(Tensor dHidden, Tensor dLmHead, Tensor dLogp, Tensor hidden, Tensor lmHead,
                                      Tensor labels, Tensor lse) {
        long n = hidden.dim(0), c = hidden.dim(1), vocab = lmHead.dim(0);
        ShapeCheck.tokenLogProbsBackward(dHidden, dLmHead, dLogp, hidden, lmHead, labels, lse);
        ShapeCheck.labels(labels.toIntArray(), vocab);
        if (n > 0 && vocab == 0) {
            throw new IllegalArgumentException("lmHead: an empty vocabulary has no log-probabilities, got " + lmHead);
        }
        long[] chunk = logitsChunks(n, vocab);
        run("tokenLogProbsBackward", op -> {
            long h = op.in(hidden), w = op.in(lmHead), y = op.in(labels), g = op.in(dLogp), ls = op.in(lse);
            long dh = op.out(dHidden), dw = op.out(dLmHead);
            long logits = scratch(Role.LOGITS, chunk[0] * chunk[1] * 4);
            for (long r0 = 0; r0 < n && c > 0; r0 += chunk[0]) {
                long rows = Math.min(chunk[0], n - r0);
                long hb = toBf16(Role.A, h + r0 * c * 4, rows * c);
                for (long v0 = 0; v0 < vocab; v0 += chunk[1]) {
                    long cols = Math.min(chunk[1], vocab - v0);
                    chunkLogits(logits, hb, w + v0 * c * 4, rows, cols, c); // leaves lmHead's chunk in Role.B
                    long wb = scratch(Role.B, cols * c * 2);
                    // logits ← dz = dLogp·(onehot(y) − softmax(z)), softmax from the forward's lse
                    kernels.launch(Kernel.LOGPROBS_CHUNK_BACKWARD, rows, THREADS, CudaKernels.args().ptr(logits)
                            .ptr(logits).ptr(ls + r0 * 4).ptr(g + r0 * 4).ptr(y + r0 * 4).i32((int) rows)
                            .i32(toInt("vChunk", cols)).i32(toInt("vOffset", v0)));
                    long dzb = toBf16(Role.C, logits, rows * cols);
                    gemmDoutW(dh + r0 * c * 4, dzb, wb, rows, cols, c, v0 == 0 ? 0f : 1f);
                    gemmDoutTX(dw + v0 * c * 4, dzb, hb, rows, cols, c);
                }
            }
        });
    }

    // ------------------------------------------------------------------------------ helpers for this package

    /** The device the ops run on (for {@link CudaOptimizerKernels}). */
    CudaDevice device() {
        return device;
    }

    /**
     * Runs {@code body} as the op {@code name}: on the device's lock, with the device's context
     * current, its operands staged where they are not in managed memory ({@link Operands}), and
     * finished by a stream synchronisation and the copy-back of staged outputs; the staging is
     * released however the body ends. Every op of this backend and of
     * {@link CudaOptimizerKernels} is one call of this (or of {@link #run(String, Consumer)}).
     * Throws {@link IllegalStateException} once the backend is closed.
     */
    <T> T call(String name, Function<Operands, T> body) {
        synchronized (device) {
            try (Op op = new Op(name)) {
                T result = body.apply(op);
                op.finish();
                return result;
            }
        }
    }

    /** {@link #call} for an op that returns nothing. */
    void run(String name, Consumer<Operands> body) {
        call(name, op -> {
            body.accept(op);
            return null;
        });
    }

    /** Device addresses of an op's tensors (staged when they are not in managed memory). */
    interface Operands {
        /** The address of a tensor the op reads. */
        long in(Tensor t);

        /** The address of a tensor the op writes (copied back after the op when it was staged). */
        long out(Tensor t);
    }

    /** The attention kernels store fp32 outputs two at a time (KERNELS.md, "Changes" 4): 8-byte alignment. */
    private static long aligned8(String name, long address) {
        if ((address & 7) != 0) {
            throw new IllegalArgumentException(name + ": the CUDA attention needs an 8-byte aligned output, got a view "
                    + "at address 0x" + Long.toHexString(address));
        }
        return address;
    }

    private static int toInt(String name, long value) {
        if (value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + " = " + value + " exceeds the kernels' 32-bit int argument");
        }
        return (int) value;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * Frees the scratch and gives the allocator's cached blocks back to the driver. A safety net:
     * if {@link #allocator()} is still Storage's allocator, puts back the one that was current
     * when this backend opened (the caller should have done so already).
     */
    @Override
    public void close() {
        synchronized (device) {
            if (closed) {
                return;
            }
            closed = true;
            device.enter();
            device.sync();
            scratch.values().forEach(s -> memory.release(s[0]));
            scratch.clear();
            if (Storage.allocator() == memory) {
                Storage.useAllocator(previous);
            }
            memory.trim();
        }
    }
}
