package ai.janus.train;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.SftExample;
import ai.janus.model.Mistral;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.LrSchedule;
import ai.janus.train.dist.TrainingParameters;
import ai.janus.train.objective.SftObjective;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The first non-finite loss stops training with the step, the micro-batch and the data lines in the message. */
class TrainerDivergenceTest {
    @TempDir
    Path dir;

    @Test
    void aNonFiniteLossNamesStepMicroBatchAndLines() {
        var config = TrainerResumeTest.CONFIG;
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(config)); CpuBackend cpu = new CpuBackend();
             AdamW opt = AdamW.fp32(params, AdamWConfig.janus(), cpu.parallel())) {
            MistralWeights.initialize(config, params, 1);
            params.get(MistralWeights.FINAL_NORM).floats().put(0, Float.NaN); // poisons every logit
            List<SftExample> examples = TrainerResumeTest.examples();
            List<int[]> samples = new ArrayList<>();
            for (int i = 0; i < examples.size(); i++) {
                samples.add(new int[] {i});
            }
            Mistral model = new Mistral(config, MistralWeights.of(config, params), cpu);
            Trainer.Settings settings = new Trainer.Settings(2, 1, 3, 1.0, 5, 0, 0, dir);
            try (Trainer trainer = new Trainer(settings, new TrainingParameters(config, params, null), opt,
                    LrSchedule.constant(1e-3, 0, 3), new SftObjective(model, examples, samples, false), cpu,
                    cpu.parallel(), Map.of(), Progress.silent())) {
                TrainingDivergedException e = assertThrows(TrainingDivergedException.class, trainer::train);
                assertTrue(e.getMessage().matches("non-finite loss NaN at step 1, micro-batch 0: examples of data lines \\[\\d+, \\d+\\]"),
                        e.getMessage());
            }
        }
    }
}
