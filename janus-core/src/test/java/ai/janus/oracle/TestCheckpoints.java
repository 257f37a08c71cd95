/*
 * TestCheckpoints: writes HF Mistral model directories for tests without janus's own writer,
 * from the formats of docs/spec/model.md: config.json with HF field names, and
 * model.safetensors = 8-byte little-endian u64 header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then raw LE data.
 * Random weights come from torch's seeded CPU generator.
 */
package ai.janus.oracle;

import static org.bytedeco.pytorch.global.torch.*;

import ai.janus.oracle.TorchMistral.Dims;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;

/** Random Mistral weights and an independent writer of HF model directories. */
@SuppressWarnings("try") // PointerScope blocks free what torch allocates inside them; the scope itself is unused
public final class TestCheckpoints {

    /**
     * Std of the random projection and embedding matrices. HF's 0.02 makes every logit nearly 0 in a
     * tiny model, so a wrong model would still pass a relative tolerance; at 0.1 the attention is
     * far from uniform and the logits are O(1).
     */
    public static final double MATRIX_STD = 0.1;
    /** Norm weights are 1 + NORM_STD·N(0, 1): not all ones, so a missed or misplaced norm weight shows. */
    public static final double NORM_STD = 0.1;

    private static final ObjectMapper JSON = new ObjectMapper();

    private TestCheckpoints() {}

    /** The stored dtypes of this writer; BF16 is round-to-nearest-even of the fp32 values. */
    public enum StoredType { F32, BF16 }

    /**
     * Seeded random fp32 weights under the spec's names, in checkpoint order (no lm_head when tied).
     * The tensors are attached to the caller's innermost {@link PointerScope}.
     */
    public static Map<String, Tensor> randomWeights(Dims d, long seed) {
        Generator gen = createCPUGenerator(seed);
        Map<String, Tensor> w = new LinkedHashMap<>();
        long qDim = (long) d.heads() * d.headDim(), kvDim = (long) d.kvHeads() * d.headDim();
        w.put("model.embed_tokens.weight", matrix(gen, d.vocab(), d.hidden()));
        for (int i = 0; i < d.layers(); i++) {
            String p = "model.layers." + i + ".";
            w.put(p + "input_layernorm.weight", norm(gen, d.hidden()));
            w.put(p + "self_attn.q_proj.weight", matrix(gen, qDim, d.hidden()));
            w.put(p + "self_attn.k_proj.weight", matrix(gen, kvDim, d.hidden()));
            w.put(p + "self_attn.v_proj.weight", matrix(gen, kvDim, d.hidden()));
            w.put(p + "self_attn.o_proj.weight", matrix(gen, d.hidden(), qDim));
            w.put(p + "post_attention_layernorm.weight", norm(gen, d.hidden()));
            w.put(p + "mlp.gate_proj.weight", matrix(gen, d.intermediate(), d.hidden()));
            w.put(p + "mlp.up_proj.weight", matrix(gen, d.intermediate(), d.hidden()));
            w.put(p + "mlp.down_proj.weight", matrix(gen, d.hidden(), d.intermediate()));
        }
        w.put("model.norm.weight", norm(gen, d.hidden()));
        if (!d.tied()) {
            w.put("lm_head.weight", matrix(gen, d.vocab(), d.hidden()));
        }
        return w;
    }

    private static Tensor randn(Generator gen, long... shape) {
        return org.bytedeco.pytorch.global.torch.randn(shape, new GeneratorOptional(gen),
                new TensorOptions(ScalarType.Float));
    }

    private static Tensor matrix(Generator gen, long rows, long cols) {
        return randn(gen, rows, cols).mul(new Scalar(MATRIX_STD));
    }

    private static Tensor norm(Generator gen, long n) {
        return randn(gen, n).mul(new Scalar(NORM_STD)).add(new Scalar(1.0));
    }

    /** The values a checkpoint stored as {@code type} holds, widened back to fp32 (what the oracle must use). */
    public static Map<String, Tensor> asStored(Map<String, Tensor> weights, StoredType type) {
        if (type == StoredType.F32) {
            return weights;
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        weights.forEach((name, t) -> out.put(name, t.to(ScalarType.BFloat16).to(ScalarType.Float)));
        return out;
    }

    /** HF config.json fields of {@code d} (mutable: tests may drop optional fields such as head_dim). */
    public static Map<String, Object> configJson(Dims d) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("architectures", List.of("MistralForCausalLM"));
        c.put("model_type", "mistral");
        c.put("hidden_act", "silu");
        c.put("vocab_size", d.vocab());
        c.put("hidden_size", d.hidden());
        c.put("intermediate_size", d.intermediate());
        c.put("num_hidden_layers", d.layers());
        c.put("num_attention_heads", d.heads());
        c.put("num_key_value_heads", d.kvHeads());
        c.put("head_dim", d.headDim());
        c.put("rope_theta", d.ropeTheta());
        c.put("sliding_window", d.slidingWindow() == TorchMistral.NO_WINDOW ? null : d.slidingWindow());
        c.put("rms_norm_eps", d.rmsNormEps());
        c.put("tie_word_embeddings", d.tied());
        c.put("max_position_embeddings", 4096);
        c.put("torch_dtype", "float32");
        return c;
    }

    /** Writes {@code dir/config.json} from {@code config} and {@code dir/model.safetensors} from {@code weights}. */
    public static void writeModel(Path dir, Map<String, Object> config, Map<String, Tensor> weights, StoredType type)
            throws IOException {
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config);
        writeSafetensors(dir.resolve("model.safetensors"), weights, type);
    }

    /** Writes one safetensors file holding {@code weights} (fp32 tensors) stored as {@code type}. */
    public static void writeSafetensors(Path file, Map<String, Tensor> weights, StoredType type) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            Map<String, Object> header = new LinkedHashMap<>();
            header.put("__metadata__", Map.of("format", "pt"));
            Map<String, byte[]> data = new LinkedHashMap<>();
            long offset = 0;
            for (Map.Entry<String, Tensor> e : weights.entrySet()) {
                Tensor t = e.getValue().contiguous();
                long[] shape = new long[(int) t.dim()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.size(i);
                }
                byte[] bytes = littleEndianBytes(t, type);
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("dtype", type.name());
                entry.put("shape", shape);
                entry.put("data_offsets", new long[] {offset, offset + bytes.length});
                header.put(e.getKey(), entry);
                data.put(e.getKey(), bytes);
                offset += bytes.length;
            }
            // Header JSON, padded with spaces to a multiple of 8 bytes (as the reference writer does).
            StringBuilder json = new StringBuilder(JSON.writeValueAsString(header));
            while (json.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) {
                json.append(' ');
            }
            byte[] headerBytes = json.toString().getBytes(StandardCharsets.UTF_8);
            try (OutputStream out = Files.newOutputStream(file)) {
                out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).array());
                out.write(headerBytes);
                for (byte[] bytes : data.values()) {
                    out.write(bytes);
                }
            }
        }
    }

    private static byte[] littleEndianBytes(Tensor t, StoredType type) {
        int n = Math.toIntExact(t.numel());
        if (type == StoredType.F32) {
            float[] v = new float[n];
            t.to(ScalarType.Float).contiguous().data_ptr_float().get(v);
            ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            return b.array();
        }
        // BF16: torch's fp32 → bf16 conversion rounds to nearest even; read back the 16-bit patterns.
        short[] v = new short[n];
        t.to(ScalarType.BFloat16).contiguous().view(ScalarType.Short).data_ptr_short().get(v);
        ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(v);
        return b.array();
    }
}
