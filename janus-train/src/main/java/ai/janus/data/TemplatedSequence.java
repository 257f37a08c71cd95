package ai.janus.data;

import ai.janus.backend.Backend;

/**
 * The token ids of one templated conversation: {@code ids[0, promptLength)} is the prompt part
 * (BOS + the encoded "[INST] … [/INST]"), {@code ids[promptLength, length)} the answer part that
 * is trained on, ending with EOS. Arrays are shared, not copied: do not modify them.
 *
 * @param ids          (T) token ids
 * @param promptLength tokens of the prompt part, 1 ≤ promptLength ≤ T
 */
public record TemplatedSequence(int[] ids, int promptLength) {
    public TemplatedSequence {
        if (promptLength < 1 || promptLength > ids.length) {
            throw new IllegalArgumentException("promptLength " + promptLength + " outside [1, " + ids.length + "]");
        }
    }

    /** T, the number of tokens. */
    public int length() {
        return ids.length;
    }

    /** Tokens that carry a label: the answer and its EOS. */
    public int supervisedTokens() {
        return ids.length - promptLength;
    }

    /**
     * Per-position targets, already shifted as {@code Mistral.tokenLogProbs} takes them: position t
     * predicts {@code ids[t + 1]} when that token belongs to the answer part, otherwise
     * {@link Backend#IGNORE_INDEX}. The last position predicts nothing. So exactly the answer
     * tokens and the final EOS are targets, each once.
     */
    public int[] shiftedLabels() {
        int[] labels = new int[ids.length];
        for (int t = 0; t < ids.length; t++) {
            labels[t] = t + 1 < ids.length && t + 1 >= promptLength ? ids[t + 1] : Backend.IGNORE_INDEX;
        }
        return labels;
    }

    /**
     * This sequence cut to {@code maxTokens}: the prompt part whole, the answer cut, the final token
     * (EOS) kept — so a truncated answer still ends with EOS, and a reward is still read at an EOS.
     * Needs {@code promptLength < maxTokens}; a sequence that fits is returned as it is.
     */
    public TemplatedSequence truncated(int maxTokens) {
        if (ids.length <= maxTokens) {
            return this;
        }
        if (promptLength >= maxTokens) {
            throw new IllegalArgumentException("the prompt part has " + promptLength + " tokens, no room for EOS within "
                    + maxTokens);
        }
        int[] cut = new int[maxTokens];
        System.arraycopy(ids, 0, cut, 0, maxTokens - 1);
        cut[maxTokens - 1] = ids[ids.length - 1];
        return new TemplatedSequence(cut, promptLength);
    }
}
