package ai.janus.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TaskGeneratorTest {
    private static final TaskGenerator.Split SPLIT = TaskGenerator.generate(7, 300, 40);

    @Test
    void sameSeedSameTasksOtherSeedOtherTasks() {
        assertEquals(SPLIT, TaskGenerator.generate(7, 300, 40));
        assertNotEquals(SPLIT.train(), TaskGenerator.generate(8, 300, 40).train());
    }

    @Test
    void sizesAndGroupsOfThreeDistinctCombinations() {
        assertEquals(900, SPLIT.train().size());
        assertEquals(120, SPLIT.heldOut().size());
        for (List<Task> tasks : List.of(SPLIT.train(), SPLIT.heldOut())) {
            for (int i = 0; i < tasks.size(); i += 3) {
                Set<Integer> combos = new HashSet<>();
                for (Task t : tasks.subList(i, i + 3)) {
                    assertEquals(tasks.get(i).instruction(), t.instruction());
                    combos.add(t.preferences().combination());
                }
                assertEquals(3, combos.size(), tasks.get(i).instruction());
            }
        }
    }

    @Test
    void heldOutInstructionsAreUnseen() {
        Set<String> train = new HashSet<>();
        SPLIT.train().forEach(t -> train.add(t.instruction()));
        assertEquals(300, train.size());
        SPLIT.heldOut().forEach(t -> assertFalse(train.contains(t.instruction()), t.instruction()));
    }

    @Test
    void heldOutCombinationsAreUnseenAndEightBalanced() {
        Set<Integer> train = new HashSet<>(), heldOut = new HashSet<>();
        SPLIT.train().forEach(t -> train.add(t.preferences().combination()));
        SPLIT.heldOut().forEach(t -> heldOut.add(t.preferences().combination()));
        assertEquals(24, train.size());
        assertEquals(8, heldOut.size());
        heldOut.forEach(c -> assertFalse(train.contains(c), "combination " + c));
        // every single preference still occurs in both splits
        for (Preference p : Preference.values()) {
            assertTrue(SPLIT.heldOut().stream().anyMatch(t -> t.preferences().preferences().contains(p)), p.name());
            assertTrue(SPLIT.train().stream().anyMatch(t -> t.preferences().preferences().contains(p)), p.name());
        }
    }

    @Test
    void heldOutSystemMessagesUseOnlyUnseenParaphrases() {
        for (Task t : SPLIT.heldOut()) {
            for (Preference p : t.preferences().preferences()) {
                assertTrue(containsOne(t, p.heldOutParaphrases()), t.system() + " / " + p);
                assertFalse(containsOne(t, p.trainParaphrases()), t.system() + " / " + p);
            }
        }
        for (Task t : SPLIT.train()) {
            for (Preference p : t.preferences().preferences()) {
                assertTrue(containsOne(t, p.trainParaphrases()), t.system() + " / " + p);
                assertFalse(containsOne(t, p.heldOutParaphrases()), t.system() + " / " + p);
            }
        }
        // no training paraphrase is also a held-out one
        for (Preference p : Preference.values()) {
            p.heldOutParaphrases().forEach(s -> assertFalse(p.trainParaphrases().contains(s), s));
        }
    }

    private static boolean containsOne(Task t, List<String> wordings) {
        return wordings.stream().anyMatch(w -> t.system().contains(
                w.replace(Preference.WORD_SLOT, String.valueOf(t.preferences().forbiddenWord()))));
    }

    @Test
    void everySystemMessageStatesFourSentencesAndTheForbiddenWord() {
        for (Task t : SPLIT.train()) {
            assertEquals(4, t.system().split("(?<=[.?!]) ").length, t.system());
            if (t.preferences().forbiddenWord() != null) {
                assertTrue(t.system().contains(" " + t.preferences().forbiddenWord() + " "), t.system());
                String word = t.preferences().forbiddenWord();
                assertTrue(word.equals(t.topic().items().get(0).key()) || word.equals(t.topic().items().get(1).key()));
            }
        }
    }

    @Test
    void sizesBeyondTheGrammarAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> TaskGenerator.generate(1, 2000, 100));
        assertThrows(IllegalArgumentException.class, () -> TaskGenerator.generate(1, 0, 10));
    }

    @Test
    void topicsAreValid() {
        assertEquals(16, Topic.ALL.size());
        assertThrows(IllegalArgumentException.class, () -> new Topic.Item("cat", "feed the dog daily"));
        assertThrows(IllegalArgumentException.class, () -> new Topic.Item("dog", "feed the dog"));
    }
}
