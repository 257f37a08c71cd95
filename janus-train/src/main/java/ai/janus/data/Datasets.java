package ai.janus.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Whole-file loads: stream a JSONL file through its {@link RowFormat}, the {@link Validator} and,
 * for training data, the {@link ChatTemplate}; return what was kept. Each load ends with
 * {@link Validator#finish}, which fails it when too many rows were dropped. Use:
 *
 * <pre>{@code
 * Validator validator = new Validator(file, ValidationRules.defaults(8192).with(Reason.TOO_LONG, Action.TRUNCATE));
 * try {
 *     List<SftExample> examples = Datasets.sft(new ChatTemplate(tokenizer), validator);
 * } finally {
 *     System.err.print(validator.summary());   // always printed, also when the load failed
 * }
 * }</pre>
 */
public final class Datasets {
    private Datasets() {}

    /** The rows of the file whose fields are valid (bench rows; SFT rows for {@link PairBuilder}). */
    public static <T> List<SourceRow<T>> rows(RowFormat<T> format, Validator validator) throws DataException {
        List<SourceRow<T>> rows = new ArrayList<>();
        try (RowReader<T> reader = RowReader.open(format, validator)) {
            for (SourceRow<T> row; (row = reader.next()) != null; ) {
                rows.add(row);
            }
        }
        validator.finish();
        return rows;
    }

    /** SFT rows as training sequences. */
    public static List<SftExample> sft(ChatTemplate template, Validator validator) throws DataException {
        List<SftExample> examples = new ArrayList<>();
        try (RowReader<SftRow> reader = RowReader.open(RowFormat.SFT, validator)) {
            for (SourceRow<SftRow> r; (r = reader.next()) != null; ) {
                SftRow row = r.row();
                TemplatedSequence sequence = template.training(row.system(), row.prompt(), row.output());
                TemplatedSequence[] kept = validator.admit(r.line(), new Validator.Candidate("output", row.output(), sequence));
                if (kept != null) {
                    examples.add(new SftExample(r.line(), kept[0]));
                }
            }
        }
        validator.finish();
        return examples;
    }

    /** DPO / ORPO pairs as two training sequences each. */
    public static List<PairExample> preferencePairs(ChatTemplate template, Validator validator) throws DataException {
        List<PairExample> examples = new ArrayList<>();
        try (RowReader<PreferencePair> reader = RowReader.open(RowFormat.PAIRS, validator)) {
            for (SourceRow<PreferencePair> r; (r = reader.next()) != null; ) {
                addPair(examples, r, template, validator);
            }
        }
        validator.finish();
        return examples;
    }

    /**
     * Pairs made in memory (by {@link PairBuilder}) as two training sequences each; each pair's line
     * is the line of its chosen row in the validator's file.
     */
    public static List<PairExample> preferencePairs(List<SourceRow<PreferencePair>> pairs, ChatTemplate template,
                                                    Validator validator) throws DataException {
        List<PairExample> examples = new ArrayList<>();
        for (SourceRow<PreferencePair> r : pairs) {
            validator.rowRead();
            addPair(examples, r, template, validator);
        }
        validator.finish();
        return examples;
    }

    private static void addPair(List<PairExample> examples, SourceRow<PreferencePair> r, ChatTemplate template,
                                Validator validator) throws DataException {
        PreferencePair pair = r.row();
        int[] prompt = template.prompt(pair.system(), pair.prompt());
        TemplatedSequence[] kept = validator.admit(r.line(),
                new Validator.Candidate("chosen", pair.chosen(), template.training(prompt, pair.chosen())),
                new Validator.Candidate("rejected", pair.rejected(), template.training(prompt, pair.rejected())));
        if (kept != null) {
            examples.add(new PairExample(r.line(), kept[0], kept[1]));
        }
    }

    /**
     * Reward-model pairs as two reward inputs each. {@code input} already joins system message and
     * instruction with "\n", so it fills the user turn alone: "[INST] {input} [/INST]".
     */
    public static List<PairExample> rewardPairs(ChatTemplate template, Validator validator) throws DataException {
        List<PairExample> examples = new ArrayList<>();
        try (RowReader<RewardPair> reader = RowReader.open(RowFormat.REWARD, validator)) {
            for (SourceRow<RewardPair> r; (r = reader.next()) != null; ) {
                RewardPair pair = r.row();
                int[] prompt = template.prompt("", pair.input());
                TemplatedSequence[] kept = validator.admit(r.line(),
                        new Validator.Candidate("chosen", pair.chosen(), template.rewardInput(prompt, pair.chosen())),
                        new Validator.Candidate("rejected", pair.rejected(), template.rewardInput(prompt, pair.rejected())));
                if (kept != null) {
                    examples.add(new PairExample(r.line(), kept[0], kept[1]));
                }
            }
        }
        validator.finish();
        return examples;
    }
}
