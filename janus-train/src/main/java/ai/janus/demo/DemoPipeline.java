package ai.janus.demo;

import ai.janus.backend.Backend;
import ai.janus.compute.Compute;
import ai.janus.data.ChatTemplate;
import ai.janus.data.TemplatedSequence;
import ai.janus.data.batch.RewardBatch;
import ai.janus.data.tokenizer.SentencePieceTokenizer;
import ai.janus.generate.BestOfN;
import ai.janus.generate.Generator;
import ai.janus.generate.SamplingConfig;
import ai.janus.io.AtomicFiles;
import ai.janus.io.Json;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.Mistral;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.tensor.DType;
import ai.janus.tensor.Storage;
import ai.janus.train.ModelExport;
import ai.janus.train.OutputDirectory;
import ai.janus.train.Trainer;
import ai.janus.train.TrainingRun;
import ai.janus.train.config.RunConfig;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code janus demo}: the Janus recipe end to end on the synthetic task, everything under one
 * output directory:
 *
 * <pre>
 * tokenizer.model     the shipped SentencePiece model (examples/demo/tokenizer.model)
 * data/               sft.jsonl, pairs.jsonl, rm.jsonl, heldout.jsonl ({@link DemoData})
 * base/               the random-init tiny Mistral
 * configs/            the four run configs ({@link StageConfigs}); logs/ their full training logs
 * sft/ dpo/ orpo/ rm/ each stage's metrics.jsonl, checkpoint and final/ model
 * eval/               every model's held-out answers with their scores
 * results.md          the table; report.html the table, the claims and the training curves
 * </pre>
 *
 * Stages: base → SFT → DPO from SFT; ORPO from base; reward model from SFT → best-of-N on SFT.
 * Evaluation decodes greedily (best-of-N samples, at the settings' temperature) on the held-out
 * split. The same settings and seed give the same bits on the same machine and thread count.
 */
public final class DemoPipeline {
    /** The file in an output directory that marks it as the demo's, so a rerun may replace it. */
    static final String MARKER = ".janus-demo";
    static final String TOKENIZER_RESOURCE = "/ai/janus/demo/tokenizer.model";

    /** A training stage's run: its step metrics and wall time. */
    public record StageRun(String name, List<Trainer.StepMetrics> history, double seconds) {}

    /**
     * What a run produced: the evaluations by key (base, sft, sft-no-system, dpo, orpo, best-of-n)
     * in table order, and the peak resident and janus off-heap memory in bytes (-1: unknown).
     */
    public record Result(Map<String, Evaluation> evaluations, List<StageRun> stages, double rewardAccuracy,
                         String table, Path markdown, Path report, double seconds, long peakResidentBytes,
                         long offHeapPeakBytes) {}

    private DemoPipeline() {}

    public static Result run(DemoSettings settings, Path out, PrintStream console, boolean terminal) throws IOException {
        long start = System.nanoTime();
        Storage.resetPeakBytes();
        prepare(out);
        Path tokenizerFile = out.resolve("tokenizer.model");
        copyTokenizer(tokenizerFile);
        TaskGenerator.Split split = TaskGenerator.generate(settings.seed(), settings.trainInstructions(),
                settings.heldOutInstructions());
        DemoData.Files data = DemoData.write(split, Files.createDirectories(out.resolve("data")), settings.seed());
        console.printf("janus demo: %,d training rows (%,d instructions × %d system messages), %,d preference pairs, "
                        + "%,d held-out tasks with unseen system messages → %s%n", split.train().size(),
                settings.trainInstructions(), TaskGenerator.SYSTEMS_PER_INSTRUCTION, data.pairCount(),
                split.heldOut().size(), out.resolve("data"));
        MistralConfig config;
        try (SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(tokenizerFile)) {
            config = settings.model().config(tokenizer.vocabSize());
        }
        try (ParameterSet params = ParameterSet.allocate(MistralWeights.specs(config))) {
            MistralWeights.initialize(config, params, settings.seed());
            ModelExport.export(out.resolve("base"), config, params, DType.F32, tokenizerFile);
        }
        console.printf("base:  random Mistral, %,d parameters (%d layers, hidden %d, %d heads / %d kv heads, ffn %d, "
                        + "vocab %d)%n", config.parameterCount(), config.numHiddenLayers(), config.hiddenSize(),
                config.numAttentionHeads(), config.numKeyValueHeads(), config.intermediateSize(), config.vocabSize());
        List<StageRun> stages = new ArrayList<>();
        stages.add(train(out, "sft", StageConfigs.sft(settings, out), TrainingRun.Stage.SFT, console, terminal));
        stages.add(train(out, "dpo", StageConfigs.dpo(settings, out), TrainingRun.Stage.DPO, console, terminal));
        stages.add(train(out, "orpo", StageConfigs.orpo(settings, out), TrainingRun.Stage.ORPO, console, terminal));
        stages.add(train(out, "rm", StageConfigs.rm(settings, out), TrainingRun.Stage.RM, console, terminal));

        long evalStart = System.nanoTime();
        Map<String, Evaluation> evaluations = new LinkedHashMap<>();
        double rewardAccuracy;
        List<Task> tasks = split.heldOut();
        try (SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(tokenizerFile);
             Compute compute = Compute.cpu()) {
            ChatTemplate template = new ChatTemplate(tokenizer);
            // {key, name in the table, model directory}; the key "sft-no-system" drops the system message
            String[][] greedyModels = {{"base", "base (random init)", "base"}, {"sft", "SFT", "sft/final"},
                    {"sft-no-system", "SFT, no system message at test time", "sft/final"},
                    {"dpo", "DPO (from SFT)", "dpo/final"}, {"orpo", "ORPO (from base)", "orpo/final"}};
            for (String[] m : greedyModels) {
                evaluations.put(m[0], greedy(out, m[0], m[1], out.resolve(m[2]), template, tasks,
                        !m[0].equals("sft-no-system"), settings, compute.backend()));
            }
            try (HfCheckpoint.Loaded policy = HfCheckpoint.load(out.resolve("sft/final"));
                 RewardModel.Loaded rm = RewardModel.load(out.resolve("rm/final"))) {
                RewardModel rewardModel = new RewardModel(rm.config(), rm.parameters(), compute.backend());
                rewardAccuracy = heldOutPairAccuracy(rewardModel, template, tasks);
                BestOfN bestOfN = new BestOfN(new Generator(new Mistral(policy.config(), policy.weights(), compute.backend()),
                        tokenizer.eosId()), rewardModel, rm.normalization(), template);
                SamplingConfig sampling = new SamplingConfig(settings.bestOfNTemperature(), 0.9, 1.03,
                        settings.maxNewTokens(), settings.seed());
                String name = "best-of-" + settings.bestOfN() + " on SFT (reward model from SFT)";
                evaluations.put("best-of-n", save(out, "best-of-n", Evaluation.of(name, tasks,
                        Evaluation.bestOfN(bestOfN, tasks, settings.bestOfN(), sampling)), tasks));
            }
        }
        console.printf("eval:  %d held-out tasks × 5 greedy models + best-of-%d, %.0f s%n", tasks.size(),
                settings.bestOfN(), (System.nanoTime() - evalStart) / 1e9);
        double seconds = (System.nanoTime() - start) / 1e9;
        Report report = new Report(settings, split, evaluations, stages, new Report.Facts(config.parameterCount(),
                data.pairCount(), rewardAccuracy, seconds, PeakMemory.read(), Storage.peakBytes()));
        Path markdown = out.resolve("results.md"), html = out.resolve("report.html");
        AtomicFiles.write(markdown, report.markdown().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(html, report.html().getBytes(StandardCharsets.UTF_8));
        return new Result(evaluations, stages, rewardAccuracy, report.table(), markdown, html, seconds,
                report.facts().peakBytes(), report.facts().offHeapPeakBytes());
    }

    /**
     * Makes {@code out} an empty demo directory. An earlier demo's directory (it holds the
     * marker) is replaced; any other non-empty directory is refused, so a mistyped {@code --out}
     * never deletes someone's files.
     */
    static void prepare(Path out) throws IOException {
        OutputDirectory.refuseForeign(out, MARKER, "choose another --out");
        if (Files.isDirectory(out)) {
            try (Stream<Path> walk = Files.walk(out)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    if (!p.equals(out)) {
                        Files.delete(p);
                    }
                }
            }
        }
        Files.createDirectories(out);
        Files.writeString(out.resolve(MARKER), "written by janus demo; the next janus demo run here replaces this directory\n");
    }

    private static void copyTokenizer(Path target) throws IOException {
        try (InputStream in = DemoPipeline.class.getResourceAsStream(TOKENIZER_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the demo tokenizer " + TOKENIZER_RESOURCE + " is missing from the jar;"
                        + " rebuild janus");
            }
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static StageRun train(Path out, String name, String yaml, TrainingRun.Stage stage, PrintStream console,
                                  boolean terminal) throws IOException {
        Path file = Files.createDirectories(out.resolve("configs")).resolve(name + ".yaml");
        AtomicFiles.write(file, yaml.getBytes(StandardCharsets.UTF_8));
        RunConfig config = RunConfig.read(file);
        Path logFile = Files.createDirectories(out.resolve("logs")).resolve(name + ".log");
        long start = System.nanoTime();
        List<Trainer.StepMetrics> history;
        try (OutputStream logOut = Files.newOutputStream(logFile);
             PrintStream log = new PrintStream(logOut, true, StandardCharsets.UTF_8)) {
            history = TrainingRun.run(config, null, stage, log, new DemoProgress(console, terminal, name));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Trainer.StepMetrics last = history.get(history.size() - 1);
        console.printf("%-5s  %d steps, final loss %.4f, %.0f s (log: %s)%n", name + ":", last.step(), last.loss(), seconds,
                logFile);
        return new StageRun(name, history, seconds);
    }

    private static Evaluation greedy(Path out, String key, String name, Path model, ChatTemplate template, List<Task> tasks,
                                     boolean withSystem, DemoSettings settings, Backend backend) throws IOException {
        try (HfCheckpoint.Loaded loaded = HfCheckpoint.load(model)) {
            Generator generator = new Generator(new Mistral(loaded.config(), loaded.weights(), backend),
                    template.tokenizer().eosId());
            return save(out, key, Evaluation.of(name, tasks,
                    Evaluation.greedy(generator, template, tasks, withSystem, settings.maxNewTokens())), tasks);
        }
    }

    /** Writes eval/KEY.jsonl: each task's system, prompt, answer and scores. */
    private static Evaluation save(Path out, String key, Evaluation e, List<Task> tasks) throws IOException {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < tasks.size(); i++) {
            AdherenceChecker.Scores s = e.scores().get(i);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("system", tasks.get(i).system());
            row.put("prompt", tasks.get(i).instruction());
            row.put("preferences", tasks.get(i).preferences().describe());
            row.put("response", e.responses().get(i));
            row.put("format", s.format());
            row.put("length", s.length());
            row.put("tone", s.tone());
            row.put("caution", s.caution());
            row.put("overall", s.overall());
            lines.append(Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(row))
                    .append('\n');
        }
        AtomicFiles.write(Files.createDirectories(out.resolve("eval")).resolve(key + ".jsonl"),
                lines.toString().getBytes(StandardCharsets.UTF_8));
        return e;
    }

    /**
     * The reward model's accuracy on pairs of the held-out split: for every ordered pair of an
     * instruction's system messages, the gold answer for the first must outscore the gold answer
     * for the second under the first's system message.
     */
    static double heldOutPairAccuracy(RewardModel rm, ChatTemplate template, List<Task> tasks) {
        int right = 0, total = 0;
        for (int i = 0; i + TaskGenerator.SYSTEMS_PER_INSTRUCTION <= tasks.size(); i += TaskGenerator.SYSTEMS_PER_INSTRUCTION) {
            List<Task> group = tasks.subList(i, i + TaskGenerator.SYSTEMS_PER_INSTRUCTION);
            for (Task a : group) {
                List<TemplatedSequence> inputs = new ArrayList<>();
                for (Task b : group) {
                    inputs.add(template.rewardInput(a.system(), a.instruction(), GoldWriter.write(b)));
                }
                long[] ids = new long[inputs.size()];
                for (int k = 0; k < ids.length; k++) {
                    ids[k] = k;
                }
                RewardBatch batch = RewardBatch.of(inputs, ids, RewardBatch.Layout.PACKED, 0);
                double[] r = rm.rewards(batch.tokens(), batch.lastTokens());
                int own = group.indexOf(a);
                for (int k = 0; k < r.length; k++) {
                    if (k != own) {
                        right += r[own] > r[k] ? 1 : 0;
                        total++;
                    }
                }
            }
        }
        return total == 0 ? Double.NaN : (double) right / total;
    }
}
