package ai.janus.data.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.janus.data.TemplatedSequence;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainingBatchTest {
    private static final int X = -100;   // IGNORE_INDEX
    private static final int EOS = 2;
    // BOS 1, prompt 10 11 | answer 20 21, EOS        and        BOS 1, prompt 12 | answer 22, EOS
    private static final TemplatedSequence A = new TemplatedSequence(new int[] {1, 10, 11, 20, 21, EOS}, 3);
    private static final TemplatedSequence B = new TemplatedSequence(new int[] {1, 12, 22, EOS}, 2);

    @Test
    void packedRowsRestartPositionsAndNeverLabelAcrossSamples() {
        TrainingBatch batch = TrainingBatch.packed(List.of(A, B), new long[] {7, 3});
        assertArrayEquals(new int[] {1, 10, 11, 20, 21, EOS, 1, 12, 22, EOS}, batch.tokens().tokens());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 0, 1, 2, 3}, batch.tokens().positions());
        assertArrayEquals(new int[] {0, 6, 10}, batch.tokens().cuSeqlens());
        // Position t predicts t+1 inside its own sample; the EOS of A predicts nothing (not B's BOS).
        assertArrayEquals(new int[] {X, X, 20, 21, EOS, X, X, 22, EOS, X}, batch.labels());
        assertArrayEquals(new long[] {7, 3}, batch.samples());
        assertArrayEquals(new int[] {6, 4}, batch.lengths());
        assertEquals(5, batch.supervisedTokens());
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, batch.attentionMask());
    }

    @Test
    void paddedRowsPadWithEosThatIsNeverALabel() {
        TrainingBatch batch = TrainingBatch.padded(List.of(B, A), new long[] {0, 1}, EOS);
        assertArrayEquals(new int[] {1, 12, 22, EOS, EOS, EOS, 1, 10, 11, 20, 21, EOS}, batch.tokens().tokens());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}, batch.tokens().positions());
        assertArrayEquals(new int[] {0, 6, 12}, batch.tokens().cuSeqlens());
        assertArrayEquals(new int[] {X, 22, EOS, X, X, X, X, X, 20, 21, EOS, X}, batch.labels());
        assertArrayEquals(new int[] {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1}, batch.attentionMask());
        assertArrayEquals(new int[] {4, 6}, batch.lengths());
        assertEquals(5, batch.supervisedTokens(), "the same targets as packed: padding adds none");
    }

    @Test
    void mismatchedIdsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> TrainingBatch.packed(List.of(A, B), new long[] {1}));
        assertThrows(IllegalArgumentException.class, () -> TrainingBatch.padded(List.of(A), new long[] {1, 2}, EOS));
    }
}
