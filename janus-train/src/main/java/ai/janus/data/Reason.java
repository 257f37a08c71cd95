package ai.janus.data;

/**
 * Why a row cannot be used as it is. Each reason has its own {@link Action}; every one is an error
 * by default, so that no row disappears unless the user said it may (docs/spec/reliability.md, "Bad input").
 */
public enum Reason {
    OVERSIZED_LINE("oversized-line", "line longer than the byte limit"),
    MALFORMED_JSON("malformed-json", "not a JSON object (syntax or UTF-8)"),
    BAD_FIELD("bad-field", "required field missing or of the wrong type"),
    EMPTY_ANSWER("empty-answer", "empty answer"),
    TOO_LONG("too-long", "more tokens than the maximum"),
    NO_SUPERVISED_TOKENS("no-supervised-tokens", "prompt leaves no room for an answer token");

    private final String key;
    private final String description;

    Reason(String key, String description) {
        this.key = key;
        this.description = description;
    }

    /** The spelling used in options and summaries, e.g. "too-long". */
    public String key() {
        return key;
    }

    public String description() {
        return description;
    }

    /** Only a too-long row can be repaired (by cutting its answer); the others are kept whole or not at all. */
    public boolean allows(Action action) {
        return action != Action.TRUNCATE || this == TOO_LONG;
    }

    /** The reason spelled {@code key}; an unknown spelling is an {@link IllegalArgumentException} listing the valid ones. */
    public static Reason of(String key) {
        StringBuilder valid = new StringBuilder();
        for (Reason r : values()) {
            if (r.key.equals(key)) {
                return r;
            }
            valid.append(valid.length() == 0 ? "" : ", ").append(r.key);
        }
        throw new IllegalArgumentException("unknown reason '" + key + "', expected one of " + valid);
    }
}
