package ai.janus.kernels;

import static ai.janus.kernels.Cuda.check;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;
import static org.bytedeco.cuda.global.cudart.CU_STREAM_NON_BLOCKING;
import static org.bytedeco.cuda.global.cudart.cuCtxSetCurrent;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetAttribute;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetCount;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetName;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRetain;
import static org.bytedeco.cuda.global.cudart.cuInit;
import static org.bytedeco.cuda.global.cudart.cuStreamCreate;
import static org.bytedeco.cuda.global.cudart.cuStreamSynchronize;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUstream_st;

/**
 * One GPU as janus uses it: the device's primary context, one non-blocking stream, the caching
 * managed-memory allocator, the loaded kernel module and the cuBLASLt handle.
 *
 * <p>Lifetime: one per device ordinal, created on first use and kept for the life of the process.
 * Tensors allocated from its {@link ManagedMemory} may outlive any backend (they are freed when
 * collected), so the context and the allocator must outlive them too; a backend's close trims the
 * cache (and restores the previous allocator if this one is still installed) instead of tearing
 * the device down.
 *
 * <p>Every CUDA entry point first calls {@link #enter()} (the driver's current context is per
 * thread). The ops of all backends on one device run under this object's lock.
 */
final class CudaDevice {
    private static final Map<Integer, CudaDevice> OPEN = new HashMap<>();

    private final int ordinal;
    private final String name;
    private final int computeCapability;
    private final int multiprocessors;
    private final boolean concurrentManagedAccess;
    private final CUctx_st context;
    private final CUstream_st stream;
    private final ManagedMemory memory;
    private final CudaKernels kernels;
    private final CublasLtGemm gemm;

    private CudaDevice(int ordinal) {
        check(cuInit(0), "cuInit");
        int[] count = new int[1];
        check(cuDeviceGetCount(count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count[0]) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " does not exist (" + count[0] + " found)");
        }
        int[] dev = new int[1];
        check(cuDeviceGet(dev, ordinal), "cuDeviceGet");
        this.ordinal = ordinal;
        byte[] raw = new byte[256];
        check(cuDeviceGetName(raw, raw.length, dev[0]), "cuDeviceGetName");
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        this.name = new String(raw, 0, end, StandardCharsets.UTF_8);
        this.computeCapability = 10 * attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev[0])
                + attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev[0]);
        this.multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev[0]);
        this.concurrentManagedAccess = attribute(CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS, dev[0]) != 0;
        this.context = new CUctx_st();
        check(cuDevicePrimaryCtxRetain(context, dev[0]), "cuDevicePrimaryCtxRetain");
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        this.stream = new CUstream_st();
        check(cuStreamCreate(stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        this.memory = new ManagedMemory(this);
        this.kernels = CudaKernels.load(this);
        this.gemm = new CublasLtGemm(this);
    }

    /** The device of this ordinal, opened on first use. Throws {@link CudaException} when CUDA fails. */
    static synchronized CudaDevice get(int ordinal) {
        CudaDevice d = OPEN.get(ordinal);
        if (d == null) {
            d = new CudaDevice(ordinal);
            OPEN.put(ordinal, d);
        }
        return d;
    }

    private static int attribute(int which, int dev) {
        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, which, dev), "cuDeviceGetAttribute(" + which + ")");
        return v[0];
    }

    /** Makes this device's context current on the calling thread. */
    void enter() {
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    /** Waits for everything queued on the stream; a kernel's asynchronous error surfaces here. */
    void sync() {
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    int ordinal() {
        return ordinal;
    }

    String name() {
        return name;
    }

    /** 80 for sm_80, 90 for sm_90. */
    int computeCapability() {
        return computeCapability;
    }

    int multiprocessors() {
        return multiprocessors;
    }

    boolean concurrentManagedAccess() {
        return concurrentManagedAccess;
    }

    CUstream_st stream() {
        return stream;
    }

    ManagedMemory memory() {
        return memory;
    }

    CudaKernels kernels() {
        return kernels;
    }

    CublasLtGemm gemm() {
        return gemm;
    }
}
