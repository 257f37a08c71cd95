package ai.janus.data;

/** A row and the 1-based line of the file it came from, so later problems can still name it. */
public record SourceRow<T>(long line, T row) {}
