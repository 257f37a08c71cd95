package ai.janus.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class RougeLTest {
    @Test
    void handComputedValues() {
        // "the cat sat on the mat" vs "the cat lay on a mat": LCS = the cat on mat = 4; F1 = 2·4/(6+6)
        assertEquals(8.0 / 12, RougeL.f1("the cat sat on the mat", "the cat lay on a mat"), 1e-15);
        // LCS "a c" of "a b c" (3) and "c a c" (3)... "a c" = 2: F1 = 4/6
        assertEquals(4.0 / 6, RougeL.f1("a b c", "c a c"), 1e-15);
        // different lengths: "a b" in "x a y b z": LCS 2, F1 = 2·2/(2+5)
        assertEquals(4.0 / 7, RougeL.f1("a b", "x a y b z"), 1e-15);
        // order matters: reversed sequence shares one token in order
        assertEquals(2.0 / 6, RougeL.f1("a b c", "c b a"), 1e-15);
        assertEquals(1.0, RougeL.f1("same words here", "  same   words\nhere "), 0);
        assertEquals(0.0, RougeL.f1("a b", "c d"), 0);
        assertEquals(0.0, RougeL.f1("", "c d"), 0);
        assertEquals(1.0, RougeL.f1(" ", ""), 0);
        // case and punctuation count
        assertEquals(0.0, RougeL.f1("Cat.", "cat"), 0);
    }

    @Test
    void meanOverPairs() {
        // pairs: (a b, a b) = 1, (a b, c d) = 0, (a b, c d) = 0 → 1/3
        assertEquals(1.0 / 3, RougeL.meanPairwise(List.of("a b", "a b", "c d")), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> RougeL.meanPairwise(List.of("a")));
    }
}
