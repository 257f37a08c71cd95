package ai.janus.data;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** A JSONL row format of docs/spec/objectives.md: its name and how a JSON object becomes a row. */
public final class RowFormat<T> {
    /** Multifaceted Collection SFT rows: system, prompt, output. */
    public static final RowFormat<SftRow> SFT = new RowFormat<>("sft", SftRow::parse);
    /** DPO / ORPO pairs: system, prompt, chosen, rejected (strings or message lists). */
    public static final RowFormat<PreferencePair> PAIRS = new RowFormat<>("pairs", PreferencePair::parse);
    /** Reward-model pairs: input, chosen, rejected. */
    public static final RowFormat<RewardPair> REWARD = new RowFormat<>("rm", RewardPair::parse);
    /** Evaluation rows: system, prompt, reference_answer, rubric. */
    public static final RowFormat<BenchRow> BENCH = new RowFormat<>("bench", BenchRow::parse);

    @FunctionalInterface
    interface Parser<T> {
        T parse(ObjectNode row) throws FieldException;
    }

    private final String name;
    private final Parser<T> parser;

    private RowFormat(String name, Parser<T> parser) {
        this.name = name;
        this.parser = parser;
    }

    /** "sft", "pairs", "rm" or "bench". */
    public String name() {
        return name;
    }

    T parse(ObjectNode row) throws FieldException {
        return parser.parse(row);
    }

    @Override
    public String toString() {
        return name;
    }
}
