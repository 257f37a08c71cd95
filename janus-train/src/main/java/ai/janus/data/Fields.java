package ai.janus.data;

import ai.janus.data.tokenizer.Utf16;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Typed reads of a row's fields, each failure a {@link FieldException} that names the field and what it found. */
final class Fields {
    private Fields() {}

    /** A required string field (it may be empty). */
    static String text(ObjectNode row, String name) throws FieldException {
        return text(required(row, name), "field \"" + name + "\"");
    }

    /**
     * A required answer: a string, or a list of {@code {"role", "content"}} messages (user then
     * assistant) whose last message is the assistant's answer. Earlier messages may be system or
     * user turns; an earlier assistant turn would make a multi-turn conversation, which the
     * template does not render.
     */
    static String answer(ObjectNode row, String name) throws FieldException {
        JsonNode value = required(row, name);
        if (value.isTextual()) {
            return text(value, "field \"" + name + "\"");
        }
        String what = "field \"" + name + "\"";
        if (!value.isArray()) {
            throw new FieldException(what + " must be a string or a list of messages, found " + type(value), show(value));
        }
        if (value.isEmpty()) {
            throw new FieldException(what + " is an empty list of messages", show(value));
        }
        String answer = null;
        for (int i = 0; i < value.size(); i++) {
            JsonNode message = value.get(i);
            String where = what + "[" + i + "]";
            if (!(message instanceof ObjectNode m)) {
                throw new FieldException(where + " must be a {\"role\", \"content\"} object, found " + type(message), show(message));
            }
            String role = text(required(m, "role", where), where + ".role");
            String content = text(required(m, "content", where), where + ".content");
            boolean last = i == value.size() - 1;
            boolean expected = last ? role.equals("assistant") : role.equals("user") || role.equals("system");
            if (!expected) {
                throw new FieldException(where + " has role \"" + role + "\": expected user or system turns ending in one"
                        + " assistant answer", show(message));
            }
            answer = content;
        }
        return answer;
    }

    /** Every field not in {@code known}: kept as metadata, never rejected. */
    static Map<String, JsonNode> metadata(ObjectNode row, Set<String> known) {
        Map<String, JsonNode> extra = new HashMap<>();
        row.properties().forEach(e -> {
            if (!known.contains(e.getKey())) {
                extra.put(e.getKey(), e.getValue());
            }
        });
        return extra;
    }

    static JsonNode required(ObjectNode row, String name) throws FieldException {
        return required(row, name, null);
    }

    private static JsonNode required(ObjectNode row, String name, String parent) throws FieldException {
        JsonNode value = row.get(name);
        String what = parent == null ? "field \"" + name + "\"" : parent + "." + name;
        if (value == null) {
            throw new FieldException("missing " + what, show(row));
        }
        if (value.isNull()) {
            throw new FieldException(what + " is null", show(row));
        }
        return value;
    }

    static String text(JsonNode value, String what) throws FieldException {
        if (!value.isTextual()) {
            throw new FieldException(what + " must be a string, found " + type(value), show(value));
        }
        String text = value.textValue();
        int bad = Utf16.firstUnpairedSurrogate(text);
        if (bad >= 0) {
            throw new FieldException(what + " holds an unpaired surrogate \\u"
                    + Integer.toHexString(text.charAt(bad)) + " at character " + (bad + 1), RowProblem.excerpt(text, bad + 1));
        }
        return text;
    }

    static String type(JsonNode value) {
        return value.getNodeType().name().toLowerCase(Locale.ROOT);
    }

    /** The value as compact JSON, cut to an excerpt. */
    static String show(JsonNode value) {
        return RowProblem.excerpt(value.toString(), 0);
    }
}
