package ai.janus.demo;

import ai.janus.train.Trainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The demo's write-up: the results table (mean held-out adherence per dimension and overall, and
 * response diversity), the paper's claims checked against it with paired standard errors, the
 * stages' summary, and, in the HTML version, the training curves as inline SVG and example
 * answers. Markdown for the terminal and the README; one self-contained HTML file for a browser.
 */
final class Report {
    /** Keys of {@link #evaluations}, in table order. */
    static final String BASE = "base", SFT = "sft", NO_SYSTEM = "sft-no-system", DPO = "dpo", ORPO = "orpo",
            BEST_OF_N = "best-of-n";

    /**
     * A claim of the paper, whether it holds here, the numbers that say so, and what would likely
     * change it when it does not (shown only then).
     */
    record Claim(String statement, boolean holds, String evidence, String ifNot) {
        /** The evidence, followed by {@link #ifNot} when the claim does not hold. */
        String explained() {
            return holds ? evidence : evidence + ". " + ifNot;
        }
    }

    private final DemoSettings settings;
    private final TaskGenerator.Split split;
    private final Map<String, Evaluation> evaluations;
    private final List<DemoPipeline.StageRun> stages;
    private final Facts facts;

    /**
     * What the report states about the run besides the evaluations.
     *
     * @param parameters     the model's parameter count
     * @param pairs          preference pairs (DPO, ORPO and the reward model train on them)
     * @param rewardAccuracy the reward model's accuracy on held-out-split pairs
     * @param seconds        wall time of the whole run
     * @param peakBytes      peak resident memory (heap, off-heap tensors, native libraries), -1 if unknown
     * @param offHeapPeakBytes the most off-heap tensor memory janus held at once ({@code Storage.peakBytes()})
     */
    record Facts(long parameters, int pairs, double rewardAccuracy, double seconds, long peakBytes,
                 long offHeapPeakBytes) {}

    Report(DemoSettings settings, TaskGenerator.Split split, Map<String, Evaluation> evaluations,
           List<DemoPipeline.StageRun> stages, Facts facts) {
        for (String key : List.of(BASE, SFT, NO_SYSTEM, DPO, ORPO, BEST_OF_N)) {
            if (!evaluations.containsKey(key)) {
                throw new IllegalArgumentException("no evaluation of " + key);
            }
        }
        this.settings = settings;
        this.split = split;
        this.evaluations = evaluations;
        this.stages = stages;
        this.facts = facts;
    }

    Facts facts() {
        return facts;
    }

    /** The results table in Markdown. */
    String table() {
        StringBuilder t = new StringBuilder("| model | format | length | tone | caution | overall | ROUGE-L ↓ |\n"
                + "|---|---|---|---|---|---|---|\n");
        for (Evaluation e : evaluations.values()) {
            t.append("| ").append(e.name());
            for (Dimension d : Dimension.values()) {
                t.append(String.format(Locale.ROOT, " | %.2f", e.meanPerDimension().get(d)));
            }
            t.append(String.format(Locale.ROOT, " | **%.2f** | %.3f |%n", e.overall(), e.diversity()));
        }
        return t.toString();
    }

    /** The paper's three claims, checked on the held-out split. */
    List<Claim> claims() {
        Evaluation base = evaluations.get(BASE), sft = evaluations.get(SFT), noSystem = evaluations.get(NO_SYSTEM);
        List<Claim> claims = new ArrayList<>();
        double gain = sft.overall() - base.overall();
        claims.add(new Claim("SFT beats the base model by a wide margin (≥ 1 point)", gain >= 1,
                String.format(Locale.ROOT, "SFT %.2f vs base %.2f: %s", sft.overall(), base.overall(), delta(sft, base)),
                "More SFT steps or a larger model would: SFT has not yet learned the task"));
        StringBuilder evidence = new StringBuilder();
        boolean anyBetter = false;
        for (String key : List.of(DPO, ORPO, BEST_OF_N)) {
            Evaluation e = evaluations.get(key);
            anyBetter |= gain(e, sft).clearlyPositive(); // a gain inside one standard error is not a win
            evidence.append(evidence.isEmpty() ? "" : "; ").append(String.format(Locale.ROOT, "%s %.2f: %s", e.name(),
                    e.overall(), delta(e, sft)));
        }
        claims.add(new Claim("At least one of DPO, ORPO or best-of-N beats SFT (" + String.format(Locale.ROOT, "%.2f",
                sft.overall()) + ") by more than one paired standard error", anyBetter, evidence.toString(),
                "At this scale DPO and best-of-N raise the tone score and lose as much on length or item wording,"
                        + " and an SFT term on the chosen answers (rpo_alpha) does not stop it; a reward model trained"
                        + " also on the policy's own samples, or a held-out split where SFT leaves more to gain, would"
                        + " likely change it (docs/design-notes.md, \"Demo sizes and rates\")"));
        claims.add(new Claim("Ablating the system message at test time lowers the score (by more than one paired"
                + " standard error)", gain(sft, noSystem).clearlyPositive(),
                String.format(Locale.ROOT, "SFT without the system message %.2f vs with it %.2f: %s; ROUGE-L %.3f vs %.3f",
                        noSystem.overall(), sft.overall(), delta(noSystem, sft), noSystem.diversity(), sft.diversity()),
                "The model ignores its system message: it needs more SFT steps or more system messages per"
                        + " instruction"));
        return claims;
    }

