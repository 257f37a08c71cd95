package ai.janus.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The arrows of docs/architecture.md, checked on the compiled main classes of janus-core,
 * janus-kernels and janus-train as this test's class path holds them (the modules' target/classes
 * in a reactor build, their jars otherwise; test classes never count). A class's dependencies are
 * every {@code ai/janus/...} class name in its constant pool: the classes it uses, its
 * descriptors and its generic signatures.
 *
 * <p>The rules: the layer table in docs/architecture.md ("Layers") lists every package once, and a
 * package uses only packages of lower layers (so no package cycle is possible); janus-core never
 * uses janus-kernels or janus-train, janus-kernels never uses janus-train; in janus-train only
 * {@code ai.janus.compute} uses {@code ai.janus.kernels}.
 */
class ArchitectureTest {
    private static final Pattern CLASS_NAME = Pattern.compile("ai/janus/(?:[a-z0-9_]+/)*[A-Z][A-Za-z0-9_$]*");
    private static final Pattern LAYER_ROW = Pattern.compile("^\\|\\s*(\\d+)\\s*\\|([^|]+)\\|", Pattern.MULTILINE);

    /** A main class, its module and the ai.janus classes it names. */
    record ClassDeps(String module, String name, Set<String> uses) {
        String pkg() {
            return packageOf(name);
        }
    }

    private static List<ClassDeps> classes;
    private static Map<String, String> moduleOfPackage;

