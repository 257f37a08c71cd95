package ai.janus.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the text the demo's SentencePiece model was trained on: every line of the
 * training split's system messages, instructions and gold answers (answers split at their line
 * breaks, since spm_train reads one sentence per line; repeats kept, they are the
 * frequencies BPE merges by). Only the training split, so held-out
 * paraphrases meet the tokenizer as unseen text, as they meet the model. Run by
 * {@code examples/demo/make-tokenizer.sh}; the demo itself never needs it.
 *
 * <pre>
 * java -cp janus-train/target/janus.jar ai.janus.demo.TokenizerCorpus corpus.txt
 * </pre>
 */
public final class TokenizerCorpus {
    private TokenizerCorpus() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: TokenizerCorpus OUT.txt");
            System.exit(2);
        }
        TaskGenerator.Split split = TaskGenerator.generate(DemoSettings.FULL.seed(), DemoSettings.FULL.trainInstructions(),
                DemoSettings.FULL.heldOutInstructions());
        List<String> lines = new ArrayList<>();
        for (Task t : split.train()) {
            lines.add(t.system());
            lines.add(t.instruction());
            lines.addAll(GoldWriter.write(t).lines().toList());
        }
        Files.write(Path.of(args[0]), lines, StandardCharsets.UTF_8);
        System.out.println(lines.size() + " lines written to " + args[0]);
    }
}
