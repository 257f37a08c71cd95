package ai.janus.train.dist;

/** The run config's {@code optimizer}: AdamW with fp32 state, or bitsandbytes-compatible blockwise 8-bit AdamW. */
public enum OptimizerKind { ADAMW, ADAMW_8BIT }
