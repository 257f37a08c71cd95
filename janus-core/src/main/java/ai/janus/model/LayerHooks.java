package ai.janus.model;

/**
 * Where sharded training (ai.janus.train.dist) takes part in {@link Mistral}'s training forward
 * and backward, one decoder layer at a time. Only {@link Mistral#forward} and
 * {@link Mistral#backwardFromHidden} (hence {@link Mistral#backward}) call hooks; inference never
 * does. The default does nothing.
 *
 * <p>When each is called, and what holds then:
 * <pre>
 * forward:   beforeForward(0), layer 0, beforeForward(1), layer 1, …, beforeForward(L−1), layer L−1
 * backward:  [lm_head / value head and model.norm gradients accumulated]
 *            beforeBackward(L−1), [recompute], layer L−1 backward, afterBackward(L−1), …,
 *            beforeBackward(0), …, afterBackward(0)
 *            [embedding gradient accumulated when backward returns]
 * </pre>
 * At {@code beforeBackward(L−1)} the final norm's and the head's gradients of this micro-batch
 * are complete; at {@code afterBackward(l)} layer l's are. Data-parallel training starts reducing
 * them there, while the backward goes on; ZeRO-3 gathers a layer's weights in the two
 * {@code before} hooks. A layer's weights must be in place when its {@code before} hook returns.
 */
public interface LayerHooks {
    /** No hooks: the model's own weights, nothing to communicate. */
    LayerHooks NONE = new LayerHooks() {};

    /** Layer {@code layer}'s weights are about to be read by the training forward. */
    default void beforeForward(int layer) {}

    /** Layer {@code layer}'s weights are about to be read by the backward (and its recompute). */
    default void beforeBackward(int layer) {}

    /** Layer {@code layer}'s parameter gradients of this micro-batch have all been accumulated. */
    default void afterBackward(int layer) {}
}
