package ai.janus.train.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.AdamW;
import ai.janus.optim.AdamWConfig;
import ai.janus.optim.GradClip;
import ai.janus.optim.Optimizer;
import ai.janus.optim.ParameterSlice;
import ai.janus.optim.StepKernels;
import ai.janus.parallel.Parallel;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The geometry of the shards, and the two promises ZeRO rests on: an optimizer over a rank's
 * segments updates them bit for bit as the whole model's optimizer does, and the norm gathered
 * from the ranks' block sums has the whole model's bits.
 */
class ShardLayoutTest {
    /** Vocab 96, so the embedding (6144) and lm_head are not multiples of a block. */
    static final MistralConfig CONFIG = MistralConfig.tiny(96);

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {1, 2, 3, 4})
    void piecesFallOnBlocksAndCoverEveryElementOnce(int w) {
        List<ParameterSet.Spec> specs = MistralWeights.specs(CONFIG);
        ShardLayout layout = new ShardLayout(specs, w);
        assertEquals(List.of("embed", "layer 0", "layer 1", "head"), layout.units().stream().map(ShardLayout.Unit::name)
                .toList());
        long[] covered = new long[specs.size()];
        for (ShardLayout.Unit u : layout.units()) {
            assertEquals(0, u.offset() % (w * ShardLayout.BLOCK), u.name() + " starts on W blocks");
            assertEquals(0, u.size() % (w * ShardLayout.BLOCK), u.name() + " is W whole pieces");
        }
        for (int t = 0; t < specs.size(); t++) {
            assertEquals(0, layout.offsets()[t] % ShardLayout.BLOCK, specs.get(t) + " starts on a block");
        }
        for (int r = 0; r < w; r++) {
            long shard = 0;
            for (ShardLayout.Segment s : layout.segments(r)) {
                assertEquals(0, s.start() % ShardLayout.BLOCK, "rank " + r + "'s part of " + specs.get(s.spec())
                        + " starts on one of its blocks");
                assertEquals(layout.offsets()[s.spec()] + s.start(), s.padded());
                assertTrue(s.shard() >= shard && s.shard() + s.length() <= layout.shardSize());
                shard = s.shard() + s.length();
                covered[s.spec()] += s.length();
            }
            assertEquals(layout.segments(r).size(), layout.segmentSpecs(r).size());
        }
        for (int t = 0; t < specs.size(); t++) {
            assertEquals(specs.get(t).numel(), covered[t], specs.get(t) + " is covered exactly once");
        }
        assertEquals(layout.size(), w * layout.shardSize());
    }

    @Test
    void theTwoSlotBufferHoldsTheEndsAndAlternatingLayers() {
        List<ParameterSet.Spec> specs = MistralWeights.specs(CONFIG);
        ShardLayout layout = new ShardLayout(specs, 2);
        long[] slots = layout.slotOffsets();
        ShardLayout.Unit l0 = layout.layer(0), l1 = layout.layer(1);
        assertEquals(l0.size(), l1.size());
        for (int t = l0.firstSpec(); t < l0.endSpec(); t++) {
            int same = t - l0.firstSpec() + l1.firstSpec();
            assertEquals(slots[t] + layout.slotSize(), slots[same], "layer 1 sits where layer 0 does, one slot on");
            assertEquals(layout.slotBase(0) + layout.offsets()[t] - l0.offset(), slots[t]);
        }
        assertEquals(layout.endsSize() + 2 * layout.slotSize(), layout.slotBufferSize());
        try (ParameterSet p = ParameterSet.allocate(specs, DType.F32, slots, layout.slotBufferSize())) {
            p.get(MistralWeights.layer(0, "mlp.up_proj.weight")).fill(3f);
            assertEquals(0f, p.get(MistralWeights.layer(1, "mlp.up_proj.weight")).floats().get(0), "another slot");
        }
    }

    @Test
    void aRewardModelsValueHeadJoinsTheHeadUnit() {
        ShardLayout layout = new ShardLayout(RewardModel.specs(CONFIG), 2);
        ShardLayout.Unit head = layout.units().get(layout.units().size() - 1);
        assertEquals("head", head.name());
        assertEquals(2, head.endSpec() - head.firstSpec(), "model.norm and value_head");
        assertThrows(IllegalArgumentException.class, () -> new ShardLayout(List.of(
                new ParameterSet.Spec(MistralWeights.layer(0, "a"), new long[] {4}),
                new ParameterSet.Spec("x", new long[] {4}),
                new ParameterSet.Spec(MistralWeights.layer(0, "b"), new long[] {4})), 2));
    }

    static void fillRandom(ParameterSet p, long seed, float scale) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (ParameterSet.Spec s : p.specs()) {
            Tensor t = p.get(s.name());
            for (int i = 0; i < t.numel(); i++) {
                t.floats().put(i, (float) (rng.nextGaussian() * scale));
            }
        }
    }

    /** Copies rank r's segments of {@code whole} into a set with the segments' specs. */
    static ParameterSet shardOf(ParameterSet whole, ShardLayout layout, int r) {
        ParameterSet shard = ParameterSet.allocate(layout.segmentSpecs(r));
        List<ShardLayout.Segment> segs = layout.segments(r);
        for (int i = 0; i < segs.size(); i++) {
            ShardLayout.Segment s = segs.get(i);
            Tensor from = whole.get(layout.specs().get(s.spec()).name());
            float[] values = from.toFloatArray();
            Tensor to = shard.get(layout.segmentSpecs(r).get(i).name());
            to.floats().put(0, values, (int) s.start(), (int) s.length());
        }
        return shard;
    }

    static Optimizer make(String kind, ParameterSet p, List<ParameterSlice> slices, Parallel pool) {
        AdamWConfig c = new AdamWConfig(0.9, 0.999, 1e-8, 0.01);
        StepKernels kernels = StepKernels.cpu(pool);
        return kind.equals("adamw") ? AdamW.fp32(p, slices, c, kernels) : AdamW8bit.fp32(p, slices, c, kernels);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"adamw", "adamw_8bit"})
    void anOptimizerOverShardsIsTheWholeModelsBitForBit(String kind) {
        List<ParameterSet.Spec> specs = MistralWeights.specs(CONFIG);
        try (Parallel pool = new Parallel(2); ParameterSet whole = ParameterSet.allocate(specs);
             ParameterSet grads = ParameterSet.allocate(specs)) {
            fillRandom(whole, 1, 0.02f);
            for (int w : new int[] {2, 3, 4}) {
                ShardLayout layout = new ShardLayout(specs, w);
                ParameterSet[] shards = new ParameterSet[w], shardGrads = new ParameterSet[w];
                Optimizer[] opts = new Optimizer[w];
                for (int r = 0; r < w; r++) {
                    shards[r] = shardOf(whole, layout, r);
                    opts[r] = make(kind, shards[r], layout.slices(r), pool);
                }
                try (ParameterSet reference = ParameterSet.copyOf(whole, DType.F32);
                     Optimizer wholeOpt = make(kind, reference, ParameterSlice.whole(specs), pool)) {
                    for (int step = 0; step < 3; step++) {
                        fillRandom(grads, 100 + step, step == 1 ? 3f : 0.01f);
                        wholeOpt.step(grads, 1e-3);
                        for (int r = 0; r < w; r++) {
                            try (ParameterSet g = shardOf(grads, layout, r)) {
                                opts[r].step(g, 1e-3);
                            }
                        }
                    }
                    for (int r = 0; r < w; r++) {
                        try (ParameterSet expected = shardOf(reference, layout, r)) {
                            assertArrayEquals(expected.flat().toFloatArray(), shards[r].flat().toFloatArray(),
                                    kind + ", " + w + " ranks: rank " + r + "'s weights after 3 steps");
                        }
                        opts[r].close();
                        shards[r].close();
                    }
                }
            }
        }
    }

    @Test
    void theNormGatheredFromShardBlocksHasTheWholeModelsBits() {
        List<ParameterSet.Spec> specs = MistralWeights.specs(CONFIG);
        try (Parallel pool = new Parallel(2); ParameterSet grads = ParameterSet.allocate(specs)) {
            fillRandom(grads, 7, 1f);
            double expected = GradClip.sumOfSquares(grads, pool);
            boolean orderMatters = false;
            for (int w : new int[] {2, 3, 4}) {
                ShardLayout layout = new ShardLayout(specs, w);
                int most = 0;
                for (int r = 0; r < w; r++) {
                    most = Math.max(most, Zero.blocks(layout.segments(r)));
                }
                double[] all = new double[w * most];
                for (int r = 0; r < w; r++) {
                    try (ParameterSet g = shardOf(grads, layout, r)) {
                        double[] mine = GradClip.blockSumsOfSquares(g, pool);
                        System.arraycopy(mine, 0, all, r * most, mine.length);
                    }
                }
                double total = 0;
                for (int i : Zero.blockOrder(layout, most)) {
                    total += all[i];
                }
                assertEquals(Double.doubleToRawLongBits(expected), Double.doubleToRawLongBits(total), w + " ranks");
                double rankOrder = 0;
                for (double v : all) {
                    rankOrder += v;
                }
                orderMatters |= rankOrder != expected;
            }
            assertTrue(orderMatters, "adding the blocks rank by rank gives other bits: the order is what makes them equal");
        }
    }
}
