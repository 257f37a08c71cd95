package ai.janus.data.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.janus.data.TemplatedSequence;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The three reward-batch layouts, by hand. */
class RewardBatchTest {
    private static final int PAD = 2;
    private static final List<TemplatedSequence> SEQS = List.of(
            new TemplatedSequence(new int[] {1, 10, 11, 2}, 2),
            new TemplatedSequence(new int[] {1, 20, 2}, 2),
            new TemplatedSequence(new int[] {1, 30, 31, 32, 33, 2}, 2));
    private static final long[] IDS = {7, 8, 9};

    @Test
    void packed() {
        RewardBatch b = RewardBatch.of(SEQS, IDS, RewardBatch.Layout.PACKED, PAD);
        assertArrayEquals(new int[] {1, 10, 11, 2, 1, 20, 2, 1, 30, 31, 32, 33, 2}, b.tokens().tokens());
        assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 3, 4, 5}, b.tokens().positions());
        assertArrayEquals(new int[] {0, 4, 7, 13}, b.tokens().cuSeqlens());
        assertArrayEquals(new int[] {3, 6, 12}, b.lastTokens());
        assertArrayEquals(IDS, b.samples());
    }

    @Test
    void rightPaddedRowsKeepThePaddingInTheRowAfterTheEos() {
        RewardBatch b = RewardBatch.of(SEQS, IDS, RewardBatch.Layout.RIGHT_PADDED, PAD);
        assertArrayEquals(new int[] {1, 10, 11, 2, 2, 2, /**/ 1, 20, 2, 2, 2, 2, /**/ 1, 30, 31, 32, 33, 2},
                b.tokens().tokens());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}, b.tokens().positions());
        assertArrayEquals(new int[] {0, 6, 12, 18}, b.tokens().cuSeqlens());
        assertArrayEquals(new int[] {3, 8, 17}, b.lastTokens());
    }

    @Test
    void leftPaddingIsASegmentOfItsOwn() {
        RewardBatch b = RewardBatch.of(SEQS, IDS, RewardBatch.Layout.LEFT_PADDED, PAD);
        assertArrayEquals(new int[] {2, 2, 1, 10, 11, 2, /**/ 2, 2, 2, 1, 20, 2, /**/ 1, 30, 31, 32, 33, 2},
                b.tokens().tokens());
        // every sequence starts at position 0, as when it is alone
        assertArrayEquals(new int[] {0, 1, 0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 4, 5}, b.tokens().positions());
        assertArrayEquals(new int[] {0, 2, 6, 9, 12, 18}, b.tokens().cuSeqlens());
        assertArrayEquals(new int[] {5, 11, 17}, b.lastTokens());
    }

    @Test
    void sampleIdsMustMatchTheSequences() {
        assertThrows(IllegalArgumentException.class, () -> RewardBatch.of(SEQS, new long[2], RewardBatch.Layout.PACKED, PAD));
        assertThrows(IllegalArgumentException.class, () -> RewardBatch.of(List.of(), new long[0], RewardBatch.Layout.PACKED,
                PAD));
    }
}
