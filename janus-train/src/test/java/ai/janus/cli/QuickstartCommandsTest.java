package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's command-line block runs as written: every {@code ./janus} line of the block under
 * the "QuickstartCommandsTest runs" marker, in order, as its own JVM, from a directory holding a
 * copy of examples/quickstart and the demo's tokenizer (the repository root's layout, so that the
 * relative paths of the commands and of the run configs mean what they mean there).
 */
class QuickstartCommandsTest {
    static final Path ROOT = Path.of("..");

    @TempDir
    Path dir;

    /** The ./janus lines of the README's marked block, without their comments. */
    static List<String> readmeCommands() throws IOException {
        List<String> lines = Files.readAllLines(ROOT.resolve("README.md"));
        int marker = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains("QuickstartCommandsTest runs")) {
                marker = i;
            }
        }
        assertTrue(marker >= 0, "README.md has the marked command block");
        assertEquals("```bash", lines.get(marker + 1));
        List<String> commands = new ArrayList<>();
        for (int i = marker + 2; !lines.get(i).equals("```"); i++) {
            String line = lines.get(i).replaceFirst("\\s+#.*$", "").strip();
            if (line.startsWith("./janus ")) {
                commands.add(line.substring("./janus ".length()));
            }
        }
        return commands;
    }

    @Test
    void everyCommandOfTheReadmeBlockRunsAsWritten() throws Exception {
        Path examples = dir.resolve("examples");
        Files.createDirectories(examples.resolve("quickstart"));
        Files.createDirectories(examples.resolve("demo"));
        try (Stream<Path> files = Files.list(ROOT.resolve("examples/quickstart"))) {
            for (Path f : files.toList()) {
                Files.copy(f, examples.resolve("quickstart").resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        Files.copy(ROOT.resolve("examples/demo/tokenizer.model"), examples.resolve("demo/tokenizer.model"));

        List<String> commands = readmeCommands();
        assertTrue(commands.size() >= 9, "init, four trainings, generate, best-of-n, score, data check: " + commands);
        // one JVM (started in dir, as the shell would be in the repository root) runs them all in
        // order: nine JVM starts and JIT warm-ups would cost a minute of the suite
        Path list = dir.resolve("commands.txt"), log = dir.resolve("commands.log");
        Files.write(list, commands);
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                Runner.class.getName(), list.toString());
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done && p.exitValue() == 0, Files.readString(log));
        for (String out : new String[] {"sft/final", "dpo/final", "orpo/final", "rm/final", "answers.jsonl", "best.jsonl",
                "scores.jsonl"}) {
            assertTrue(Files.exists(dir.resolve("runs/quickstart").resolve(out)), out);
        }
    }

    /** Runs each line of the file named by args[0] as janus's arguments; stops at the first that fails. */
    public static final class Runner {
        public static void main(String[] args) throws IOException {
            for (String command : Files.readAllLines(Path.of(args[0]))) {
                System.err.println("$ ./janus " + command);
                int code = Janus.run(command.split("\\s+"), System.out, System.err);
                if (code != 0) {
                    System.err.println("exit status " + code + ": ./janus " + command);
                    System.exit(code);
                }
            }
            System.exit(0);
        }
    }
}
