package ai.janus.train.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.dist.LocalCommunicator;
import ai.janus.dist.ThreadRanks;
import ai.janus.io.InvalidFileException;
import ai.janus.train.Trainer;
import ai.janus.train.checkpoint.CheckpointStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checkpoints written by every rank with one manifest, and resume with the same world size: 6
 * steps straight (saving at 3 and 6) equal 3 steps + resume from step 3 + 3 steps, bit for bit
 * (per-step loss and norm, the weights gathered on rank 0); another world size is refused.
 */
class DistributedResumeTest {
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    static DistFixture.StrategyMaker maker(StrategyKind kind) {
        return (comm, parameters, optimizers, cpu) -> Strategies.create(kind, comm, parameters, optimizers, 64 << 10, cpu);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ddp", "zero1", "zero2", "zero3"})
    void resumeWithTheSameWorldSizeIsBitExact(String strategy) throws Exception {
        StrategyKind kind = StrategyKind.valueOf(strategy.toUpperCase(java.util.Locale.ROOT));
        Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
        List<DistFixture.Run> a = ThreadRanks.run(2, dir.resolve("s1"), TIMEOUT, c -> DistFixture.rank(c, maker(kind),
                DistFixture.settings(1, 2, 6, 3, straight), "adamw_8bit", false, false));
        Path step3 = straight.resolve("checkpoints/step-3");
        Set<String> files;
        try (Stream<Path> list = Files.list(step3)) {
            files = list.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
        assertTrue(files.contains(CheckpointStore.MANIFEST) && files.contains(Trainer.STATE_FILE), files.toString());
        if (kind.zeroStage() > 0) {
            assertTrue(files.contains(Zero.optimizerFile(0, 2)) && files.contains(Zero.optimizerFile(1, 2)), files.toString());
        }
        if (kind == StrategyKind.ZERO3) {
            assertTrue(files.contains(Zero.modelFile(0, 2)) && files.contains(Zero.modelFile(1, 2)), files.toString());
        }
        assertEquals(files.size() - 1, CheckpointStore.verify(step3).files().size(), "one manifest lists every rank's files");

        copyTree(step3, resumed.resolve("checkpoints/step-3"));
        List<DistFixture.Run> b = ThreadRanks.run(2, dir.resolve("s2"), TIMEOUT, c -> DistFixture.rank(c, maker(kind),
                DistFixture.settings(1, 2, 6, 3, resumed), "adamw_8bit", false, true));
        assertEquals(3, b.get(0).history().size());
        for (int i = 0; i < 3; i++) {
            Trainer.StepMetrics x = a.get(0).history().get(3 + i), y = b.get(0).history().get(i);
            assertEquals(x.step(), y.step());
            assertEquals(Double.doubleToRawLongBits(x.loss()), Double.doubleToRawLongBits(y.loss()), "loss of step " + x.step());
            assertEquals(Double.doubleToRawLongBits(x.gradNorm()), Double.doubleToRawLongBits(y.gradNorm()),
                    "norm of step " + x.step());
        }
        assertArrayEquals(a.get(0).weights(), b.get(0).weights(), "final weights");

        // one process cannot continue what two wrote
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> DistFixture.rank(new LocalCommunicator(),
                maker(kind), DistFixture.settings(1, 2, 6, 3, resumed), "adamw_8bit", false, true));
        assertTrue(e.getMessage().contains("written by 2 rank(s) with strategy " + strategy + "; this run has 1"),
                e.getMessage());
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.naturalOrder())::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
