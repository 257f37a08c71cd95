package ai.janus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.dist.LocalCommunicator;
import ai.janus.train.config.RunConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run-level rule of the GPU optimizer: with {@code backend: cuda} on one rank the optimizer
 * steps fp32 weights on the GPU, so {@code bf16: true} is refused in one line, before CUDA is
 * opened or anything is written (runs here, with or without a GPU).
 */
class CudaRunChecksTest {
    @TempDir
    Path dir;

    @Test
    void bf16WithCudaOnOneRankIsRefusedInOneLineBeforeAnythingHappens() throws Exception {
        Path out = dir.resolve("out");
        RunConfig config = RunConfig.parse(dir.resolve("run.yaml"), """
                base_model: %s
                datasets:
                  - path: %s
                    type: sft
                learning_rate: 5.0e-6
                output_dir: %s
                backend: cuda
                bf16: true
                """.formatted(dir.resolve("no-model"), dir.resolve("no-data.jsonl"), out));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainingRun.run(config, null,
                TrainingRun.Stage.SFT, new PrintStream(log, true, StandardCharsets.UTF_8), Progress.silent(),
                new LocalCommunicator()));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().contains("bf16: false"), e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }
}
