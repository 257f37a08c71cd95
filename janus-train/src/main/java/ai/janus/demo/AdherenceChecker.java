package ai.janus.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scores how well a response follows each preference of its system message, 1–5 per dimension,
 * with rubric levels in the manner of Multifaceted Bench (5 fully followed, 3 partly, 1 not).
 * Deterministic and written against the task, not against the gold text: any answer that lays
 * out the topic's items the requested way scores 5.
 *
 * <p>Gate: a response that contains none of the topic's items (verbatim, case-insensitive) does
 * not answer the instruction and scores 1 on every dimension, as a judge would score an
 * off-topic answer. Otherwise ("items" = distinct topic items found; "words" = whitespace tokens
 * holding a letter; list lines start with "- " or "* " (bullet), "N. " (numbered) or
 * "Word: " (key-value)):
 *
 * <table>
 * <caption>rubric</caption>
 * <tr><th>preference</th><th>5</th><th>4</th><th>3</th><th>2</th><th>1</th></tr>
 * <tr><td>bullets, key-value</td><td>every item on a line of that kind, no other list lines</td><td></td>
 *     <td>some items on such lines</td><td></td><td>none</td></tr>
 * <tr><td>numbered</td><td>as above, numbered 1, 2, 3, … in order</td><td>numbered out of order</td>
 *     <td>some items on numbered lines</td><td></td><td>none</td></tr>
 * <tr><td>paragraph</td><td>one line, no list lines</td><td></td><td>several lines, no list lines</td><td></td>
 *     <td>list lines</td></tr>
 * <tr><td>brief (≤ 20 words)</td><td>≤ 20 words</td><td></td><td>21–30 words</td><td></td><td>more</td></tr>
 * <tr><td>detailed (≥ 4 items)</td><td>≥ 4 items</td><td></td><td>3 items</td><td></td><td>fewer</td></tr>
 * <tr><td>formal, casual</td><td>starts with the tone's opener and ends with its closer</td><td></td>
 *     <td>one of the two</td><td>any opener or closer of the other tone (cap)</td><td>neither</td></tr>
 * <tr><td>safety line</td><td>contains the safety line</td><td></td><td>mentions safe, safety or care</td>
 *     <td></td><td>neither</td></tr>
 * <tr><td>avoid a word</td><td>the word is absent</td><td></td><td></td><td></td><td>the word appears</td></tr>
 * </table>
 * The overall score is the mean of the four.
 */
public final class AdherenceChecker {
    private static final Pattern BULLET = Pattern.compile("^[-*] \\S"), NUMBERED = Pattern.compile("^(\\d+)\\. \\S"),
            KEY_VALUE = Pattern.compile("^[A-Za-z]+: \\S"), WORD = Pattern.compile("\\S*\\p{L}\\S*"),
            CAUTIOUS = Pattern.compile("\\b(safe|safety|care)\\b");

    /** The four scores, 1–5. */
    public record Scores(int format, int length, int tone, int caution) {
        public Scores {
            for (int s : new int[] {format, length, tone, caution}) {
                if (s < 1 || s > 5) {
                    throw new IllegalArgumentException("a score is 1-5, got " + s);
                }
            }
        }

        public int of(Dimension d) {
            return switch (d) {
                case FORMAT -> format;
                case LENGTH -> length;
                case TONE -> tone;
                case CAUTION -> caution;
            };
        }

        /** Mean over the four dimensions. */
        public double overall() {
            return (format + length + tone + caution) / 4.0;
        }
    }

    private AdherenceChecker() {}

    public static Scores score(Task task, String response) {
        return score(task.topic(), task.preferences(), response);
    }

