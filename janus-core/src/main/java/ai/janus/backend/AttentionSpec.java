package ai.janus.backend;

/**
 * The mask and scale of one attention call, as FlashAttention-2 defines them.
 *
 * <p>For a sequence with Tq queries and Tk keys, query i may see key j iff
 * {@code j <= i + Tk - Tq} (causal, bottom-right aligned) and, with a window W,
 * {@code j >= i + Tk - Tq - W}. A row that sees no key yields output 0 and LSE -inf.
 *
 * @param causal  apply the causal mask
 * @param window  sliding window W, or {@link #NO_WINDOW}
 * @param scale   multiplier of Q·Kᵀ, normally 1/sqrt(D)
 */
public record AttentionSpec(boolean causal, int window, float scale) {
    /** No sliding window: every earlier key is visible. */
    public static final int NO_WINDOW = -1;

    public AttentionSpec {
        if (window < 0 && window != NO_WINDOW) {
            throw new IllegalArgumentException("window must be >= 0 or NO_WINDOW, got " + window);
        }
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("scale must be a positive finite number, got " + scale);
        }
    }

    /** Causal attention with the default scale 1/sqrt(headDim) and an optional window. */
    public static AttentionSpec causal(int headDim, int window) {
        return new AttentionSpec(true, window, (float) (1.0 / Math.sqrt(headDim)));
    }

    public boolean hasWindow() {
        return window != NO_WINDOW;
    }
}
