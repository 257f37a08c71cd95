package ai.janus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.janus.io.InvalidFileException;
import ai.janus.model.MistralConfig;
import ai.janus.tensor.HostMemory;
import ai.janus.train.config.RunConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A run whose weights load but whose training state cannot fit is refused before it allocates that state. */
class TrainingMemoryTest {
    private static RunConfig config(String extra) throws InvalidFileException {
        return RunConfig.parse(Path.of("run.yaml"), """
                base_model: m
                datasets:
                  - path: d.jsonl
                    type: sft
                learning_rate: 1.0e-5
                output_dir: out
                """ + extra);
    }

    @Test
    void weightsGradientsAndMomentsAreCountedAgainstTheLimit() throws InvalidFileException {
        MistralConfig mc = MistralConfig.tiny(1000); // 226,624 parameters
        long params = mc.parameterCount();
        HostMemory.Limit limit = new HostMemory.Limit(params * 16 - 1, "physical memory");
        assertEquals("training a model of 226,624 parameters with adamw (F32 weights, gradients and optimizer moments)"
                + " needs 0.0 GiB; this machine has 0.0 GiB (physical memory)",
                TrainingRun.trainingMemoryRefusal(mc, config(""), limit));
        assertNull(TrainingRun.trainingMemoryRefusal(mc, config(""), new HostMemory.Limit(params * 16, "physical memory")));
        assertNull(TrainingRun.trainingMemoryRefusal(mc, config("optimizer: adamw_8bit\n"), limit));
        assertNull(TrainingRun.trainingMemoryRefusal(mc, config("strategy: zero1\n"), limit));
    }
}
