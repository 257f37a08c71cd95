package ai.janus.train.dist;

import ai.janus.backend.cpu.CpuBackend;
import ai.janus.data.SftExample;
import ai.janus.data.TemplatedSequence;
import ai.janus.dist.Communicator;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.LrSchedule;
import ai.janus.optim.Optimizer;
import ai.janus.optim.StepKernels;
import ai.janus.train.Progress;
import ai.janus.train.Trainer;
import ai.janus.train.objective.SftObjective;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One small SFT training run, the same for every strategy and world size: the model, the data,
 * the optimizer settings, the schedule. Single-process training over the same global batch (the
 * trainer's original constructor, one process, W·A micro-batches) is the reference the sharded
 * runs are held to.
 */
final class DistFixture {
    /** hidden 64, ffn 192, 2 layers: units of 4k–57k elements, so 2 and 4 ranks cut tensors mid-way. */
    static final MistralConfig CONFIG = MistralConfig.tiny(64);
    static final AdamWConfig ADAM = new AdamWConfig(0.9, 0.999, 1e-8, 0.01);
    static final long STEPS = 5;

    /** What a run leaves: per-step metrics and the final weights (spec order, unpadded). */
    record Run(List<Trainer.StepMetrics> history, float[] weights, Strategy.Memory memory) {}

    private DistFixture() {}

    /** Sixteen SFT examples of different lengths, each its own sample. */
    static List<SftExample> examples() {
        SplittableRandom rng = new SplittableRandom(5);
        List<SftExample> out = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int length = 10 + 3 * i, prompt = 3 + i % 5;
            int[] ids = rng.ints(length, 3, 64).toArray();
            ids[0] = 1;
            ids[length - 1] = 2;
            out.add(new SftExample(i + 1, new TemplatedSequence(ids, prompt)));
        }
        return out;
    }

    static List<int[]> samples(int n) {
        List<int[]> samples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            samples.add(new int[] {i});
        }
        return samples;
    }

    static ParameterSet initialWeights(MistralConfig config) {
        ParameterSet p = ParameterSet.allocate(MistralWeights.specs(config));
        MistralWeights.initialize(config, p, 11);
        return p;
    }

    static Optimizer optimizer(String kind, ParameterSet params, List<ai.janus.optim.ParameterSlice> slices,
                               CpuBackend cpu) {
        return kind.equals("adamw") ? AdamW.fp32(params, slices, ADAM, StepKernels.cpu(cpu.parallel()))
                : AdamW8bit.fp32(params, slices, ADAM, StepKernels.cpu(cpu.parallel()));
    }

    static Trainer.Settings settings(int microBatch, int accumulation, Path out) {
        return settings(microBatch, accumulation, STEPS, 0, out);
    }

    static Trainer.Settings settings(int microBatch, int accumulation, long steps, long saveSteps, Path out) {
        return new Trainer.Settings(microBatch, accumulation, steps, 1.0, 99, saveSteps, 0, out);
    }

    /** The reference: one process, the whole global batch as {@code accumulation} micro-batches. */
    static Run single(int microBatch, int accumulation, String optimizer, Path out) throws IOException {
        List<SftExample> examples = examples();
        try (ParameterSet params = initialWeights(CONFIG); CpuBackend cpu = new CpuBackend(1)) {
            Mistral model = new Mistral(CONFIG, MistralWeights.of(CONFIG, params), cpu);
            try (Optimizer opt = optimizer(optimizer, params, ai.janus.optim.ParameterSlice.whole(params.specs()), cpu);
                 Trainer trainer = new Trainer(settings(microBatch, accumulation, out),
                         new TrainingParameters(CONFIG, params, null), opt, LrSchedule.cosine(3e-3, 2, STEPS),
                         new SftObjective(model, examples, samples(examples.size()), false), cpu, cpu.parallel(),
                         Map.of("data", "sixteen"), Progress.silent())) {
                List<Trainer.StepMetrics> history = trainer.train();
                return new Run(history, params.flat().toFloatArray(), trainer.strategy().memory());
            }
        }
    }

    /** Makes the strategy of one rank (every rank calls it at once: strategies communicate when built). */
    @FunctionalInterface
    interface StrategyMaker {
        Strategy make(Communicator c, TrainingParameters parameters, OptimizerFactory optimizers, CpuBackend cpu);
    }

    /** One rank of a sharded run, from the same starting weights; returns its history and the weights it ends with. */
    static Run rank(Communicator c, StrategyMaker maker, int microBatch, int accumulation, String optimizer, Path out,
                    boolean checkpointing) throws IOException {
        return rank(c, maker, settings(microBatch, accumulation, out), optimizer, checkpointing, false);
    }

    /** One rank of a sharded run with these settings; {@code resume}: from the newest checkpoint in the output directory. */
    static Run rank(Communicator c, StrategyMaker maker, Trainer.Settings settings, String optimizer,
                    boolean checkpointing, boolean resume) throws IOException {
        return rank(c, maker, settings, optimizer, checkpointing, resume, CONFIG);
    }

    /** The same with another model of vocabulary 64. */
    static Run rank(Communicator c, StrategyMaker maker, Trainer.Settings settings, String optimizer,
                    boolean checkpointing, boolean resume, MistralConfig config) throws IOException {
        List<SftExample> examples = examples();
        try (ParameterSet start = initialWeights(config); CpuBackend cpu = new CpuBackend(1)) {
            TrainingParameters parameters = new TrainingParameters(config, start, null);
            Strategy strategy = maker.make(c, parameters, (p, s) -> optimizer(optimizer, p, s, cpu), cpu);
            Mistral model = new Mistral(config, MistralWeights.of(config, strategy.parameters()), cpu, strategy.hooks());
            try (Trainer trainer = new Trainer(settings, strategy, LrSchedule.cosine(3e-3, 2, settings.totalSteps()),
                    new SftObjective(model, examples, samples(examples.size()), checkpointing), Map.of("data", "sixteen"),
                    Progress.silent())) {
                if (resume) {
                    trainer.resume(trainer.checkpoints().latest().orElseThrow());
                }
                List<Trainer.StepMetrics> history = trainer.train();
                Strategy.Memory memory = strategy.memory();
                ParameterSet whole = strategy.gatherForExport();
                float[] weights = null;
                if (whole != null) {
                    weights = unpadded(whole);
                    if (strategy.ownsExport()) {
                        whole.close();
                    }
                }
                return new Run(history, weights, memory);
            }
        }
    }

    /** The values of {@code p} in spec order without any padding. */
    static float[] unpadded(ParameterSet p) {
        long n = p.specs().stream().mapToLong(ParameterSet.Spec::numel).sum();
        float[] out = new float[Math.toIntExact(n)];
        int at = 0;
        for (ParameterSet.Spec s : p.specs()) {
            float[] t = p.get(s.name()).toFloatArray();
            System.arraycopy(t, 0, out, at, t.length);
            at += t.length;
        }
        return out;
    }

    /** ‖a − b‖ / ‖b‖ over the whole vector. */
    static double relative(float[] a, float[] b) {
        double diff = 0, norm = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            diff += d * d;
            norm += (double) b[i] * b[i];
        }
        return Math.sqrt(diff / norm);
    }

    /** The share of elements with identical bits. */
    static double identical(float[] a, float[] b) {
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) == Float.floatToRawIntBits(b[i])) {
                same++;
            }
        }
        return (double) same / a.length;
    }
}
