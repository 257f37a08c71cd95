package ai.janus.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident memory, VmHWM from /proc/self/status (Linux): Java heap, off-heap
 * tensors and native libraries together, which the JVM's own counters do not add up.
 */
final class PeakMemory {
    private PeakMemory() {}

    /** Bytes, or -1 where /proc/self/status is not available. */
    static long read() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException | SecurityException e) {
            return -1;
        }
        return -1;
    }
}
