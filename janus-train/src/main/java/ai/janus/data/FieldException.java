package ai.janus.data;

/** A row's field is missing or has the wrong shape; becomes a {@link Reason#BAD_FIELD} problem of its line. */
final class FieldException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String excerpt;

    FieldException(String problem, String excerpt) {
        super(problem, null, false, false);   // control flow for bad rows: no stack trace needed
        this.excerpt = excerpt;
    }

    String excerpt() {
        return excerpt;
    }
}
