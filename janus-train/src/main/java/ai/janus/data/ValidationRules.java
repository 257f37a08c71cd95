package ai.janus.data;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * How rows are checked while they stream in.
 *
 * @param maxTokens       the longest sequence (prompt + answer + EOS) a row may produce
 * @param maxLineBytes    the longest line read into memory; longer lines are skipped unread
 *                        ({@link Reason#OVERSIZED_LINE})
 * @param maxDropFraction the run fails when more than this fraction of the rows read is dropped
 * @param actions         the action of every reason
 */
public record ValidationRules(int maxTokens, long maxLineBytes, double maxDropFraction, Map<Reason, Action> actions) {
    /** 16 MiB: a Multifaceted Collection row is a few KB and an 8192-token conversation under 100 KB. */
    public static final long DEFAULT_MAX_LINE_BYTES = 16L << 20;
    /** docs/spec/reliability.md: a run fails if more than 5% of the rows are dropped. */
    public static final double DEFAULT_MAX_DROP_FRACTION = 0.05;

    public ValidationRules {
        if (maxTokens < 3) {
            throw new IllegalArgumentException("maxTokens must hold at least BOS, one token and EOS (3), got " + maxTokens);
        }
        if (maxLineBytes < 1 || maxLineBytes > MAX_LINE_BYTES) {
            throw new IllegalArgumentException("the line limit must be in [1, " + MAX_LINE_BYTES + "] bytes, got "
                    + maxLineBytes);
        }
        if (!(maxDropFraction >= 0 && maxDropFraction <= 1)) {
            throw new IllegalArgumentException("maxDropFraction must lie in [0, 1], got " + maxDropFraction);
        }
        EnumMap<Reason, Action> all = new EnumMap<>(Reason.class);
        for (Reason r : Reason.values()) {
            Action a = actions.getOrDefault(r, Action.ERROR);
            if (!r.allows(a)) {
                throw new IllegalArgumentException(r.key() + " cannot be " + a.key() + ": only too-long rows can be truncated");
            }
            all.put(r, a);
        }
        actions = Collections.unmodifiableMap(all);
    }

    /** The largest line limit: a line is held in one Java array. */
    public static final long MAX_LINE_BYTES = Integer.MAX_VALUE - 8;

    /** Every reason an error, lines up to 16 MiB, at most 5% dropped. */
    public static ValidationRules defaults(int maxTokens) {
        return new ValidationRules(maxTokens, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_DROP_FRACTION, Map.of());
    }

    public Action action(Reason reason) {
        return actions.get(reason);
    }

    /** A copy with {@code reason} handled by {@code action}. */
    public ValidationRules with(Reason reason, Action action) {
        EnumMap<Reason, Action> changed = new EnumMap<>(actions);
        changed.put(reason, action);
        return new ValidationRules(maxTokens, maxLineBytes, maxDropFraction, changed);
    }

    public ValidationRules withMaxDropFraction(double fraction) {
        return new ValidationRules(maxTokens, maxLineBytes, fraction, actions);
    }

    public ValidationRules withMaxLineBytes(long bytes) {
        return new ValidationRules(maxTokens, bytes, maxDropFraction, actions);
    }
}
