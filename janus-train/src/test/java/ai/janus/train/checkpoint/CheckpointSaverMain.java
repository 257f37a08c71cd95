package ai.janus.train.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A process that saves checkpoints as fast as it can, for {@link CheckpointStoreTest} to kill:
 * step s holds two files whose bytes are a function of s, so any loaded checkpoint can be checked.
 * Args: root, first step.
 */
public final class CheckpointSaverMain {
    private CheckpointSaverMain() {}

    static byte[] content(long step, int file, int size) {
        byte[] b = new byte[size];
        new Random(step * 31 + file).nextBytes(b);
        return b;
    }

    public static void main(String[] args) throws IOException {
        CheckpointStore store = new CheckpointStore(Path.of(args[0]), 3);
        for (long step = Long.parseLong(args[1]); ; step++) {
            long s = step;
            store.save(step, dir -> {
                Files.write(dir.resolve("model.safetensors"), content(s, 0, 3 << 20));
                Files.write(dir.resolve("optimizer.safetensors"), content(s, 1, 1 << 20));
            });
            System.out.println(step);
        }
    }
}
