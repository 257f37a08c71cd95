package ai.janus.demo;

import java.util.ArrayList;
import java.util.List;

/**
 * One preference a system message can state, with the sentences that state it. Training system
 * messages draw from {@link #trainParaphrases()}; held-out ones only from
 * {@link #heldOutParaphrases()}, wordings the model never saw (the analogue of Multifaceted
 * Bench's unseen system messages). Paraphrases of one preference share a keyword or two
 * ("bullet", "formal", "20 words") the way real paraphrases do; the rest of the wording differs.
 * {@link #AVOID_WORD}'s sentences carry a {@code {word}} slot, always followed by a space or
 * comma-free word so the word tokenizes as it does inside an answer.
 */
public enum Preference {
    BULLETS(Dimension.FORMAT,
            List.of("Use bullet points.", "Format the answer as a bulleted list.", "Put each point on its own bullet.",
                    "I like answers as bullet lists."),
            List.of("Bullets please, one point per bullet line.")),
    NUMBERED(Dimension.FORMAT,
            List.of("Use a numbered list.", "Number each step.", "Give the points as numbered steps.",
                    "I prefer numbered lists."),
            List.of("Write it as steps with numbers in front.")),
    PARAGRAPH(Dimension.FORMAT,
            List.of("Write one paragraph.", "Answer in a single paragraph.", "Keep everything in one paragraph with no lists.",
                    "I prefer plain prose in one paragraph."),
            List.of("No lists, just a paragraph of prose.")),
    KEY_VALUE(Dimension.FORMAT,
            List.of("Use key and value lines.", "Give each point as a key and a value.", "Format it as key value pairs.",
                    "Label every point with a key."),
            List.of("Write one key value pair per line.")),
    BRIEF(Dimension.LENGTH,
            List.of("Use at most 20 words.", "Keep it under 20 words.", "Be brief, 20 words or fewer.",
                    "I want a short answer of no more than 20 words."),
            List.of("Answer briefly, within 20 words.")),
    DETAILED(Dimension.LENGTH,
            List.of("Give at least 4 points.", "Include 4 or more points.", "I want a detailed answer with at least 4 items.",
                    "List no fewer than 4 items."),
            List.of("Be thorough, with 4 points minimum.")),
    FORMAL(Dimension.TONE,
            List.of("Use a formal tone.", "Please be formal and polite.", "Write in a professional and formal style.",
                    "Keep the tone formal."),
            List.of("Sound formal, like a business letter.")),
    CASUAL(Dimension.TONE,
            List.of("Use a casual tone.", "Be relaxed and friendly.", "Keep it casual and chatty.",
                    "Talk to me like a friend."),
            List.of("Go for a laid back casual vibe.")),
    SAFETY_LINE(Dimension.CAUTION,
            List.of("Add a safety reminder.", "Include a line about safety.", "Remind me to be careful.",
                    "End with a safety note."),
            List.of("Mention safety in a line of its own.")),
    AVOID_WORD(Dimension.CAUTION,
            List.of("Do not use the word {word} at all.", "Never mention {word} in the answer.",
                    "Avoid the word {word} please.", "Leave {word} out of the answer."),
            List.of("The word {word} is off limits."));

    /** The slot of {@link #AVOID_WORD}'s sentences. */
    public static final String WORD_SLOT = "{word}";

    private final Dimension dimension;
    private final List<String> trainParaphrases;
    private final List<String> heldOutParaphrases;

    Preference(Dimension dimension, List<String> trainParaphrases, List<String> heldOutParaphrases) {
        this.dimension = dimension;
        this.trainParaphrases = trainParaphrases;
        this.heldOutParaphrases = heldOutParaphrases;
    }

    public Dimension dimension() {
        return dimension;
    }

    public List<String> trainParaphrases() {
        return trainParaphrases;
    }

    public List<String> heldOutParaphrases() {
        return heldOutParaphrases;
    }

    /** The preferences of {@code dimension}, in declaration order (their index is their ordinal within it). */
    public static List<Preference> of(Dimension dimension) {
        List<Preference> out = new ArrayList<>();
        for (Preference p : values()) {
            if (p.dimension == dimension) {
                out.add(p);
            }
        }
        return out;
    }

    /** This preference's position among its dimension's preferences. */
    public int indexInDimension() {
        return of(dimension).indexOf(this);
    }
}
