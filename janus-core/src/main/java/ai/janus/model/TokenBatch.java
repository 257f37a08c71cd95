package ai.janus.model;

import java.util.Arrays;

/**
 * Sequences packed into one token stream: sequence s owns tokens [cuSeqlens[s], cuSeqlens[s+1])
 * and its positions restart at 0, so no token attends across a boundary. A right-padded batch of
 * B rows of T tokens is the special case cuSeqlens = 0, T, 2T, … (padding sits after the real
 * tokens of its row, where the causal mask keeps it out of their view).
 *
 * @param tokens    (N) token ids
 * @param positions (N) RoPE position of each token
 * @param cuSeqlens (S + 1) offsets, from 0 to N, non-decreasing
 */
public record TokenBatch(int[] tokens, int[] positions, int[] cuSeqlens) {
    public TokenBatch {
        if (tokens.length != positions.length) {
            throw new IllegalArgumentException(tokens.length + " tokens but " + positions.length + " positions");
        }
        if (cuSeqlens.length < 2 || cuSeqlens[0] != 0 || cuSeqlens[cuSeqlens.length - 1] != tokens.length) {
            throw new IllegalArgumentException("cuSeqlens must run from 0 to " + tokens.length + ", got "
                    + Arrays.toString(cuSeqlens));
        }
        for (int s = 1; s < cuSeqlens.length; s++) {
            if (cuSeqlens[s] < cuSeqlens[s - 1]) {
                throw new IllegalArgumentException("cuSeqlens decreases at " + s + ": " + Arrays.toString(cuSeqlens));
            }
        }
        for (int i = 0; i < positions.length; i++) {
            if (positions[i] < 0) {
                throw new IllegalArgumentException("negative position " + positions[i] + " at token " + i);
            }
        }
    }

    /** Packs {@code sequences} back to back, positions 0.. within each. */
    public static TokenBatch of(int[]... sequences) {
        int n = 0;
        for (int[] s : sequences) {
            n = Math.addExact(n, s.length);
        }
        int[] tokens = new int[n], positions = new int[n], cu = new int[sequences.length + 1];
        int at = 0;
        for (int s = 0; s < sequences.length; s++) {
            System.arraycopy(sequences[s], 0, tokens, at, sequences[s].length);
            for (int p = 0; p < sequences[s].length; p++) {
                positions[at + p] = p;
            }
            at += sequences[s].length;
            cu[s + 1] = at;
        }
        return new TokenBatch(tokens, positions, cu);
    }

    /** N, the number of tokens. */
    public int size() {
        return tokens.length;
    }

    /** S, the number of sequences. */
    public int sequences() {
        return cuSeqlens.length - 1;
    }
}
