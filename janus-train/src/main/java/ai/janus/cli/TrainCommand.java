package ai.janus.cli;

import ai.janus.train.Progress;
import ai.janus.train.TrainingRun;
import ai.janus.train.config.RunConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** {@code janus sft|dpo|orpo|rm CONFIG.yaml [--resume[=latest|DIR]]}: one training run. */
final class TrainCommand {
    private TrainCommand() {}

    static int run(String stage, List<String> argv, PrintStream out, PrintStream err)
            throws IOException, Janus.UsageException {
        Args args = new Args(argv, Set.of(), Set.of("--resume"));
        if (args.help()) {
            out.print("usage: janus " + stage + " CONFIG.yaml [--resume[=latest|CHECKPOINT_DIR]]\n"
                    + "  Trains as CONFIG.yaml says (axolotl-like keys; see RunConfig), printing and saving the resolved\n"
                    + "  config, a progress line per step and metrics.jsonl under output_dir; checkpoints go to\n"
                    + "  output_dir/checkpoints/step-N, the final model (HF layout) to output_dir/final.\n"
                    + "  --resume continues bit-exactly from the newest valid checkpoint (or the one named).\n");
            return 0;
        }
        RunConfig config = RunConfig.read(Path.of(args.positionals(1, "one CONFIG.yaml").get(0)));
        String resume = args.has("--resume") ? (args.get("--resume", "").isEmpty() ? "latest" : args.get("--resume", ""))
                : null;
        TrainingRun.run(config, resume, TrainingRun.Stage.valueOf(stage.toUpperCase(java.util.Locale.ROOT)), err,
                Progress.console());
        return 0;
    }
}
