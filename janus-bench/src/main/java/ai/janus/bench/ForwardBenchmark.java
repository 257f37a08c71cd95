package ai.janus.bench;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.oracle.TorchMistral;
import ai.janus.tensor.Tensor;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Forward pass of bench-small (vocab 32000, hidden 512, 8 layers, 8 heads / 2 kv heads, ffn 1536)
 * over 2 sequences of 512 tokens to fp32 logits (1024 x 32000), janus CPU against libtorch
 * (the spec-written {@link TorchMistral}: batched [2, 512], fused SDPA attention, no autograd),
 * same weights, same tokens, same JVM, all cores on both sides.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class ForwardBenchmark {
    static final int SEQUENCES = 2;
    static final int LENGTH = 512;

    /** The weights and tokens both sides use: bench-small, seeded. */
    static ParameterSet weights(MistralConfig c) {
        ParameterSet parameters = ParameterSet.allocate(MistralWeights.specs(c));
        MistralWeights.initialize(c, parameters, 42);
        return parameters;
    }

    static int[][] tokens(MistralConfig c) {
        SplittableRandom rng = new SplittableRandom(7);
        int[][] rows = new int[SEQUENCES][];
        for (int s = 0; s < SEQUENCES; s++) {
            rows[s] = rng.ints(LENGTH, 0, c.vocabSize()).toArray();
        }
        return rows;
    }

    /**
     * janus' side. Kept apart from {@link TorchSide} so that each JMH fork sets up only its own
     * side: the CPU backend makes the process-wide OpenBLAS single-threaded, which libtorch
     * (linked to the same OpenBLAS here) would otherwise inherit.
     */
    @State(Scope.Benchmark)
    public static class JanusSide {
        ParameterSet parameters;
        CpuBackend cpu;
        Mistral model;
        TokenBatch batch;

        @Setup(Level.Trial)
        public void setUp() {
            TorchWeights.requirePassiveOpenMp();
            MistralConfig c = MistralConfig.benchSmall();
            parameters = weights(c);
            cpu = new CpuBackend();
            model = new Mistral(c, MistralWeights.of(c, parameters), cpu);
            batch = TokenBatch.of(tokens(c));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            cpu.close();
            parameters.close();
        }
    }

    /** libtorch's side: the same weights copied into torch tensors, the same tokens as [2, 512]. */
    @State(Scope.Benchmark)
    public static class TorchSide {
        Map<String, org.bytedeco.pytorch.Tensor> weights;
        TorchMistral model;
        long[][] rows;

        @Setup(Level.Trial)
        public void setUp() {
            TorchWeights.requirePassiveOpenMp();
            MistralConfig c = MistralConfig.benchSmall();
            try (ParameterSet parameters = weights(c)) {
                weights = TorchWeights.copyOf(parameters);
            }
            model = new TorchMistral(new TorchMistral.Dims(c.vocabSize(), c.hiddenSize(), c.intermediateSize(),
                    c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.ropeTheta(),
                    TorchMistral.NO_WINDOW, c.rmsNormEps(), c.tieWordEmbeddings()), weights);
            int[][] tokens = tokens(c);
            rows = new long[SEQUENCES][LENGTH];
            for (int s = 0; s < SEQUENCES; s++) {
                for (int t = 0; t < LENGTH; t++) {
                    rows[s][t] = tokens[s][t];
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            weights.values().forEach(org.bytedeco.pytorch.Tensor::close);
        }
    }

    @Benchmark
    public float janus(JanusSide side) {
        try (Tensor logits = side.model.logits(side.batch)) {
            return logits.floats().get(12345);
        }
    }

    @Benchmark
    public float libtorch(TorchSide side) {
        try (PointerScope scope = new PointerScope()) {
            return side.model.logits(side.rows).data_ptr_float().get(12345);
        }
    }
}
