package ai.janus.kernels;

/** A CUDA driver, runtime or cuBLASLt call that failed: the call and the library's own words for the status. */
public final class CudaException extends RuntimeException {
    private final int status;

    public CudaException(String message, int status) {
        super(message);
        this.status = status;
    }

    /** The library's status code (CUresult or cublasStatus_t). */
    public int status() {
        return status;
    }
}
