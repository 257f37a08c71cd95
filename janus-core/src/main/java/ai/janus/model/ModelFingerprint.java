package ai.janus.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The identity of a model's function: SHA-256 over the config fields that change what the model
 * computes, then every parameter's name, shape, dtype and bytes in spec order. Two models with the
 * same fingerprint give the same outputs; re-saving a model in another shard layout does not
 * change it, storing it in another dtype does (the values change). Used to key caches of model
 * outputs (DPO reference log-probs). Hashing reads every parameter once (about 1–2 GB/s).
 */
public final class ModelFingerprint {
    private ModelFingerprint() {}

    /** {@code "sha256:" + hex}. */
    public static String of(MistralConfig c, ParameterSet parameters) {
        MessageDigest sha = sha256();
        String architecture = "mistral vocab=" + c.vocabSize() + " hidden=" + c.hiddenSize() + " intermediate="
                + c.intermediateSize() + " layers=" + c.numHiddenLayers() + " heads=" + c.numAttentionHeads() + " kv="
                + c.numKeyValueHeads() + " head_dim=" + c.headDim() + " rope_theta=" + c.ropeTheta() + " window="
                + c.slidingWindow() + " rms_eps=" + c.rmsNormEps() + " tied=" + c.tieWordEmbeddings() + "\n";
        sha.update(architecture.getBytes(StandardCharsets.UTF_8));
        for (ParameterSet.Spec s : parameters.specs()) {
            sha.update((s.name() + " " + Arrays.toString(s.shape()) + " " + parameters.dtype() + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            sha.update(parameters.get(s.name()).bytes()); // one tensor's view: ≤ 2 GiB
        }
        return "sha256:" + HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK provides SHA-256", e);
        }
    }
}
