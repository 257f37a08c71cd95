package ai.janus.demo;

import ai.janus.train.Progress;
import ai.janus.train.Trainer;
import java.io.PrintStream;

/**
 * A training stage's progress on the demo's console: on a terminal the trainer's bar redrawn in
 * place; otherwise one line per tenth of the run, so a logged demo stays a page long.
 */
final class DemoProgress extends Progress {
    private final PrintStream out;
    private final boolean terminal;
    private final String stage;

    DemoProgress(PrintStream out, boolean terminal, String stage) {
        super(out, terminal);
        this.out = out;
        this.terminal = terminal;
        this.stage = stage;
    }

    @Override
    public void step(Trainer.StepMetrics m, long total) {
        if (terminal) {
            super.step(m, total);
        } else if (m.step() == total || m.step() % Math.max(1, total / 10) == 0) {
            out.printf("  %-5s step %d/%d  loss %.4f  grad norm %.3f  lr %.3g%n", stage, m.step(), total, m.loss(),
                    m.gradNorm(), m.lr());
        }
    }
}