    @BeforeAll
    static void readClasses() throws IOException {
        classes = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            String module = moduleOf(entry);
            if (module != null) {
                read(Path.of(entry), module, classes);
            }
        }
        moduleOfPackage = new TreeMap<>();
        for (ClassDeps c : classes) {
            moduleOfPackage.put(c.pkg(), c.module());
        }
        // a reactor build and a jar build both hold the three modules; anything less is a broken class path
        assertEquals(Set.of("janus-core", "janus-kernels", "janus-train"), Set.copyOf(moduleOfPackage.values()),
                "main classes of every module on the class path");
    }

    @Test
    void theLayerTableListsEveryPackageOnce() throws IOException {
        Map<String, Integer> layers = layers();
        Set<String> compiled = new TreeSet<>(moduleOfPackage.keySet());
        Set<String> missing = new TreeSet<>(compiled);
        missing.removeAll(layers.keySet());
        Set<String> stale = new TreeSet<>(layers.keySet());
        stale.removeAll(compiled);
        stale.remove("ai.janus.bench"); // janus-bench is not on this class path; it may use every layer
        assertTrue(missing.isEmpty(), "packages missing from docs/architecture.md's layer table: " + missing);
        assertTrue(stale.isEmpty(), "packages in docs/architecture.md's layer table that do not exist: " + stale);
    }

    @Test
    void everyPackageUsesOnlyLowerLayers() throws IOException {
        Map<String, Integer> layers = layers();
        List<String> violations = new ArrayList<>();
        for (ClassDeps c : classes) {
            Integer from = layers.get(c.pkg());
            for (String used : c.uses()) {
                String to = packageOf(used);
                if (to.equals(c.pkg()) || from == null || !layers.containsKey(to)) {
                    continue;
                }
                if (layers.get(to) >= from) {
                    violations.add(c.name() + " (layer " + from + ") uses " + used + " (layer " + layers.get(to) + ")");
                }
            }
        }
        assertTrue(violations.isEmpty(), "uses that point up or sideways:\n" + String.join("\n", violations));
    }

    @Test
    void modulesPointDownward() {
        Map<String, Set<String>> forbidden = Map.of(
                "janus-core", Set.of("janus-kernels", "janus-train"),
                "janus-kernels", Set.of("janus-train"));
        List<String> violations = new ArrayList<>();
        for (ClassDeps c : classes) {
            for (String used : c.uses()) {
                String module = moduleOfPackage.get(packageOf(used));
                if (module != null && forbidden.getOrDefault(c.module(), Set.of()).contains(module)) {
                    violations.add(c.module() + ": " + c.name() + " uses " + module + ": " + used);
                }
            }
        }
        assertTrue(violations.isEmpty(), String.join("\n", violations));
    }

    @Test
    void onlyComputeOpensTheGpuInJanusTrain() {
        Set<String> users = new TreeSet<>();
        for (ClassDeps c : classes) {
            if (c.module().equals("janus-train")
                    && c.uses().stream().anyMatch(u -> packageOf(u).equals("ai.janus.kernels"))) {
                users.add(c.pkg());
            }
        }
        assertEquals(Set.of("ai.janus.compute"), users, "janus-train packages that use ai.janus.kernels");
    }

    @Test
    void noPackageCycles() {
        // independent of the table: a cycle is found even if the table were edited to allow it
        Map<String, Set<String>> graph = new TreeMap<>();
        for (ClassDeps c : classes) {
            for (String used : c.uses()) {
                String to = packageOf(used);
                if (!to.equals(c.pkg()) && moduleOfPackage.containsKey(to)) {
                    graph.computeIfAbsent(c.pkg(), k -> new TreeSet<>()).add(to);
                }
            }
        }
        List<List<String>> cycles = new Tarjan(graph).cycles();
        assertTrue(cycles.isEmpty(), "package cycles: " + cycles);
    }

    /** The layer table of docs/architecture.md: package to layer number. */
    static Map<String, Integer> layers() throws IOException {
        Path doc = repositoryRoot().resolve("docs/architecture.md");
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        int start = text.indexOf("## Layers");
        assertTrue(start >= 0, doc + ": no \"## Layers\" section");
        int end = text.indexOf("\n## ", start + 1);
        Matcher m = LAYER_ROW.matcher(text.substring(start, end < 0 ? text.length() : end));
        Map<String, Integer> layers = new LinkedHashMap<>();
        while (m.find()) {
            int layer = Integer.parseInt(m.group(1));
            for (String p : m.group(2).replace("`", " ").trim().split("[\\s,]+")) {
                if (!p.isEmpty() && layers.put(p, layer) != null) {
                    throw new AssertionError(doc + ": package " + p + " is listed twice in the layer table");
                }
            }
        }
        assertTrue(layers.size() > 10, doc + ": the layer table has only " + layers.size() + " packages");
        return layers;
    }

    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("docs")) && Files.exists(p.resolve("janus-core/pom.xml"))) {
                return p;
            }
        }
        throw new AssertionError("no repository root above " + Path.of("").toAbsolutePath());
    }

    /** janus-core, janus-kernels or janus-train for a main-classes entry of the class path; null for anything else. */
    private static String moduleOf(String entry) {
        String e = entry.replace('\\', '/');
        if (e.contains("test-classes") || e.endsWith("-tests.jar")) {
            return null;
        }
        for (String module : List.of("janus-core", "janus-kernels", "janus-train")) {
            if (e.endsWith(module + "/target/classes") || e.matches(".*/" + module + "-[^/]*\\.jar")) {
                return module;
            }
        }
        return null;
    }

    private static void read(Path entry, String module, List<ClassDeps> out) throws IOException {
        if (Files.isDirectory(entry)) {
            try (Stream<Path> files = Files.walk(entry)) {
                for (Path f : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
                    String name = entry.relativize(f).toString().replace('\\', '/');
                    out.add(deps(module, name, Files.readAllBytes(f)));
                }
            }
        } else if (Files.isRegularFile(entry)) {
            try (ZipFile jar = new ZipFile(entry.toFile())) {
                jar.stream().filter(z -> z.getName().startsWith("ai/janus/") && z.getName().endsWith(".class"))
                        .forEach(z -> {
                            try (InputStream in = jar.getInputStream(z)) {
                                out.add(deps(module, z.getName(), in.readAllBytes()));
                            } catch (IOException ex) {
                                throw new UncheckedIOException(ex);
                            }
                        });
            }
        }
    }

    private static ClassDeps deps(String module, String file, byte[] bytes) {
        String name = file.substring(0, file.length() - ".class".length());
        Set<String> uses = new TreeSet<>();
        // class names are ASCII in the constant pool's UTF-8 entries: a byte scan finds them all
        Matcher m = CLASS_NAME.matcher(new String(bytes, StandardCharsets.ISO_8859_1));
        while (m.find()) {
            uses.add(m.group());
        }
        uses.remove(name);
        return new ClassDeps(module, name, uses);
    }

    private static String packageOf(String internalName) {
        int slash = internalName.lastIndexOf('/');
        return internalName.substring(0, slash).replace('/', '.');
    }

    /** Strongly connected components of more than one package (Tarjan). */
    private static final class Tarjan {
        private final Map<String, Set<String>> graph;
        private final Map<String, Integer> index = new TreeMap<>(), low = new TreeMap<>();
        private final List<String> stack = new ArrayList<>();
        private final List<List<String>> cycles = new ArrayList<>();
        private int next;

        Tarjan(Map<String, Set<String>> graph) {
            this.graph = graph;
        }

        List<List<String>> cycles() {
            for (String v : graph.keySet()) {
                if (!index.containsKey(v)) {
                    visit(v);
                }
            }
            return cycles;
        }

        private void visit(String v) {
            index.put(v, next);
            low.put(v, next++);
            stack.add(v);
            for (String w : graph.getOrDefault(v, Set.of())) {
                if (!index.containsKey(w)) {
                    visit(w);
                    low.put(v, Math.min(low.get(v), low.get(w)));
                } else if (stack.contains(w)) {
                    low.put(v, Math.min(low.get(v), index.get(w)));
                }
            }
            if (low.get(v).equals(index.get(v))) {
                List<String> component = new ArrayList<>();
                String w;
                do {
                    w = stack.remove(stack.size() - 1);
                    component.add(w);
                } while (!w.equals(v));
                if (component.size() > 1) {
                    cycles.add(component);
                }
            }
        }
    }
}