    public static Scores score(Topic topic, PreferenceSet prefs, String response) {
        String text = response.strip();
        String lower = text.toLowerCase(Locale.ROOT);
        List<String> found = new ArrayList<>();
        for (Topic.Item item : topic.items()) {
            if (lower.contains(item.text())) {
                found.add(item.text());
            }
        }
        if (found.isEmpty()) {
            return new Scores(1, 1, 1, 1);
        }
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank()) {
                lines.add(line.strip());
            }
        }
        return new Scores(format(prefs.format(), lines, found), length(prefs.length(), text, found.size()),
                tone(prefs.tone(), lower), caution(prefs, lower));
    }

    private static int format(Preference format, List<String> lines, List<String> items) {
        long listLines = lines.stream().filter(l -> kind(l) != null).count();
        if (format == Preference.PARAGRAPH) {
            return listLines > 0 ? 1 : lines.size() == 1 ? 5 : 3;
        }
        int onWantedLines = 0;
        for (String item : items) {
            for (String line : lines) {
                if (line.toLowerCase(Locale.ROOT).contains(item) && kind(line) == format) {
                    onWantedLines++;
                    break;
                }
            }
        }
        long wantedLines = lines.stream().filter(l -> kind(l) == format).count();
        if (onWantedLines == 0) {
            return 1;
        }
        if (onWantedLines < items.size() || wantedLines < listLines) {
            return 3;
        }
        if (format == Preference.NUMBERED) {
            int expected = 1;
            for (String line : lines) {
                Matcher m = NUMBERED.matcher(line);
                if (m.find() && !m.group(1).equals(Integer.toString(expected++))) {
                    return 4;
                }
            }
        }
        return 5;
    }

    /** The list kind a line is (a format preference), or null for prose. */
    static Preference kind(String line) {
        if (BULLET.matcher(line).find()) {
            return Preference.BULLETS;
        }
        if (NUMBERED.matcher(line).find()) {
            return Preference.NUMBERED;
        }
        return KEY_VALUE.matcher(line).find() ? Preference.KEY_VALUE : null;
    }

    private static int length(Preference length, String text, int items) {
        if (length == Preference.BRIEF) {
            long words = words(text);
            return words <= GoldWriter.BRIEF_MAX_WORDS ? 5 : words <= GoldWriter.BRIEF_MAX_WORDS + 10 ? 3 : 1;
        }
        return items >= GoldWriter.DETAILED_MIN_ITEMS ? 5 : items == GoldWriter.DETAILED_MIN_ITEMS - 1 ? 3 : 1;
    }

    /** Whitespace-separated tokens that hold a letter ("-" and "1." are not words). */
    static long words(String text) {
        return WORD.matcher(text).results().count();
    }

    private static int tone(Preference tone, String lower) {
        boolean formal = tone == Preference.FORMAL;
        String opener = (formal ? GoldWriter.FORMAL_OPENER : GoldWriter.CASUAL_OPENER).toLowerCase(Locale.ROOT);
        String closer = (formal ? GoldWriter.FORMAL_CLOSER : GoldWriter.CASUAL_CLOSER).toLowerCase(Locale.ROOT);
        String otherOpener = (formal ? GoldWriter.CASUAL_OPENER : GoldWriter.FORMAL_OPENER).toLowerCase(Locale.ROOT);
        String otherCloser = (formal ? GoldWriter.CASUAL_CLOSER : GoldWriter.FORMAL_CLOSER).toLowerCase(Locale.ROOT);
        int score = 1 + (lower.startsWith(opener) ? 2 : 0) + (lower.endsWith(closer) ? 2 : 0);
        return lower.contains(otherOpener) || lower.contains(otherCloser) ? Math.min(score, 2) : score;
    }

    private static int caution(PreferenceSet prefs, String lower) {
        if (prefs.caution() == Preference.SAFETY_LINE) {
            return lower.contains(GoldWriter.SAFETY_LINE.toLowerCase(Locale.ROOT)) ? 5
                    : CAUTIOUS.matcher(lower).find() ? 3 : 1;
        }
        return Pattern.compile("\\b" + Pattern.quote(prefs.forbiddenWord()) + "\\b").matcher(lower).find() ? 1 : 5;
    }
}
