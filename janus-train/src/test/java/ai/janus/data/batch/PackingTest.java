package ai.janus.data.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PackingTest {
    /** First-fit decreasing straight from its definition: scan every open row, left to right. */
    private static List<List<Integer>> naiveFirstFitDecreasing(int[] lengths, int capacity) {
        List<Integer> order = new ArrayList<>(IntStream.range(0, lengths.length).boxed().toList());
        order.sort(Comparator.<Integer>comparingInt(i -> -lengths[i]).thenComparingInt(i -> i));
        List<List<Integer>> rows = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (int i : order) {
            int row = 0;
            while (row < rows.size() && used.get(row) + lengths[i] > capacity) {
                row++;
            }
            if (row == rows.size()) {
                rows.add(new ArrayList<>());
                used.add(0);
            }
            rows.get(row).add(i);
            used.set(row, used.get(row) + lengths[i]);
        }
        return rows;
    }

    @Test
    void aHandWorkedExample() {
        // Sorted: 5(#0) 4(#1) 3(#2) 3(#3) 2(#4) 1(#5) into rows of 8:
        // 5 → row 0 (3 left); 4 → row 1 (4 left); 3 → row 0 (0 left); 3 → row 1 (1 left); 2 → row 2; 1 → row 1.
        List<int[]> rows = Packing.firstFitDecreasing(new int[] {5, 4, 3, 3, 2, 1}, 8);
        assertEquals(3, rows.size());
        assertArrayEquals(new int[] {0, 2}, rows.get(0));
        assertArrayEquals(new int[] {1, 3, 5}, rows.get(1));
        assertArrayEquals(new int[] {4}, rows.get(2));
    }

    @Test
    void equalsTheDefinitionOnRandomInputs() {
        Random rng = new Random(1);
        for (int trial = 0; trial < 200; trial++) {
            int n = rng.nextInt(300), capacity = 1 + rng.nextInt(2048);
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = 1 + (rng.nextBoolean() ? rng.nextInt(capacity) : rng.nextInt(Math.max(1, capacity / 8)));
            }
            List<List<Integer>> expected = naiveFirstFitDecreasing(lengths, capacity);
            List<int[]> actual = Packing.firstFitDecreasing(lengths, capacity);
            assertEquals(expected.size(), actual.size(), "trial " + trial);
            for (int r = 0; r < expected.size(); r++) {
                assertArrayEquals(expected.get(r).stream().mapToInt(Integer::intValue).toArray(), actual.get(r),
                        "trial " + trial + " row " + r);
            }
            boolean[] seen = new boolean[n];
            for (int[] row : actual) {
                int sum = 0;
                for (int i : row) {
                    assertTrue(!seen[i], "sample " + i + " packed twice");
                    seen[i] = true;
                    sum += lengths[i];
                }
                assertTrue(sum <= capacity);
            }
            for (boolean s : seen) {
                assertTrue(s, "every sample packed");
            }
        }
    }

    @Test
    void theFullCollectionPacksQuickly() {
        Random rng = new Random(2);
        int[] lengths = new int[196_998];   // Multifaceted Collection rows, lengths up to 8192 in rows of 16384
        long tokens = 0;
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = 64 + rng.nextInt(1200) + (rng.nextInt(20) == 0 ? rng.nextInt(7000) : 0);
            tokens += lengths[i];
        }
        long start = System.nanoTime();
        List<int[]> rows = Packing.firstFitDecreasing(lengths, 16384);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 10, "packing took " + seconds + " s");
        long lowerBound = (tokens + 16383) / 16384;
        assertTrue(rows.size() <= lowerBound * 1.01 + 1, rows.size() + " rows for a lower bound of " + lowerBound);
    }

    @Test
    void lengthsOutsideTheCapacityAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Packing.firstFitDecreasing(new int[] {3, 9}, 8));
        assertThrows(IllegalArgumentException.class, () -> Packing.firstFitDecreasing(new int[] {0}, 8));
        assertEquals(0, Packing.firstFitDecreasing(new int[0], 8).size());
        assertEquals(1, Packing.firstFitDecreasing(new int[] {8}, 8).size());
    }
}
