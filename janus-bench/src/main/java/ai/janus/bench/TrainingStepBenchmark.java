package ai.janus.bench;

import static org.bytedeco.pytorch.global.torch.log_softmax;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.oracle.TorchMistral;
import ai.janus.tensor.Tensor;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One training step of bench-small over 2 × 512 tokens: forward, mean next-token NLL, backward
 * into zeroed gradients of every parameter. janus: {@link Mistral#forward} / {@link
 * Mistral#backward} (with or without gradient checkpointing). libtorch: {@link TorchMistral} with
 * autograd (batched [2, 512], SDPA attention), log_softmax + gather NLL, {@code backward()}.
 * Same weights, same tokens; each side set up only in its own forks (see {@link ForwardBenchmark}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 4)
@Measurement(iterations = 6, time = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class TrainingStepBenchmark {

    /** Next-token labels of packed rows: the last token of each row is not supervised. */
    static int[] labels(int[][] rows) {
        int n = 0;
        for (int[] r : rows) {
            n += r.length;
        }
        int[] labels = new int[n];
        int at = 0;
        for (int[] r : rows) {
            for (int t = 0; t < r.length; t++) {
                labels[at + t] = t + 1 < r.length ? r[t + 1] : Backend.IGNORE_INDEX;
            }
            at += r.length;
        }
        return labels;
    }

    /** dLoss/dlogp of the mean NLL: −1/|M| on supervised positions. */
    static Tensor meanNllGradient(int[] labels) {
        long supervised = java.util.Arrays.stream(labels).filter(y -> y != Backend.IGNORE_INDEX).count();
        float[] g = new float[labels.length];
        for (int t = 0; t < labels.length; t++) {
            g[t] = labels[t] == Backend.IGNORE_INDEX ? 0f : (float) (-1.0 / supervised);
        }
        return Tensor.of(g, labels.length);
    }

    @State(Scope.Benchmark)
    public static class JanusSide {
        @Param({"false", "true"})
        public boolean checkpointing;

        ParameterSet parameters;
        ParameterSet gradients;
        CpuBackend cpu;
        Mistral model;
        TokenBatch batch;
        int[] labels;
        Tensor dLogp;

        @Setup(Level.Trial)
        public void setUp() {
            TorchWeights.requirePassiveOpenMp();
            MistralConfig c = MistralConfig.benchSmall();
            parameters = ForwardBenchmark.weights(c);
            gradients = parameters.zerosLike();
            cpu = new CpuBackend();
            model = new Mistral(c, MistralWeights.of(c, parameters), cpu);
            int[][] rows = ForwardBenchmark.tokens(c);
            batch = TokenBatch.of(rows);
            labels = labels(rows);
            dLogp = meanNllGradient(labels);
        }

        /** One step; returns the loss. */
        float step() {
            cpu.zero(gradients.flat());
            try (Mistral.ForwardState st = model.forward(batch, labels, checkpointing)) {
                float loss = 0;
                java.nio.FloatBuffer logp = st.logp().floats(), g = dLogp.floats();
                for (int t = 0; t < labels.length; t++) {
                    loss += logp.get(t) * g.get(t);
                }
                model.backward(st, dLogp, gradients);
                return loss;
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            dLogp.close();
            cpu.close();
            gradients.close();
            parameters.close();
        }
    }

    @State(Scope.Benchmark)
    public static class TorchSide {
        Map<String, org.bytedeco.pytorch.Tensor> weights;
        TorchMistral model;
        long[][] rows;
        org.bytedeco.pytorch.Tensor targets;   // (B·T) next tokens
        org.bytedeco.pytorch.Tensor supervised; // (B·T) 1 where the label counts, else 0
        double count;

        @Setup(Level.Trial)
        public void setUp() {
            TorchWeights.requirePassiveOpenMp();
            MistralConfig c = MistralConfig.benchSmall();
            try (ParameterSet parameters = ForwardBenchmark.weights(c)) {
                weights = TorchWeights.copyOf(parameters);
            }
            weights.values().forEach(w -> w.requires_grad_(true));
            model = new TorchMistral(new TorchMistral.Dims(c.vocabSize(), c.hiddenSize(), c.intermediateSize(),
                    c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.ropeTheta(),
                    TorchMistral.NO_WINDOW, c.rmsNormEps(), c.tieWordEmbeddings()), weights);
            int[][] tokens = ForwardBenchmark.tokens(c);
            int[] labels = labels(tokens);
            rows = new long[tokens.length][];
            long[] target = new long[labels.length];
            float[] mask = new float[labels.length];
            for (int s = 0; s < tokens.length; s++) {
                rows[s] = java.util.Arrays.stream(tokens[s]).asLongStream().toArray();
            }
            for (int t = 0; t < labels.length; t++) {
                target[t] = Math.max(0, labels[t]);
                mask[t] = labels[t] == Backend.IGNORE_INDEX ? 0f : 1f;
                count += mask[t];
            }
            try (LongPointer p = new LongPointer(target)) {
                targets = torch.from_blob(p, new long[] {target.length}, new TensorOptions(ScalarType.Long)).clone();
            }
            supervised = torch.from_blob(new org.bytedeco.javacpp.FloatPointer(mask), new long[] {mask.length},
                    new TensorOptions(ScalarType.Float)).clone();
        }

        /** One step; returns the loss. */
        float step() {
            try (PointerScope scope = new PointerScope()) {
                for (org.bytedeco.pytorch.Tensor w : weights.values()) {
                    org.bytedeco.pytorch.Tensor g = w.grad();
                    if (g.defined()) {
                        g.zero_(); // like optimizer.zero_grad(set_to_none=False), as janus zeroes its buffer
                    }
                }
                org.bytedeco.pytorch.Tensor logp = log_softmax(model.logitsWithGrad(rows), 1)
                        .gather(1, targets.unsqueeze(1)).squeeze(1);
                org.bytedeco.pytorch.Tensor loss = logp.mul(supervised).sum().neg().div(new Scalar(count));
                loss.backward();
                return loss.item_float();
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            weights.values().forEach(org.bytedeco.pytorch.Tensor::close);
        }
    }

    @Benchmark
    public float janus(JanusSide side) {
        return side.step();
    }

    @Benchmark
    public float libtorch(TorchSide side) {
        return side.step();
    }
}
