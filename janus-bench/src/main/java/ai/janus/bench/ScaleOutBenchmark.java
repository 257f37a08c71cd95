package ai.janus.bench;

import static org.bytedeco.pytorch.global.torch.ones;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.SftExample;
import ai.janus.data.TemplatedSequence;
import ai.janus.dist.C10dStore;
import ai.janus.dist.Communicator;
import ai.janus.dist.CountingCommunicator;
import ai.janus.dist.GlooCommunicator;
import ai.janus.dist.Rendezvous;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.LrSchedule;
import ai.janus.optim.StepKernels;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import ai.janus.train.Progress;
import ai.janus.train.Trainer;
import ai.janus.train.dist.ShardLayout;
import ai.janus.train.dist.Strategies;
import ai.janus.train.dist.Strategy;
import ai.janus.train.dist.StrategyKind;
import ai.janus.train.dist.TrainingParameters;
import ai.janus.train.objective.SftObjective;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.FileStore;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.TensorVector;

/**
 * The scale-out figures of BENCHMARKS.md, two ranks as threads of one JVM over loopback TCP:
 * <ul>
 *   <li>{@code bandwidth}: Gloo all-reduce of 1M to 64M floats, janus' {@link GlooCommunicator}
 *       (zero-copy over janus buffers) against libtorch's ProcessGroupGloo on its own tensors, in
 *       the same run, alternating, median of the iterations;</li>
 *   <li>{@code volume}: one training step of each strategy on a 20M-parameter model, the elements
 *       counted at the communicator against the formula (README), and the step's time.</li>
 * </ul>
 * {@code java --add-modules jdk.incubator.vector -cp janus-bench/target/benchmarks.jar ai.janus.bench.ScaleOutBenchmark bandwidth|volume}
 */
