package ai.janus.cli;

import ai.janus.compute.Compute;
import ai.janus.data.ChatTemplate;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.generate.BestOfN;
import ai.janus.generate.Generator;
import ai.janus.generate.SamplingConfig;
import ai.janus.io.AtomicFiles;
import ai.janus.io.Json;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import ai.janus.model.RewardModel;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code janus best-of-n}: N samples per JSONL prompt from the policy, scored by a reward model
 * normalised with its stored mean/std; each row gains the best {@code response}, every sample and
 * its raw reward and normalised score, and the index of the best.
 */
final class BestOfNCommand {
    private static final String USAGE = """
            usage: janus best-of-n --model DIR --reward-model DIR --prompts FILE.jsonl --out FILE.jsonl [options]
              Prompts are rows {"system": ..., "prompt": ...} (other fields kept). The reward model is read at the EOS
              of "<s>[INST] {system}\\n{prompt} [/INST] {response} </s>" and normalised as (r - mean) / std.
            options:
              --n N                      samples per prompt (default 4, at most 4096)
              --temperature T --top-p P --repetition-penalty R --max-new-tokens N --seed S   as janus generate
              --tokenizer MODEL          default DIR/tokenizer.model (shared by both models)
            """;

    static final int MAX_N = 4096;

    private BestOfNCommand() {}

    static int run(List<String> argv, PrintStream out, PrintStream err) throws IOException, Janus.UsageException {
        Args args = new Args(argv, Set.of("--model", "--reward-model", "--prompts", "--out", "--n", "--temperature",
                "--top-p", "--repetition-penalty", "--max-new-tokens", "--seed", "--tokenizer"), Set.of());
        if (args.help()) {
            out.print(USAGE);
            return 0;
        }
        args.positionals(0, "options only");
        Path modelDir = Path.of(args.require("--model")), rmDir = Path.of(args.require("--reward-model"));
        Path promptsFile = Path.of(args.require("--prompts")), outFile = Path.of(args.require("--out"));
        ai.janus.io.AtomicFiles.checkWritable(outFile);
        Path tokenizerFile = Path.of(args.get("--tokenizer", modelDir.resolve("tokenizer.model").toString()));
        // the N samples of a prompt are decoded together: 4096 is far past any best-of-N in use, and
        // keeps the per-sample arrays and KV cache rows of a mistyped N from filling memory
        int n = args.getInt("--n", 4, 1, MAX_N);
        SamplingConfig sampling = GenerateCommand.sampling(args);
        List<ObjectNode> rows = GenerateCommand.readPrompts(promptsFile);
        try (SentencePieceTokenizer tokenizer = GenerateCommand.checkedTokenizer(tokenizerFile, modelDir, rmDir);
             HfCheckpoint.Loaded policy = HfCheckpoint.load(modelDir); RewardModel.Loaded rm = RewardModel.load(rmDir);
             Compute compute = Compute.cpu()) {
            ChatTemplate template = new ChatTemplate(tokenizer);
            BestOfN best = new BestOfN(new Generator(new Mistral(policy.config(), policy.weights(), compute.backend()), tokenizer.eosId()),
                    new RewardModel(rm.config(), rm.parameters(), compute.backend()), rm.normalization(), template);
            StringBuilder output = new StringBuilder();
            long notFinite = 0;
            for (int i = 0; i < rows.size(); i++) {
                ObjectNode row = rows.get(i);
                BestOfN.Choice c = best.choose(row.path("system").asText(""), row.get("prompt").asText(), n, sampling, i);
                row.put("response", c.bestResponse());
                row.put("best", c.best());
                ArrayNode samples = row.putArray("samples");
                for (int j = 0; j < n; j++) {
                    ObjectNode s = samples.addObject();
                    s.put("response", c.responses().get(j));
                    // JSON has no NaN (Jackson would write the string "NaN"): null, counted for one warning
                    for (String key : new String[] {"reward", "score"}) {
                        double v = key.equals("reward") ? c.rewards()[j] : c.scores()[j];
                        if (Double.isFinite(v)) {
                            s.put(key, v);
                        } else {
                            s.putNull(key);
                            notFinite++;
                        }
                    }
                }
                output.append(Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(row))
                        .append('\n');
                err.printf("best-of-%d: %d/%d prompts%n", n, i + 1, rows.size());
            }
            AtomicFiles.write(outFile, output.toString().getBytes(StandardCharsets.UTF_8));
            if (notFinite > 0) {
                err.println("warning: " + notFinite + " reward(s) or score(s) were NaN or infinite, written as null");
            }
            out.printf("janus best-of-n: %d prompts × %d samples, best answers written to %s%n", rows.size(), n,
                    outFile.toAbsolutePath());
        }
        return 0;
    }
}
