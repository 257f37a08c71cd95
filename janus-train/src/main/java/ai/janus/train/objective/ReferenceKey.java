package ai.janus.train.objective;

import ai.janus.data.Reason;
import ai.janus.data.ValidationRules;
import ai.janus.data.tokenizer.Tokenizer;
import ai.janus.model.MistralConfig;
import ai.janus.model.ModelFingerprint;
import ai.janus.model.ParameterSet;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * What DPO reference log-probs depend on (docs/spec/reliability.md, "DPO reference"): a cache is valid only
 * for the key it was computed under.
 *
 * @param model     {@link ModelFingerprint} of the reference model (config and every parameter)
 * @param tokenizer the tokenizer's fingerprint (SHA-256 of its model file)
 * @param template  {@code ChatTemplate.NAME}
 * @param maxTokens the maximum sequence length of the data load
 * @param rowPolicy how rows were cut or dropped: every reason's action (the truncation policy,
 *                  "too-long=truncate", among them) and the line byte limit, which together decide
 *                  which pairs exist and how each is cut
 * @param data      the SHA-256 of the data file's bytes, plus whatever built pairs from it (e.g.
 *                  PairBuilder's seed) when the pairs are not the file's rows
 */
public record ReferenceKey(String model, String tokenizer, String template, int maxTokens, String rowPolicy,
                           String data) {
    public ReferenceKey {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(template, "template");
        Objects.requireNonNull(rowPolicy, "rowPolicy");
        Objects.requireNonNull(data, "data");
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be positive, got " + maxTokens);
        }
    }

    /**
     * The key of pairs loaded from {@code dataFile} with {@code rules} by a template over
     * {@code tokenizer} named {@code templateName}, scored by the model ({@code config},
     * {@code parameters}). Hashes every parameter and the whole data file.
     */
    public static ReferenceKey of(MistralConfig config, ParameterSet parameters, Tokenizer tokenizer, String templateName,
                                  ValidationRules rules, Path dataFile) {
        return new ReferenceKey(ModelFingerprint.of(config, parameters), tokenizer.fingerprint(), templateName,
                rules.maxTokens(), rowPolicy(rules), fileFingerprint(dataFile));
    }

    /** "too-long=truncate empty-answer=error … max-line-bytes=16777216": the actions in {@link Reason} order. */
    public static String rowPolicy(ValidationRules rules) {
        StringBuilder s = new StringBuilder();
        for (Reason r : Reason.values()) {
            s.append(r.key()).append('=').append(rules.action(r).key()).append(' ');
        }
        return s.append("max-line-bytes=").append(rules.maxLineBytes()).toString();
    }

    /** "sha256:" + hex of the file's bytes. */
    public static String fileFingerprint(Path file) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK provides SHA-256", e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
            in.transferTo(java.io.OutputStream.nullOutputStream()); // only the digest is wanted
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return "sha256:" + HexFormat.of().formatHex(sha.digest());
    }

    /**
     * What differs in {@code now} from this (the stored) key, one phrase per field:
     * {@code "the model (cache sha256:…, now sha256:…)"}; empty when the keys are equal.
     */
    public List<String> differences(ReferenceKey now) {
        List<String> out = new ArrayList<>();
        differ(out, "the model", model, now.model);
        differ(out, "the tokenizer", tokenizer, now.tokenizer);
        differ(out, "the template", template, now.template);
        differ(out, "the maximum length", String.valueOf(maxTokens), String.valueOf(now.maxTokens));
        differ(out, "the truncation and row policy", rowPolicy, now.rowPolicy);
        differ(out, "the data", data, now.data);
        return out;
    }

    private static void differ(List<String> out, String what, String cached, String now) {
        if (!cached.equals(now)) {
            out.add(what + " (cache " + cached + ", now " + now + ")");
        }
    }
}
