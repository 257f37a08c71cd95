package ai.janus.train.objective;

import ai.janus.data.PairExample;
import ai.janus.data.batch.PairBatch;
import ai.janus.data.batch.TrainingBatch;
import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import ai.janus.loss.ModelLosses;
import ai.janus.loss.SequenceLogProbs;
import ai.janus.model.Mistral;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The frozen DPO reference's sequence log-probs S_ref of every pair, computed once before
 * training and cached on disk under a {@link ReferenceKey}; a cache whose key differs from the
 * current one is refused (one line naming the file and what changed), never used.
 *
 * <p>They come from the policy's own code path: {@code ModelLosses.score}, the model's inference
 * forward, which gives the training forward's bits, over {@link PairBatch#packed} micro-batches
 * of consecutive pairs. At step 0 the policy equals the reference, so every pair's DPO loss is
 * exactly ln 2 when the policy's micro-batches are the reference pass's (the CPU backend's GEMM
 * rounding depends on how many rows a call has, so another grouping moves S by a few fp32 ulps).
 *
 * <p>File: UTF-8 JSON, written atomically,
 * {@code {"format": "janus-reference-logprobs", "version": 1, "key": {...}, "pairs": P,
 * "chosen_sum": [P doubles], "rejected_sum": [...], "chosen_tokens": [P longs], "rejected_tokens": [...]}};
 * doubles are written in their shortest round-tripping form, so a loaded S is the computed S
 * bit for bit. The token counts let a load check each pair against the data as loaded now.
 */
public final class ReferenceLogProbs {
    public static final String FORMAT = "janus-reference-logprobs";
    public static final int VERSION = 1;

    private final ReferenceKey key;
    private final double[] chosen, rejected;        // (P) S_ref
    private final long[] chosenTokens, rejectedTokens; // (P) |M|

    private ReferenceLogProbs(ReferenceKey key, double[] chosen, double[] rejected, long[] chosenTokens,
                              long[] rejectedTokens) {
        this.key = key;
        this.chosen = chosen;
        this.rejected = rejected;
        this.chosenTokens = chosenTokens;
        this.rejectedTokens = rejectedTokens;
    }

    /**
     * Scores every pair with {@code reference}, {@code pairsPerBatch} consecutive pairs per packed
     * micro-batch (use the trainer's first micro-batches, so that step 0 sees exactly ln 2).
     */
    public static ReferenceLogProbs compute(Mistral reference, List<PairExample> pairs, int pairsPerBatch,
                                            ReferenceKey key) {
        if (pairsPerBatch < 1) {
            throw new IllegalArgumentException("pairsPerBatch must be >= 1, got " + pairsPerBatch);
        }
        int p = pairs.size();
        double[] chosen = new double[p], rejected = new double[p];
        long[] chosenTokens = new long[p], rejectedTokens = new long[p];
        for (int from = 0; from < p; from += pairsPerBatch) {
            int k = Math.min(pairsPerBatch, p - from);
            TrainingBatch batch = PairBatch.packed(pairs.subList(from, from + k));
            SequenceLogProbs seq = ModelLosses.score(reference, batch.tokens(), batch.labels());
            for (int i = 0; i < k; i++) {
                chosen[from + i] = finite(seq.sum(i), pairs.get(from + i));
                rejected[from + i] = finite(seq.sum(k + i), pairs.get(from + i));
                chosenTokens[from + i] = seq.tokens(i);
                rejectedTokens[from + i] = seq.tokens(k + i);
            }
        }
        return new ReferenceLogProbs(key, chosen, rejected, chosenTokens, rejectedTokens);
    }

    private static double finite(double s, PairExample pair) {
        if (!Double.isFinite(s)) {
            throw new IllegalStateException("the reference model gives a non-finite log-prob (" + s + ") for the pair of line "
                    + pair.line());
        }
        return s;
    }

    /**
     * The cache at {@code file} when its key is {@code key} and it matches {@code pairs}; computed
     * by {@code compute} and written there when the file does not exist. A file with another key
     * is refused: delete it (or choose another path) to recompute.
     */
    public static ReferenceLogProbs loadOrCompute(Path file, ReferenceKey key, List<PairExample> pairs,
                                                  Supplier<ReferenceLogProbs> compute) throws IOException {
        if (Files.exists(file)) {
            return load(file, key, pairs);
        }
        ReferenceLogProbs computed = compute.get();
        if (!computed.key.equals(key)) {
            throw new IllegalArgumentException("computed reference log-probs carry another key than " + key);
        }
        computed.check(file, pairs);
        computed.save(file);
        return computed;
    }

