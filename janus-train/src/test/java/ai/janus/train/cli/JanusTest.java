package ai.janus.train.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JanusTest {
    private record Outcome(int code, String out, String err) {}

    private static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Janus.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void demoWritesAnHfModelAndReportsAnUntrainedNll(@TempDir Path dir) {
        Outcome o = run("demo", "--out", dir.toString(), "--seed", "7");
        assertEquals(0, o.code(), o.err());
        assertTrue(Files.exists(dir.resolve("model/config.json")));
        assertTrue(Files.exists(dir.resolve("model/model.safetensors")));
        Matcher m = Pattern.compile("mean NLL\\s+([0-9.]+)").matcher(o.out());
        assertTrue(m.find(), o.out());
        double nll = Double.parseDouble(m.group(1));
        // Random N(0, 0.02) weights give nearly uniform predictions over 1000 tokens: NLL ≈ ln 1000 = 6.91.
        assertEquals(Math.log(1000), nll, 0.05, o.out());
    }

    @Test
    void summaryOfTheDemoModel(@TempDir Path dir) {
        assertEquals(0, run("demo", "--out", dir.toString()).code());
        Outcome o = run("summary", dir.resolve("model").toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("model.layers.0.self_attn.q_proj.weight"), o.out());
    }

    @Test
    void badInputIsOneLineAndExitCodeOne(@TempDir Path dir) {
        Outcome o = run("summary", dir.toString());
        assertEquals(1, o.code());
        assertEquals(1, o.err().strip().lines().count(), o.err());
        assertTrue(o.err().contains("config.json"), o.err());
    }

    @Test
    void usageErrors() {
        assertEquals(2, run().code());
        assertEquals(2, run("frobnicate").code());
        assertEquals(2, run("demo", "--seed", "x").code());
        assertEquals(0, run("--help").code());
        assertEquals(0, run("demo", "--help").code());
    }
}
