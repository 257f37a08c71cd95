package ai.janus.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One evaluation row (Multifaceted Bench): a prompt under a system message, a reference answer and
 * the rubric a judge scores with. Other fields ({@code source}, …) are kept in {@code metadata}.
 */
public record BenchRow(String system, String prompt, String referenceAnswer, List<Rubric> rubric,
                       Map<String, JsonNode> metadata) {
    static final Set<String> FIELDS = Set.of("system", "prompt", "reference_answer", "rubric");

    /**
     * One rubric criterion and what each score 1..5 means.
     *
     * @param scoreDescriptions five descriptions, index 0 for score "1"
     */
    public record Rubric(String criteria, List<String> scoreDescriptions) {
        public Rubric {
            Objects.requireNonNull(criteria, "criteria");
            scoreDescriptions = List.copyOf(scoreDescriptions);
            if (scoreDescriptions.size() != 5) {
                throw new IllegalArgumentException("a rubric describes scores 1..5, got " + scoreDescriptions.size());
            }
        }
    }

    public BenchRow {
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(referenceAnswer, "referenceAnswer");
        rubric = List.copyOf(rubric);
        metadata = Map.copyOf(metadata);
    }

    static BenchRow parse(ObjectNode row) throws FieldException {
        JsonNode criteria = Fields.required(row, "rubric");
        if (!criteria.isArray() || criteria.isEmpty()) {
            throw new FieldException("field \"rubric\" must be a non-empty list of {\"criteria\", \"score_descriptions\"}"
                    + " objects, found " + (criteria.isArray() ? "an empty list" : Fields.type(criteria)), Fields.show(criteria));
        }
        List<Rubric> rubric = new ArrayList<>();
        for (int i = 0; i < criteria.size(); i++) {
            String where = "field \"rubric\"[" + i + "]";
            if (!(criteria.get(i) instanceof ObjectNode c)) {
                throw new FieldException(where + " must be an object, found " + Fields.type(criteria.get(i)),
                        Fields.show(criteria.get(i)));
            }
            JsonNode scores = c.get("score_descriptions");
            if (scores == null || !scores.isObject()) {
                throw new FieldException(where + ".score_descriptions must be an object {\"1\": …, \"5\": …}", Fields.show(c));
            }
            List<String> descriptions = new ArrayList<>();
            for (int score = 1; score <= 5; score++) {
                JsonNode d = scores.get(Integer.toString(score));
                if (d == null) {
                    throw new FieldException(where + ".score_descriptions has no score \"" + score + "\"", Fields.show(scores));
                }
                descriptions.add(Fields.text(d, where + ".score_descriptions." + score));
            }
            if (scores.size() != 5) {
                throw new FieldException(where + ".score_descriptions must hold exactly the scores \"1\"..\"5\"",
                        Fields.show(scores));
            }
            JsonNode name = c.get("criteria");
            if (name == null) {
                throw new FieldException("missing " + where + ".criteria", Fields.show(c));
            }
            rubric.add(new Rubric(Fields.text(name, where + ".criteria"), descriptions));
        }
        return new BenchRow(Fields.text(row, "system"), Fields.text(row, "prompt"), Fields.text(row, "reference_answer"),
                rubric, Fields.metadata(row, FIELDS));
    }
}
