package ai.janus.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.janus.backend.Backend;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.tensor.DType;
import ai.janus.tensor.Storage;
import ai.janus.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * One whole training step — forward, mean NLL, backward, AdamW — of a tiny Mistral (GQA, a
 * sliding window shorter than the sequences, two packed sequences) on the GPU against the same
 * step on the CPU. Skipped without CUDA.
 *
 * <p>Bounds. Loss: relative error ≤ 1e-2 — each logit carries ≈ 2^-8 of its scale from the bf16
 * GEMMs, the NLL averages 60 tokens of ≈ ln 97 ≈ 4.6, so ≈ 1e-3 is expected. Gradients: per
 * parameter, ‖g_gpu − g_cpu‖ / ‖g_cpu‖ ≤ 5e-2 — the backward chains about ten bf16 products per
 * layer (each ≈ 2^-8 relative, independent), sqrt(10·2)·2^-8 ≈ 2e-2 over two layers, with a
 * factor 2.5 of margin. Weights after one AdamW step: the first step moves each weight by
 * ≈ lr·sign(g), so an element whose gradient is near 0 may move the other way: |Δ| ≤ 2·lr.
 */
class CudaTrainingStepTest {
    static final MistralConfig CONFIG = MistralConfig.of(97, 64, 192, 2, 4, 2, 16, 10000.0, 24, false);
    static final double LR = 1e-3;

    record Step(double loss, Map<String, float[]> grads, Map<String, float[]> weights) {}

    static Step step(Backend backend, boolean gpuOptimizer) {
        SplittableRandom rng = new SplittableRandom(11);
        int[] a = rng.ints(40, 0, CONFIG.vocabSize()).toArray(), b = rng.ints(23, 0, CONFIG.vocabSize()).toArray();
        TokenBatch batch = TokenBatch.of(a, b);
        int[] labels = new int[a.length + b.length];
        long supervised = 0;
        for (int t = 0; t < labels.length; t++) {
            boolean lastOfSeq = t == a.length - 1 || t == labels.length - 1;
            labels[t] = lastOfSeq ? Backend.IGNORE_INDEX : batch.tokens()[t + 1];
            supervised += lastOfSeq ? 0 : 1;
        }
        float[] g = new float[labels.length];
        for (int t = 0; t < g.length; t++) {
            g[t] = labels[t] == Backend.IGNORE_INDEX ? 0f : (float) (-1.0 / supervised);
        }
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(CONFIG));
             ParameterSet grads = params.zerosLike(); Tensor dLogp = Tensor.of(g, g.length)) {
            MistralWeights.initialize(CONFIG, params, 12);
            Mistral model = new Mistral(CONFIG, MistralWeights.of(CONFIG, params), backend);
            double loss = 0;
            try (Mistral.ForwardState st = model.forward(batch, labels, true)) {
                float[] logp = st.logp().toFloatArray();
                for (float lp : logp) {
                    loss -= lp / (double) supervised;
                }
                model.backward(st, dLogp, grads);
            }
            Map<String, float[]> gradValues = new LinkedHashMap<>();
            for (ParameterSet.Spec s : params.specs()) {
                gradValues.put(s.name(), grads.get(s.name()).toFloatArray());
            }
            AdamWConfig adam = AdamWConfig.janus().withWeightDecay(0.01);
            if (gpuOptimizer) {
                try (CudaOptimizerKernels k = new CudaOptimizerKernels((CudaBackend) backend)) {
                    for (ParameterSet.Spec s : params.specs()) {
                        try (Tensor m = Tensor.allocate(DType.F32, s.shape());
                             Tensor v = Tensor.allocate(DType.F32, s.shape())) {
                            k.adamwStep(params.get(s.name()), grads.get(s.name()), m, v, adam, LR, 1);
                        }
                    }
                }
            } else {
                try (AdamW opt = AdamW.fp32(params, adam, ((CpuBackend) backend).parallel())) {
                    opt.step(grads, LR);
                }
            }
            Map<String, float[]> weights = new LinkedHashMap<>();
            for (ParameterSet.Spec s : params.specs()) {
                weights.put(s.name(), params.get(s.name()).toFloatArray());
            }
            return new Step(loss, gradValues, weights);
        }
    }

    @Test
    void theStepHarnessRunsOnTheCpu() {
        // runs everywhere: the harness itself (labels, loss, optimizer) works and learns something
        try (CpuBackend b = new CpuBackend(2)) {
            Step s = step(b, false);
            assertTrue(Math.abs(s.loss() - Math.log(CONFIG.vocabSize())) < 0.5, "untrained NLL near ln V: " + s.loss());
            assertTrue(s.grads().values().stream().allMatch(g -> java.util.Arrays.stream(Tol.widen(g)).anyMatch(x -> x != 0)),
                    "every parameter has a gradient");
        }
    }

    @Test
    void oneTrainingStepOnTheGpuMatchesTheCpu() {
        var why = CudaBackend.unavailableReason();
        assumeTrue(why.isEmpty(), () -> "CUDA unavailable: " + why.orElse(""));
        Step cpu;
        try (CpuBackend b = new CpuBackend(2)) {
            cpu = step(b, false);
        }
        Step gpu;
        try (CudaBackend b = CudaBackend.open()) {
            Storage.Allocator previous = Storage.useAllocator(b.allocator());
            try {
                gpu = step(b, true);
            } finally {
                Storage.useAllocator(previous);
            }
        }
        double lossError = Math.abs(gpu.loss() - cpu.loss()) / Math.abs(cpu.loss());
        System.out.printf("training step: loss cpu %.6f gpu %.6f (relative error %.2e)%n", cpu.loss(), gpu.loss(),
                lossError);
        assertTrue(lossError <= 1e-2, "loss " + gpu.loss() + " vs " + cpu.loss());
        for (String name : cpu.grads().keySet()) {
            float[] e = cpu.grads().get(name), a = gpu.grads().get(name);
            double diff = 0, norm = 0;
            for (int i = 0; i < e.length; i++) {
                diff += (double) (a[i] - e[i]) * (a[i] - e[i]);
                norm += (double) e[i] * e[i];
            }
            double rel = Math.sqrt(diff / norm);
            System.out.printf("  grad %-40s relative error %.2e%n", name, rel);
            assertTrue(rel <= 5e-2, name + ": gradient relative error " + rel);
            float[] we = cpu.weights().get(name), wa = gpu.weights().get(name);
            for (int i = 0; i < we.length; i++) {
                assertTrue(Math.abs(wa[i] - we[i]) <= 2 * LR + 1e-6, name + "[" + i + "] after AdamW: " + wa[i] + " vs " + we[i]);
            }
        }
    }
}
