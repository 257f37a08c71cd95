package ai.janus.train.dist;

import java.util.Locale;

/** The run config's {@code strategy}: how ranks share a training step (see {@link Strategy}). */
public enum StrategyKind {
    /** One process (the default). */
    LOCAL,
    /** Data parallel: every rank holds everything; gradients all-reduced in buckets during the backward. */
    DDP,
    /** ZeRO stage 1: optimizer state sharded. */
    ZERO1,
    /** ZeRO stage 2: optimizer state and gradients sharded. */
    ZERO2,
    /** ZeRO stage 3: optimizer state, gradients and parameters sharded. */
    ZERO3;

    /** The run config's spelling: local, ddp, zero1, zero2, zero3. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The ZeRO stage, 0 for local and DDP. */
    public int zeroStage() {
        return switch (this) {
            case LOCAL, DDP -> 0;
            case ZERO1 -> 1;
            case ZERO2 -> 2;
            case ZERO3 -> 3;
        };
    }
}
