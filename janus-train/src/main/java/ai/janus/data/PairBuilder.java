package ai.janus.data;

import ai.janus.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Preference pairs from SFT rows, as the Janus paper built them: the Multifaceted Collection has
 * one instruction under several (3) system messages, each with the answer written for it. For each
 * instruction one system message and its own answer are {@code chosen}; the answer written for one
 * of the instruction's other system messages is {@code rejected}. One pair per instruction, both
 * picks uniform and seeded: the same rows in the same order and the same seed give the same pairs.
 */
public final class PairBuilder {
    /**
     * @param pairs                  one pair per instruction that has one, in the order instructions first appear;
     *                               each pair's line is the chosen row's line
     * @param promptsWithoutPair     instructions skipped: one system message only, or every other answer identical
     */
    public record Result(List<SourceRow<PreferencePair>> pairs, long promptsWithoutPair) {}

    private PairBuilder() {}

    /**
     * Groups {@code rows} by their exact prompt text. A rejected answer must come from a row with a
     * different system message and a different answer text (an identical answer teaches nothing).
     * Pair metadata is the chosen row's, plus {@code rejected_system} and {@code rejected_line}.
     */
    public static Result build(List<SourceRow<SftRow>> rows, long seed) {
        Map<String, List<SourceRow<SftRow>>> byPrompt = new LinkedHashMap<>();
        for (SourceRow<SftRow> r : rows) {
            byPrompt.computeIfAbsent(r.row().prompt(), p -> new ArrayList<>()).add(r);
        }
        SplitMix64 random = new SplitMix64(seed);
        List<SourceRow<PreferencePair>> pairs = new ArrayList<>();
        long without = 0;
        for (List<SourceRow<SftRow>> group : byPrompt.values()) {
            List<SourceRow<SftRow>> chosenCandidates = new ArrayList<>();
            for (SourceRow<SftRow> r : group) {
                if (!alternatives(group, r.row()).isEmpty()) {
                    chosenCandidates.add(r);
                }
            }
            if (chosenCandidates.isEmpty()) {
                without++;
                continue;
            }
            SourceRow<SftRow> chosen = chosenCandidates.get((int) random.nextLong(chosenCandidates.size()));
            List<SourceRow<SftRow>> alternatives = alternatives(group, chosen.row());
            SourceRow<SftRow> rejected = alternatives.get((int) random.nextLong(alternatives.size()));
            SftRow c = chosen.row();
            Map<String, JsonNode> metadata = new HashMap<>(c.metadata());
            metadata.put("rejected_system", Json.MAPPER.getNodeFactory().textNode(rejected.row().system()));
            metadata.put("rejected_line", Json.MAPPER.getNodeFactory().numberNode(rejected.line()));
            pairs.add(new SourceRow<>(chosen.line(),
                    new PreferencePair(c.system(), c.prompt(), c.output(), rejected.row().output(), metadata)));
        }
        return new Result(pairs, without);
    }

    /** The rows of {@code group} whose answer can be rejected against {@code chosen}'s. */
    private static List<SourceRow<SftRow>> alternatives(List<SourceRow<SftRow>> group, SftRow chosen) {
        List<SourceRow<SftRow>> out = new ArrayList<>();
        for (SourceRow<SftRow> r : group) {
            if (!r.row().system().equals(chosen.system()) && !r.row().output().equals(chosen.output())) {
                out.add(r);
            }
        }
        return out;
    }
}
