package ai.janus.demo;

/**
 * The four preference dimensions of a demo system message, standing in for the Multifaceted
 * Collection's style, background knowledge, informativeness and harmlessness. Each system message
 * states exactly one preference of each.
 */
public enum Dimension {
    FORMAT("format"),
    LENGTH("length"),
    TONE("tone"),
    CAUTION("caution");

    private final String label;

    Dimension(String label) {
        this.label = label;
    }

    /** The lower-case name used in tables and reports. */
    public String label() {
        return label;
    }
}