    /** The mean of a − b over the tasks' overall scores, and its paired standard error. */
    record Gain(double mean, double se) {
        /** Above zero by more than one standard error: a difference the task sample does not explain. */
        boolean clearlyPositive() {
            return mean > se;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%+.2f ± %.2f (paired s.e.)", mean, se);
        }
    }

    static Gain gain(Evaluation a, Evaluation b) {
        int n = a.scores().size();
        double[] d = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++) {
            d[i] = a.scores().get(i).overall() - b.scores().get(i).overall();
            mean += d[i] / n;
        }
        double var = 0;
        for (double x : d) {
            var += (x - mean) * (x - mean) / Math.max(1, n - 1);
        }
        return new Gain(mean, Math.sqrt(var / n));
    }

    /** a − b overall, with the standard error of the mean paired difference over tasks. */
    static String delta(Evaluation a, Evaluation b) {
        return gain(a, b).toString();
    }

    String markdown() {
        StringBuilder m = new StringBuilder("# janus demo: the Janus recipe in miniature\n\n");
        m.append(String.format(Locale.ROOT, "Held-out split: %d tasks (%d instructions × %d system messages) whose "
                        + "preference combinations and wordings no training example has. Mean adherence 1–5 per "
                        + "dimension (rubric: `ai.janus.demo.AdherenceChecker`); ROUGE-L: mean F1 between the answers to "
                        + "the system messages of one instruction (lower = more diverse). Greedy decoding; best-of-%d "
                        + "samples at temperature %s, top-p 0.9, repetition penalty 1.03.%n%n", split.heldOut().size(),
                settings.heldOutInstructions(), TaskGenerator.SYSTEMS_PER_INSTRUCTION, settings.bestOfN(),
                StageConfigs.number(settings.bestOfNTemperature())));
        m.append(table()).append('\n');
        for (Claim c : claims()) {
            m.append("- ").append(c.holds() ? "**holds**" : "**does not hold**").append(": ").append(c.statement())
                    .append(". ").append(c.explained()).append('\n');
        }
        m.append('\n').append(stageTable()).append('\n');
        m.append(String.format(Locale.ROOT, "Reward model accuracy on held-out-split pairs (unseen system messages): "
                + "%.3f.  Wall time %s, peak resident memory %s (janus off-heap tensors: peak %s).%n",
                facts.rewardAccuracy(), duration(facts.seconds()), memory(facts.peakBytes()),
                memory(facts.offHeapPeakBytes())));
        return m.toString();
    }

    private String stageTable() {
        StringBuilder t = new StringBuilder("| stage | from | data | steps | batch | peak lr | final loss | time |\n"
                + "|---|---|---|---|---|---|---|---|\n");
        for (DemoPipeline.StageRun r : stages) {
            DemoSettings.Stage s = stage(r.name());
            Trainer.StepMetrics last = r.history().get(r.history().size() - 1);
            t.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %d %s | %s | %.4f | %.0f s |%n", r.name(),
                    r.name().equals("orpo") || r.name().equals("sft") ? "base" : "SFT", data(r.name()), last.step(),
                    s.microBatchSize(), r.name().equals("sft") ? "packed rows" : "pairs",
                    StageConfigs.number(s.learningRate()), last.loss(), r.seconds()));
        }
        return t.toString();
    }

    private DemoSettings.Stage stage(String name) {
        return switch (name) {
            case "sft" -> settings.sft();
            case "dpo" -> settings.dpo();
            case "orpo" -> settings.orpo();
            case "rm" -> settings.rm();
            default -> throw new IllegalArgumentException("unknown stage " + name);
        };
    }

    private String data(String name) {
        return name.equals("sft") ? String.format(Locale.ROOT, "%,d rows", split.train().size())
                : String.format(Locale.ROOT, "%,d pairs", facts.pairs());
    }

    String html() {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>janus demo report</title>\n<style>"
                + "body{font-family:sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#222}"
                + "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
                + "td:first-child,th:first-child{text-align:left}.ok{color:#1a7f37}.no{color:#b42318}"
                + ".charts{display:flex;flex-wrap:wrap;gap:8px}.charts svg{border:1px solid #eee}"
                + "pre{background:#f6f8fa;padding:6px;margin:4px 0;white-space:pre-wrap}small{color:#666}"
                + "</style></head><body>\n");
        h.append("<h1>janus demo: the Janus recipe in miniature</h1>\n");
        h.append("<p>").append(escape(String.format(Locale.ROOT, "A tiny Mistral (%,d parameters) trained from random "
                        + "initialisation on a synthetic Multifaceted task: %,d training rows (%,d instructions × %d system "
                        + "messages, each stating one preference of format, length, tone and caution), evaluated on %d "
                        + "held-out tasks whose preference combinations and wordings are unseen. Wall time %s, peak "
                        + "resident memory %s (janus off-heap tensors: peak %s), seed %d.", facts.parameters(),
                split.train().size(), settings.trainInstructions(), TaskGenerator.SYSTEMS_PER_INSTRUCTION,
                split.heldOut().size(), duration(facts.seconds()), memory(facts.peakBytes()),
                memory(facts.offHeapPeakBytes()), settings.seed()))).append("</p>\n");
        h.append("<h2>Held-out results</h2>\n<table><tr><th>model</th>");
        for (Dimension d : Dimension.values()) {
            h.append("<th>").append(d.label()).append("</th>");
        }
        h.append("<th>overall</th><th>ROUGE-L ↓</th></tr>\n");
        for (Evaluation e : evaluations.values()) {
            h.append("<tr><td>").append(escape(e.name())).append("</td>");
            for (Dimension d : Dimension.values()) {
                h.append(String.format(Locale.ROOT, "<td>%.2f</td>", e.meanPerDimension().get(d)));
            }
            h.append(String.format(Locale.ROOT, "<td><b>%.2f</b></td><td>%.3f</td></tr>%n", e.overall(), e.diversity()));
        }
        h.append("</table>\n<p><small>").append(escape(String.format(Locale.ROOT, "Mean adherence 1–5 over %d held-out "
                + "tasks; overall = mean of the four. Greedy decoding; best-of-%d samples at temperature %s, top-p 0.9, "
                + "repetition penalty 1.03, and the reward model (accuracy %.3f on held-out-split pairs) picks one. "
                + "ROUGE-L: mean F1 (LCS over whitespace tokens) between the answers to one instruction's system messages; "
                + "lower is more diverse.", split.heldOut().size(), settings.bestOfN(),
                StageConfigs.number(settings.bestOfNTemperature()), facts.rewardAccuracy()))).append("</small></p>\n");
        h.append("<h2>The paper's claims at this scale</h2>\n<ul>\n");
        for (Claim c : claims()) {
            h.append("<li><b class=\"").append(c.holds() ? "ok\">holds" : "no\">does not hold").append("</b>: ")
                    .append(escape(c.statement())).append(". <small>").append(escape(c.explained())).append("</small></li>\n");
        }
        h.append("</ul>\n<h2>Training</h2>\n").append(markdownTableToHtml(stageTable()));
        for (DemoPipeline.StageRun r : stages) {
            h.append("<h3>").append(r.name().toUpperCase(Locale.ROOT)).append("</h3>\n<div class=\"charts\">\n");
            for (String chart : charts(r)) {
                h.append(chart).append('\n');
            }
            h.append("</div>\n");
        }
        h.append("<h2>Example: one held-out instruction</h2>\n").append(examples());
        h.append("<h2>Rubric</h2>\n<p>").append(escape("Each dimension is scored 1–5 by ai.janus.demo.AdherenceChecker: "
                + "5 fully followed, 3 partly, 1 not (format: every item on a line of the requested kind, or one paragraph; "
                + "length: at most 20 words, or at least 4 items; tone: the tone's opener and closer, capped at 2 when the "
                + "other tone's appear; caution: the safety line, or the forbidden word absent). An answer containing none "
                + "of the topic's items scores 1 everywhere.")).append("</p>\n</body></html>\n");
        return h.toString();
    }

    /** The charts of one stage: loss, objective metrics, learning rate, gradient norm. */
    private List<String> charts(DemoPipeline.StageRun r) {
        List<Trainer.StepMetrics> hs = r.history();
        List<String> out = new ArrayList<>();
        boolean logLoss = r.name().equals("sft") || r.name().equals("orpo");
        out.add(SvgChart.render(r.name() + " loss", "step", List.of(series("loss", hs, Trainer.StepMetrics::loss)), logLoss));
        switch (r.name()) {
            case "dpo" -> {
                out.add(SvgChart.render("dpo reward margin", "step", smoothed("margin", hs, "rewards_margin"), false));
                out.add(SvgChart.render("dpo reward accuracy", "step", smoothed("accuracy", hs, "rewards_accuracy"), false));
            }
            case "orpo" -> out.add(SvgChart.render("orpo log odds ratio", "step",
                    smoothed("log odds", hs, "log_odds"), false));
            case "rm" -> {
                out.add(SvgChart.render("rm accuracy (training batches)", "step", smoothed("accuracy", hs, "accuracy"), false));
                out.add(SvgChart.render("rm rewards", "step", List.of(series("chosen", hs,
                        m -> m.objective().getOrDefault("reward_chosen", Double.NaN)), series("rejected", hs,
                        m -> m.objective().getOrDefault("reward_rejected", Double.NaN))), false));
            }
            default -> { }
        }
        out.add(SvgChart.render(r.name() + " learning rate", "step", List.of(series("lr", hs, Trainer.StepMetrics::lr)), false));
        out.add(SvgChart.render(r.name() + " grad norm (before clipping)", "step",
                List.of(series("grad norm", hs, Trainer.StepMetrics::gradNorm)), false));
        return out;
    }

    private static SvgChart.Series series(String name, List<Trainer.StepMetrics> hs, ToDoubleFunction<Trainer.StepMetrics> f) {
        double[] x = new double[hs.size()], y = new double[hs.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = hs.get(i).step();
            y[i] = f.applyAsDouble(hs.get(i));
        }
        return new SvgChart.Series(name, x, y);
    }

    /** A per-step metric and its mean over the last 10 steps (per-batch values are noisy). */
    private static List<SvgChart.Series> smoothed(String name, List<Trainer.StepMetrics> hs, String key) {
        SvgChart.Series raw = series(name, hs, m -> m.objective().getOrDefault(key, Double.NaN));
        double[] avg = new double[raw.y().length];
        double sum = 0;
        for (int i = 0; i < avg.length; i++) {
            sum += raw.y()[i] - (i >= 10 ? raw.y()[i - 10] : 0);
            avg[i] = sum / Math.min(i + 1, 10);
        }
        return List.of(raw, new SvgChart.Series("mean of 10", raw.x(), avg));
    }

    /** The first held-out instruction: each system message, the gold answer and every model's answer with its score. */
    private String examples() {
        StringBuilder h = new StringBuilder();
        List<Task> tasks = split.heldOut();
        for (int i = 0; i < Math.min(TaskGenerator.SYSTEMS_PER_INSTRUCTION, tasks.size()); i++) {
            Task t = tasks.get(i);
            h.append("<h3>").append(escape(t.preferences().describe())).append("</h3>\n<p><b>system</b> ")
                    .append(escape(t.system())).append("<br><b>prompt</b> ").append(escape(t.instruction()))
                    .append("</p>\n<table><tr><th>model</th><th>answer</th><th>overall</th></tr>\n")
                    .append("<tr><td>gold</td><td><pre>").append(escape(GoldWriter.write(t))).append("</pre></td><td>5.00</td></tr>\n");
            for (Evaluation e : evaluations.values()) {
                h.append("<tr><td>").append(escape(e.name())).append("</td><td><pre>").append(escape(e.responses().get(i)))
                        .append(String.format(Locale.ROOT, "</pre></td><td>%.2f</td></tr>%n", e.scores().get(i).overall()));
            }
            h.append("</table>\n");
        }
        return h.toString();
    }

    private static String markdownTableToHtml(String markdown) {
        StringBuilder h = new StringBuilder("<table>\n");
        String[] lines = markdown.strip().split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (i == 1) {
                continue;   // the |---| line
            }
            String cell = i == 0 ? "th" : "td";
            h.append("<tr>");
            for (String c : lines[i].substring(1, lines[i].length() - 1).split("\\|")) {
                h.append('<').append(cell).append('>').append(escape(c.strip())).append("</").append(cell).append('>');
            }
            h.append("</tr>\n");
        }
        return h.append("</table>\n").toString();
    }

    static String escape(String s) {
        return SvgChart.escape(s);
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }

    static String memory(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f MiB", bytes / (1024.0 * 1024.0));
    }
}
