package ai.janus.model;

import ai.janus.backend.AttentionSpec;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import ai.janus.tensor.HostMemory;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The HF {@code config.json} of a Mistral model (fields of docs/spec/model.md).
 *
 * <p>Required in config.json: hidden_size, intermediate_size, num_hidden_layers,
 * num_attention_heads, num_key_value_heads, vocab_size, rms_norm_eps, rope_theta; silently
 * defaulting any of them would build a different model. Optional, with HF's defaults: head_dim
 * (hidden/heads), sliding_window (4096 when absent, none when null), max_position_embeddings
 * (131072), tie_word_embeddings (false), bos/eos ids (1/2), hidden_act ("silu", the only one
 * supported), attention_dropout (0.0), initializer_range (0.02), torch_dtype ("bfloat16"; newer
 * transformers call it "dtype", read as the same field and written back as torch_dtype).
 * Fields janus does not use are kept in {@code extra} and written back unchanged.
 *
 * @param slidingWindow the window W, or {@link AttentionSpec#NO_WINDOW} for JSON null (full causal)
 */
public record MistralConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int maxPositionEmbeddings,
        double ropeTheta,
        int slidingWindow,
        double rmsNormEps,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId,
        double attentionDropout,
        double initializerRange,
        String torchDtype,
        Map<String, Object> extra) {

    /** HF's default sliding window when the field is absent (MistralConfig.__init__). */
    public static final int HF_DEFAULT_SLIDING_WINDOW = 4096;

    private static final Set<String> REQUIRED = Set.of("hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "vocab_size", "rms_norm_eps", "rope_theta");
    /** Keys this record owns or regenerates on write; everything else is {@code extra}. */
    private static final Set<String> KNOWN = Set.of("vocab_size", "hidden_size", "intermediate_size",
            "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings",
            "rope_theta", "sliding_window", "rms_norm_eps", "tie_word_embeddings", "bos_token_id", "eos_token_id",
            "attention_dropout", "initializer_range", "torch_dtype", "dtype", "hidden_act", "model_type", "architectures");

    public MistralConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
        }
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("rope_theta must be positive and finite, got " + ropeTheta);
        }
        if (!(rmsNormEps > 0) || Double.isInfinite(rmsNormEps)) {
            throw new IllegalArgumentException("rms_norm_eps must be positive and finite, got " + rmsNormEps);
        }
        if (slidingWindow < 0 && slidingWindow != AttentionSpec.NO_WINDOW) {
            throw new IllegalArgumentException("sliding_window must be null or >= 0, got " + slidingWindow);
        }
        if (!(initializerRange >= 0)) {
            throw new IllegalArgumentException("initializer_range must be >= 0, got " + initializerRange);
        }
        extra = Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be > 0, got " + value);
        }
    }

    /** A config from the architecture numbers; every other field takes the spec's default. */
    public static MistralConfig of(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads,
                                   int headDim, double ropeTheta, int slidingWindow, boolean tied) {
        return new MistralConfig(vocab, hidden, intermediate, layers, heads, kvHeads, headDim, 32768, ropeTheta,
                slidingWindow, 1e-5, tied, 1, 2, 0.0, 0.02, "bfloat16", Map.of());
    }

    /** A tiny model for demos and tests: 2 layers, hidden 64, 4 heads over 2 kv heads. */
    public static MistralConfig tiny(int vocab) {
        return of(vocab, 64, 192, 2, 4, 2, 16, 10000.0, AttentionSpec.NO_WINDOW, false);
    }

    /** The benchmark model of issue 2: vocab 32000, hidden 512, 8 layers, 8 heads, 2 kv heads, ffn 1536. */
    public static MistralConfig benchSmall() {
        return of(32000, 512, 1536, 8, 8, 2, 64, 1_000_000.0, AttentionSpec.NO_WINDOW, false);
    }

    /**
     * Total parameter count (lm_head counted once unless untied); {@code Long.MAX_VALUE} when it
     * does not fit a long (every field may be up to 2^31 - 1, so the count may reach ~2^95).
     */
    public long parameterCount() {
        try {
            long c = hiddenSize, d = headDim;
            long attention = Math.multiplyExact(Math.multiplyExact(c, d),
                    Math.multiplyExact(2L, (long) numAttentionHeads + numKeyValueHeads));
            long perLayer = Math.addExact(Math.addExact(attention, Math.multiplyExact(3 * c, intermediateSize)), 2 * c);
            return Math.addExact(Math.addExact(Math.multiplyExact(vocabSize * c, tieWordEmbeddings ? 1 : 2),
                    Math.multiplyExact(numHiddenLayers, perLayer)), c);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Bytes of the parameters in F32, as janus holds them; -1 beyond a long. */
    public long parameterBytes() {
        return HostMemory.product(parameterCount(), 4);
    }

    /**
     * Null when the F32 parameters fit the memory janus may use ({@link HostMemory}), else the
     * one-line reason with both sizes. Checked before anything is allocated.
     */
    public String memoryRefusal() {
        return HostMemory.refusal(String.format(java.util.Locale.ROOT, "a model of %,d parameters (%d layers, hidden %d)"
                + " in F32", parameterCount(), numHiddenLayers, hiddenSize), parameterBytes());
    }

    /** The attention mask of this model with the default scale 1/sqrt(head_dim). */
    public AttentionSpec attentionSpec() {
        return AttentionSpec.causal(headDim, slidingWindow);
    }

    // ---------------------------------------------------------------- config.json

    /** Reads and validates {@code file}; every problem is one line naming the file and the field. */
    public static MistralConfig read(Path file) throws InvalidFileException {
        JsonNode root = Json.read(file);
        if (!root.isObject()) {
            throw new InvalidFileException(file, "config is not a JSON object");
        }
        for (String field : REQUIRED) {
            if (!root.has(field) || root.get(field).isNull()) {
                throw new InvalidFileException(file, "missing required field \"" + field + "\"");
            }
        }
        String modelType = optionalText(file, root, "model_type", "mistral");
        if (!modelType.equals("mistral")) {
            throw new InvalidFileException(file, "model_type is \"" + modelType + "\"; janus loads \"mistral\" models");
        }
        String act = optionalText(file, root, "hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new InvalidFileException(file, "hidden_act is \"" + act + "\"; Mistral uses \"silu\"");
        }
        int hidden = intField(file, root, "hidden_size", 0);
        int heads = intField(file, root, "num_attention_heads", 0);
        JsonNode windowNode = root.get("sliding_window");
        int slidingWindow = AttentionSpec.NO_WINDOW;
        if (windowNode == null || !windowNode.isNull()) {
            slidingWindow = intField(file, root, "sliding_window", HF_DEFAULT_SLIDING_WINDOW);
            if (slidingWindow < 0) {
                throw new InvalidFileException(file, "field \"sliding_window\" must be null or a non-negative "
                        + "integer, found " + slidingWindow);
            }
        }
        JsonNode headDimNode = root.get("head_dim");
        int headDim;
        if (headDimNode == null || headDimNode.isNull()) {
            if (heads <= 0 || hidden % heads != 0) {
                throw new InvalidFileException(file, "head_dim is absent and hidden_size " + hidden
                        + " is not a multiple of num_attention_heads " + heads);
            }
            headDim = hidden / heads;
        } else {
            headDim = intField(file, root, "head_dim", 0);
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!KNOWN.contains(f.getKey())) {
                extra.put(f.getKey(), Json.MAPPER.convertValue(f.getValue(), Object.class));
            }
        }
        try {
            return new MistralConfig(
                    intField(file, root, "vocab_size", 0),
                    hidden,
                    intField(file, root, "intermediate_size", 0),
                    intField(file, root, "num_hidden_layers", 0),
                    heads,
                    intField(file, root, "num_key_value_heads", 0),
                    headDim,
                    intField(file, root, "max_position_embeddings", 131072),
                    numberField(file, root, "rope_theta", 0),
                    slidingWindow,
                    numberField(file, root, "rms_norm_eps", 0),
                    booleanField(file, root, "tie_word_embeddings", false),
                    intField(file, root, "bos_token_id", 1),
                    intField(file, root, "eos_token_id", 2),
                    numberField(file, root, "attention_dropout", 0.0),
                    numberField(file, root, "initializer_range", 0.02),
                    optionalText(file, root, "torch_dtype", optionalText(file, root, "dtype", "bfloat16")),
                    extra);
        } catch (IllegalArgumentException e) {
            throw new InvalidFileException(file, e.getMessage());
        }
    }

    private static int intField(Path file, JsonNode root, String field, int absent) throws InvalidFileException {
        JsonNode v = root.get(field);
        if (v == null) {
            return absent;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new InvalidFileException(file, "field \"" + field + "\" must be an integer"
                    + (v.isIntegralNumber() ? " in [" + Integer.MIN_VALUE + ", " + Integer.MAX_VALUE + "]" : "")
                    + ", found " + v);
        }
        return v.intValue();
    }

    private static double numberField(Path file, JsonNode root, String field, double absent) throws InvalidFileException {
        JsonNode v = root.get(field);
        if (v == null) {
            return absent;
        }
        if (!v.isNumber()) {
            throw new InvalidFileException(file, "field \"" + field + "\" must be a number, found " + v);
        }
        return v.doubleValue();
    }

    private static boolean booleanField(Path file, JsonNode root, String field, boolean absent)
            throws InvalidFileException {
        JsonNode v = root.get(field);
        if (v == null) {
            return absent;
        }
        if (!v.isBoolean()) {
            throw new InvalidFileException(file, "field \"" + field + "\" must be true or false, found " + v);
        }
        return v.booleanValue();
    }

    private static String optionalText(Path file, JsonNode root, String field, String absent)
            throws InvalidFileException {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.isTextual()) {
            throw new InvalidFileException(file, "field \"" + field + "\" must be a string, found " + v);
        }
        return v.textValue();
    }

    /** The config.json object HF transformers and vLLM load: known fields in HF order, then {@code extra}. */
    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("architectures", java.util.List.of("MistralForCausalLM"));
        json.put("attention_dropout", attentionDropout);
        json.put("bos_token_id", bosTokenId);
        json.put("eos_token_id", eosTokenId);
        json.put("head_dim", headDim);
        json.put("hidden_act", "silu");
        json.put("hidden_size", hiddenSize);
        json.put("initializer_range", initializerRange);
        json.put("intermediate_size", intermediateSize);
        json.put("max_position_embeddings", maxPositionEmbeddings);
        json.put("model_type", "mistral");
        json.put("num_attention_heads", numAttentionHeads);
        json.put("num_hidden_layers", numHiddenLayers);
        json.put("num_key_value_heads", numKeyValueHeads);
        json.put("rms_norm_eps", rmsNormEps);
        json.put("rope_theta", ropeTheta);
        json.put("sliding_window", slidingWindow == AttentionSpec.NO_WINDOW ? null : slidingWindow);
        json.put("tie_word_embeddings", tieWordEmbeddings);
        json.put("torch_dtype", torchDtype);
        json.put("vocab_size", vocabSize);
        for (Map.Entry<String, Object> e : extra.entrySet()) {
            json.putIfAbsent(e.getKey(), e.getValue());
        }
        return json;
    }

    /** The same config with another torch_dtype (what a checkpoint written in that dtype declares). */
    public MistralConfig withTorchDtype(String dtype) {
        return new MistralConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, maxPositionEmbeddings, ropeTheta, slidingWindow, rmsNormEps,
                tieWordEmbeddings, bosTokenId, eosTokenId, attentionDropout, initializerRange, dtype, extra);
    }
}
