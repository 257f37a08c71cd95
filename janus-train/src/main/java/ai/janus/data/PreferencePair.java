package ai.janus.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A DPO / ORPO pair: for {@code prompt} under {@code system}, {@code chosen} is preferred to
 * {@code rejected}. In the file, chosen and rejected are plain strings or lists of
 * {@code {"role", "content"}} messages whose last (assistant) message is the answer; here they are
 * the answer texts. Other fields are kept in {@code metadata}.
 */
public record PreferencePair(String system, String prompt, String chosen, String rejected,
                             Map<String, JsonNode> metadata) {
    static final Set<String> FIELDS = Set.of("system", "prompt", "chosen", "rejected");

    public PreferencePair {
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(chosen, "chosen");
        Objects.requireNonNull(rejected, "rejected");
        metadata = Map.copyOf(metadata);
    }

    static PreferencePair parse(ObjectNode row) throws FieldException {
        return new PreferencePair(Fields.text(row, "system"), Fields.text(row, "prompt"), Fields.answer(row, "chosen"),
                Fields.answer(row, "rejected"), Fields.metadata(row, FIELDS));
    }
}
