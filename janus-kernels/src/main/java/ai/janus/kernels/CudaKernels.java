package ai.janus.kernels;

import static ai.janus.kernels.Cuda.check;
import static org.bytedeco.cuda.global.cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static org.bytedeco.cuda.global.cudart.cuFuncSetAttribute;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The kernels built from {@code native/} (one fatbinary on the classpath, loaded with
 * {@code cuModuleLoadData}) and their launches. The contract — names, argument lists, launch
 * geometry, constants — is {@code native/KERNELS.md}; the constants here mirror
 * {@code native/janus_common.cuh} (a test compares them).
 *
 * <p>Every launch boxes each argument in its own host cell ({@link LongPointer},
 * {@link IntPointer} or {@link FloatPointer} of length 1) and passes the array of their
 * addresses as {@code kernelParams}; the driver copies the values during {@code cuLaunchKernel},
 * so the cells are freed right after it.
 */
final class CudaKernels {
    /** The classpath resource nvcc's fatbinary is packaged as (KERNELS.md, "Changes" 5). */
    static final String RESOURCE = "ai/janus/kernels/janus_kernels.fatbin";

    /** Block size of every non-attention kernel ({@code JANUS_THREADS}). */
    static final int THREADS = 256;
    /** Query rows per attention CTA ({@code FA_BLOCK_M}). */
    static final int FA_BLOCK_M = 64;
    /** Key rows per attention CTA of the dK/dV pass ({@code FA_BLOCK_N}). */
    static final int FA_BLOCK_N = 64;
    /** Threads of every attention CTA ({@code FA_THREADS}). */
    static final int FA_THREADS = 128;
    /** Largest supported head dim ({@code FA_MAX_D}); head dims must be multiples of 16. */
    static final int FA_MAX_D = 128;
    static final int FA_FWD_SMEM_BYTES = 52224;
    static final int FA_DKDV_SMEM_BYTES = 52480;
    static final int FA_DQ_SMEM_BYTES = 69632;
    /** Elements per 8-bit AdamW quantization block, one CTA each ({@code ADAMW8_BLOCK}). */
    static final int ADAMW8_BLOCK = 2048;
    /** Elements each CTA of janus_sum_squares_partial covers before the grid is capped. */
    static final int SUM_SQUARES_ELEMENTS_PER_BLOCK = 4096;
    static final int SUM_SQUARES_MAX_BLOCKS = 1024;

    /** Every kernel of KERNELS.md, with its dynamic shared memory (0: static only). */
    enum Kernel {
        CAST_F32_BF16("janus_cast_f32_bf16", 0),
        CAST_BF16_F32("janus_cast_bf16_f32", 0),
        EMBEDDING_FORWARD("janus_embedding_forward", 0),
        EMBEDDING_BACKWARD("janus_embedding_backward", 0),
        RMSNORM_FORWARD("janus_rmsnorm_forward", 0),
        RMSNORM_BACKWARD_DX("janus_rmsnorm_backward_dx", 0),
        RMSNORM_BACKWARD_DW("janus_rmsnorm_backward_dw", 0),
        ROPE("janus_rope", 0),
        SWIGLU_FORWARD("janus_swiglu_forward", 0),
        SWIGLU_BACKWARD("janus_swiglu_backward", 0),
        ADD("janus_add", 0),
        FLASH_FORWARD("janus_flash_attention_forward", FA_FWD_SMEM_BYTES),
        FLASH_BACKWARD_DELTA("janus_flash_attention_backward_delta", 0),
        FLASH_BACKWARD_DKDV("janus_flash_attention_backward_dkdv", FA_DKDV_SMEM_BYTES),
        FLASH_BACKWARD_DQ("janus_flash_attention_backward_dq", FA_DQ_SMEM_BYTES),
        LOGPROBS_CHUNK_FORWARD("janus_logprobs_chunk_forward", 0),
        LOGPROBS_FINALIZE("janus_logprobs_finalize", 0),
        LOGPROBS_CHUNK_BACKWARD("janus_logprobs_chunk_backward", 0),
        ADAMW_STEP("janus_adamw_step", 0),
        ADAMW8BIT_STEP("janus_adamw8bit_step", 0),
        ADAMW8BIT_FP32STATE_STEP("janus_adamw8bit_fp32state_step", 0),
        SUM_SQUARES_PARTIAL("janus_sum_squares_partial", 0),
        SUM_FINALIZE("janus_sum_finalize", 0),
        SCALE("janus_scale", 0);

        final String symbol;
        final int dynamicSharedBytes;

