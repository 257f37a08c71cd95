package ai.janus.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Whole-file writes that are never seen half done: write a temporary sibling, force it, rename.
 *
 * <p>The temporary file gets a fresh name ({@code NAME.<random>.tmp}) and is created exclusively
 * ({@code CREATE_NEW}, {@code NOFOLLOW_LINKS}): a file or symbolic link planted under any name is
 * never opened, so a write never reaches outside its directory. The rename replaces a symbolic
 * link at {@code path} itself, never its target. Every failure is one line naming the file being
 * written ({@link #failure}); a full disk (ENOSPC, "No space left on device" from the write or the
 * force) takes the same path as any other I/O error, and the temporary file is removed.
 */
public final class AtomicFiles {
    /** Writes a file's content to an open channel. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel out) throws IOException;
    }

    private static final SecureRandom RANDOM = new SecureRandom();

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
        if (Files.exists(path) && !Files.isRegularFile(path) && !Files.isDirectory(path)) {
            // a directory in the way fails the rename below, like any other I/O error
            throw new InvalidFileException(path, "cannot write: it exists and is not a regular file (a FIFO or "
                    + "device); janus writes a new file and renames it over the old one, so name a file");
        }
        Path tmp = null;
        try {
            FileChannel out = null;
            for (int attempt = 0; out == null; attempt++) {
                tmp = path.resolveSibling(path.getFileName() + "." + HexFormat.of().toHexDigits(RANDOM.nextLong())
                        + ".tmp");
                try {
                    out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                            LinkOption.NOFOLLOW_LINKS);
                } catch (FileAlreadyExistsException e) {
                    tmp = null;
                    if (attempt == 100) {
                        throw e;
                    }
                }
            }
            try (FileChannel channel = out) {
                content.writeTo(channel);
                channel.force(true);
            }
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
        } catch (InvalidFileException e) {
            throw e;
        } catch (IOException e) {
            throw failure(path, e);
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp); // ours: created exclusively above
            }
        }
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

    /**
     * A failed write of {@code file} as one line, {@code file: cannot write: reason}: the reason is
     * the operating system's ("No space left on device", "Is a directory", "Permission denied").
     */
    public static InvalidFileException failure(Path file, IOException e) {
        if (e instanceof InvalidFileException invalid) {
            return invalid;
        }
        return new InvalidFileException(file, "cannot write: " + reason(e), e);
    }

    /** The operating system's reason for {@code e}, without the file names Java puts around it. */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory" + (((NoSuchFileException) e).getFile() == null ? ""
                    : " (" + ((NoSuchFileException) e).getFile() + ")");
        }
        if (e instanceof FileAlreadyExistsException f) {
            return "already exists" + (f.getFile() == null ? "" : " (" + f.getFile() + ")");
        }
        if (e instanceof FileSystemException f) {
            String reason = f.getReason() != null ? f.getReason() : e.getClass().getSimpleName();
            return reason + (f.getFile() == null ? "" : " (" + f.getFile() + ")");
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
