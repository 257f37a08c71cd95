package ai.janus.data;

/**
 * A validated pair, templated and tokenized, with the line it came from: two training sequences
 * (DPO / ORPO) or two reward-model inputs. Both share the prompt part.
 */
public record PairExample(long line, TemplatedSequence chosen, TemplatedSequence rejected) {}
