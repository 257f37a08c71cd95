package ai.janus.data;

import java.io.Closeable;

/**
 * Streams the valid rows of one JSONL file in a {@link RowFormat}. Lines that are not JSON objects
 * and objects whose fields do not fit the format go to the {@link Validator}, which stops the load
 * or counts them as dropped; {@link #next} returns only rows whose fields are all usable.
 */
public final class RowReader<T> implements Closeable {
    private final JsonlReader lines;
    private final RowFormat<T> format;
    private final Validator validator;

    private RowReader(JsonlReader lines, RowFormat<T> format, Validator validator) {
        this.lines = lines;
        this.format = format;
        this.validator = validator;
    }

    /** Opens the validator's file. */
    public static <T> RowReader<T> open(RowFormat<T> format, Validator validator) throws DataException {
        return new RowReader<>(JsonlReader.open(validator.file(), validator.rules().maxLineBytes()), format, validator);
    }

    /** The next valid row, or null at the end of the file. */
    public SourceRow<T> next() throws DataException {
        try {
            for (JsonlReader.Line line; (line = lines.next()) != null; ) {
                validator.rowRead();
                if (line.problem() != null) {
                    validator.reject(line.problem());
                    continue;
                }
                try {
                    return new SourceRow<>(line.number(), format.parse(line.row()));
                } catch (FieldException e) {
                    validator.reject(new RowProblem(Reason.BAD_FIELD, line.number(), 0, e.getMessage(), e.excerpt()));
                }
            }
            return null;
        } finally {
            validator.blankLines(lines.blankLines());
        }
    }

    @Override
    public void close() throws DataException {
        lines.close();
    }
}
