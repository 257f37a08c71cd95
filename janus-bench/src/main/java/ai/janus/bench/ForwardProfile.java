package ai.janus.bench;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.Tensor;

/**
 * Where the janus forward of bench-small spends its time: runs {@link ForwardBenchmark}'s
 * workload through a {@link TimedBackend} and prints each op's share.
 * {@code java --add-modules jdk.incubator.vector -cp janus-bench/target/benchmarks.jar ai.janus.bench.ForwardProfile [iterations]}
 */
public final class ForwardProfile {
    private ForwardProfile() {}

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        MistralConfig c = MistralConfig.benchSmall();
        TokenBatch batch = TokenBatch.of(ForwardBenchmark.tokens(c));
        try (ParameterSet p = ForwardBenchmark.weights(c); TimedBackend timed = new TimedBackend(new CpuBackend())) {
            Mistral model = new Mistral(c, MistralWeights.of(c, p), timed);
            for (int i = 0; i < 5; i++) { // warm-up
                model.logits(batch).close();
            }
            timed.reset();
            long start = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                try (Tensor logits = model.logits(batch)) {
                    logits.floats().get(0);
                }
            }
            double total = (System.nanoTime() - start) / 1e6 / iterations;
            System.out.printf("bench-small forward, %d tokens: %.1f ms per forward (%s)%n", batch.size(), total,
                    timed.name());
            double accounted = 0;
            for (var e : timed.totals().entrySet()) {
                double ms = e.getValue()[0] / 1e6 / iterations;
                accounted += ms;
                System.out.printf("  %-22s %8.1f ms %5.1f%%  (%d calls)%n", e.getKey(), ms, 100 * ms / total,
                        e.getValue()[1] / iterations);
            }
            System.out.printf("  %-22s %8.1f ms %5.1f%%%n", "outside backend ops", total - accounted,
                    100 * (total - accounted) / total);
        }
    }
}
