package ai.janus.io;

import java.io.IOException;
import java.nio.file.Path;

/** A file janus cannot use; the message is one line: {@code <file>: <problem>}. */
public final class InvalidFileException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String problem;

    public InvalidFileException(Path file, String problem) {
        this(file, problem, null);
    }

    public InvalidFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + oneLine(problem), cause);
        this.file = file;
        this.problem = oneLine(problem);
    }

    /** The offending file. */
    public Path file() {
        return file;
    }

    /** The problem, without the file name. */
    public String problem() {
        return problem;
    }

    static String oneLine(String text) {
        return text == null ? "" : text.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }
}
