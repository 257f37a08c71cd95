package ai.janus.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnce() {
        try (Parallel p = new Parallel(3)) {
            long[] hits = new long[10_001];
            p.forRange(hits.length, 7, (start, end) -> {
                for (long i = start; i < end; i++) {
                    hits[(int) i]++;
                }
            });
            for (long h : hits) {
                assertEquals(1, h);
            }
        }
    }

    @Test
    void aFailureInAnyChunkReachesTheCaller() {
        try (Parallel p = new Parallel(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.forEach(64, i -> {
                if (i == 50) {
                    throw new IllegalStateException("chunk 50");
                }
            }));
            assertEquals("chunk 50", e.getMessage());
            LongAdder after = new LongAdder();
            p.forEach(8, i -> after.increment());
            assertEquals(8, after.sum(), "the pool still works after a failure");
        }
    }

    @Test
    void nestedLoopsRunInlineInsteadOfDeadlocking() {
        try (Parallel p = new Parallel(2)) {
            AtomicLong total = new AtomicLong();
            p.forEach(16, i -> p.forEach(16, j -> total.incrementAndGet()));
            assertEquals(256, total.get());
        }
    }
}
