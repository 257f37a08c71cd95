package ai.janus.train.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.dist.ThreadRanks;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * ZeRO-1/2/3 with 2 and 4 ranks as threads over Gloo and a FileStore, against one process on the
 * same global batch for 5 optimizer steps (see {@link DataParallelTest} for the tolerances and
 * why they are not zero): per-step loss and gradient norm, and the final weights gathered on
 * rank 0 for the export.
 */
class ZeroTest {
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}, {1} ranks, micro-batch {2}, accumulation {3}, {4}, checkpointing {5}")
    @CsvSource({
            "zero1, 2, 2, 2, adamw, false, 1e-6",
            "zero1, 4, 1, 2, adamw, false, 1e-6",
            "zero2, 2, 2, 2, adamw, false, 1e-6",
            "zero2, 4, 1, 2, adamw, true, 1e-6",
            "zero3, 2, 2, 2, adamw, true, 1e-6",
            "zero3, 4, 1, 2, adamw, false, 1e-6",
            "zero1, 4, 1, 1, adamw_8bit, false, 1e-4"})
    void zeroReproducesSingleProcessTraining(String strategy, int ranks, int microBatch, int accumulation,
                                             String optimizer, boolean checkpointing, double tolerance) throws Exception {
        StrategyKind kind = StrategyKind.valueOf(strategy.toUpperCase(java.util.Locale.ROOT));
        DistFixture.Run single = DistFixture.single(microBatch, ranks * accumulation, optimizer, dir.resolve("single"));
        List<DistFixture.Run> runs = ThreadRanks.run(ranks, dir.resolve("store"), TIMEOUT, c -> DistFixture.rank(c,
                (comm, parameters, optimizers, cpu) -> new Zero(kind, comm, parameters, optimizers, cpu, cpu.parallel()),
                microBatch, accumulation, optimizer, dir.resolve(strategy), checkpointing));
        DistFixture.Run zero = runs.get(0);
        assertNotNull(zero.weights(), "rank 0 gathers the model for the export");
        for (int s = 0; s < DistFixture.STEPS; s++) {
            double a = single.history().get(s).loss(), b = zero.history().get(s).loss();
            assertEquals(a, b, tolerance * Math.abs(a), "loss of step " + (s + 1));
            assertEquals(single.history().get(s).gradNorm(), zero.history().get(s).gradNorm(),
                    tolerance * single.history().get(s).gradNorm(), "gradient norm of step " + (s + 1));
            for (DistFixture.Run r : runs) {
                assertEquals(Double.doubleToRawLongBits(zero.history().get(s).gradNorm()),
                        Double.doubleToRawLongBits(r.history().get(s).gradNorm()), "every rank has the same norm");
            }
        }
        assertEquals(Double.doubleToRawLongBits(single.history().get(0).loss()),
                Double.doubleToRawLongBits(zero.history().get(0).loss()), "step 1's loss is exact");
        double rel = DistFixture.relative(zero.weights(), single.weights());
        System.out.printf("%s, %d ranks, %s: final weights relative L2 %.3g, %.1f%% bit-identical%n", strategy, ranks,
                optimizer, rel, 100 * DistFixture.identical(zero.weights(), single.weights()));
        assertTrue(rel < tolerance, "final weights differ by " + rel);
    }
}
