package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.demo.DemoSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
    void demoRunsThePipelineAndSaysWhereTheReportIs(@TempDir Path dir) throws Exception {
        // the full demo takes minutes: the command's output path runs the reduced settings here
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = DemoCommand.run(DemoSettings.REDUCED, dir.resolve("demo"), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("| SFT |"), printed);
        assertTrue(printed.contains(dir.resolve("demo/report.html").toAbsolutePath().toString()), printed);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("sft"), "progress goes to stderr");
        Outcome o = run("summary", dir.resolve("demo/sft/final").toString());
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
    void versionIsTheProjectsAndTheCommitsWhenKnown() throws Exception {
        Outcome o = run("--version");
        assertEquals(0, o.code(), o.err());
        // the version of the parent pom this module is built from (surefire runs in janus-train/)
        String pom = java.nio.file.Files.readString(Path.of("..", "pom.xml"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "<artifactId>janus-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find(), "the parent pom's version");
        assertTrue(o.out().matches("janus " + java.util.regex.Pattern.quote(m.group(1)) + "( \\(git [0-9a-f]{4,40}\\))?\n"),
                o.out());
        assertTrue(run("--help").out().contains("--version"), "the usage lists --version");
    }

    @Test
    void usageErrors() {
        assertEquals(2, run().code());
        assertEquals(2, run("frobnicate").code());
        assertEquals(2, run("demo", "--seed", "x").code());
        assertEquals(2, run("demo", "extra").code());
        assertEquals(0, run("--help").code());
        assertEquals(0, run("demo", "--help").code());
    }
}
