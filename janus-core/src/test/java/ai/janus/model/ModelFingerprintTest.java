package ai.janus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.AttentionSpec;
import ai.janus.tensor.DType;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model's fingerprint follows its function: values and architecture, not the file layout. */
class ModelFingerprintTest {
    private static final MistralConfig CONFIG = MistralConfig.tiny(97);

    @TempDir
    Path dir;

    @Test
    void sameValuesSameFingerprintWhateverTheShardLayout() throws Exception {
        try (ParameterSet p = ParameterSet.allocate(MistralWeights.specs(CONFIG))) {
            MistralWeights.initialize(CONFIG, p, 1);
            String fingerprint = ModelFingerprint.of(CONFIG, p);
            assertTrue(fingerprint.matches("sha256:[0-9a-f]{64}"), fingerprint);
            HfCheckpoint.save(dir, CONFIG, p, DType.F32, 20_000); // many shards
            try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(dir)) {
                assertEquals(fingerprint, ModelFingerprint.of(loaded.config(), loaded.parameters()));
            }
            p.get(MistralWeights.layer(1, "mlp.up_proj.weight")).floats().put(17, 0.5f);
            assertNotEquals(fingerprint, ModelFingerprint.of(CONFIG, p), "one value changed");
        }
    }

    @Test
    void anotherArchitectureOverTheSameValuesDiffers() {
        MistralConfig otherTheta = MistralConfig.of(97, 64, 192, 2, 4, 2, 16, 500000.0, AttentionSpec.NO_WINDOW, false);
        try (ParameterSet p = ParameterSet.allocate(MistralWeights.specs(CONFIG))) {
            MistralWeights.initialize(CONFIG, p, 1);
            assertNotEquals(ModelFingerprint.of(CONFIG, p), ModelFingerprint.of(otherTheta, p));
        }
    }
}
