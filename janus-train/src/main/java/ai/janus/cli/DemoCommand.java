package ai.janus.cli;

import ai.janus.demo.DemoPipeline;
import ai.janus.demo.DemoSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** {@code janus demo}: the end-to-end Janus pipeline on the synthetic task ({@link DemoPipeline}). */
final class DemoCommand {
    private static final String USAGE = """
            usage: janus demo [--out DIR] [--seed N]
              The Janus recipe in miniature, on the CPU, in a few minutes: generates a synthetic Multifaceted task
              (system messages stating format, length, tone and caution preferences), trains a tiny Mistral from
              random initialisation with SFT, DPO from SFT, ORPO from base and a reward model from SFT, evaluates
              every model and best-of-N on held-out system messages, and writes DIR/results.md and DIR/report.html.
            options:
              --out DIR    output directory (default runs/demo); an earlier demo run there is replaced
              --seed N     data, initialisation, data order and sampling (default 1234)
            """;

    private DemoCommand() {}

    static int run(List<String> argv, PrintStream out, PrintStream err) throws IOException, Janus.UsageException {
        Args args = new Args(argv, Set.of("--out", "--seed"), Set.of());
        if (args.help()) {
            out.print(USAGE);
            return 0;
        }
        args.positionals(0, "options only");
        return run(DemoSettings.FULL.withSeed(args.getLong("--seed", DemoSettings.FULL.seed())),
                Path.of(args.get("--out", "runs/demo")), out, err);
    }

    /** Runs {@code settings} into {@code dir}: progress on {@code err}, the table and the report's path on {@code out}. */
    static int run(DemoSettings settings, Path dir, PrintStream out, PrintStream err) throws IOException {
        DemoPipeline.Result r = DemoPipeline.run(settings, dir, err, err == System.err && System.console() != null);
        out.println();
        out.print(r.table());
        out.println();
        out.printf("janus demo: finished in %dm%02ds, peak resident memory %s (janus off-heap tensors %s); table in %s%n",
                Math.round(r.seconds()) / 60, Math.round(r.seconds()) % 60, mib(r.peakResidentBytes()),
                mib(r.offHeapPeakBytes()), r.markdown().toAbsolutePath());
        out.printf("report (training curves, claims, examples): %s%n", r.report().toAbsolutePath());
        return 0;
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(java.util.Locale.ROOT, "%.0f MiB", bytes / (1024.0 * 1024.0));
    }
}
