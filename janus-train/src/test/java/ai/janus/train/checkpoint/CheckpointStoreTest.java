package ai.janus.train.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.io.InvalidFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
    @TempDir
    Path root;

    private static CheckpointStore.Contents twoFiles(long step) {
        return dir -> {
            Files.write(dir.resolve("a.bin"), CheckpointSaverMain.content(step, 0, 1000));
            Files.write(dir.resolve("b.bin"), CheckpointSaverMain.content(step, 1, 10));
        };
    }

    @Test
    void saveWritesManifestLastAndLatestPointsAtIt() throws IOException {
        CheckpointStore store = new CheckpointStore(root, 0);
        CheckpointStore.Checkpoint c = store.save(7, twoFiles(7));
        assertEquals(7, c.step());
        assertEquals(List.of("a.bin", "b.bin"), List.copyOf(c.files().keySet()));
        assertEquals("step-7", Files.readString(root.resolve("latest")).trim());
        assertFalse(Files.exists(root.resolve("step-7.tmp")));
        assertEquals(7, store.latest().orElseThrow().step());
    }

    @Test
    void rotationSortsNumericallyAndKeepsTheNewest() throws IOException {
        CheckpointStore store = new CheckpointStore(root, 2);
        for (long step : new long[] {9, 10, 100, 11}) {
            store.save(step, twoFiles(step));
        }
        // after 11: the two newest valid by number are 100 and 11; 9 and 10 are gone
        assertTrue(Files.exists(root.resolve("step-100")));
        assertTrue(Files.exists(root.resolve("step-11")));
        assertFalse(Files.exists(root.resolve("step-9")));
        assertFalse(Files.exists(root.resolve("step-10")));
    }

    @Test
    void aDamagedCheckpointIsSkippedForTheNewestValidOne() throws IOException {
        CheckpointStore store = new CheckpointStore(root, 0);
        store.save(1, twoFiles(1));
        store.save(2, twoFiles(2));
        byte[] b = Files.readAllBytes(root.resolve("step-2/a.bin"));
        b[17] ^= 1;
        Files.write(root.resolve("step-2/a.bin"), b);
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> CheckpointStore.verify(root.resolve("step-2")));
        assertTrue(e.getMessage().contains("a.bin: SHA-256 differs"), e.getMessage());
        assertEquals(1, store.latest().orElseThrow().step());
        Files.createDirectories(root.resolve("step-3.tmp"));
        Files.createDirectories(root.resolve("step-4"));     // no manifest: not a checkpoint
        assertEquals(1, store.latest().orElseThrow().step());
    }

    /**
     * Rotation removes only what janus wrote there (step-N.tmp directories, a killed write's
     * latest.<random>.tmp), never another *.tmp. Today it deleted photos.tmp/img1.jpg.
     */
    @Test
    void rotationRemovesOnlyJanussOwnTemporaries() throws IOException {
        Files.createDirectories(root.resolve("photos.tmp"));
        Files.writeString(root.resolve("photos.tmp/img1.jpg"), "a photo");
        Files.writeString(root.resolve("notes.tmp"), "mine");
        Files.createDirectories(root.resolve("step-3.tmp"));
        Files.writeString(root.resolve("latest.0123456789abcdef.tmp"), "step-");
        new CheckpointStore(root, 1).save(4, twoFiles(4));
        assertTrue(Files.exists(root.resolve("photos.tmp/img1.jpg")));
        assertTrue(Files.exists(root.resolve("notes.tmp")));
        assertFalse(Files.exists(root.resolve("step-3.tmp")));
        assertFalse(Files.exists(root.resolve("latest.0123456789abcdef.tmp")));
    }

    /** search() names each newer checkpoint that fails verification, and why. */
    @Test
    void searchSaysWhichNewerCheckpointsFailAndWhy() throws IOException {
        CheckpointStore store = new CheckpointStore(root, 0);
        store.save(1, twoFiles(1));
        store.save(2, twoFiles(2));
        store.save(3, twoFiles(3));
        Files.delete(root.resolve("step-3/b.bin"));
        Files.writeString(root.resolve("step-2/a.bin"), "short");
        CheckpointStore.Search search = store.search();
        assertEquals(1, search.found().orElseThrow().step());
        assertEquals(List.of(root.resolve("step-3"), root.resolve("step-2")),
                search.rejected().stream().map(CheckpointStore.Rejection::directory).toList());
        assertEquals(root.resolve("step-3/b.bin") + ": missing, though the manifest lists it",
                search.rejected().get(0).reason());
        assertTrue(search.rejected().get(1).reason().startsWith(root.resolve("step-2/a.bin") + ": size 5 differs"),
                search.rejected().get(1).reason());
    }

    @Test
    void noCheckpointIsEmpty() throws IOException {
        assertTrue(new CheckpointStore(root.resolve("none"), 1).latest().isEmpty());
    }

    /**
     * Kills a process that saves checkpoints back to back at 25 random moments. After every kill
     * the newest valid checkpoint loads, holds exactly the bytes of its step, is at least as new
     * as any checkpoint seen complete before the kill, and the store keeps saving afterwards.
     */
    @Test
    void killingTheProcessDuringSavesNeverLosesTheLastValidCheckpoint() throws Exception {
        Random random = new Random(12);
        Path run = root.resolve("run");
        long nextStep = 1, lastValid = 0;
        int kills = 0, killsWithSaveInFlight = 0;
        while (kills < 25) {
            Path log = root.resolve("saver-" + kills + ".log");
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), CheckpointSaverMain.class.getName(),
                    run.toString(), Long.toString(nextStep)).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            // wait for the first completed save of this process, then let it run a random while
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (Files.readAllLines(log).isEmpty()) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("the saver process did not save: " + Files.readString(log));
                }
                Thread.sleep(5);
            }
            Thread.sleep(random.nextInt(5, 250));
            p.destroyForcibly();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            kills++;
            List<String> completed = Files.readAllLines(log).stream().filter(l -> l.matches("\\d+")).toList();
            long newestCompleted = Long.parseLong(completed.get(completed.size() - 1).trim());
            try (Stream<Path> list = Files.list(run)) {
                if (list.anyMatch(f -> f.getFileName().toString().endsWith(".tmp"))) {
                    killsWithSaveInFlight++;
                }
            }
            CheckpointStore.Checkpoint c = new CheckpointStore(run, 3).latest().orElseThrow();
            assertTrue(c.step() >= newestCompleted && c.step() >= lastValid,
                    "kill " + kills + ": latest " + c.step() + " is older than completed " + newestCompleted);
            assertArrayEquals(CheckpointSaverMain.content(c.step(), 0, 3 << 20), Files.readAllBytes(c.file("model.safetensors")));
            assertArrayEquals(CheckpointSaverMain.content(c.step(), 1, 1 << 20), Files.readAllBytes(c.file("optimizer.safetensors")));
            lastValid = c.step();
            nextStep = c.step() + 1;
        }
        System.out.printf("checkpoint kill test: %d kills, %d with a save in flight, last valid step %d%n", kills,
                killsWithSaveInFlight, lastValid);
        assertTrue(killsWithSaveInFlight >= 5, "too few kills landed inside a save: " + killsWithSaveInFlight);
    }
}
