package ai.janus.bench;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.Backend;
import ai.janus.kernels.CudaBackend;
import ai.janus.kernels.CudaOptimizerKernels;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.TokenBatch;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamWConfig;
import ai.janus.tensor.DType;
import ai.janus.tensor.Storage;
import ai.janus.tensor.Tensor;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The GPU figures of BENCHMARKS.md, on device 0: FlashAttention forward+backward TFLOP/s (head dim
 * 128, causal, sequence 1k–16k, 16k tokens per call), cuBLASLt bf16 GEMM TFLOP/s on a 1B model's
 * projection shapes against an 8192³ product, 8-bit AdamW GB/s, and a 1B-scale Mistral training
 * step's tokens/s and MFU. Every op synchronises (the backend does, at its end), so wall time per
 * call is GPU time plus launch and cast overhead — what a training step pays today.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp janus-bench/target/janus-bench.jar ai.janus.bench.CudaBench [peakTflops]
 * </pre>
 * peakTflops: the GPU's dense bf16 peak for MFU (default 989, H100/H200 SXM). Exits with status 2
 * and the reason when CUDA is unavailable.
 */
public final class CudaBench {
    private CudaBench() {}

    public static void main(String[] args) {
        double peak = args.length > 0 ? Double.parseDouble(args[0]) : 989;
        Optional<String> why = CudaBackend.unavailableReason();
        if (why.isPresent()) {
            System.err.println("CudaBench: CUDA backend unavailable: " + why.get());
            System.exit(2);
        }
        try (CudaBackend cuda = CudaBackend.open()) {
            // every tensor below lives in the device's managed memory
            Storage.Allocator previous = Storage.useAllocator(cuda.allocator());
            try {
                System.out.println("device: " + cuda.name());
                attention(cuda);
                gemm(cuda);
                adamw8bit(cuda);
                trainingStep(cuda, peak);
            } finally {
                Storage.useAllocator(previous);
            }
        }
    }

