package ai.janus.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Whole-file writes that are never seen half done: write a .tmp sibling, force it, rename. */
public final class AtomicFiles {
    /** Writes a file's content to an open channel. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel out) throws IOException;
    }

    private AtomicFiles() {}

    public static void write(Path path, byte[] content) throws IOException {
        write(path, out -> writeFully(out, ByteBuffer.wrap(content)));
    }

    /**
     * Writes {@code path} whole. A {@code path} that exists and is not a regular file (a
     * directory, FIFO or device) is refused: the rename would replace a device such as /dev/full
     * with a plain file.
     */
    public static void write(Path path, Content content) throws IOException {
        checkWritable(path);
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            content.writeTo(out);
            out.force(true);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new InvalidFileException(path, "cannot write: its directory does not exist", e);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new InvalidFileException(path, "cannot write: permission denied", e);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Checks, before the work that produces it, that {@code path} can be an output file: it is a
     * regular file or absent, and its directory exists. Errors are one line naming the path.
     */
    public static void checkWritable(Path path) throws InvalidFileException {
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new InvalidFileException(path, Files.isDirectory(path) ? "is a directory; name an output file"
                    : "exists and is not a regular file (a FIFO or device); janus writes a new file and renames it"
                    + " over the old one, so name a file");
        }
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new InvalidFileException(path, "cannot write: " + parent + " is not a directory");
        }
    }

    public static void writeFully(FileChannel out, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            out.write(data);
        }
    }
}
