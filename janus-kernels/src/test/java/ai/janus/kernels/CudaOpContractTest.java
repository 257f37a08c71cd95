package ai.janus.kernels;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.janus.backend.Backend;
import ai.janus.tensor.Storage;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The op contract on the CUDA backend, each output compared with the CPU backend's on the same
 * inputs: bit for bit where native/KERNELS.md says the kernel is bit-identical to the CPU
 * ({@link Tol#CPU_BITS}, {@link Tol#EXACT}), else at the fp32/bf16 tolerances of {@link Tol}. Skipped, with the reason, where CUDA is
 * unavailable (no driver, no device, or kernels not built).
 *
 * <p>The backend is opened with a logits chunk of 400 floats, so the log-probs case (23 rows,
 * vocab 50) runs over vocab chunks of 17, 17 and 16 columns.
 */
class CudaOpContractTest extends OpContract {
    private static CudaBackend cuda;
    private static Storage.Allocator previousAllocator;

    @BeforeAll
    static void open() {
        var why = CudaBackend.unavailableReason();
        assumeTrue(why.isEmpty(), () -> "CUDA unavailable: " + why.orElse(""));
        cuda = CudaBackend.open(0, 400);
        previousAllocator = Storage.useAllocator(cuda.allocator());
        System.out.println("contract suite on " + cuda.name());
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            Storage.useAllocator(previousAllocator);
            cuda.close();
        }
    }

    @Override
    void verify(String op, Function<Backend, Outputs> run, Map<String, double[]> definition, Map<String, Tol> gpu) {
        Outputs expected = run.apply(cpu());
        Outputs actual = run.apply(cuda);
        for (Map.Entry<String, Tol> e : gpu.entrySet()) {
            e.getValue().check("cuda vs cpu " + op + "." + e.getKey(), actual.values.get(e.getKey()),
                    Tol.widen(expected.values.get(e.getKey())));
        }
    }
}
