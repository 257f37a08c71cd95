package ai.janus.dist;

/**
 * The handle of a collective in flight. The buffers a collective reads or writes belong to it
 * until {@link #await} returns: they must stay open and untouched until then.
 */
public interface Work {
    /** A collective that has already completed (world size 1, or run inline). */
    Work DONE = new Work() {
        @Override
        public void await() {}

        @Override
        public boolean isDone() {
            return true;
        }
    };

    /**
     * Blocks until the collective completed. A failure (a peer that died, or did not take part
     * within the timeout) is a {@link DistributedException} whose message names the rank where
     * it can be found out.
     */
    void await();

    /** Whether the collective has completed (successfully or not) without blocking. */
    boolean isDone();
}
