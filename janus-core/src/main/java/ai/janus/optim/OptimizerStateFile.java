package ai.janus.optim;

import ai.janus.io.InvalidFileException;
import ai.janus.io.SafetensorsFile;
import ai.janus.io.SafetensorsWriter;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The on-disk optimizer state: one safetensors file.
 *
 * <pre>
 * __metadata__ (all strings)
 *   format        "janus-optimizer-state"
 *   version       "1"
 *   optimizer     "adamw" | "adamw8bit"
 *   step          optimizer steps taken, decimal
 *   beta1, beta2, eps, weight_decay   Double.toString of the hyper-parameters
 *   parameters    "fp32" | "bf16-nearest-even" | "bf16-stochastic" | "bf16-fp32-master"
 *   rounding_seed decimal (the stochastic-rounding seed; "0" otherwise)
 *   block_size, min_8bit_numel        adamw8bit only: "2048", "4096"
 *   shard         only for the optimizer of a shard (ZeRO): per tensor "modelNumel,start,flatStart", ';'-joined
 * tensors, per parameter NAME (shape S, n elements), in parameter order
 *   NAME.m, NAME.v             F32 S      fp32 moments (adamw; adamw8bit tensors with n < 4096)
 *   NAME.state1, NAME.state2   U8  S      8-bit codes of m (signed map) and v (unsigned map)
 *   NAME.absmax1, NAME.absmax2 F32 [ceil(n/2048)]  per-block scales
 *   NAME.master                F32 S      fp32 master weights (bf16-fp32-master only)
 * </pre>
 *
 * A file is accepted only when every metadata field but {@code step} equals the loading
 * optimizer's and the tensors are exactly the expected names, dtypes and shapes; otherwise an
 * {@link InvalidFileException} names the file and the first difference. Files are written
 * through {@link SafetensorsWriter}, hence atomically.
 */
final class OptimizerStateFile {
    static final String FORMAT = "janus-optimizer-state";
    static final int VERSION = 1;
    static final String STEP = "step";

    private OptimizerStateFile() {}

    /** The metadata that must match for a file to be loadable: everything but the step count. */
    static Map<String, String> identity(String optimizer, AdamWConfig config, ParameterStore store) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("version", Integer.toString(VERSION));
        m.put("optimizer", optimizer);
        m.put("beta1", Double.toString(config.beta1()));
        m.put("beta2", Double.toString(config.beta2()));
        m.put("eps", Double.toString(config.eps()));
        m.put("weight_decay", Double.toString(config.weightDecay()));
        m.put("parameters", store.label());
        m.put("rounding_seed", Long.toString(store.seed()));
        if (!ParameterSlice.isWhole(store.specs(), store.slices())) {
            StringBuilder shard = new StringBuilder();
            for (ParameterSlice s : store.slices()) {
                shard.append(shard.length() == 0 ? "" : ";").append(s.tensorNumel()).append(',').append(s.start())
                        .append(',').append(s.flatStart());
            }
            m.put("shard", shard.toString());
        }
        return m;
    }

    /** Writes {@code tensors} (name → state tensor, in order) with the identity and step count. */
    static void write(Path file, Map<String, String> identity, long steps, Map<String, Tensor> tensors)
            throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>(identity);
        metadata.put(STEP, Long.toString(steps));
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        tensors.forEach((name, t) -> items.add(new SafetensorsWriter.Item(name, t, t.dtype())));
        SafetensorsWriter.write(file, items, metadata);
    }

    /**
     * Checks {@code file} against the identity and the expected tensors, then copies every
     * tensor into its target ({@code targets}: name → tensor of the expected dtype and shape).
     *
     * @return the step count recorded in the file
     */
    static long read(Path file, Map<String, String> identity, Map<String, Tensor> targets) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            long steps = checkMetadata(file, f.metadata(), identity);
            for (Map.Entry<String, Tensor> target : targets.entrySet()) {
                SafetensorsFile.Entry e = f.entries().get(target.getKey());
                Tensor t = target.getValue();
                if (e == null) {
                    throw new InvalidFileException(file, "missing tensor '" + target.getKey() + "'");
                }
                if (e.dtype() != t.dtype() || !Arrays.equals(e.shape(), t.shape())) {
                    throw new InvalidFileException(file, "tensor '" + e.name() + "' is " + e.dtype()
                            + Arrays.toString(e.shape()) + ", the optimizer expects " + t
                            + " (state of other parameters?)");
                }
            }
            for (String name : f.entries().keySet()) {
                if (!targets.containsKey(name)) {
                    throw new InvalidFileException(file, "unexpected tensor '" + name
                            + "' (state of other parameters?)");
                }
            }
            for (Map.Entry<String, Tensor> target : targets.entrySet()) {
                Tensor t = target.getValue();
                if (t.dtype() == DType.F32) {
                    f.readFloats(target.getKey(), t);
                } else {
                    Tensor mapped = f.map(target.getKey());
                    try {
                        t.bytes().put(mapped.bytes());
                    } finally {
                        mapped.close();
                    }
                }
            }
            return steps;
        }
    }

    private static long checkMetadata(Path file, Map<String, String> metadata, Map<String, String> identity)
            throws InvalidFileException {
        if (!FORMAT.equals(metadata.get("format"))) {
            throw new InvalidFileException(file, "not a janus optimizer state file (metadata format is "
                    + quoted(metadata.get("format")) + ", expected \"" + FORMAT + "\")");
        }
        String version = metadata.get("version");
        if (!Integer.toString(VERSION).equals(version)) {
            throw new InvalidFileException(file, "optimizer state format version " + quoted(version)
                    + "; this janus reads version " + VERSION);
        }
        for (Map.Entry<String, String> expected : identity.entrySet()) {
            String found = metadata.get(expected.getKey());
            if (!expected.getValue().equals(found)) {
                throw new InvalidFileException(file, "written with " + expected.getKey() + " = " + quoted(found)
                        + ", this optimizer has \"" + expected.getValue() + "\"");
            }
        }
        String step = metadata.get(STEP);
        try {
            long steps = Long.parseLong(step == null ? "" : step);
            if (steps < 0) {
                throw new NumberFormatException();
            }
            return steps;
        } catch (NumberFormatException e) {
            throw new InvalidFileException(file, "metadata step is " + quoted(step) + ", not a non-negative integer");
        }
    }

    private static String quoted(String value) {
        return value == null ? "missing" : "\"" + value + "\"";
    }
}
