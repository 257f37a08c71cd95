package ai.janus.demo;

import ai.janus.data.PairBuilder;
import ai.janus.data.PreferencePair;
import ai.janus.data.SftRow;
import ai.janus.data.SourceRow;
import ai.janus.io.AtomicFiles;
import ai.janus.io.Json;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo's data files, in the formats the trainers read (README, "Data"):
 * <ul>
 *   <li>{@code sft.jsonl}: every training task as {system, prompt, output = gold answer};</li>
 *   <li>{@code pairs.jsonl}: {@link PairBuilder}'s pairs from those rows, as the paper built them
 *       (chosen = the answer written for the system message, rejected = the answer written for
 *       another system message of the same instruction);</li>
 *   <li>{@code rm.jsonl}: the same pairs in the reward-model format {input = system + "\n" +
 *       prompt, chosen, rejected};</li>
 *   <li>{@code heldout.jsonl}: the evaluation tasks, {system, prompt, reference_answer,
 *       preferences}, for a reader to inspect (the pipeline keeps the tasks in memory).</li>
 * </ul>
 */
public final class DemoData {
    private static final ObjectWriter LINE = Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT);

    /** Where the files are, and how many pairs there are. */
    public record Files(Path sft, Path pairs, Path rm, Path heldOut, int pairCount) {}

    private DemoData() {}

    public static Files write(TaskGenerator.Split split, Path dir, long seed) throws IOException {
        List<SourceRow<SftRow>> rows = new ArrayList<>();
        StringBuilder sft = new StringBuilder();
        for (Task t : split.train()) {
            SftRow row = new SftRow(t.system(), t.instruction(), GoldWriter.write(t), Map.of());
            rows.add(new SourceRow<>(rows.size() + 1, row));
            sft.append(line("system", row.system(), "prompt", row.prompt(), "output", row.output()));
        }
        List<SourceRow<PreferencePair>> pairs = PairBuilder.build(rows, seed).pairs();
        StringBuilder dpo = new StringBuilder(), rm = new StringBuilder();
        for (SourceRow<PreferencePair> sp : pairs) {
            PreferencePair p = sp.row();
            dpo.append(line("system", p.system(), "prompt", p.prompt(), "chosen", p.chosen(), "rejected",
                    p.rejected()));
            rm.append(line("input", p.system() + "\n" + p.prompt(), "chosen", p.chosen(), "rejected",
                    p.rejected()));
        }
        StringBuilder heldOut = new StringBuilder();
        for (Task t : split.heldOut()) {
            heldOut.append(line("system", t.system(), "prompt", t.instruction(), "reference_answer", GoldWriter.write(t),
                    "preferences", t.preferences().describe()));
        }
        Files files = new Files(dir.resolve("sft.jsonl"), dir.resolve("pairs.jsonl"), dir.resolve("rm.jsonl"),
                dir.resolve("heldout.jsonl"), pairs.size());
        AtomicFiles.write(files.sft(), sft.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(files.pairs(), dpo.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(files.rm(), rm.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(files.heldOut(), heldOut.toString().getBytes(StandardCharsets.UTF_8));
        return files;
    }

    /** One JSON line of string fields, in the order given (so the files are the same bytes in every run). */
    private static String line(String... keysAndValues) throws IOException {
        Map<String, String> row = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            row.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return LINE.writeValueAsString(row) + "\n";
    }
}
