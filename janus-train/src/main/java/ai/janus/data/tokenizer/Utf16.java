package ai.janus.data.tokenizer;

/** Checks and conversions between Java's UTF-16 strings and UTF-8 bytes that the JDK does not offer as such. */
public final class Utf16 {
    private static final char REPLACEMENT = '\uFFFD';

    private Utf16() {}

    /**
     * The index of the first surrogate char without its partner, or −1. Such a string has no UTF-8
     * form; JSON can still produce one (an escaped {@code "\ud800"}).
     */
    public static int firstUnpairedSurrogate(CharSequence text) {
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            } else if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Appends {@code bytes[0, length)} read as UTF-8, one U+FFFD per byte that does not start a
     * well-formed sequence (overlong forms, surrogates and values above U+10FFFF are ill-formed),
     * as SentencePiece does when it decodes byte pieces.
     */
    static void appendUtf8Replacing(StringBuilder out, byte[] bytes, int length) {
        int i = 0;
        while (i < length) {
            int n = wellFormedLength(bytes, i, length);
            if (n == 0) {
                out.append(REPLACEMENT);
                i++;
                continue;
            }
            int b0 = bytes[i] & 0xff;
            int cp = switch (n) {
                case 1 -> b0;
                case 2 -> (b0 & 0x1f) << 6 | (bytes[i + 1] & 0x3f);
                case 3 -> (b0 & 0x0f) << 12 | (bytes[i + 1] & 0x3f) << 6 | (bytes[i + 2] & 0x3f);
                default -> (b0 & 0x07) << 18 | (bytes[i + 1] & 0x3f) << 12 | (bytes[i + 2] & 0x3f) << 6 | (bytes[i + 3] & 0x3f);
            };
            out.appendCodePoint(cp);
            i += n;
        }
    }

    /**
     * The length of the well-formed UTF-8 sequence starting at {@code bytes[i]}, or 0. The ranges
     * are those of the Unicode Standard's table of well-formed byte sequences (Table 3-7).
     */
    private static int wellFormedLength(byte[] bytes, int i, int end) {
        int b0 = bytes[i] & 0xff;
        if (b0 < 0x80) {
            return 1;
        }
        int n;
        int lo = 0x80, hi = 0xbf;   // allowed range of the second byte
        if (b0 >= 0xc2 && b0 <= 0xdf) {
            n = 2;
        } else if (b0 >= 0xe0 && b0 <= 0xef) {
            n = 3;
            if (b0 == 0xe0) {
                lo = 0xa0;
            } else if (b0 == 0xed) {
                hi = 0x9f;
            }
        } else if (b0 >= 0xf0 && b0 <= 0xf4) {
            n = 4;
            if (b0 == 0xf0) {
                lo = 0x90;
            } else if (b0 == 0xf4) {
                hi = 0x8f;
            }
        } else {
            return 0;
        }
        if (i + n > end) {
            return 0;
        }
        int b1 = bytes[i + 1] & 0xff;
        if (b1 < lo || b1 > hi) {
            return 0;
        }
        for (int k = 2; k < n; k++) {
            int b = bytes[i + k] & 0xff;
            if (b < 0x80 || b > 0xbf) {
                return 0;
            }
        }
        return n;
    }
}
