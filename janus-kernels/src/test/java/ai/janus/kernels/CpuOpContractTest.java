package ai.janus.kernels;

import ai.janus.backend.Backend;
import java.util.Map;
import java.util.function.Function;

/**
 * The op contract on the CPU backend, against the definitions written in {@link OpContract}: runs
 * everywhere, so every case is proven before a GPU ever compares itself with the CPU.
 * Tolerance: {@link Tol#FP32} (exact where the GPU's is exact too).
 */
class CpuOpContractTest extends OpContract {
    @Override
    void verify(String op, Function<Backend, Outputs> run, Map<String, double[]> definition, Map<String, Tol> gpu) {
        if (definition == null) {
            return; // a GPU-vs-CPU case: the CPU is its reference (and the spec tests in janus-core prove the CPU)
        }
        Outputs out = run.apply(cpu());
        for (Map.Entry<String, double[]> e : definition.entrySet()) {
            Tol t = gpu.get(e.getKey()) == Tol.EXACT ? Tol.EXACT : Tol.FP32;
            t.check("cpu " + op + "." + e.getKey(), out.values.get(e.getKey()), e.getValue());
        }
    }
}
