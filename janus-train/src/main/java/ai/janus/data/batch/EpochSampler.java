package ai.janus.data.batch;

import ai.janus.data.SplitMix64;

/**
 * The order in which samples (SFT packed rows, DPO pairs, …) are visited: each epoch a fresh
 * permutation of [0, size), drawn by Fisher–Yates from a {@link SplitMix64} stream seeded by
 * (seed, epoch). The position (epoch, index) is all the state there is, so (seed, epoch, index)
 * fully determines every sample that follows: save {@link #position()} with a checkpoint and
 * resume with {@code new EpochSampler(size, seed, saved)}.
 */
public final class EpochSampler {
    /** The next sample is {@code order(epoch)[index]}. */
    public record Position(long epoch, long index) {
        public Position {
            if (epoch < 0 || index < 0) {
                throw new IllegalArgumentException("epoch " + epoch + " and index " + index + " must not be negative");
            }
        }
    }

    private final int size;
    private final long seed;
    private long epoch;
    private int index;
    private int[] permutation;   // order(epoch)

    public EpochSampler(int size, long seed) {
        this(size, seed, new Position(0, 0));
    }

    public EpochSampler(int size, long seed, Position start) {
        if (size < 1) {
            throw new IllegalArgumentException("need at least one sample, got " + size);
        }
        if (start.index() >= size) {
            throw new IllegalArgumentException("index " + start.index() + " outside an epoch of " + size + " samples");
        }
        this.size = size;
        this.seed = seed;
        this.epoch = start.epoch();
        this.index = (int) start.index();
        this.permutation = order(epoch);
    }

    /** The permutation of [0, size) used in {@code epoch}. */
    public int[] order(long epoch) {
        int[] p = new int[size];
        for (int i = 0; i < size; i++) {
            p[i] = i;
        }
        SplitMix64 random = new SplitMix64(SplitMix64.derive(seed, epoch));
        for (int i = size - 1; i > 0; i--) {
            int j = (int) random.nextLong(i + 1L);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    public Position position() {
        return new Position(epoch, index);
    }

    /** The next sample; after the last of an epoch the next epoch begins. */
    public int next() {
        int sample = permutation[index++];
        if (index == size) {
            epoch++;
            index = 0;
            permutation = order(epoch);
        }
        return sample;
    }

    /** Up to {@code maxSize} next samples, never crossing into the next epoch (the last batch of an epoch may be short). */
    public int[] nextBatch(int maxSize) {
        if (maxSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, got " + maxSize);
        }
        int[] batch = new int[Math.min(maxSize, size - index)];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = next();
        }
        return batch;
    }

    /** Batches of {@code batchSize} per epoch, the short last one included: count these after packing, on packed rows. */
    public long stepsPerEpoch(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        return (size + (long) batchSize - 1) / batchSize;
    }
}
