package ai.janus.demo;

import java.util.List;
import java.util.Objects;

/**
 * One preference of each dimension, plus the word an {@link Preference#AVOID_WORD} preference
 * forbids (null for the other caution preference).
 */
public record PreferenceSet(Preference format, Preference length, Preference tone, Preference caution,
                            String forbiddenWord) {
    public PreferenceSet {
        check(format, Dimension.FORMAT);
        check(length, Dimension.LENGTH);
        check(tone, Dimension.TONE);
        check(caution, Dimension.CAUTION);
        if ((caution == Preference.AVOID_WORD) != (forbiddenWord != null)) {
            throw new IllegalArgumentException("a forbidden word goes with " + Preference.AVOID_WORD
                    + " and only with it, got " + caution + " and " + forbiddenWord);
        }
    }

    private static void check(Preference p, Dimension d) {
        Objects.requireNonNull(p, d.label());
        if (p.dimension() != d) {
            throw new IllegalArgumentException("expected a " + d.label() + " preference, got " + p);
        }
    }

    /** The preferences in dimension order (format, length, tone, caution). */
    public List<Preference> preferences() {
        return List.of(format, length, tone, caution);
    }

    /** The preference of {@code d}. */
    public Preference of(Dimension d) {
        return preferences().get(d.ordinal());
    }

    /**
     * The combination's index, 0 … 31: the preferences' indices within their dimensions as the
     * digits of a mixed-radix number (format 4, then length, tone and caution 2 each). The
     * forbidden word is not part of it.
     */
    public int combination() {
        return ((format.indexInDimension() * 2 + length.indexInDimension()) * 2 + tone.indexInDimension()) * 2
                + caution.indexInDimension();
    }

    /** "bullets, brief, formal, avoid 'coffee'": for tables and logs. */
    public String describe() {
        StringBuilder s = new StringBuilder();
        for (Preference p : preferences()) {
            s.append(s.isEmpty() ? "" : ", ").append(p.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
        }
        return forbiddenWord == null ? s.toString() : s + " '" + forbiddenWord + "'";
    }
}
