package ai.janus.bench;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.Storage;
import ai.janus.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The numbers around {@link TrainingStepBenchmark} that JMH does not give:
 * <ul>
 *   <li>{@code breakdown}: where a janus training step spends its time, per backend op;</li>
 *   <li>{@code memory janus|janus-checkpointed|libtorch}: the process's peak resident memory during
 *       6 steps above its resident memory after set-up, before the first step (Linux VmHWM after
 *       resetting it through /proc/self/clear_refs), and for janus the activation bytes held
 *       between forward and backward. Run each side in its own JVM so that neither sees the
 *       other's memory. (Measured from the first step: freed memory stays resident in the
 *       allocators of both sides, so a baseline taken after a step would hide the peak; the
 *       resident figure also holds the JVM's own growth while it compiles the step.) For janus
 *       also the exact peak of its off-heap allocations ({@link Storage#peakBytes()}).</li>
 * </ul>
 * {@code OMP_WAIT_POLICY=PASSIVE java --add-modules jdk.incubator.vector -cp janus-bench/target/benchmarks.jar
 * ai.janus.bench.TrainingStepProfile breakdown|memory SIDE}
 */
public final class TrainingStepProfile {
    private TrainingStepProfile() {}

    public static void main(String[] args) throws IOException {
        if (args.length >= 1 && args[0].equals("breakdown")) {
            breakdown(args.length > 1 ? Integer.parseInt(args[1]) : 5);
        } else if (args.length == 2 && args[0].equals("memory")) {
            memory(args[1]);
        } else {
            System.err.println("usage: TrainingStepProfile breakdown [steps] | memory janus|janus-checkpointed|libtorch");
            System.exit(2);
        }
    }

    private static void breakdown(int steps) {
        MistralConfig c = MistralConfig.benchSmall();
        int[][] rows = ForwardBenchmark.tokens(c);
        TokenBatch batch = TokenBatch.of(rows);
        int[] labels = TrainingStepBenchmark.labels(rows);
        try (ParameterSet p = ForwardBenchmark.weights(c); ParameterSet grads = p.zerosLike();
             TimedBackend timed = new TimedBackend(new CpuBackend());
             Tensor dLogp = TrainingStepBenchmark.meanNllGradient(labels)) {
            Mistral model = new Mistral(c, MistralWeights.of(c, p), timed);
            for (int i = 0; i < 2 + steps; i++) {
                if (i == 2) {
                    timed.reset();
                }
                long start = System.nanoTime();
                timed.zero(grads.flat());
                try (Mistral.ForwardState st = model.forward(batch, labels, false)) {
                    model.backward(st, dLogp, grads);
                }
                if (i >= 2) {
                    timed.totals().computeIfAbsent("(whole step)", k -> new long[2])[0] += System.nanoTime() - start;
                }
            }
            double total = timed.totals().get("(whole step)")[0] / 1e6 / steps;
            System.out.printf("bench-small training step, %d tokens: %.1f ms per step (%s)%n", batch.size(), total,
                    timed.name());
            double accounted = 0;
            for (var e : timed.totals().entrySet()) {
                if (e.getKey().equals("(whole step)")) {
                    continue;
                }
                double ms = e.getValue()[0] / 1e6 / steps;
                accounted += ms;
                System.out.printf("  %-26s %8.1f ms %5.1f%%  (%d calls)%n", e.getKey(), ms, 100 * ms / total,
                        e.getValue()[1] / steps);
            }
            System.out.printf("  %-26s %8.1f ms %5.1f%%%n", "outside backend ops", total - accounted,
                    100 * (total - accounted) / total);
        }
    }

    private static void memory(String side) throws IOException {
        System.setProperty("jmh.ignoreLock", "true");
        long before, start;
        String extra = "";
        switch (side) {
            case "janus", "janus-checkpointed" -> {
                TrainingStepBenchmark.JanusSide s = new TrainingStepBenchmark.JanusSide();
                s.checkpointing = side.endsWith("checkpointed");
                s.setUp();
                before = resetPeak();
                long offHeapBefore = Storage.liveBytes();
                Storage.resetPeakBytes();
                s.step();
                start = System.nanoTime();
                for (int i = 0; i < 5; i++) {
                    s.step();
                }
                start = System.nanoTime() - start;
                long offHeapPeak = Storage.peakBytes() - offHeapBefore;
                try (Mistral.ForwardState st = s.model.forward(s.batch, s.labels, s.checkpointing)) {
                    extra = String.format(", activations held between forward and backward %.1f MiB,"
                            + " janus off-heap allocations at their peak %.1f MiB above set-up",
                            st.activationBytes() / 1048576.0, offHeapPeak / 1048576.0);
                }
                s.tearDown();
            }
            case "libtorch" -> {
                TrainingStepBenchmark.TorchSide s = new TrainingStepBenchmark.TorchSide();
                s.setUp();
                before = resetPeak();
                s.step();
                start = System.nanoTime();
                for (int i = 0; i < 5; i++) {
                    s.step();
                }
                start = System.nanoTime() - start;
                s.tearDown();
            }
            default -> throw new IllegalArgumentException("side must be janus, janus-checkpointed or libtorch");
        }
        long peak = status("VmHWM");
        System.out.printf("%s: resident before the steps %.1f MiB, peak during 6 steps %.1f MiB, step peak above"
                + " baseline %.1f MiB%s; %.0f ms per step (not a benchmark: see TrainingStepBenchmark)%n", side,
                before / 1048576.0, peak / 1048576.0, (peak - before) / 1048576.0, extra, start / 5e6);
    }

    /** Resets the kernel's peak-RSS mark (VmHWM) to the current RSS and returns that RSS in bytes. */
    private static long resetPeak() throws IOException {
        System.gc();
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        return status("VmRSS");
    }

    /** A "kB" field of /proc/self/status, in bytes. */
    private static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no " + field + " in /proc/self/status");
    }
}
