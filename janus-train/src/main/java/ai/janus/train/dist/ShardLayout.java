package ai.janus.train.dist;

import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.optim.AdamW8bit;
import ai.janus.optim.ParameterSlice;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the parameters of a model are grouped, padded and cut into per-rank shards for data-parallel
 * and ZeRO training. Sizes are elements.
 *
 * <pre>
 * units      consecutive specs communicated together, in spec order: the embedding, each decoder
 *            layer, the head (final norm, lm_head or value head)
 * padding    inside a unit every tensor starts on a multiple of B = 2048 (the 8-bit optimizer's
 *            block); a unit is padded to a multiple of W·B; units are back to back
 * pieces     unit u of size S_u is cut into W pieces of P_u = S_u / W; rank r owns piece r of every
 *            unit, so every piece starts on a block of the tensor it starts in
 * shard      rank r's pieces, back to back in unit order: Σ_u P_u elements
 * segments   a shard seen per tensor: the part of each tensor inside rank r's pieces (at most one
 *            per tensor), with its offset in the tensor, in the padded buffer and in the shard
 * </pre>
 *
 * One ZeRO collective moves one unit: a reduce-scatter of its S_u gradients, an all-gather of its
 * S_u weights. Padding costs at most B − 1 elements per tensor plus W·B − 1 per unit.
 */
public final class ShardLayout {
    /** Elements per 8-bit optimizer block: every shard boundary falls on one. */
    public static final long BLOCK = AdamW8bit.BLOCK_SIZE;
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\..*");

    /** A run of specs [firstSpec, endSpec) at [offset, offset + size) of the padded buffer. */
    public record Unit(String name, int firstSpec, int endSpec, long offset, long size) {}

    /** Tensor {@code spec}'s elements [start, start + length), at {@code padded} in the padded buffer and {@code shard} in the shard. */
    public record Segment(int spec, long start, long length, long padded, long shard) {}

    private final List<ParameterSet.Spec> specs;
    private final int worldSize;
    private final List<Unit> units;
    private final long[] offsets;       // padded offset of every spec
    private final long[] flatStarts;    // unpadded offset of every spec (spec order, back to back)
    private final long size;

    public ShardLayout(List<ParameterSet.Spec> specs, int worldSize) {
        if (worldSize < 1) {
            throw new IllegalArgumentException("world size must be >= 1, got " + worldSize);
        }
        this.specs = List.copyOf(specs);
        this.worldSize = worldSize;
        this.offsets = new long[specs.size()];
        this.flatStarts = new long[specs.size()];
        List<Unit> found = new ArrayList<>();
        long at = 0, flat = 0;
        int first = 0;
        for (int i = 0; i <= specs.size(); i++) {
            if (i < specs.size()) {
                flatStarts[i] = flat;
                flat += specs.get(i).numel();
            }
            if (i > first && (i == specs.size() || !unitOf(specs.get(i)).equals(unitOf(specs.get(first))))) {
                String name = unitOf(specs.get(first));
                for (Unit u : found) {
                    if (u.name().equals(name)) {
                        throw new IllegalArgumentException("the tensors of " + name + " are not consecutive in the specs");
                    }
                }
                long inside = 0;
                for (int t = first; t < i; t++) {
                    offsets[t] = at + inside;
                    inside += roundUp(specs.get(t).numel(), BLOCK);
                }
                long unitSize = roundUp(Math.max(inside, 1), worldSize * BLOCK);
                found.add(new Unit(name, first, i, at, unitSize));
                at += unitSize;
                first = i;
            }
        }
        this.units = List.copyOf(found);
        this.size = at;
    }

    /** "embed", "layer N" or "head". */
    static String unitOf(ParameterSet.Spec spec) {
        if (spec.name().equals(MistralWeights.EMBED)) {
            return "embed";
        }
        Matcher m = LAYER.matcher(spec.name());
        return m.matches() ? "layer " + m.group(1) : "head";
    }

    static long roundUp(long n, long multiple) {
        return Math.multiplyExact((n + multiple - 1) / multiple, multiple);
    }

    public List<ParameterSet.Spec> specs() {
        return specs;
    }

    public int worldSize() {
        return worldSize;
    }

    public List<Unit> units() {
        return units;
    }

    /** The unit named "layer N". */
    public Unit layer(int n) {
        for (Unit u : units) {
            if (u.name().equals("layer " + n)) {
                return u;
            }
        }
        throw new IllegalArgumentException("no decoder layer " + n);
    }

    /** Elements of the padded buffer. */
    public long size() {
        return size;
    }

    /** The padded offset of every spec. */
    public long[] offsets() {
        return offsets.clone();
    }

    /** Elements of one piece of {@code unit}. */
    public long piece(Unit unit) {
        return unit.size() / worldSize;
    }

