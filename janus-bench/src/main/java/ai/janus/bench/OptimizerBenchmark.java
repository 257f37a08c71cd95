package ai.janus.bench;

import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.Optimizer;
import ai.janus.parallel.Parallel;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.TensorVector;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One optimizer step over 64M fp32 parameters (16 tensors of 4096 × 1024, the size of a 7B
 * model's attention projection), in parameters per second: janus {@link AdamW8bit} and
 * {@link AdamW} against libtorch's {@code torch::optim::AdamW} on the same parameters and
 * gradients, all cores on every side, the Janus hyper-parameters (betas 0.9/0.999, eps 1e-8,
 * no weight decay). Each side is set up only in its own forks (separate {@code @State}
 * classes), as in {@link ForwardBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(OptimizerBenchmark.PARAMETERS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
public class OptimizerBenchmark {
    static final int TENSORS = 16;
    static final long ROWS = 4096, COLS = 1024;
    static final int PARAMETERS = (int) (TENSORS * ROWS * COLS); // 67,108,864
    static final double LR = 1e-5;

    static List<ParameterSet.Spec> specs() {
        List<ParameterSet.Spec> specs = new ArrayList<>();
        for (int i = 0; i < TENSORS; i++) {
            specs.add(new ParameterSet.Spec("w" + i, new long[] {ROWS, COLS}));
        }
        return specs;
    }

    /** Seeded values in [−scale, scale): the same on every side. */
    static ParameterSet values(long seed, double scale) {
        ParameterSet set = ParameterSet.allocate(specs());
        SplittableRandom rng = new SplittableRandom(seed);
        for (ParameterSet.Spec s : set.specs()) {
            FloatBuffer f = set.get(s.name()).floats();
            for (int i = 0, n = f.capacity(); i < n; i++) {
                f.put(i, (float) ((rng.nextDouble() * 2 - 1) * scale));
            }
        }
        return set;
    }

    /** janus' side: parameters, gradients, a pool of every core, one optimizer of each kind. */
    @State(Scope.Benchmark)
    public abstract static class JanusSide {
        ParameterSet parameters;
        ParameterSet gradients;
        Parallel parallel;
        Optimizer optimizer;

        abstract Optimizer create(ParameterSet p, Parallel pool);

        @Setup(Level.Trial)
        public void setUp() {
            TorchWeights.requirePassiveOpenMp();
            parameters = values(1, 1.0);
            gradients = values(2, 1e-3);
            parallel = new Parallel(Runtime.getRuntime().availableProcessors());
            optimizer = create(parameters, parallel);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            optimizer.close();
            parallel.close();
            gradients.close();
            parameters.close();
        }
    }

    public static class Janus8bit extends JanusSide {
        @Override
        Optimizer create(ParameterSet p, Parallel pool) {
            return AdamW8bit.fp32(p, AdamWConfig.janus(), pool);
        }
    }

    public static class Janus32bit extends JanusSide {
        @Override
        Optimizer create(ParameterSet p, Parallel pool) {
            return AdamW.fp32(p, AdamWConfig.janus(), pool);
        }
    }

    /** libtorch's side: the same values as torch tensors with their gradients set, AdamW on them. */
    @State(Scope.Benchmark)
    public static class TorchSide {
        List<org.bytedeco.pytorch.Tensor> parameters;
        org.bytedeco.pytorch.AdamW optimizer;

        @Setup(Level.Trial)
        public void setUp() {
            TorchWeights.requirePassiveOpenMp();
            Map<String, org.bytedeco.pytorch.Tensor> grads;
            try (ParameterSet p = values(1, 1.0); ParameterSet g = values(2, 1e-3)) {
                parameters = new ArrayList<>(TorchWeights.copyOf(p).values());
                grads = TorchWeights.copyOf(g);
            }
            TensorVector vector = new TensorVector();
            int i = 0;
            for (org.bytedeco.pytorch.Tensor t : grads.values()) {
                parameters.get(i).mutable_grad().put(t);
                vector.push_back(parameters.get(i++));
            }
            AdamWOptions options = new AdamWOptions(LR);
            // betas is a std::tuple<double, double>, which libstdc++ lays out last element first.
            options.betas().put(0, 0.999).put(1, 0.9);
            options.eps().put(1e-8);
            options.weight_decay().put(0.0); // torch's default is 0.01; the Janus recipe uses none
            optimizer = new org.bytedeco.pytorch.AdamW(vector, options);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            parameters.forEach(org.bytedeco.pytorch.Tensor::close);
        }
    }

    @Benchmark
    public long janusAdamW8bit(Janus8bit side) {
        side.optimizer.step(side.gradients, LR);
        return side.optimizer.steps();
    }

    @Benchmark
    public long janusAdamW(Janus32bit side) {
        side.optimizer.step(side.gradients, LR);
        return side.optimizer.steps();
    }

    @Benchmark
    public boolean libtorchAdamW(TorchSide side) {
        try (PointerScope scope = new PointerScope()) {
            return side.optimizer.step().defined();
        }
    }
}