    /** Seconds per call of {@code body}: 2 warm-up calls, then the best of 3 timed runs of {@code reps}. */
    static double time(int reps, Runnable body) {
        body.run();
        body.run();
        double best = Double.MAX_VALUE;
        for (int r = 0; r < 3; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                body.run();
            }
            best = Math.min(best, (System.nanoTime() - t0) / 1e9 / reps);
        }
        return best;
    }

    static Tensor random(long seed, long... shape) {
        Tensor t = Tensor.allocate(DType.F32, shape);
        SplittableRandom r = new SplittableRandom(seed);
        var f = t.floats();
        for (int i = 0; i < f.capacity(); i++) {
            f.put(i, (float) r.nextGaussian());
        }
        return t;
    }

    static void attention(Backend b) {
        int heads = 16, d = 128, tokens = 16384;
        for (int seq = 1024; seq <= 16384; seq *= 2) {
            int s = tokens / seq;
            int[] cu = new int[s + 1];
            for (int i = 0; i <= s; i++) {
                cu[i] = i * seq;
            }
            AttentionSpec spec = AttentionSpec.causal(d, AttentionSpec.NO_WINDOW);
            try (Tensor q = random(1, tokens, heads, d); Tensor k = random(2, tokens, heads, d);
                 Tensor v = random(3, tokens, heads, d); Tensor out = Tensor.allocate(DType.F32, tokens, heads, d);
                 Tensor lse = Tensor.allocate(DType.F32, tokens, heads); Tensor g = random(4, tokens, heads, d);
                 Tensor dq = Tensor.allocate(DType.F32, tokens, heads, d); Tensor dk = Tensor.allocate(DType.F32, tokens, heads, d);
                 Tensor dv = Tensor.allocate(DType.F32, tokens, heads, d); Tensor cuT = Tensor.ofInts(cu)) {
                double fwd = time(5, () -> b.attention(out, lse, q, k, v, cuT, cuT, spec));
                double bwd = time(5, () -> b.attentionBackward(dq, dk, dv, g, q, k, v, out, lse, cuT, cuT, spec));
                // FlashAttention's count: forward 4·T²·H·D per sequence, halved by the causal mask; backward 2.5×
                double flops = 4.0 * seq * seq * heads * d * s / 2;
                System.out.printf("attention causal D=128 H=16 seq %5d x %2d: fwd %6.1f TFLOP/s, bwd %6.1f, fwd+bwd %6.1f%n",
                        seq, s, flops / fwd / 1e12, 2.5 * flops / bwd / 1e12, 3.5 * flops / (fwd + bwd) / 1e12);
            }
        }
    }

    static void gemm(Backend b) {
        long[][] shapes = {{8192, 8192, 8192}, {4096, 2048, 2048}, {4096, 2048, 5632}, {4096, 5632, 2048},
                {4096, 2048, 32000}};
        for (long[] s : shapes) {
            long m = s[0], k = s[1], n = s[2];
            try (Tensor x = random(5, m, k); Tensor w = random(6, n, k); Tensor out = Tensor.allocate(DType.F32, m, n)) {
                double t = time(5, () -> b.matmul(out, x, w, false));
                System.out.printf("matmul %5d x %5d x %5d (fp32 in, bf16 cast, cuBLASLt): %6.1f TFLOP/s%n", m, k, n,
                        2.0 * m * n * k / t / 1e12);
            }
        }
    }

    static void adamw8bit(CudaBackend b) {
        long n = 1L << 28;
        CudaOptimizerKernels k = new CudaOptimizerKernels(b);
        try (Tensor p = Tensor.allocate(DType.F32, n); Tensor g = Tensor.allocate(DType.F32, n);
             Tensor s1 = Tensor.allocate(DType.U8, n); Tensor s2 = Tensor.allocate(DType.U8, n);
             Tensor a1 = Tensor.allocate(DType.F32, AdamW8bit.blocks(n)); Tensor a2 = Tensor.allocate(DType.F32, AdamW8bit.blocks(n))) {
            b.copy(g, p); // zeros on the device: the pages never leave it
            long[] step = {0};
            AdamWConfig c = AdamWConfig.janus();
            double t = time(5, () -> k.adamw8bitStep(p, g, s1, s2, a1, a2, c, 1e-4, ++step[0]));
            // bytes per element: p read + write (8), g read (4), both codes read + write (4)
            System.out.printf("8-bit AdamW over %,d parameters: %.1f GB/s (%.2f ms)%n", n, 16.0 * n / t / 1e9, t * 1e3);
        }
    }

    static void trainingStep(CudaBackend b, double peakTflops) {
        // ~1.1B parameters: hidden 2048, 16 layers, 16 heads of 128 over 4 kv heads, ffn 5632, vocab 32000
        MistralConfig c = MistralConfig.of(32000, 2048, 5632, 16, 16, 4, 128, 1_000_000.0, AttentionSpec.NO_WINDOW, false);
        int seq = 2048, rows = 2, tokens = seq * rows;
        SplittableRandom r = new SplittableRandom(7);
        TokenBatch batch = TokenBatch.of(r.ints(seq, 0, c.vocabSize()).toArray(), r.ints(seq, 0, c.vocabSize()).toArray());
        int[] labels = new int[tokens];
        float[] g = new float[tokens];
        for (int t = 0; t < tokens; t++) {
            labels[t] = (t + 1) % seq == 0 ? Backend.IGNORE_INDEX : batch.tokens()[t + 1];
            g[t] = labels[t] == Backend.IGNORE_INDEX ? 0 : -1f / tokens;
        }
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(c)); ParameterSet grads = params.zerosLike();
             Tensor dLogp = Tensor.of(g, tokens)) {
            MistralWeights.initialize(c, params, 8);
            Mistral model = new Mistral(c, MistralWeights.of(c, params), b);
            CudaOptimizerKernels k = new CudaOptimizerKernels(b);
            double t = time(2, () -> {
                try (Mistral.ForwardState st = model.forward(batch, labels, true)) {
                    model.backward(st, dLogp, grads);
                }
                k.clip(grads, 1.0);
                b.zero(grads.flat());
            });
            long n = params.numel();
            // 6 FLOPs per parameter per token (forward 2, backward 4) plus causal attention 6·L·T·C per token,
            // and the recomputation of checkpointing not counted (MFU counts useful work only)
            double flops = 6.0 * n * tokens + 6.0 * c.numHiddenLayers() * seq * c.hiddenSize() * (double) tokens;
            System.out.printf("training step, %,d parameters, %d x %d tokens, checkpointing: %.0f tokens/s, "
                    + "%.1f TFLOP/s, MFU %.1f%% of %.0f TFLOP/s (optimizer step excluded: see 8-bit AdamW)%n",
                    n, rows, seq, tokens / t, flops / t / 1e12, 100 * flops / t / 1e12 / peakTflops, peakTflops);
        }
    }
}