    /** Writes this cache to {@code file} atomically. */
    public void save(Path file) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("format", FORMAT);
        json.put("version", VERSION);
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("model", key.model());
        k.put("tokenizer", key.tokenizer());
        k.put("template", key.template());
        k.put("max_tokens", key.maxTokens());
        k.put("row_policy", key.rowPolicy());
        k.put("data", key.data());
        json.put("key", k);
        json.put("pairs", chosen.length);
        json.put("chosen_sum", chosen);
        json.put("rejected_sum", rejected);
        json.put("chosen_tokens", chosenTokens);
        json.put("rejected_tokens", rejectedTokens);
        byte[] bytes;
        try {
            bytes = (Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json) + "\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IOException("cannot serialise the reference log-probs: " + e.getMessage(), e);
        }
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        AtomicFiles.write(file, bytes);
    }

    /**
     * Reads the cache at {@code file}; refuses it, with one line naming the file and what
     * changed, when its key is not {@code expected} or it does not match {@code pairs} (count and
     * every answer's supervised tokens).
     */
    public static ReferenceLogProbs load(Path file, ReferenceKey expected, List<PairExample> pairs)
            throws InvalidFileException {
        JsonNode root = Json.read(file);
        if (!root.isObject() || !FORMAT.equals(text(root, "format"))) {
            throw new InvalidFileException(file, "not a janus reference log-prob cache (\"format\" is not \"" + FORMAT + "\")");
        }
        if (!root.path("version").isInt() || root.get("version").intValue() != VERSION) {
            throw new InvalidFileException(file, "version " + root.path("version") + " of the reference cache, janus reads "
                    + VERSION);
        }
        JsonNode k = root.path("key");
        if (!k.path("max_tokens").isInt()) {
            throw new InvalidFileException(file, "\"key\" must hold \"max_tokens\" as an integer");
        }
        ReferenceKey stored = new ReferenceKey(required(file, k, "model"), required(file, k, "tokenizer"),
                required(file, k, "template"), k.get("max_tokens").intValue(), required(file, k, "row_policy"),
                required(file, k, "data"));
        List<String> changed = stored.differences(expected);
        if (!changed.isEmpty()) {
            throw new InvalidFileException(file, "stale reference log-probs: " + String.join("; ", changed)
                    + " changed; delete the file to recompute them");
        }
        if (!root.path("pairs").canConvertToInt()) {
            throw new InvalidFileException(file, "\"pairs\" must be an integer");
        }
        int p = root.get("pairs").intValue();
        ReferenceLogProbs cache = new ReferenceLogProbs(stored, doubles(file, root, "chosen_sum", p),
                doubles(file, root, "rejected_sum", p), longs(file, root, "chosen_tokens", p),
                longs(file, root, "rejected_tokens", p));
        cache.check(file, pairs);
        return cache;
    }

    /** The pairs must be the ones scored: same count, same supervised tokens per answer. */
    private void check(Path file, List<PairExample> pairs) throws InvalidFileException {
        if (pairs.size() != chosen.length) {
            throw new InvalidFileException(file, "holds " + chosen.length + " pairs, the data has " + pairs.size());
        }
        for (int i = 0; i < chosen.length; i++) {
            PairExample pair = pairs.get(i);
            if (pair.chosen().supervisedTokens() != chosenTokens[i] || pair.rejected().supervisedTokens() != rejectedTokens[i]) {
                throw new InvalidFileException(file, "pair " + i + " (line " + pair.line() + ") has " + pair.chosen()
                        .supervisedTokens() + " + " + pair.rejected().supervisedTokens() + " supervised tokens, the cache "
                        + chosenTokens[i] + " + " + rejectedTokens[i]);
            }
        }
    }

    public ReferenceKey key() {
        return key;
    }

    /** P, the number of pairs. */
    public int pairs() {
        return chosen.length;
    }

    /** S_ref of the chosen answers of pairs [from, to), a new array. */
    public double[] chosen(int from, int to) {
        return java.util.Arrays.copyOfRange(chosen, from, to);
    }

    /** S_ref of the rejected answers of pairs [from, to), a new array. */
    public double[] rejected(int from, int to) {
        return java.util.Arrays.copyOfRange(rejected, from, to);
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || !v.isTextual() ? null : v.textValue();
    }

    private static String required(Path file, JsonNode node, String field) throws InvalidFileException {
        String v = text(node, field);
        if (v == null) {
            throw new InvalidFileException(file, "\"key\" must hold \"" + field + "\" as a string");
        }
        return v;
    }

    private static double[] doubles(Path file, JsonNode root, String field, int p) throws InvalidFileException {
        JsonNode a = array(file, root, field, p);
        double[] out = new double[p];
        for (int i = 0; i < p; i++) {
            JsonNode v = a.get(i);
            if (!v.isNumber() || !Double.isFinite(v.doubleValue()) || v.doubleValue() > 0) {
                throw new InvalidFileException(file, "\"" + field + "\"[" + i + "] must be a finite log-prob <= 0, found " + v);
            }
            out[i] = v.doubleValue();
        }
        return out;
    }

    private static long[] longs(Path file, JsonNode root, String field, int p) throws InvalidFileException {
        JsonNode a = array(file, root, field, p);
        long[] out = new long[p];
        for (int i = 0; i < p; i++) {
            JsonNode v = a.get(i);
            if (!v.canConvertToLong() || !v.isIntegralNumber() || v.longValue() < 1) {
                throw new InvalidFileException(file, "\"" + field + "\"[" + i + "] must be a positive integer, found " + v);
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static JsonNode array(Path file, JsonNode root, String field, int p) throws InvalidFileException {
        JsonNode a = root.get(field);
        if (a == null || !a.isArray() || a.size() != p) {
            throw new InvalidFileException(file, "\"" + field + "\" must be an array of " + p + " values (\"pairs\")");
        }
        return a;
    }
}
