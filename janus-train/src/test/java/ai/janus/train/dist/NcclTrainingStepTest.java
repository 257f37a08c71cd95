package ai.janus.train.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.janus.dist.C10dStore;
import ai.janus.dist.Rendezvous;
import ai.janus.kernels.CudaProbe;
import ai.janus.kernels.NcclCommunicator;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a GPU is present: one training step with DDP over a world-size-1 NCCL communicator (host
 * buffers staged through device memory) is the local run, bit for bit — with one rank NCCL's
 * all-reduce, reduce-scatter and all-gather are copies. Skipped, with the probe's reason, elsewhere.
 */
class NcclTrainingStepTest {
    @TempDir
    Path dir;

    @Test
    void oneStepOverNcclIsTheLocalStep() throws Exception {
        assumeTrue(CudaProbe.probe().available(), CudaProbe.probe().toString());
        DistFixture.Run local = DistFixture.single(2, 1, "adamw", dir.resolve("local"));
        try (C10dStore store = C10dStore.file(dir.resolve("store"), 1, Duration.ofSeconds(30), Rendezvous.PREFIX);
             NcclCommunicator nccl = NcclCommunicator.create(store, Rendezvous.local(), null)) {
            for (StrategyKind kind : new StrategyKind[] {StrategyKind.DDP, StrategyKind.ZERO3}) {
                DistFixture.Run run = DistFixture.rank(nccl, (c, parameters, optimizers, cpu) -> Strategies.create(kind, c,
                        parameters, optimizers, 64 << 10, cpu), 2, 1, "adamw", dir.resolve(kind.configName()), false);
                for (int s = 0; s < DistFixture.STEPS; s++) {
                    assertEquals(Double.doubleToRawLongBits(local.history().get(s).loss()),
                            Double.doubleToRawLongBits(run.history().get(s).loss()), kind + " loss of step " + (s + 1));
                }
                assertArrayEquals(local.weights(), run.weights(), kind + ": final weights");
            }
        }
    }
}
