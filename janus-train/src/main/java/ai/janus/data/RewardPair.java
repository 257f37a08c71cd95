package ai.janus.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A reward-model pair: {@code input} is the system message and the instruction joined by a newline
 * (as published), {@code chosen} is preferred to {@code rejected}. The answers may also be message
 * lists, as in {@link PreferencePair}. Other fields are kept in {@code metadata}.
 */
public record RewardPair(String input, String chosen, String rejected, Map<String, JsonNode> metadata) {
    static final Set<String> FIELDS = Set.of("input", "chosen", "rejected");

    public RewardPair {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(chosen, "chosen");
        Objects.requireNonNull(rejected, "rejected");
        metadata = Map.copyOf(metadata);
    }

    static RewardPair parse(ObjectNode row) throws FieldException {
        return new RewardPair(Fields.text(row, "input"), Fields.answer(row, "chosen"), Fields.answer(row, "rejected"),
                Fields.metadata(row, FIELDS));
    }
}
