package ai.janus.train.checkpoint;

import ai.janus.io.AtomicFiles;
import ai.janus.io.InvalidFileException;
import ai.janus.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of one run under {@code root}:
 * <pre>
 * root/step-120/      a complete checkpoint: its files + manifest.json (written last)
 * root/step-120.tmp/  a save in progress (or killed): never read, removed by the next save
 * root/latest         "step-120": the newest complete save, replaced atomically
 * </pre>
 * {@link #save} writes, verifies nothing it did not write and keeps the {@code keepLast} newest
 * valid checkpoints (numeric order; the newest valid one is never deleted). {@link #latest}
 * trusts nothing: it verifies the manifest (sizes and SHA-256) of what {@code latest} names and
 * falls back to the newest valid directory when that fails.
 */
public final class CheckpointStore {
    public static final String MANIFEST = "manifest.json";
    public static final String LATEST = "latest";
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d+)");
    private static final Pattern LATEST_TEMPORARY = Pattern.compile("latest\\.[0-9a-f]{16}\\.tmp");
    private static final String FORMAT = "janus-checkpoint";
    private static final int VERSION = 1;

    /** Writes a checkpoint's files into a directory (the temporary one). */
    @FunctionalInterface
    public interface Contents {
        void writeInto(Path directory) throws IOException;
    }

    /** A verified checkpoint: its directory, step and files (name → size). */
    public record Checkpoint(Path directory, long step, Map<String, Long> files) {
        public Path file(String name) {
            return directory.resolve(name);
        }
    }

    private final Path root;
    private final int keepLast;

    /** @param keepLast how many valid checkpoints to keep (save_total_limit); 0 keeps all */
    public CheckpointStore(Path root, int keepLast) {
        if (keepLast < 0) {
            throw new IllegalArgumentException("save_total_limit must be >= 0, got " + keepLast);
        }
        this.root = root;
        this.keepLast = keepLast;
    }

    public Path root() {
        return root;
    }

    /** Saves checkpoint {@code step} atomically and returns it; older ones beyond keepLast are removed. */
    public Checkpoint save(long step, Contents contents) throws IOException {
        contents.writeInto(begin(step));
        return commit(step);
    }

    /**
     * The first half of {@link #save}, for a checkpoint several processes write (one per rank):
     * a fresh, empty {@code step-N.tmp/} for their files. One process calls it, then all write.
     */
    public Path begin(long step) throws IOException {
        refuseLink(root);
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw AtomicFiles.failure(root, e);
        }
        Path tmp = temporary(step);
        refuseLink(tmp);
        deleteTree(tmp);
        try {
            Files.createDirectory(tmp);
        } catch (IOException e) {
            throw AtomicFiles.failure(tmp, e);
        }
        return tmp;
    }

    /** Where {@link #begin} put checkpoint {@code step}'s files while it is being written. */
    public Path temporary(long step) {
        return root.resolve("step-" + step + ".tmp");
    }

    /**
     * The second half of {@link #save}, once every file is in {@link #temporary}(step): the
     * manifest over all of them (written last), the rename, {@code latest}, the rotation. One
     * process calls it, after all have written; until then the checkpoint does not exist.
     */
    public Checkpoint commit(long step) throws IOException {
        Path finalDir = root.resolve("step-" + step), tmp = temporary(step);
        refuseLink(root);
        refuseLink(tmp);
        refuseLink(finalDir);
        Map<String, Object> files = new LinkedHashMap<>();
        List<Path> written;
        try (Stream<Path> list = Files.list(tmp)) {
            written = list.sorted().toList();
        }
        for (Path f : written) {
            if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                throw new InvalidFileException(f, "a checkpoint holds plain files only");
            }
            force(f);
            files.put(f.getFileName().toString(), Map.of("size", Files.size(f), "sha256", sha256(f)));
        }
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("format", FORMAT);
        manifest.put("version", VERSION);
        manifest.put("step", step);
        manifest.put("files", files);
        AtomicFiles.write(tmp.resolve(MANIFEST), Json.write(manifest));
        force(tmp);
        deleteTree(finalDir); // a same-step save replaces the old one only once the new one is complete
        Files.move(tmp, finalDir, StandardCopyOption.ATOMIC_MOVE);
        force(root);
        AtomicFiles.write(root.resolve(LATEST), ("step-" + step + "\n").getBytes(StandardCharsets.UTF_8));
        force(root);
        rotate(step);
        return verify(finalDir);
    }

    /** The newest valid checkpoint, or empty when there is none. */
    public Optional<Checkpoint> latest() throws IOException {
        return search().found();
    }

    /** A checkpoint directory {@link #search} passed over, and why (one line naming the file). */
    public record Rejection(Path directory, String reason) {}

    /**
     * What {@link #search} found: the checkpoint to resume ({@link #latest}'s), and every
     * checkpoint newer than it (all of them when none is valid) that failed verification.
     */
    public record Search(Optional<Checkpoint> found, List<Rejection> rejected) {}

    /**
     * {@link #latest}, with the reasons: what {@code latest} names if it verifies, else the
     * newest directory that does; each newer step-N directory that fails verification is listed
     * with its reason.
     */
    public Search search() throws IOException {
        List<Rejection> rejected = new ArrayList<>();
        Checkpoint found = null;
        Path pointer = root.resolve(LATEST);
        Path named = null;
        if (Files.isRegularFile(pointer, LinkOption.NOFOLLOW_LINKS)) {
            String name = Files.readString(pointer, StandardCharsets.UTF_8).trim();
            if (STEP_DIR.matcher(name).matches()) {
                named = root.resolve(name);
                try {
                    found = verify(named);
                } catch (InvalidFileException e) {
                    rejected.add(new Rejection(named, e.getMessage())); // the newest directory that verifies wins
                }
            }
        }
        for (Path dir : stepDirectories(true)) {
            if (dir.equals(named) || (found != null && step(dir) <= found.step())) {
                continue;
            }
            try {
                Checkpoint valid = verify(dir);
                if (found == null) {
                    found = valid;
                }
            } catch (InvalidFileException e) {
                rejected.add(new Rejection(dir, e.getMessage()));
            }
        }
        if (found != null) {
            long chosen = found.step();
            Path pointed = named;
            rejected.removeIf(r -> step(r.directory()) <= chosen && !r.directory().equals(pointed));
        }
        rejected.sort(Comparator.comparingLong((Rejection r) -> step(r.directory())).reversed());
        return new Search(Optional.ofNullable(found), List.copyOf(rejected));
    }

    /** Verifies {@code directory}'s manifest against its files; every problem is one line naming the file. */
    public static Checkpoint verify(Path directory) throws InvalidFileException {
        Path manifestFile = directory.resolve(MANIFEST);
        JsonNode m = Json.read(manifestFile);
        if (!FORMAT.equals(m.path("format").asText()) || m.path("version").asInt(-1) != VERSION) {
            throw new InvalidFileException(manifestFile, "not a " + FORMAT + " manifest of version " + VERSION);
        }
        JsonNode files = m.path("files");
        if (!m.path("step").canConvertToLong() || !files.isObject()) {
            throw new InvalidFileException(manifestFile, "missing \"step\" or \"files\"");
        }
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (var it = files.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            Path f = directory.resolve(e.getKey());
            if (!f.getParent().equals(directory)) {
                throw new InvalidFileException(manifestFile, "file name '" + e.getKey() + "' leaves the directory");
            }
            try {
                long size = Files.size(f);
                if (size != e.getValue().path("size").asLong(-1)) {
                    throw new InvalidFileException(f, "size " + size + " differs from the manifest's "
                            + e.getValue().path("size"));
                }
                if (!sha256(f).equals(e.getValue().path("sha256").asText())) {
                    throw new InvalidFileException(f, "SHA-256 differs from the manifest");
                }
                sizes.put(e.getKey(), size);
            } catch (InvalidFileException ex) {
                throw ex;
            } catch (java.nio.file.NoSuchFileException ex) {
                throw new InvalidFileException(f, "missing, though the manifest lists it", ex);
            } catch (IOException ex) {
                throw new InvalidFileException(f, "cannot read: " + AtomicFiles.reason(ex), ex);
            }
        }
        return new Checkpoint(directory, m.path("step").asLong(), sizes);
    }

    /** Keeps the keepLast newest valid checkpoints; also clears abandoned .tmp directories. */
    private void rotate(long justSaved) throws IOException {
        try (Stream<Path> list = Files.list(root)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                String name = p.getFileName().toString();
                // only janus's own temporaries: step-N.tmp directories (never a link)
                if (name.endsWith(".tmp") && STEP_DIR.matcher(name.substring(0, name.length() - 4)).matches()
                        && !name.equals("step-" + justSaved + ".tmp") && !Files.isSymbolicLink(p)) {
                    deleteTree(p);
                } else if (LATEST_TEMPORARY.matcher(name).matches() && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.deleteIfExists(p); // AtomicFiles' temporary of latest, left by a kill
                }
            }
        }
        if (keepLast == 0) {
            return;
        }
        int kept = 0;
        for (Path dir : stepDirectories(true)) {
            boolean valid;
            try {
                verify(dir);
                valid = true;
            } catch (InvalidFileException e) {
                valid = false;
            }
            if (valid && kept < keepLast) {
                kept++;
            } else if (step(dir) < justSaved) {
                deleteTree(dir);
            }
        }
    }

    /** step-N directories sorted by N (numerically), newest first when {@code newestFirst}. */
    private List<Path> stepDirectories(boolean newestFirst) throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> list = Files.list(root)) {
            list.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && STEP_DIR.matcher(p.getFileName().toString()).matches())
                    .forEach(dirs::add);
        }
        Comparator<Path> byStep = Comparator.comparingLong(CheckpointStore::step);
        dirs.sort(newestFirst ? byStep.reversed() : byStep);
        return dirs;
    }

    private static long step(Path dir) {
        Matcher m = STEP_DIR.matcher(dir.getFileName().toString());
        try {
            return m.matches() ? Long.parseLong(m.group(1)) : -1;
        } catch (NumberFormatException e) {
            return -1; // not a step janus wrote
        }
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            byte[] buffer = new byte[1 << 16];
            while (in.read(buffer) >= 0) {
                // the digest reads along
            }
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** fsync a file or directory (directories: best effort, where the platform allows opening them). */
    private static void force(Path p) throws IOException {
        try (FileChannel c = FileChannel.open(p, Files.isDirectory(p) ? new StandardOpenOption[] {StandardOpenOption.READ}
                : new StandardOpenOption[] {StandardOpenOption.WRITE})) {
            c.force(true);
        } catch (IOException e) {
            if (!Files.isDirectory(p)) {
                throw e;
            }
        }
    }

    /** Refuses {@code path} when it is a symbolic link: a checkpoint is never written through one. */
    private static void refuseLink(Path path) throws InvalidFileException {
        if (Files.isSymbolicLink(path)) {
            throw new InvalidFileException(path, "is a symbolic link; janus writes checkpoints only into its own"
                    + " directories, never through a link (remove it)");
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(q);
            }
        }
    }
}
