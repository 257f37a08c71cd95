package ai.janus.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A data file janus cannot use as it is. The message is always one line:
 * {@code file:line[:column]: problem — excerpt} for a row, {@code file: problem} for the whole file.
 */
public final class DataException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final transient RowProblem row;

    /** A problem with one row. */
    public DataException(Path file, RowProblem row) {
        super(file + ":" + row.describe());
        this.file = file;
        this.row = row;
    }

    /** A problem with the whole file (cannot be opened, too many rows dropped). */
    public DataException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim(), cause);
        this.file = file;
        this.row = null;
    }

    public Path file() {
        return file;
    }

    /** The row and its problem; empty for a problem with the whole file. */
    public Optional<RowProblem> row() {
        return Optional.ofNullable(row);
    }
}