        Kernel(String symbol, int dynamicSharedBytes) {
            this.symbol = symbol;
            this.dynamicSharedBytes = dynamicSharedBytes;
        }
    }

    /** A kernel's arguments in ABI order, each in its own host cell. */
    static final class Args {
        private final List<Pointer> cells = new ArrayList<>();

        /** A device (or managed) address: {@code T*}. */
        Args ptr(long address) {
            return i64(address);
        }

        /** {@code long long}. */
        Args i64(long value) {
            cells.add(new LongPointer(1).put(value));
            return this;
        }

        /** {@code int}. */
        Args i32(int value) {
            cells.add(new IntPointer(1).put(value));
            return this;
        }

        /** {@code float}. */
        Args f32(float value) {
            cells.add(new FloatPointer(1).put(value));
            return this;
        }

        int size() {
            return cells.size();
        }
    }

    /** The arguments of a kernel, to be filled in order. */
    static Args args() {
        return new Args();
    }

    private final CudaDevice device;
    private final CUmod_st module;
    private final Map<Kernel, CUfunc_st> functions = new EnumMap<>(Kernel.class);

    private CudaKernels(CudaDevice device, CUmod_st module) {
        this.device = device;
        this.module = module;
    }

    /** Loads the fatbinary resource into the device's context and looks up every kernel. */
    static CudaKernels load(CudaDevice device) {
        byte[] image = fatbinary();
        CUmod_st module = new CUmod_st();
        try (BytePointer data = new BytePointer(image)) {
            check(cuModuleLoadData(module, data), "cuModuleLoadData(" + RESOURCE + ", " + image.length + " bytes) on "
                    + device.name() + " (sm_" + device.computeCapability() + ")");
        }
        CudaKernels k = new CudaKernels(device, module);
        for (Kernel kernel : Kernel.values()) {
            CUfunc_st f = new CUfunc_st();
            check(cuModuleGetFunction(f, module, kernel.symbol), "cuModuleGetFunction(" + kernel.symbol + ")");
            if (kernel.dynamicSharedBytes > 0) {
                check(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, kernel.dynamicSharedBytes),
                        "cuFuncSetAttribute(" + kernel.symbol + ", max dynamic shared " + kernel.dynamicSharedBytes + ")");
            }
            k.functions.put(kernel, f);
        }
        return k;
    }

    /** True when the build packaged the kernels (a build with -Djanus.skipNative=true does not). */
    static boolean resourcePresent() {
        return CudaKernels.class.getClassLoader().getResource(RESOURCE) != null;
    }

    private static byte[] fatbinary() {
        try (InputStream in = CudaKernels.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("kernel resource missing: " + RESOURCE
                        + " is not on the classpath (janus-kernels built with -Djanus.skipNative=true or without nvcc)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    /** Launches with a 1-D grid. */
    void launch(Kernel kernel, long gridX, int block, Args args) {
        launch(kernel, gridX, 1, 1, block, args);
    }

    /**
     * Launches {@code kernel} on the device's stream with grid (x, y, z) and {@code block}
     * threads, the kernel's dynamic shared memory and {@code args}. Asynchronous: errors of the
     * kernel itself surface at the next synchronisation.
     */
    void launch(Kernel kernel, long gridX, long gridY, long gridZ, int block, Args args) {
        if (gridX <= 0 || gridY <= 0 || gridZ <= 0) {
            throw new IllegalArgumentException(kernel.symbol + ": empty grid (" + gridX + ", " + gridY + ", " + gridZ
                    + "); callers skip launches over nothing");
        }
        if (gridX > Integer.MAX_VALUE || gridY > 65535 || gridZ > 65535) {
            throw new IllegalArgumentException(kernel.symbol + ": grid (" + gridX + ", " + gridY + ", " + gridZ
                    + ") exceeds CUDA's limits (2^31-1, 65535, 65535)");
        }
        try (PointerPointer<Pointer> params = new PointerPointer<>(args.cells.toArray(new Pointer[0]))) {
            check(cuLaunchKernel(functions.get(kernel), (int) gridX, (int) gridY, (int) gridZ, block, 1, 1,
                    kernel.dynamicSharedBytes, device.stream(), params, (PointerPointer<?>) null),
                    "cuLaunchKernel(" + kernel.symbol + ")");
        } finally {
            args.cells.forEach(Pointer::close);
        }
    }

    /** Blocks of {@link #THREADS} covering {@code n} elements. */
    static long blocks(long n) {
        return (n + THREADS - 1) / THREADS;
    }
}
