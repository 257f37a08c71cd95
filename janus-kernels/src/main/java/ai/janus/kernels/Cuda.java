package ai.janus.kernels;

import static org.bytedeco.cuda.global.cudart.CUDA_SUCCESS;
import static org.bytedeco.cuda.global.cudart.cuGetErrorName;
import static org.bytedeco.cuda.global.cudart.cuGetErrorString;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/** Status checks and raw-address pointers shared by the classes of this package. */
final class Cuda {
    private Cuda() {}

    /** Throws {@link CudaException} naming {@code call} unless a driver call returned CUDA_SUCCESS. */
    static void check(int status, String call) {
        if (status != CUDA_SUCCESS) {
            throw new CudaException(call + " failed: " + describe(status), status);
        }
    }

    /** Throws unless a cuBLASLt call returned CUBLAS_STATUS_SUCCESS. */
    static void checkBlas(int status, String call) {
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            BytePointer s = cublas.cublasLtGetStatusString(status);
            throw new CudaException(call + " failed: " + (s == null || s.isNull() ? "status " + status : s.getString()),
                    status);
        }
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", or the number when the driver has no name for it. */
    static String describe(int status) {
        try (PointerPointer<BytePointer> name = new PointerPointer<>(1);
             PointerPointer<BytePointer> text = new PointerPointer<>(1)) {
            String n = cuGetErrorName(status, name) == CUDA_SUCCESS ? string(name) : null;
            String t = cuGetErrorString(status, text) == CUDA_SUCCESS ? string(text) : null;
            n = n == null ? "CUresult " + status : n;
            return t == null ? n : n + " (" + t + ")";
        }
    }

    private static String string(PointerPointer<BytePointer> out) {
        Pointer p = out.get(0);
        return p == null || p.isNull() ? null : new BytePointer(p).getString();
    }

    /** A JavaCPP pointer at a raw (device, managed or host) address; it owns nothing. */
    static Pointer at(long address) {
        return new Raw(address, 0);
    }

    /** A JavaCPP pointer at a raw address with a capacity, for Java views of managed memory. */
    static Pointer at(long address, long bytes) {
        return new Raw(address, bytes);
    }

    private static final class Raw extends Pointer {
        Raw(long address, long bytes) {
            this.address = address;
            this.capacity = bytes;
            this.limit = bytes;
        }
    }
}
