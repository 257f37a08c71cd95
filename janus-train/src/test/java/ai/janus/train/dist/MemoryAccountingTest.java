package ai.janus.train.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.cpu.CpuBackend;
import ai.janus.dist.ThreadRanks;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.StepKernels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Per-rank bytes of parameters, gradients and optimizer state at each strategy against the
 * formula of the README, derived here from the model's shapes alone (4-byte floats; B = 2048):
 *
 * <pre>
 * Ψ   parameters; Ψ' = Σ_units roundUp(Σ_tensors roundUp(n, B), W·B)   (padded)
 * E   padded embedding + head units; Λ one padded layer unit; S = Ψ'/W the shard
 * K(x) optimizer bytes of elements x: AdamW 8 per element; 8-bit AdamW 2 per element + 4+4 per
 *      block of 2048 for tensors ≥ 4096 elements, 8 per element for smaller tensors
 * own_r  rank r's real (unpadded) elements of its shard
 *
 *            weights            gradients                     optimizer
 * ddp        4Ψ                 4Ψ                            K(Ψ)
 * zero1      4Ψ'                4Ψ' + 4S                      K(own_r)
 * zero2      4Ψ'                4(E + 2Λ) + 4S + 8Λ/W         K(own_r)
 * zero3      4(E + 2Λ) + 4S     4(E + 2Λ) + 4S + 8Λ/W         K(own_r)
 * </pre>
 */
class MemoryAccountingTest {
    /** Vocab 64, hidden 64, 8 layers: the layers, not the ends, hold most of the model. */
    static final MistralConfig CONFIG = MistralConfig.of(64, 64, 192, 8, 4, 2, 16, 10000.0, AttentionSpec.NO_WINDOW,
            false);
    static final long B = 2048;

    @TempDir
    Path dir;

    static long up(long n, long m) {
        return (n + m - 1) / m * m;
    }

    /** The padded size of the tensors whose names {@code unit} accepts, for W ranks. */
    static long unit(List<ParameterSet.Spec> specs, int w, java.util.function.Predicate<String> unit) {
        long sum = 0;
        for (ParameterSet.Spec s : specs) {
            if (unit.test(s.name())) {
                sum += up(s.numel(), B);
            }
        }
        return up(sum, w * B);
    }

    /** K(x) over whole tensors (ddp) or rank r's segments (ZeRO), from the spec: 8-bit blocks and the 4096 threshold. */
    static long optimizerBytes(String optimizer, List<long[]> parts) {
        long bytes = 0;
        for (long[] p : parts) { // {elements, model tensor size}
            bytes += optimizer.equals("adamw") || p[1] < 4096 ? 8 * p[0] : 2 * p[0] + 8 * up(p[0], B) / B;
        }
        return bytes;
    }

    @ParameterizedTest(name = "{0}, {1} ranks, {2}")
    @CsvSource({"ddp, 2, adamw", "zero1, 2, adamw", "zero2, 2, adamw", "zero3, 2, adamw", "zero1, 4, adamw_8bit",
            "zero2, 4, adamw_8bit", "zero3, 4, adamw_8bit", "zero3, 4, adamw"})
    void perRankBytesMatchTheFormula(String strategy, int w, String optimizer) throws Exception {
        StrategyKind kind = StrategyKind.valueOf(strategy.toUpperCase(java.util.Locale.ROOT));
        List<ParameterSet.Spec> specs = MistralWeights.specs(CONFIG);
        long psi = specs.stream().mapToLong(ParameterSet.Spec::numel).sum();
        long embed = unit(specs, w, n -> n.equals(MistralWeights.EMBED));
        long head = unit(specs, w, n -> n.equals(MistralWeights.FINAL_NORM) || n.equals(MistralWeights.LM_HEAD));
        long layer = unit(specs, w, n -> n.startsWith("model.layers.0."));
        long padded = embed + head + CONFIG.numHiddenLayers() * layer, ends = embed + head, shard = padded / w;
        AdamWConfig adam = new AdamWConfig(0.9, 0.999, 1e-8, 0.0);
        List<Object[]> perRank = ThreadRanks.run(w, dir.resolve("store"), Duration.ofSeconds(60), c -> {
            try (ParameterSet start = ParameterSet.allocate(specs); CpuBackend cpu = new CpuBackend(1)) {
                MistralWeights.initialize(CONFIG, start, 3);
                TrainingParameters p = new TrainingParameters(CONFIG, start, null);
                StepKernels steps = StepKernels.cpu(cpu.parallel());
                try (Strategy s = Strategies.create(kind, c, p, (params, slices) -> optimizer.equals("adamw")
                        ? AdamW.fp32(params, slices, adam, steps)
                        : AdamW8bit.fp32(params, slices, adam, steps), DataParallel.DEFAULT_BUCKET_BYTES, cpu)) {
                    Strategy.Memory m = s.memory();
                    List<long[]> parts = new java.util.ArrayList<>();
                    if (s instanceof Zero z) {
                        for (ShardLayout.Segment seg : z.layout().segments(c.rank())) {
                            parts.add(new long[] {seg.length(), specs.get(seg.spec()).numel()});
                        }
                    } else {
                        specs.forEach(t -> parts.add(new long[] {t.numel(), t.numel()}));
                    }
                    return new Object[] {m, optimizerBytes(optimizer, parts)};
                }
            }
        });
        for (int r = 0; r < w; r++) {
            Strategy.Memory m = (Strategy.Memory) perRank.get(r)[0];
            long optimizerFormula = (long) perRank.get(r)[1];
            long weights = switch (kind) {
                case DDP -> 4 * psi;
                case ZERO1, ZERO2 -> 4 * padded;
                default -> 4 * (ends + 2 * layer) + 4 * shard;
            };
            long gradients = switch (kind) {
                case DDP -> 4 * psi;
                case ZERO1 -> 4 * padded + 4 * shard;
                default -> 4 * (ends + 2 * layer) + 4 * shard + 8 * layer / w;
            };
            assertEquals(weights, m.parameters(), strategy + " rank " + r + " weights");
            assertEquals(gradients, m.gradients(), strategy + " rank " + r + " gradients");
            assertEquals(optimizerFormula, m.optimizer(), strategy + " rank " + r + " optimizer state");
            if (r == 0) {
                System.out.printf("memory %s, %d ranks, %s: weights %d, gradients %d, optimizer %d bytes (Ψ = %d)%n",
                        strategy, w, optimizer, m.parameters(), m.gradients(), m.optimizer(), psi);
            }
        }
        if (kind != StrategyKind.DDP) {
            // the shards split every tensor on block boundaries: the ranks' states add up to one process's, exactly
            long total = 0;
            for (Object[] rank : perRank) {
                total += ((Strategy.Memory) rank[0]).optimizer();
            }
            List<long[]> whole = new java.util.ArrayList<>();
            specs.forEach(t -> whole.add(new long[] {t.numel(), t.numel()}));
            assertEquals(optimizerBytes(optimizer, whole), total, "optimizer state summed over the ranks");
        }
    }
}
