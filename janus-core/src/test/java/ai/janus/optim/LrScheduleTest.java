package ai.janus.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Schedules against values worked out by hand from HF's lambdas (transformers 4.40,
 * optimization.py), s = steps already taken. Tolerance 1e-15 relative: the same double formula,
 * only cos(π·x) may differ from the exact value in the last bit.
 */
class LrScheduleTest {
    static final double TOLERANCE = 1e-15;

    private static void assertLr(double expected, LrSchedule schedule, long step) {
        double actual = schedule.lr(step);
        assertEquals(expected, actual, Math.abs(expected) * TOLERANCE + 1e-300, () -> schedule + " at step " + step);
    }

    @Test
    void cosineWithWarmup() {
        LrSchedule s = LrSchedule.cosine(5e-6, 10, 100);
        assertLr(0, s, 0);              // the first update uses lr 0
        assertLr(5e-7, s, 1);           // 1/10 of the peak
        assertLr(2.5e-6, s, 5);
        assertLr(5e-6, s, 10);          // progress 0: cos 0 = 1
        assertLr(3.75e-6, s, 40);       // progress 30/90: 0.5·(1 + cos(π/3)) = 0.75
        assertLr(2.5e-6, s, 55);        // progress 1/2: 0.5
        assertLr(5e-6 * 0.06698729810778065, s, 85); // progress 5/6: 0.5·(1 − √3/2)
        assertLr(0, s, 100);            // progress 1: cos π = −1
    }

    @Test
    void cosineWithoutWarmupAndWithWarmupEqualToTheRun() {
        LrSchedule none = LrSchedule.cosine(1.0, 0, 4);
        assertLr(1.0, none, 0);
        assertLr(0.8535533905932737, none, 1); // 0.5·(1 + cos(π/4))
        assertLr(0.5, none, 2);
        LrSchedule all = LrSchedule.cosine(1.0, 10, 10);
        assertLr(0.9, all, 9);
        assertLr(1.0, all, 10);          // T − W = 0 → max(1, 0) = 1, progress 0
    }

    @Test
    void janusSftSchedule() {
        // 751 steps per epoch × 4 epochs, warmup 10, peak 5e-6
        LrSchedule s = LrSchedule.cosine(5e-6, 10, 3004);
        assertLr(0, s, 0);
        assertLr(5e-6, s, 10);
        assertLr(2.5e-6, s, 1507);       // progress 1497/2994 = 1/2
        assertLr(0, s, 3004);
    }

    @Test
    void linearWithWarmup() {
        LrSchedule s = LrSchedule.linear(1e-4, 10, 110);
        assertLr(3e-5, s, 3);
        assertLr(1e-4, s, 10);
        assertLr(5e-5, s, 60);           // (110 − 60) / 100
        assertLr(1e-6, s, 109);
        assertLr(0, s, 110);
    }

    @Test
    void constantWithWarmup() {
        LrSchedule s = LrSchedule.constant(2e-5, 4, 50);
        assertLr(0, s, 0);
        assertLr(1e-5, s, 2);
        assertLr(2e-5, s, 4);
        assertLr(2e-5, s, 50);
        assertLr(3e-4, LrSchedule.constant(3e-4, 0, 5), 0);
    }

    @Test
    void warmupRatioIsHfCeiling() {
        assertEquals(3, LrSchedule.warmupFromRatio(0.03, 100));    // 100·0.03 = 3.0 exactly in double
        assertEquals(16, LrSchedule.warmupFromRatio(0.03, 505));   // 15.149999999999999
        assertEquals(30, LrSchedule.warmupFromRatio(0.03, 1000));
        assertEquals(91, LrSchedule.warmupFromRatio(0.03, 3004));  // 90.11999999999999
        assertEquals(1, LrSchedule.warmupFromRatio(0.03, 7));
        assertEquals(0, LrSchedule.warmupFromRatio(0, 7));
    }

    @Test
    void badArgumentsAreRefusedWithTheValue() {
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(1e-5, 11, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(-1, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(Double.NaN, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupFromRatio(1.5, 10));
        IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
                () -> LrSchedule.cosine(1, 0, 10).lr(11));
        assertEquals("step 11 is outside the schedule's [0, 10]", past.getMessage());
    }

    /** The tolerance helper must fail on a value one part in 1e-12 off. */
    @Test
    void theToleranceCatchesASmallDifference() {
        LrSchedule s = LrSchedule.constant(1.0, 0, 1);
        assertThrows(AssertionError.class, () -> assertLr(1.0 + 1e-12, s, 0));
    }
}
