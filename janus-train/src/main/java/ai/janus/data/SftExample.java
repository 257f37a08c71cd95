package ai.janus.data;

/** A validated SFT row, templated and tokenized, with the line it came from. */
public record SftExample(long line, TemplatedSequence sequence) {}
