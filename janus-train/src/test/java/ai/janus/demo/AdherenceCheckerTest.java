package ai.janus.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AdherenceCheckerTest {
    private static final Topic SLEEP = Topic.ALL.get(0);
    private static final TaskGenerator.Split SPLIT = TaskGenerator.generate(11, 400, 60);

    @Test
    void goldAnswersScoreFiveEverywhere() {
        for (List<Task> tasks : List.of(SPLIT.train(), SPLIT.heldOut())) {
            for (Task t : tasks) {
                String gold = GoldWriter.write(t);
                assertEquals(new AdherenceChecker.Scores(5, 5, 5, 5), AdherenceChecker.score(t, gold),
                        t.preferences().describe() + "\n" + gold);
            }
        }
    }

    @Test
    void everyCombinationAndForbiddenWordGoldScoresFive() {
        for (Topic topic : Topic.ALL) {
            for (PreferenceSet combo : TaskGenerator.combinations()) {
                for (int w = 0; w < (combo.forbiddenWord() == null ? 1 : Topic.ITEMS); w++) {
                    PreferenceSet p = new PreferenceSet(combo.format(), combo.length(), combo.tone(), combo.caution(),
                            combo.forbiddenWord() == null ? null : topic.items().get(w).key());
                    assertEquals(5.0, AdherenceChecker.score(topic, p, GoldWriter.write(topic, p)).overall(),
                            topic.goal() + " / " + p.describe());
                }
            }
        }
    }

    @Test
    void anAnswerWrittenForAnotherSystemMessageScoresLower() {
        for (List<Task> tasks : List.of(SPLIT.train(), SPLIT.heldOut())) {
            for (int i = 0; i < tasks.size(); i += 3) {
                for (int a = i; a < i + 3; a++) {
                    for (int b = i; b < i + 3; b++) {
                        if (a != b) {
                            Task t = tasks.get(a);
                            AdherenceChecker.Scores s = AdherenceChecker.score(t, GoldWriter.write(tasks.get(b)));
                            assertTrue(s.overall() < 5, t.preferences().describe() + " scored " + s + " on the answer for "
                                    + tasks.get(b).preferences().describe());
                            // each dimension whose preference differs loses points
                            for (Dimension d : Dimension.values()) {
                                if (t.preferences().of(d) != tasks.get(b).preferences().of(d)) {
                                    assertTrue(s.of(d) < 5, d + " " + s);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static PreferenceSet prefs(Preference format, Preference length, Preference tone, Preference caution) {
        return new PreferenceSet(format, length, tone, caution, caution == Preference.AVOID_WORD ? "coffee" : null);
    }

    @Test
    void goldAnswerLooksAsDocumented() {
        assertEquals("""
                Certainly.
                - Keep a fixed bedtime
                - Put screens away early
                Safety first, so take care.
                Kind regards.""", GoldWriter.write(SLEEP, prefs(Preference.BULLETS, Preference.BRIEF, Preference.FORMAL,
                Preference.SAFETY_LINE)));
        assertEquals("Hey there! Keep a fixed bedtime. Put screens away early. Dim the evening lights. "
                        + "Keep your naps short. Buy a comfortable pillow. Cheers!",
                GoldWriter.write(SLEEP, prefs(Preference.PARAGRAPH, Preference.DETAILED, Preference.CASUAL,
                        Preference.AVOID_WORD)));
    }

    @Test
    void rubricLevels() {
        PreferenceSet numbered = prefs(Preference.NUMBERED, Preference.DETAILED, Preference.FORMAL, Preference.SAFETY_LINE);
        // off-topic: 1 everywhere
        assertEquals(new AdherenceChecker.Scores(1, 1, 1, 1), AdherenceChecker.score(SLEEP, numbered,
                "Certainly.\n1. Drink plenty of water\nSafety first, so take care.\nKind regards."));
        // numbered out of order: 4; three items: 3; opener only: 3; mentions care only: 3
        assertEquals(new AdherenceChecker.Scores(4, 3, 3, 3), AdherenceChecker.score(SLEEP, numbered,
                "Certainly.\n1. Keep a fixed bedtime\n3. Put screens away early\n2. Dim the evening lights\nTake care."));
        // bullets where numbers are asked: 1; casual closer in a formal answer: capped at 2
        assertEquals(new AdherenceChecker.Scores(1, 1, 2, 1), AdherenceChecker.score(SLEEP, numbered,
                "Certainly.\n- Keep a fixed bedtime\nKind regards. Cheers!"));
        // mixed list kinds: 3
        assertEquals(3, AdherenceChecker.score(SLEEP, numbered,
                "1. Keep a fixed bedtime\n- Put screens away early").format());
        PreferenceSet paragraph = prefs(Preference.PARAGRAPH, Preference.BRIEF, Preference.CASUAL, Preference.AVOID_WORD);
        assertEquals(new AdherenceChecker.Scores(3, 5, 5, 5), AdherenceChecker.score(SLEEP, paragraph,
                "Hey there!\nKeep a fixed bedtime.\nCheers!"));
        // 21-30 words: 3; more: 1; the forbidden word: 1
        String words25 = "Hey there! Keep a fixed bedtime. " + "one two three four five six seven eight nine ten "
                + "eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen Cheers!";
        assertEquals(25, AdherenceChecker.words(words25));
        assertEquals(3, AdherenceChecker.score(SLEEP, paragraph, words25).length());
        assertEquals(1, AdherenceChecker.score(SLEEP, paragraph, words25 + " a b c d e f").length());
        assertEquals(1, AdherenceChecker.score(SLEEP, paragraph, "Hey there! Skip coffee after lunch. Cheers!").caution());
        assertEquals(5, AdherenceChecker.score(SLEEP, paragraph, "Hey there! Keep a fixed bedtime, no coffees. Cheers!")
                .caution());
    }
}
