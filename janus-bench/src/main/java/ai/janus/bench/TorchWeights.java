package ai.janus.bench;

import static org.bytedeco.pytorch.global.torch.from_blob;

import ai.janus.model.ParameterSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** libtorch copies of a janus parameter set, so both sides run on identical weights. */
final class TorchWeights {
    private TorchWeights() {}

    /** fp32 torch tensors (owning copies) under the same names and shapes. */
    static Map<String, Tensor> copyOf(ParameterSet parameters) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ParameterSet.Spec spec : parameters.specs()) {
            Tensor view = from_blob(parameters.get(spec.name()).floatPointer(), spec.shape(),
                    new TensorOptions(ScalarType.Float));
            out.put(spec.name(), view.clone());
        }
        return out;
    }

    /** Fails fast when the bench JVM was started without OMP_WAIT_POLICY=PASSIVE. */
    static void requirePassiveOpenMp() {
        String policy = System.getenv("OMP_WAIT_POLICY");
        if (!"PASSIVE".equalsIgnoreCase(policy)) {
            throw new IllegalStateException("start the benchmark JVM with OMP_WAIT_POLICY=PASSIVE (found "
                    + policy + "): libtorch's spinning OpenMP threads would steal cores from the other side");
        }
    }
}
