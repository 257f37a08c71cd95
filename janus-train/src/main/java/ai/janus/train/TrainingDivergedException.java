package ai.janus.train;

/** The first non-finite loss or gradient norm, with where it happened (docs/spec/reliability.md, "Numerics"). */
public final class TrainingDivergedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(message);
    }
}
