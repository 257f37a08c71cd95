package ai.janus.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The aligned answer to a task, deterministic: an opener and a closer in the requested tone,
 * {@value #BRIEF_ITEMS} items for a brief answer or {@value #DETAILED_ITEMS} for a detailed one
 * (the topic's items in order, skipping any that holds a forbidden word), a safety line when asked
 * for, laid out in the requested format:
 *
 * <pre>
 * bullets     numbered    key-value                   paragraph (one line)
 * Certainly.  Hey there!  Certainly.                  Certainly. Keep a fixed bedtime. Put screens
 * - Keep …    1. Keep …   Bedtime: keep a fixed …     away early. Safety first, so take care. Kind
 * - Put …     2. Put …    Screens: put screens …      regards.
 * Kind regards. Cheers!   Safety first, so take care.
 *                         Kind regards.
 * </pre>
 *
 * Items are {@value Topic#ITEM_WORDS} words, so a brief answer has at most 19 words (within the
 * {@value #BRIEF_MAX_WORDS}-word limit) and a detailed one at least 22 (above it): an answer
 * written for the other length preference always fails the length rubric.
 */
public final class GoldWriter {
    public static final String FORMAL_OPENER = "Certainly.", FORMAL_CLOSER = "Kind regards.";
    public static final String CASUAL_OPENER = "Hey there!", CASUAL_CLOSER = "Cheers!";
    public static final String SAFETY_LINE = "Safety first, so take care.";
    /** The word limit that brief preferences state. */
    public static final int BRIEF_MAX_WORDS = 20;
    /** The item count that detailed preferences state as a minimum. */
    public static final int DETAILED_MIN_ITEMS = 4;
    static final int BRIEF_ITEMS = 2, DETAILED_ITEMS = 5;

    private GoldWriter() {}

    /** The answer {@code task.preferences()} call for. */
    public static String write(Task task) {
        return write(task.topic(), task.preferences());
    }

    public static String write(Topic topic, PreferenceSet prefs) {
        List<Topic.Item> items = new ArrayList<>();
        for (Topic.Item item : topic.items()) {
            if (prefs.forbiddenWord() == null || !List.of(item.text().split(" ")).contains(prefs.forbiddenWord())) {
                items.add(item);
            }
        }
        items = items.subList(0, prefs.length() == Preference.BRIEF ? BRIEF_ITEMS : DETAILED_ITEMS);
        boolean formal = prefs.tone() == Preference.FORMAL;
        List<String> parts = new ArrayList<>();
        parts.add(formal ? FORMAL_OPENER : CASUAL_OPENER);
        for (int i = 0; i < items.size(); i++) {
            Topic.Item item = items.get(i);
            parts.add(switch (prefs.format()) {
                case BULLETS -> "- " + capitalize(item.text());
                case NUMBERED -> (i + 1) + ". " + capitalize(item.text());
                case KEY_VALUE -> capitalize(item.key()) + ": " + item.text();
                case PARAGRAPH -> capitalize(item.text()) + ".";
                default -> throw new IllegalArgumentException("not a format: " + prefs.format());
            });
        }
        if (prefs.caution() == Preference.SAFETY_LINE) {
            parts.add(SAFETY_LINE);
        }
        parts.add(formal ? FORMAL_CLOSER : CASUAL_CLOSER);
        return String.join(prefs.format() == Preference.PARAGRAPH ? " " : "\n", parts);
    }

    static String capitalize(String s) {
        return s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
    }
}
