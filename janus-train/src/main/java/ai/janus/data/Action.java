package ai.janus.data;

import java.util.Locale;

/** What validation does with a row that has a problem. */
public enum Action {
    /** Stop with a one-line {@link DataException} naming file, line and problem. */
    ERROR,
    /** Skip the row and count it under its reason in the summary. */
    DROP,
    /** Keep the prompt and cut the answer so the sequence fits, keeping its final EOS (too-long rows only). */
    TRUNCATE;

    /** The spelling used in options: "error", "drop", "truncate". */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The action spelled {@code key}; an unknown spelling is an {@link IllegalArgumentException} listing the valid ones. */
    public static Action of(String key) {
        for (Action a : values()) {
            if (a.key().equals(key)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown action '" + key + "', expected error, drop or truncate");
    }
}
