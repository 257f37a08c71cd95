package ai.janus.train.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.janus.backend.AttentionSpec;
import ai.janus.dist.CountingCommunicator;
import ai.janus.dist.CountingCommunicator.Kind;
import ai.janus.dist.ThreadRanks;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What each strategy communicates per optimizer step, counted at the communicator, against the
 * formula (elements; W ranks, A micro-batches per rank, L layers; Ψ parameters, Ψ' padded,
 * E the padded embedding and head units, Λ a padded layer unit):
 *
 * <pre>
 * ddp    all-reduce      Ψ
 * zero1  reduce-scatter  Ψ'                 all-gather  Ψ'
 * zero2  reduce-scatter  A·L·Λ + E          all-gather  Ψ'
 * zero3  reduce-scatter  A·L·Λ + E          all-gather  E + (2L − 2 + (A − 1)(2L − 4))·Λ
 * </pre>
 *
 * ZeRO-3 gathers every layer for the first forward, then the backward needs all but the two its
 * slots still hold, and each later micro-batch re-gathers all but two in each direction. A rank
 * sends 2(W−1)/W of an all-reduce and (W−1)/W of a reduce-scatter or all-gather.
 */
class CommunicationVolumeTest {
    /** Vocabulary 64, hidden 64, 4 layers. */
    static final MistralConfig CONFIG = MistralConfig.of(64, 64, 192, 4, 4, 2, 16, 10000.0, AttentionSpec.NO_WINDOW,
            false);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}, {1} ranks, accumulation {2}")
    @CsvSource({"ddp, 2, 2", "zero1, 2, 2", "zero2, 2, 2", "zero3, 2, 2", "zero3, 4, 3", "zero2, 4, 1"})
    void eachStrategyMovesWhatItsFormulaSays(String strategy, int w, int a) throws Exception {
        StrategyKind kind = StrategyKind.valueOf(strategy.toUpperCase(java.util.Locale.ROOT));
        int steps = 3, layers = CONFIG.numHiddenLayers();
        List<ParameterSet.Spec> specs = MistralWeights.specs(CONFIG);
        ShardLayout layout = new ShardLayout(specs, w);
        long psi = specs.stream().mapToLong(ParameterSet.Spec::numel).sum(), padded = layout.size();
        long ends = layout.endsSize(), unit = layout.slotSize();
        List<Map<Kind, CountingCommunicator.Count>> counts = ThreadRanks.run(w, dir.resolve("store"),
                Duration.ofSeconds(60), c -> {
                    CountingCommunicator counting = new CountingCommunicator(c);
                    DistFixture.rank(counting, (comm, parameters, optimizers, cpu) -> {
                        Strategy s = Strategies.create(kind, comm, parameters, optimizers, 64 << 10, cpu);
                        counting.reset(); // what the strategy sends while it is built (rank 0's weights) is not a step's
                        return s;
                    }, DistFixture.settings(1, a, steps, 0, dir.resolve(strategy)), "adamw", false, false, CONFIG);
                    return counting.counts();
                });
        long export = kind == StrategyKind.ZERO3 ? padded : 0; // ZeRO-3 gathers the model once more for the export
        long gathers = 2L * layers - 2 + (a - 1) * (2L * layers - 4);
        long[] expected = switch (kind) { // {all-reduce, reduce-scatter, all-gather} per step
            case DDP -> new long[] {psi, 0, 0};
            case ZERO1 -> new long[] {0, padded, padded};
            case ZERO2 -> new long[] {0, (long) a * layers * unit + ends, padded};
            default -> new long[] {0, (long) a * layers * unit + ends, ends + gathers * unit};
        };
        for (Map<Kind, CountingCommunicator.Count> rank : counts) {
            assertEquals(steps * expected[0], rank.get(Kind.ALL_REDUCE).elements(), strategy + " all-reduce");
            assertEquals(steps * expected[1], rank.get(Kind.REDUCE_SCATTER).elements(), strategy + " reduce-scatter");
            assertEquals(steps * expected[2] + export, rank.get(Kind.ALL_GATHER).elements(), strategy + " all-gather");
        }
        double perStep = 4 * ((w - 1.0) / w) * (2.0 * expected[0] + expected[1] + expected[2]);
        System.out.printf("volume %s, %d ranks, A=%d: %.0f bytes sent per rank per step (%.2f x 4Ψ)%n", strategy, w, a,
                perStep, perStep / (4.0 * psi));
    }
}
