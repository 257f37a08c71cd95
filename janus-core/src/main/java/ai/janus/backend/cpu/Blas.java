package ai.janus.backend.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas;
import org.bytedeco.openblas.global.openblas_full;

/**
 * OpenBLAS through the JavaCPP presets: the one place janus calls sgemm. Loading the native
 * library is deferred to the first use and a failure names the platform and the cause.
 */
final class Blas {
    private static volatile boolean loaded;

    private Blas() {}

    /** Loads OpenBLAS and makes it single-threaded: callers parallelise over their own pool. */
    static void load() {
        if (!loaded) {
            synchronized (Blas.class) {
                if (!loaded) {
                    try {
                        Loader.load(openblas.class);
                    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
                        throw new IllegalStateException("OpenBLAS could not be loaded for platform "
                                + Loader.getPlatform() + ": " + e.getMessage(), e);
                    }
                    loaded = true;
                }
            }
        }
        openblas_full.openblas_set_num_threads(1);
    }

    /** A short description of the loaded library ("OpenBLAS 0.3.31 DYNAMIC_ARCH ... Haswell"). */
    static String config() {
        return openblas_full.openblas_get_config().getString().trim();
    }

    /**
     * Row-major {@code C (M, N) = A (M, K) · op(B) + beta · C}, with op(B) = Bᵀ when
     * {@code transB} (B stored (N, K)) or B (stored (K, N)).
     */
    static void sgemm(boolean transA, boolean transB, long m, long n, long k,
                      FloatPointer a, long lda, FloatPointer b, long ldb, float beta, FloatPointer c, long ldc) {
        if (m == 0 || n == 0) {
            return;
        }
        openblas.cblas_sgemm(openblas.CblasRowMajor,
                transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans,
                Math.toIntExact(m), Math.toIntExact(n), Math.toIntExact(k), 1f,
                a, Math.toIntExact(Math.max(1, lda)), b, Math.toIntExact(Math.max(1, ldb)),
                beta, c, Math.toIntExact(Math.max(1, ldc)));
    }
}