public final class ScaleOutBenchmark {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    private ScaleOutBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("bandwidth")) {
            bandwidth();
        } else if (args.length == 1 && args[0].equals("volume")) {
            volume();
        } else {
            System.err.println("usage: ScaleOutBenchmark bandwidth|volume");
            System.exit(2);
        }
    }

    /** Runs {@code body(rank)} on two threads and returns their results. */
    private static <T> List<T> twoRanks(RankBody<T> body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<T>> f = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                f.add(pool.submit((Callable<T>) () -> body.run(rank)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> x : f) {
                out.add(x.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @FunctionalInterface
    private interface RankBody<T> {
        T run(int rank) throws Exception;
    }

    private static void bandwidth() throws Exception {
        Path dir = Files.createTempDirectory("janus-gloo-bw");
        System.out.println("| floats | MiB | janus ms | libtorch ms | janus algbw GB/s | janus busbw GB/s | ratio janus / libtorch |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (long n : new long[] {1L << 20, 4L << 20, 16L << 20, 64L << 20}) {
            int iterations = n >= (64L << 20) ? 10 : n >= (16L << 20) ? 20 : 40;
            Path janusStore = dir.resolve("janus-" + n), torchStore = dir.resolve("torch-" + n);
            List<double[]> times = twoRanks(rank -> {
                double[] janus = new double[iterations], torch = new double[iterations];
                C10dStore store = C10dStore.file(janusStore, 2, TIMEOUT, Rendezvous.PREFIX);
                FileStore tstore = new FileStore(torchStore.toString(), 2);
                ProcessGroupGloo.Options options = new ProcessGroupGloo.Options(new Milliseconds(TIMEOUT.toMillis()));
                options.devices(new GlooDeviceVector(ProcessGroupGloo.createDeviceForHostname("127.0.0.1")));
                ProcessGroupGloo peer = new ProcessGroupGloo(tstore, rank, 2, options);
                try (Communicator c = GlooCommunicator.create(store, rank, 2, "127.0.0.1", null, TIMEOUT);
                     Tensor buffer = Tensor.allocate(DType.F32, n)) {
                    buffer.fill(1f);
                    org.bytedeco.pytorch.Tensor t = ones(n);
                    TensorVector tv = new TensorVector(t);
                    for (int i = -3; i < iterations; i++) {
                        // alternate which side goes first, so neither always inherits the other's cache state
                        for (int side = 0; side < 2; side++) {
                            boolean janusSide = (side == 0) == (i % 2 == 0);
                            c.barrier().await();
                            long s = System.nanoTime();
                            if (janusSide) {
                                c.allReduce(buffer).await();
                            } else {
                                peer.allreduce(tv)._wait();
                            }
                            long e = System.nanoTime();
                            if (i >= 0) {
                                (janusSide ? janus : torch)[i] = (e - s) / 1e6;
                            }
                        }
                    }
                }
                peer.close();
                Arrays.sort(janus);
                Arrays.sort(torch);
                return new double[] {janus[iterations / 2], torch[iterations / 2]};
            });
            double jm = times.get(0)[0], tm = times.get(0)[1];
            double bytes = 4.0 * n;
            System.out.printf("| %dM | %d | %.2f | %.2f | %.2f | %.2f | %.2f |%n", n >> 20, (long) bytes >> 20, jm, tm,
                    bytes / jm / 1e6, bytes / jm / 1e6 * 2 * (2 - 1) / 2, jm / tm);
        }
    }

    /** vocab 32000, hidden 256, 4 layers, ffn 768, 8 heads / 2 kv: 19.7M parameters. */
    private static final MistralConfig MODEL = MistralConfig.of(32000, 256, 768, 4, 8, 2, 32, 10000.0,
            AttentionSpec.NO_WINDOW, false);

    private static void volume() throws Exception {
        Path dir = Files.createTempDirectory("janus-volume");
        List<ParameterSet.Spec> specs = MistralWeights.specs(MODEL);
        long psi = specs.stream().mapToLong(ParameterSet.Spec::numel).sum();
        int a = 2, layers = MODEL.numHiddenLayers();
        ShardLayout layout = new ShardLayout(specs, 2);
        long padded = layout.size(), ends = layout.endsSize(), unit = layout.slotSize();
        long gathers = 2L * layers - 2 + (a - 1) * (2L * layers - 4);
        System.out.printf("model: %d parameters (Ψ), padded Ψ' = %d, ends E = %d, layer unit Λ = %d; 2 ranks, A = %d%n",
                psi, padded, ends, unit, a);
        System.out.println("| strategy | all-reduce | reduce-scatter | all-gather | formula | bytes sent per rank | ÷ 4Ψ | step ms |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (StrategyKind kind : new StrategyKind[] {StrategyKind.DDP, StrategyKind.ZERO1, StrategyKind.ZERO2,
                StrategyKind.ZERO3}) {
            Path store = dir.resolve("store-" + kind);
            List<Object[]> out = twoRanks(rank -> {
                try (Communicator g = GlooCommunicator.create(C10dStore.file(store, 2, TIMEOUT, Rendezvous.PREFIX), rank, 2,
                        "127.0.0.1", null, TIMEOUT); CpuBackend cpu = new CpuBackend(1);
                     ParameterSet start = ParameterSet.allocate(specs)) {
                    MistralWeights.initialize(MODEL, start, 1);
                    CountingCommunicator c = new CountingCommunicator(g);
                    AdamWConfig adam = new AdamWConfig(0.9, 0.999, 1e-8, 0);
                    Strategy s = Strategies.create(kind, c, new TrainingParameters(MODEL, start, null),
                            (p, sl) -> AdamW.fp32(p, sl, adam, StepKernels.cpu(cpu.parallel())), 25L << 20, cpu);
                    Mistral model = new Mistral(MODEL, MistralWeights.of(MODEL, s.parameters()), cpu, s.hooks());
                    List<SftExample> examples = examples();
                    List<int[]> samples = new ArrayList<>();
                    for (int i = 0; i < examples.size(); i++) {
                        samples.add(new int[] {i});
                    }
                    Trainer.Settings settings = new Trainer.Settings(1, a, 2, 1.0, 7, 0, 0, dir.resolve("run-" + kind));
                    try (Trainer trainer = new Trainer(settings, s, LrSchedule.constant(1e-4, 0, 2),
                            new SftObjective(model, examples, samples, false), Map.of(), Progress.silent())) {
                        c.reset();
                        List<Trainer.StepMetrics> h = trainer.train(); // step 1 warms up, step 2 is timed
                        double ms = (h.get(1).elapsedSeconds() - h.get(0).elapsedSeconds()) * 1e3;
                        return new Object[] {c.counts(), ms};
                    }
                }
            });
            @SuppressWarnings("unchecked")
            Map<CountingCommunicator.Kind, CountingCommunicator.Count> counts =
                    (Map<CountingCommunicator.Kind, CountingCommunicator.Count>) out.get(0)[0];
            long ar = counts.get(CountingCommunicator.Kind.ALL_REDUCE).elements() / 2;
            long rs = counts.get(CountingCommunicator.Kind.REDUCE_SCATTER).elements() / 2;
            long ag = counts.get(CountingCommunicator.Kind.ALL_GATHER).elements() / 2;
            String formula = switch (kind) {
                case DDP -> ar == psi ? "AR Ψ ✓" : "AR Ψ ✗";
                case ZERO1 -> rs == padded && ag == padded ? "RS Ψ', AG Ψ' ✓" : "✗";
                case ZERO2 -> rs == a * layers * unit + ends && ag == padded ? "RS A·L·Λ+E, AG Ψ' ✓" : "✗";
                default -> rs == a * layers * unit + ends && ag == ends + gathers * unit
                        ? "RS A·L·Λ+E, AG E+(2L−2+(A−1)(2L−4))Λ ✓" : "✗";
            };
            double bytes = 4 * 0.5 * (2.0 * ar + rs + ag);
            System.out.printf("| %s | %d | %d | %d | %s | %.1f MiB | %.2f | %.0f |%n", kind.configName(), ar, rs, ag,
                    formula, bytes / (1 << 20), bytes / (4.0 * psi), (double) out.get(0)[1]);
        }
    }

    /** Eight random SFT sequences of 96 to 180 tokens. */
    private static List<SftExample> examples() {
        SplittableRandom rng = new SplittableRandom(3);
        List<SftExample> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int length = 96 + 12 * i;
            int[] ids = rng.ints(length, 3, 32000).toArray();
            ids[0] = 1;
            ids[length - 1] = 2;
            out.add(new SftExample(i + 1, new TemplatedSequence(ids, 20)));
        }
        return out;
    }
}
