package ai.janus.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One Multifaceted Collection SFT row: the answer {@code output} to {@code prompt} written for the
 * preferences in {@code system}. Other fields ({@code main_source}, {@code original_source},
 * {@code preference_set}, …) are kept in {@code metadata}.
 */
public record SftRow(String system, String prompt, String output, Map<String, JsonNode> metadata) {
    static final Set<String> FIELDS = Set.of("system", "prompt", "output");

    public SftRow {
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(output, "output");
        metadata = Map.copyOf(metadata);
    }

    static SftRow parse(ObjectNode row) throws FieldException {
        return new SftRow(Fields.text(row, "system"), Fields.text(row, "prompt"), Fields.text(row, "output"),
                Fields.metadata(row, FIELDS));
    }
}
