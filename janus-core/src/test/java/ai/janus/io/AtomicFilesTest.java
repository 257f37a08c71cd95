package ai.janus.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    /** A link planted under the old fixed temporary name, or at the target, is never written through. */
    @Test
    void plantedLinksAreNeverFollowed() throws IOException {
        Path outside = Files.writeString(dir.resolve("outside.txt"), "precious");
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.createSymbolicLink(out.resolve("a.json.tmp"), outside);
        Files.createSymbolicLink(out.resolve("a.json"), outside);
        AtomicFiles.write(out.resolve("a.json"), "new".getBytes(StandardCharsets.UTF_8));
        assertEquals("precious", Files.readString(outside));
        assertFalse(Files.isSymbolicLink(out.resolve("a.json")), "the link itself was replaced");
        assertEquals("new", Files.readString(out.resolve("a.json")));
        assertEquals(List.of("a.json", "a.json.tmp"), names(out), "no temporary left, the planted one untouched");
    }

    /**
     * A failed write is one line naming the file and keeps no temporary. A directory in the
     * file's place stands for every I/O error; a full disk (ENOSPC from the write or the force)
     * leaves by the same catch.
     */
    @Test
    void aFailedWriteNamesTheFile() throws IOException {
        Path target = Files.createDirectories(dir.resolve("b.json/in-the-way"));
        InvalidFileException e = assertThrows(InvalidFileException.class,
                () -> AtomicFiles.write(dir.resolve("b.json"), new byte[] {1}));
        assertEquals(dir.resolve("b.json"), e.file());
        assertTrue(e.getMessage().startsWith(dir.resolve("b.json") + ": cannot write: "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        assertTrue(Files.isDirectory(target));
        assertEquals(List.of("b.json"), names(dir));

        IOException full = new IOException("No space left on device");
        assertEquals(dir.resolve("c.bin") + ": cannot write: No space left on device",
                assertThrows(InvalidFileException.class, () -> AtomicFiles.write(dir.resolve("c.bin"), out -> {
                    throw full;
                })).getMessage());
        assertEquals(List.of("b.json"), names(dir), "the temporary of the failed write is gone");
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
