package ai.janus.train;

import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A run's output directory, owned by janus for the whole run.
 *
 * <ul>
 *   <li>Ownership: janus writes only into a directory it created (or found empty), which it marks
 *       with {@link #MARKER}; any other non-empty directory (say {@code /} or a home directory) is
 *       refused before anything is written, so janus never deletes or overwrites files it did not
 *       write. {@code janus demo} shares the check with its own marker ({@link #refuseForeign}).</li>
 *   <li>Exclusion: an OS file lock ({@link FileChannel#tryLock}) on {@link #LOCK} inside the
 *       directory, held until {@link #close}. The operating system drops it when the process
 *       ends, however it ends (SIGKILL included), so a lock is never stale. After locking, the
 *       holder writes its pid, host and start time into the lock file; a second run on the same
 *       directory refuses at once with one line naming them. With several ranks only rank 0
 *       claims the directory: the ranks of one job share it.</li>
 *   <li>Symbolic links: {@link #refuseLink} refuses a path janus writes under (final/,
 *       checkpoints/) when it is a symbolic link, so a planted link never receives janus's files.</li>
 * </ul>
 */
public final class OutputDirectory implements AutoCloseable {
    /** The file that marks a directory as a janus run's. */
    public static final String MARKER = ".janus-run";
    /** The file a run holds its OS lock on. */
    public static final String LOCK = ".janus-lock";

    private final Path directory;
    private final FileChannel channel;
    private final FileLock lock;

    private OutputDirectory(Path directory, FileChannel channel, FileLock lock) {
        this.directory = directory;
        this.channel = channel;
        this.lock = lock;
    }

    public Path directory() {
        return directory;
    }

    /**
     * Claims {@code directory} for a run: refuses a foreign non-empty directory (before creating
     * anything), creates it if needed, takes the lock (refusing when another process holds it),
     * then marks it as janus's. The caller holds the result for the whole run.
     */
    public static OutputDirectory claim(Path directory) throws IOException {
        return claim(directory, false);
    }

    /**
     * {@link #claim(Path)}; {@code janusEvidence}: the caller has found the directory to be a
     * janus run's by its content (a verified janus checkpoint of a run from before the marker
     * existed), so it is adopted and marked instead of refused.
     */
    public static OutputDirectory claim(Path directory, boolean janusEvidence) throws IOException {
        if (!janusEvidence) {
            refuseForeign(directory, MARKER, "choose another output_dir");
        }
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw AtomicFiles.failure(directory, e);
        }
        Path lockFile = directory.resolve(LOCK);
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new InvalidFileException(lockFile, "cannot open the run's lock file: " + AtomicFiles.reason(e), e);
        }
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // this JVM holds it already
        } catch (IOException e) {
            channel.close();
            throw new InvalidFileException(lockFile, "cannot lock: " + AtomicFiles.reason(e), e);
        }
        if (lock == null) {
            String holder = holder(lockFile);
            channel.close();
            throw new InvalidFileException(directory, "in use by another janus run (" + holder
                    + "); wait for it to end or choose another output_dir");
        }
        OutputDirectory claimed = new OutputDirectory(directory, channel, lock);
        try {
            String host;
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                host = "unknown host";
            }
            byte[] who = ("pid " + ProcessHandle.current().pid() + " on " + host + ", started "
                    + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\n").getBytes(StandardCharsets.UTF_8);
            channel.truncate(0);
            AtomicFiles.writeFully(channel.position(0), ByteBuffer.wrap(who));
            channel.force(true);
            // re-checked under the lock: a run that claimed the directory between the check and the lock
            if (!janusEvidence) {
                refuseForeign(directory, MARKER, "choose another output_dir");
            }
            Path marker = directory.resolve(MARKER);
            if (!Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) {
                AtomicFiles.write(marker, "written by janus: this directory is a janus run's output; janus may replace"
                        .concat(" the files it wrote here\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            claimed.close();
            throw AtomicFiles.failure(lockFile, e);
        } catch (RuntimeException e) {
            claimed.close();
            throw e;
        }
        return claimed;
    }

    /**
     * Refuses {@code directory} when it exists and is not janus's: not a directory, or not empty
     * and without {@code marker} (janus's lock file alone does not count). Reads only.
     */
    public static void refuseForeign(Path directory, String marker, String choose) throws IOException {
        if (Files.isSymbolicLink(directory) && !Files.isDirectory(directory)) {
            throw new InvalidFileException(directory, "is a symbolic link to no directory; " + choose);
        }
        if (!Files.exists(directory)) {
            return;
        }
        if (!Files.isDirectory(directory)) {
            throw new InvalidFileException(directory, "exists and is not a directory; " + choose);
        }
        if (Files.exists(directory.resolve(marker), LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Set<String> ours = Set.of(LOCK);
        boolean empty;
        try (Stream<Path> entries = Files.list(directory)) {
            empty = entries.allMatch(p -> ours.contains(p.getFileName().toString()));
        }
        if (!empty) {
            throw new InvalidFileException(directory, "not empty and not created by janus (no " + marker
                    + " marker); janus writes only into a directory of its own: " + choose);
        }
    }

    /** Refuses {@code path} when it is a symbolic link: janus never writes through one. */
    public static void refuseLink(Path path) throws InvalidFileException {
        if (Files.isSymbolicLink(path)) {
            throw new InvalidFileException(path, "is a symbolic link; janus writes only into its own directories,"
                    + " never through a link (remove it)");
        }
    }

    /** Who holds the lock, as its lock file says. */
    private static String holder(Path lockFile) {
        try {
            String text = Files.readString(lockFile, StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? "holder not yet recorded" : text.lines().findFirst().orElse(text);
        } catch (IOException e) {
            return "holder unknown: " + AtomicFiles.reason(e);
        }
    }

    /** Releases the lock (the lock file stays: it is janus's, and reused by the next run). */
    @Override
    public void close() throws IOException {
        try {
            if (lock.isValid()) {
                lock.release();
            }
        } finally {
            channel.close();
        }
    }
}
