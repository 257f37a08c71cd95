package ai.janus.kernels;

import static ai.janus.kernels.Cuda.check;
import static ai.janus.kernels.Cuda.checkBlas;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_DESC_TRANSA;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_DESC_TRANSB;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.CUBLAS_STATUS_NOT_SUPPORTED;
import static org.bytedeco.cuda.global.cublas.cublasLtCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmul;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulAlgoGetHeuristic;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulDescCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulDescSetAttribute;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceDestroy;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceSetAttribute;
import static org.bytedeco.cuda.global.cublas.cublasLtMatrixLayoutCreate;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudart.cuMemAlloc;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * cuBLASLt matrix products in janus's one precision recipe: A and B bf16, compute and scale in
 * fp32 ({@code CUBLAS_COMPUTE_32F}), C and D fp32, {@code D = A·B + beta·C} with C = D (beta 1
 * accumulates into the output). Column-major, as cuBLAS is; {@link CudaBackend} maps its
 * row-major products onto these (a row-major matrix is its column-major transpose).
 *
 * <p>Plans (layouts plus the heuristic's first algorithm) are cached per shape, transposition
 * and output alignment. Synchronous use only: one caller at a time (the device lock).
 */
final class CublasLtGemm {
    /** Workspace offered to cuBLASLt; 32 MiB is what NVIDIA recommends for Hopper. */
    static final long WORKSPACE_BYTES = 32L << 20;

    private record Key(boolean transA, boolean transB, long m, long n, long k, long lda, long ldb, long ldd,
                       int alignD) {}

    private record Plan(cublasLtMatrixLayoutOpaque_t a, cublasLtMatrixLayoutOpaque_t b,
                        cublasLtMatrixLayoutOpaque_t d, cublasLtMatmulHeuristicResult_t heuristic) {}

    private final CudaDevice device;
    private final cublasLtContext handle = new cublasLtContext();
    private final long workspace;
    private final cublasLtMatmulDescOpaque_t[] descriptors = new cublasLtMatmulDescOpaque_t[4];
    private final Map<Key, Plan> plans = new HashMap<>();
    private final FloatPointer alpha = new FloatPointer(1).put(1f);
    private final FloatPointer beta = new FloatPointer(1);

    CublasLtGemm(CudaDevice device) {
        this.device = device;
        checkBlas(cublasLtCreate(handle), "cublasLtCreate");
        long[] ws = new long[1];
        check(cuMemAlloc(ws, WORKSPACE_BYTES), "cuMemAlloc(cuBLASLt workspace)");
        this.workspace = ws[0];
        for (int i = 0; i < 4; i++) {
            try (PointerPointer<Pointer> out = new PointerPointer<>(1);
                 IntPointer ta = new IntPointer(1).put((i & 2) != 0 ? CUBLAS_OP_T : CUBLAS_OP_N);
                 IntPointer tb = new IntPointer(1).put((i & 1) != 0 ? CUBLAS_OP_T : CUBLAS_OP_N)) {
                checkBlas(cublasLtMatmulDescCreate(out, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
                cublasLtMatmulDescOpaque_t desc = new cublasLtMatmulDescOpaque_t(out.get(0));
                checkBlas(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, ta, 4), "TRANSA");
                checkBlas(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, tb, 4), "TRANSB");
                descriptors[i] = desc;
            }
        }
    }

    /**
     * {@code D (m×n, ld ldd, fp32) = op(A)·op(B) + beta·D}, A and B bf16 at device addresses
     * {@code a} (ld {@code lda}) and {@code b} (ld {@code ldb}), op = transpose when asked; all
     * column-major. Requires m, n, k &gt; 0. Queued on the device's stream.
     */
    void gemm(boolean transA, boolean transB, long m, long n, long k, long a, long lda, long b, long ldb,
              float betaValue, long d, long ldd) {
        int alignD = (int) Math.min(256, Long.lowestOneBit(d | (1L << 8)));
        Key key = new Key(transA, transB, m, n, k, lda, ldb, ldd, alignD);
        Plan plan = plans.computeIfAbsent(key, this::plan);
        cublasLtMatmulDescOpaque_t desc = descriptors[(transA ? 2 : 0) | (transB ? 1 : 0)];
        beta.put(betaValue);
        Pointer dp = Cuda.at(d);
        checkBlas(cublasLtMatmul(handle, desc, alpha, Cuda.at(a), plan.a(), Cuda.at(b), plan.b(), beta, dp, plan.d(),
                dp, plan.d(), plan.heuristic().algo(), Cuda.at(workspace), WORKSPACE_BYTES, device.stream()),
                "cublasLtMatmul(" + m + "x" + n + "x" + k + (transA ? ", A^T" : "") + (transB ? ", B^T" : "") + ")");
    }

    private Plan plan(Key key) {
        cublasLtMatrixLayoutOpaque_t a = layout(CUDA_R_16BF, key.transA() ? key.k() : key.m(),
                key.transA() ? key.m() : key.k(), key.lda());
        cublasLtMatrixLayoutOpaque_t b = layout(CUDA_R_16BF, key.transB() ? key.n() : key.k(),
                key.transB() ? key.k() : key.n(), key.ldb());
        cublasLtMatrixLayoutOpaque_t d = layout(CUDA_R_32F, key.m(), key.n(), key.ldd());
        cublasLtMatmulHeuristicResult_t result = new cublasLtMatmulHeuristicResult_t();
        try (PointerPointer<Pointer> out = new PointerPointer<>(1);
             LongPointer ws = new LongPointer(1).put(WORKSPACE_BYTES);
             IntPointer align = new IntPointer(1).put(key.alignD())) {
            checkBlas(cublasLtMatmulPreferenceCreate(out), "cublasLtMatmulPreferenceCreate");
            cublasLtMatmulPreferenceOpaque_t pref = new cublasLtMatmulPreferenceOpaque_t(out.get(0));
            try {
                checkBlas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, ws, 8),
                        "MAX_WORKSPACE_BYTES");
                checkBlas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align, 4),
                        "MIN_ALIGNMENT_C_BYTES");
                checkBlas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align, 4),
                        "MIN_ALIGNMENT_D_BYTES");
                int[] found = new int[1];
                checkBlas(cublasLtMatmulAlgoGetHeuristic(handle, descriptors[(key.transA() ? 2 : 0) | (key.transB() ? 1 : 0)],
                        a, b, d, d, pref, 1, result, found), "cublasLtMatmulAlgoGetHeuristic");
                if (found[0] == 0) {
                    throw new CudaException("cuBLASLt has no bf16→fp32 algorithm for " + key, CUBLAS_STATUS_NOT_SUPPORTED);
                }
            } finally {
                cublasLtMatmulPreferenceDestroy(pref);
            }
        }
        return new Plan(a, b, d, result);
    }

    private static cublasLtMatrixLayoutOpaque_t layout(int type, long rows, long cols, long ld) {
        try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
            checkBlas(cublasLtMatrixLayoutCreate(out, type, rows, cols, ld), "cublasLtMatrixLayoutCreate");
            return new cublasLtMatrixLayoutOpaque_t(out.get(0));
        }
    }
}
