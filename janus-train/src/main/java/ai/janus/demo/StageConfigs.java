package ai.janus.demo;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The YAML run configs of the demo's four training stages, rendered from {@link DemoSettings}
 * with every path under the output directory. {@code janus demo} writes them to
 * {@code OUT/configs/} and runs them; {@code examples/demo/*.yaml} are these files for the default
 * {@code runs/demo} (a test keeps them equal), so any stage can be rerun by hand with
 * {@code ./janus sft examples/demo/sft.yaml} after a demo run.
 */
public final class StageConfigs {
    private StageConfigs() {}

    public static String sft(DemoSettings s, Path out) {
        return header("SFT from the random base on every training row (three system messages per instruction)")
                + "base_model: " + path(out, "base") + "\n"
                + datasets(out, "data/sft.jsonl", "sft")
                + "sample_packing: true                # rows of up to sequence_len tokens, each example attending to itself\n"
                + common(s, s.sft(), out, "sft", 0.999);
    }

    public static String dpo(DemoSettings s, Path out) {
        return header("DPO from the SFT model, which is also the frozen reference, on the preference pairs")
                + "base_model: " + path(out, "sft/final") + "\n"
                + datasets(out, "data/pairs.jsonl", "pairs")
                + common(s, s.dpo(), out, "dpo", 0.999)
                + "dpo_beta: " + number(s.dpoBeta()) + "\n"
                + (s.rpoAlpha() == 0 ? "" : "rpo_alpha: " + number(s.rpoAlpha())
                        + "                     # + α · NLL of the chosen answers (TRL's RPO)\n");
    }

    public static String orpo(DemoSettings s, Path out) {
        return header("ORPO from the random base on the preference pairs (NLL of the chosen answer + λ · odds ratio)")
                + "base_model: " + path(out, "base") + "\n"
                + datasets(out, "data/pairs.jsonl", "pairs")
                + common(s, s.orpo(), out, "orpo", 0.999)
                + "orpo_alpha: " + number(s.orpoAlpha()) + "\n";
    }

    public static String rm(DemoSettings s, Path out) {
        return header("Bradley-Terry reward model from the SFT model (backbone + fresh value head) on the pairs")
                + "base_model: " + path(out, "sft/final") + "\n"
                + datasets(out, "data/rm.jsonl", "rm")
                + common(s, s.rm(), out, "rm", 0.95)
                + "val_set_size: 0.1                  # held-out pairs: accuracy, and the reward mean/std best-of-N normalises with\n";
    }

    private static String header(String what) {
        return "# " + what + ".\n# Written by janus demo from ai.janus.demo.DemoSettings; run by hand with ./janus <stage> FILE.\n";
    }

    private static String datasets(Path out, String file, String type) {
        return "datasets:\n  - path: " + path(out, file) + "\n    type: " + type + "\n";
    }

    private static String common(DemoSettings s, DemoSettings.Stage stage, Path out, String dir, double beta2) {
        return "sequence_len: " + DemoSettings.SEQUENCE_LEN + "\n"
                + "micro_batch_size: " + stage.microBatchSize() + "\n"
                + "gradient_accumulation_steps: 1\n"
                + "max_steps: " + stage.steps() + "\n"
                + "optimizer: adamw                    # fp32 moments: a 1M-parameter model needs no 8-bit state\n"
                + "adam_beta2: " + number(beta2) + "\n"
                + "lr_scheduler: cosine\n"
                + "learning_rate: " + number(stage.learningRate()) + "\n"
                + "warmup_steps: " + stage.warmupSteps() + "\n"
                + "max_grad_norm: 1.0\n"
                + "bf16: false\n"
                + "seed: " + s.seed() + "\n"
                + "output_dir: " + path(out, dir) + "\n"
                + "save_steps: " + stage.steps() + "\n"
                + "save_total_limit: 1\n";
    }

    private static String path(Path out, String relative) {
        return out.resolve(relative).toString().replace('\\', '/');
    }

    /** A double as YAML reads it back exactly: plain decimal or e-notation with a dot ("1.0e-05"). */
    static String number(double v) {
        String plain = Double.toString(v);
        return plain.contains("E") ? plain.toLowerCase(Locale.ROOT) : plain;
    }
}
