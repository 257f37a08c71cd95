package ai.janus.train;

import java.io.PrintStream;

/**
 * Training progress on stderr: on a terminal one line redrawn in place (bar, step, loss, tokens/s,
 * ETA); otherwise one plain line per step, so logs stay readable. {@link #silent()} prints nothing.
 */
public class Progress {
    private final PrintStream out;
    private final boolean terminal;
    private long firstStep;
    private long startNanos;

    public Progress(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** stderr, redrawn in place when the JVM has a console. */
    public static Progress console() {
        return new Progress(System.err, System.console() != null);
    }

    /** Prints nothing (tests, embedded use). */
    public static Progress silent() {
        return new Progress(null, false) {
            @Override
            public void start(long step, long total) {}

            @Override
            public void step(Trainer.StepMetrics m, long total) {}

            @Override
            public void finish() {}
        };
    }

    public void start(long step, long total) {
        firstStep = step;
        startNanos = System.nanoTime();
    }

    public void step(Trainer.StepMetrics m, long total) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        long done = m.step() - firstStep;
        double eta = done == 0 ? 0 : seconds / done * (total - m.step());
        String text = String.format("step %d/%d  loss %.4f  grad norm %.3f  lr %.3g  %.0f tokens/s  ETA %s",
                m.step(), total, m.loss(), m.gradNorm(), m.lr(), m.tokensPerSecond(), duration(eta));
        if (terminal) {
            int width = 24, filled = (int) Math.round(width * (double) m.step() / total);
            out.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + text + "   ");
        } else {
            out.println(text);
        }
        out.flush();
    }

    public void finish() {
        if (terminal) {
            out.println();
        }
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60) : String.format("%dm%02ds", s / 60, s % 60);
    }
}
