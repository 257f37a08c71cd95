package ai.janus.demo;

import java.util.Objects;

/**
 * One example of the demo task: an {@code instruction} about {@code topic}, answered for the
 * {@code preferences} that {@code system} states in words.
 */
public record Task(String instruction, Topic topic, PreferenceSet preferences, String system) {
    public Task {
        Objects.requireNonNull(instruction, "instruction");
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(preferences, "preferences");
        Objects.requireNonNull(system, "system");
    }
}