    /** Elements of one rank's shard: Σ_u P_u. */
    public long shardSize() {
        long total = 0;
        for (Unit u : units) {
            total += piece(u);
        }
        return total;
    }

    /** Where {@code unit}'s piece starts in a shard. */
    public long shardOffset(Unit unit) {
        long at = 0;
        for (Unit u : units) {
            if (u.equals(unit)) {
                return at;
            }
            at += piece(u);
        }
        throw new IllegalArgumentException("not a unit of this layout: " + unit);
    }

    /** Rank {@code rank}'s segments, in spec order; tensors without elements in its pieces have none. */
    public List<Segment> segments(int rank) {
        List<Segment> out = new ArrayList<>();
        for (Unit u : units) {
            long p = piece(u), from = u.offset() + rank * p, to = from + p, shardBase = shardOffset(u);
            for (int t = u.firstSpec(); t < u.endSpec(); t++) {
                long begin = Math.max(from, offsets[t]), end = Math.min(to, offsets[t] + specs.get(t).numel());
                if (begin < end) {
                    out.add(new Segment(t, begin - offsets[t], end - begin, begin, shardBase + begin - from));
                }
            }
        }
        return out;
    }

    /** The specs of rank {@code rank}'s segments: each tensor's name with shape [length]. */
    public List<ParameterSet.Spec> segmentSpecs(int rank) {
        return segments(rank).stream()
                .map(s -> new ParameterSet.Spec(specs.get(s.spec()).name(), new long[] {s.length()})).toList();
    }

    /** Where rank {@code rank}'s segments lie in the model, for an optimizer over the shard. */
    public List<ParameterSlice> slices(int rank) {
        return segments(rank).stream()
                .map(s -> new ParameterSlice(specs.get(s.spec()).numel(), s.start(), flatStarts[s.spec()] + s.start()))
                .toList();
    }

    /** The segments' offsets in a shard buffer. */
    public long[] shardOffsets(int rank) {
        return segments(rank).stream().mapToLong(Segment::shard).toArray();
    }

    /** The segments' offsets in the padded buffer. */
    public long[] paddedOffsets(int rank) {
        return segments(rank).stream().mapToLong(Segment::padded).toArray();
    }

    // ------------------------------------------------- the two-slot buffer of ZeRO-2/3

    /**
     * Where each tensor sits in a buffer that holds the embedding and head units at full size and
     * the decoder layers in two shared slots, layer l in slot l mod 2:
     * {@code [embed][head][slot 0][slot 1]}. ZeRO-2 and ZeRO-3 accumulate gradients there (and
     * ZeRO-3 gathers weights there): a layer is reduced (gathered) while its neighbour uses the
     * other slot. Every decoder layer has the same tensors, so any layer fits either slot.
     */
    public long[] slotOffsets() {
        long[] out = new long[specs.size()];
        for (Unit u : units) {
            long base = isLayer(u) ? slotBase(layerIndex(u) % 2) : endOffset(u);
            for (int t = u.firstSpec(); t < u.endSpec(); t++) {
                out[t] = base + offsets[t] - u.offset();
            }
        }
        return out;
    }

    /** Elements of the two-slot buffer: the end units plus min(2, layers) layer slots. */
    public long slotBufferSize() {
        long layers = units.stream().filter(ShardLayout::isLayer).count();
        return endsSize() + Math.min(2, layers) * slotSize();
    }

    /** Where slot {@code slot} (0 or 1) starts in the two-slot buffer. */
    public long slotBase(int slot) {
        return endsSize() + slot * slotSize();
    }

    /** Where end unit {@code unit} (embed or head) starts in the two-slot buffer. */
    public long endOffset(Unit unit) {
        long at = 0;
        for (Unit u : units) {
            if (u.equals(unit)) {
                return at;
            }
            if (!isLayer(u)) {
                at += u.size();
            }
        }
        throw new IllegalArgumentException("not a unit of this layout: " + unit);
    }

    /** Elements of a layer unit (every layer's is the same). */
    public long slotSize() {
        long size = -1;
        for (Unit u : units) {
            if (isLayer(u)) {
                if (size >= 0 && size != u.size()) {
                    throw new IllegalStateException("decoder layers of different sizes cannot share slots");
                }
                size = u.size();
            }
        }
        return Math.max(size, 0);
    }

    /** Elements of the end units (embedding and head) together. */
    public long endsSize() {
        return units.stream().filter(u -> !isLayer(u)).mapToLong(Unit::size).sum();
    }

    public static boolean isLayer(Unit u) {
        return u.name().startsWith("layer ");
    }

    public static int layerIndex(Unit u) {
        return Integer.parseInt(u.name().substring("layer ".length()));
    }
}
