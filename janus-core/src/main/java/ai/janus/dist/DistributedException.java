package ai.janus.dist;

/**
 * A collective or the rendezvous failed: a rank died, stalled past the timeout, or never joined.
 * The message is one line and names the rank(s) when they could be identified.
 */
public final class DistributedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DistributedException(String message) {
        super(message);
    }

    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }
}
