package ai.janus.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the text the demo's SentencePiece model was trained on: every line of the
 * training split's system messages, instructions and gold answers (answers split at their line
 * breaks, since spm_train reads one sentence per line; repeats kept, they are the
 * frequencies BPE merges by). Only the training split, so held-out
 * paraphrases meet the tokenizer as unseen text, as they meet the model. Run by
 * {@code examples/demo/make-tokenizer.sh}; the demo itself never needs it. The corpus's SHA-256 is
 * recorded in {@code examples/demo/tokenizer.corpus.sha256}, and a test fails when the generator
 * changes it, since the shipped tokenizer then no longer is the one this corpus makes.
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
        byte[] corpus = corpus();
        Files.write(Path.of(args[0]), corpus);
        System.out.println(corpus.length + " bytes written to " + args[0]);
    }

    /** The corpus file's bytes: UTF-8 lines, each ending in a newline. */
    static byte[] corpus() {
        TaskGenerator.Split split = TaskGenerator.generate(DemoSettings.FULL.seed(), DemoSettings.FULL.trainInstructions(),
                DemoSettings.FULL.heldOutInstructions());
        StringBuilder text = new StringBuilder();
        for (Task t : split.train()) {
            text.append(t.system()).append('\n').append(t.instruction()).append('\n');
            GoldWriter.write(t).lines().forEach(line -> text.append(line).append('\n'));
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }
}
