package ai.janus.kernels;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Loader;

/**
 * Whether CUDA is usable on this machine. Without a driver, loading the JavaCPP cudart bindings
 * throws {@link UnsatisfiedLinkError} (libcuda.so.1 missing is the usual cause); with a driver but
 * no device, {@code cudaGetDeviceCount} fails. Both become an unavailable result with the reason,
 * never an exception, so callers (and tests) can report and skip.
 */
public final class CudaProbe {
    /** The outcome: available with a device description, or unavailable with the reason. */
    public record Result(boolean available, String detail) {
        @Override
        public String toString() {
            return (available ? "CUDA available: " : "CUDA unavailable: ") + detail;
        }
    }

    private static volatile Result cached;

    private CudaProbe() {}

    /** Probes once per JVM and caches the answer. */
    public static Result probe() {
        Result r = cached;
        if (r == null) {
            synchronized (CudaProbe.class) {
                r = cached;
                if (r == null) {
                    r = cached = run();
                }
            }
        }
        return r;
    }

    private static Result run() {
        try {
            Loader.load(cudart.class);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            return new Result(false, "cannot load the CUDA runtime bindings (" + rootMessage(e)
                    + "); is the NVIDIA driver (libcuda.so.1) installed and on LD_LIBRARY_PATH?");
        }
        int[] count = new int[1];
        int status = cudart.cudaGetDeviceCount(count);
        if (status != cudart.cudaSuccess) {
            return new Result(false, "cudaGetDeviceCount failed: " + cudart.cudaGetErrorString(status).getString());
        }
        if (count[0] == 0) {
            return new Result(false, "no CUDA device found");
        }
        int[] driver = new int[1], runtime = new int[1];
        cudart.cudaDriverGetVersion(driver);
        cudart.cudaRuntimeGetVersion(runtime);
        return new Result(true, count[0] + " device(s), driver " + driver[0] + ", runtime " + runtime[0]);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m.replaceAll("\\s+", " ").trim();
    }
}
