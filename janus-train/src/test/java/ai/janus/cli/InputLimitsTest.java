package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.cli.TrainingCommandsTest.Outcome;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input on the command line ends in one line naming the problem: never a wrapped value, never a stack trace. */
class InputLimitsTest {
    @TempDir
    Path dir;

    /** The outcome of a refused command: exit code, one line on stderr, nothing on stdout. */
    static String refused(int code, String... args) {
        Outcome o = TrainingCommandsTest.janus(args);
        assertEquals(code, o.code(), o.out() + o.err());
        assertEquals(1, o.err().strip().lines().count(), o.err());
        assertFalse(o.err().contains("\tat "), o.err());
        return o.err().strip();
    }

    @Test
    void integerOptionsAreNotWrapped() {
        // (int) 4294967360 is 64: init used to write a hidden-64 model without a word
        Path out = dir.resolve("m");
        String m = refused(2, "init", "--out", out.toString(), "--hidden", "4294967360");
        assertTrue(m.contains("--hidden must be an integer in [1, 2147483647], got 4294967360"), m);
        assertFalse(Files.exists(out));
        // (int) 4294967297 is 1: generate used to stop every answer after one token
        m = refused(2, "generate", "--model", out.toString(), "--prompts", "p.jsonl", "--out", "o.jsonl",
                "--max-new-tokens", "4294967297");
        assertTrue(m.contains("--max-new-tokens must be an integer in [1, 2147483647]"), m);
        assertTrue(refused(2, "generate", "--model", "m", "--prompts", "p", "--out", "o", "--batch", "4294967296")
                .contains("--batch"));
        assertTrue(refused(2, "score", "--model", "m", "--data", "d", "--out", "o", "--max-tokens", "-4294967295")
                .contains("--max-tokens"));
        assertTrue(refused(2, "best-of-n", "--model", "m", "--reward-model", "r", "--prompts", "p", "--out", "o",
                "--n", "4294967298").contains("--n"));
        assertTrue(refused(2, "init", "--out", out.toString(), "--seed", "99999999999999999999")
                .contains("out of the 64-bit integer range"));
    }
}
