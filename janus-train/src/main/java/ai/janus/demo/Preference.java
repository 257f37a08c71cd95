package ai.janus.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One preference a system message can state, and the wordings that state it. A sentence is a
 * frame ("Please {c}.") around a core phrase ("use bullet points"): training system messages use
 * {@link #TRAIN_FRAMES} × {@link #trainCores()} (24 wordings per preference), held-out ones only
 * {@link #HELD_OUT_FRAME} × {@link #heldOutCore()}, a sentence that no training system message
 * contains (the analogue of Multifaceted Bench's unseen system messages).
 *
 * <p>Held-out sentences are new, but made of words the training text uses: a model trained from
 * scratch has no meaning for a word it never saw (its embedding stays at its random
 * initialisation), whereas in the paper Mistral's pretraining knows every word of an unseen system
 * message. A test checks that every token of a held-out system message occurs in the training text.
 * {@link #AVOID_WORD}'s cores carry a {@code {word}} slot, followed by a space so the word
 * tokenizes as it does inside an answer.
 */
public enum Preference {
    BULLETS(Dimension.FORMAT, List.of("use bullet points", "format the answer as a bulleted list",
            "put each point on its own bullet line", "answer with a bullet list"), "list each point as a bullet"),
    NUMBERED(Dimension.FORMAT, List.of("use a numbered list", "number each step", "give the points as numbered steps",
            "answer with numbered lines"), "put a number on each point"),
    PARAGRAPH(Dimension.FORMAT, List.of("write one paragraph", "answer in a single paragraph",
            "keep everything in one paragraph with no lists", "use plain prose in one paragraph"),
            "give a single paragraph with no lists"),
    KEY_VALUE(Dimension.FORMAT, List.of("use key and value lines", "give each point as a key and a value",
            "format it as key value pairs", "label every point with a key"), "write each point as a key value line"),
    BRIEF(Dimension.LENGTH, List.of("use at most 20 words", "keep it under 20 words", "be brief with 20 words or fewer",
            "give a short answer of no more than 20 words"), "answer in under 20 words"),
    DETAILED(Dimension.LENGTH, List.of("give at least 4 points", "include 4 or more points",
            "write a detailed answer with at least 4 items", "list no fewer than 4 items"), "give no fewer than 4 points"),
    FORMAL(Dimension.TONE, List.of("use a formal tone", "be formal and polite", "write in a professional and formal style",
            "keep the tone formal"), "keep a polite and formal style"),
    CASUAL(Dimension.TONE, List.of("use a casual tone", "be relaxed and friendly", "keep it casual and chatty",
            "talk to me like a friend"), "write in a relaxed and casual style"),
    SAFETY_LINE(Dimension.CAUTION, List.of("add a safety reminder", "include a line about safety",
            "remind me to be careful", "end with a safety note"), "add a note about safety"),
    AVOID_WORD(Dimension.CAUTION, List.of("avoid the word {word} in the answer", "never mention {word} in the answer",
            "keep the word {word} out of the answer", "leave {word} out of the answer"), "never use the word {word} at all");

    /** The slot of {@link #AVOID_WORD}'s cores. */
    public static final String WORD_SLOT = "{word}";
    /** Frames of training sentences: {C} is the core capitalised, {c} as written. */
    public static final List<String> TRAIN_FRAMES = List.of("{C}.", "Please {c}.", "I would like you to {c}.",
            "Make sure to {c}.", "Remember to {c}.", "Kindly {c}.");
    /** The frame of held-out sentences. */
    public static final String HELD_OUT_FRAME = "I want you to {c}.";

    private final Dimension dimension;
    private final List<String> trainCores;
    private final String heldOutCore;

    Preference(Dimension dimension, List<String> trainCores, String heldOutCore) {
        this.dimension = dimension;
        this.trainCores = trainCores;
        this.heldOutCore = heldOutCore;
    }

    public Dimension dimension() {
        return dimension;
    }

    public List<String> trainCores() {
        return trainCores;
    }

    public String heldOutCore() {
        return heldOutCore;
    }

    /** Every training sentence of this preference (frames × cores), the word slot unfilled. */
    public List<String> trainParaphrases() {
        List<String> out = new ArrayList<>();
        for (String frame : TRAIN_FRAMES) {
            for (String core : trainCores) {
                out.add(frame(frame, core));
            }
        }
        return out;
    }

    /** The held-out sentences of this preference (one), the word slot unfilled. */
    public List<String> heldOutParaphrases() {
        return List.of(frame(HELD_OUT_FRAME, heldOutCore));
    }

    static String frame(String frame, String core) {
        return frame.replace("{C}", core.substring(0, 1).toUpperCase(Locale.ROOT) + core.substring(1)).replace("{c}", core);
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
