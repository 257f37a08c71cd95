package ai.janus.data.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * First-fit-decreasing bin packing of sequences into rows of at most {@code capacity} tokens: take
 * the sequences longest first (ties by index, so the result is deterministic) and put each into the
 * first row with room, opening a new row when none has. FFD uses at most 11/9·OPT + 6/9 rows
 * (Dósa, 2007). A max-tree over the rows' free space finds the first row with room in O(log n), so
 * packing the 197k Multifaceted Collection rows takes milliseconds, not the minutes of a linear scan.
 */
public final class Packing {
    private Packing() {}

    /**
     * The rows: each an array of indices into {@code lengths}, in the order they were placed. Rows
     * come in the order they were opened. Every length must lie in [1, capacity].
     */
    public static List<int[]> firstFitDecreasing(int[] lengths, int capacity) {
        int n = lengths.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            if (lengths[i] < 1 || lengths[i] > capacity) {
                throw new IllegalArgumentException("sequence " + i + " has " + lengths[i] + " tokens, outside [1, "
                        + capacity + "]");
            }
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> lengths[a] != lengths[b]
                ? Integer.compare(lengths[b], lengths[a]) : Integer.compare(a, b));

        int leaves = Integer.highestOneBit(Math.max(1, n - 1)) << 1;   // at most n rows are ever opened
        int[] free = new int[2 * leaves];                              // free[node] = most free space below node
        Arrays.fill(free, leaves, 2 * leaves, capacity);
        for (int node = leaves - 1; node >= 1; node--) {
            free[node] = Math.max(free[2 * node], free[2 * node + 1]);
        }
        List<List<Integer>> rows = new ArrayList<>();
        for (int i : order) {
            int node = 1;
            while (node < leaves) {   // the leftmost leaf with room: left child whenever it has room
                node = free[2 * node] >= lengths[i] ? 2 * node : 2 * node + 1;
            }
            int row = node - leaves;
            if (row == rows.size()) {
                rows.add(new ArrayList<>());
            }
            rows.get(row).add(i);
            free[node] -= lengths[i];
            for (node >>= 1; node >= 1; node >>= 1) {
                free[node] = Math.max(free[2 * node], free[2 * node + 1]);
            }
        }
        List<int[]> out = new ArrayList<>(rows.size());
        for (List<Integer> row : rows) {
            out.add(row.stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
    }
}
