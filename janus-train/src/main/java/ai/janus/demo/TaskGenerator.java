package ai.janus.demo;

import ai.janus.data.SplitMix64;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The synthetic Multifaceted task, seeded. Instructions come from a small grammar (ask × topic ×
 * context: 8 × 16 × 16 = 2,048 distinct strings); each instruction gets
 * {@value #SYSTEMS_PER_INSTRUCTION} system messages, as in the Multifaceted Collection, each stating
 * one preference per dimension through a paraphrase template, sentences in a random order.
 *
 * <p>The held-out split is the analogue of Multifaceted Bench's unseen system messages: its
 * instructions are strings the training split does not contain, its preference combinations
 * are the 8 of the 32 that {@link #isHeldOutCombination} reserves (no training system message
 * states one of them), and its sentences come only from the held-out paraphrases. Every single
 * preference is still seen in training, only never in these combinations or wordings.
 *
 * <p>The same seed and sizes give the same tasks on every JVM ({@link SplitMix64}).
 */
public final class TaskGenerator {
    /** System messages per instruction; the pairs and the diversity metric need at least 2. */
    public static final int SYSTEMS_PER_INSTRUCTION = 3;

    /** How an instruction asks; {@code {goal}} and {@code {context}} are filled in. */
    static final List<String> ASKS = List.of("How can I {goal}{context}?", "What helps me {goal}{context}?",
            "Give me advice to {goal}{context}.", "Share some tips to {goal}{context}.",
            "What should I do to {goal}{context}?", "Tell me how to {goal}{context}.",
            "Suggest ways to {goal}{context}.", "I want to {goal}{context}. Any ideas?");
    /** Where or when; the answer does not depend on it (it makes instructions distinct, not harder). */
    static final List<String> CONTEXTS = List.of("", " at home", " as a beginner", " this month", " on a busy schedule",
            " with little money", " starting today", " without much effort", " after work", " while traveling",
            " with kids around", " in winter", " for the first time", " on weekends", " in a small flat", " at my age");

    /** Training tasks and held-out tasks, each in groups of {@value #SYSTEMS_PER_INSTRUCTION} sharing an instruction. */
    public record Split(List<Task> train, List<Task> heldOut) {
        public Split {
            train = List.copyOf(train);
            heldOut = List.copyOf(heldOut);
        }
    }

    private TaskGenerator() {}

    /** Every instruction the grammar makes: 2,048. */
    public static int instructionCount() {
        return ASKS.size() * Topic.ALL.size() * CONTEXTS.size();
    }

    /**
     * The combinations reserved for evaluation: the preference indices (format 0–3, length, tone,
     * caution 0–1) summing to a multiple of 4. That is one format for each of the 8 (length, tone,
     * caution) triples, each format twice: 8 combinations, balanced over every preference.
     */
    public static boolean isHeldOutCombination(PreferenceSet p) {
        int sum = 0;
        for (Preference q : p.preferences()) {
            sum += q.indexInDimension();
        }
        return sum % 4 == 0;
    }

    /**
     * {@code trainInstructions} and {@code heldOutInstructions} distinct instructions, drawn without
     * replacement from the grammar's, each with {@value #SYSTEMS_PER_INSTRUCTION} system messages
     * of distinct combinations.
     */
    public static Split generate(long seed, int trainInstructions, int heldOutInstructions) {
        if (trainInstructions < 1 || heldOutInstructions < 1
                || (long) trainInstructions + heldOutInstructions > instructionCount()) {
            throw new IllegalArgumentException("the grammar makes " + instructionCount() + " instructions; asked for "
                    + trainInstructions + " training and " + heldOutInstructions + " held-out ones (each at least 1)");
        }
        SplitMix64 random = new SplitMix64(seed);
        List<int[]> instructions = new ArrayList<>();   // {ask, topic, context}
        for (int a = 0; a < ASKS.size(); a++) {
            for (int t = 0; t < Topic.ALL.size(); t++) {
                for (int c = 0; c < CONTEXTS.size(); c++) {
                    instructions.add(new int[] {a, t, c});
                }
            }
        }
        shuffle(instructions, random);
        List<PreferenceSet> trainCombos = new ArrayList<>(), heldOutCombos = new ArrayList<>();
        for (PreferenceSet p : combinations()) {
            (isHeldOutCombination(p) ? heldOutCombos : trainCombos).add(p);
        }
        List<Task> heldOut = tasks(instructions.subList(0, heldOutInstructions), heldOutCombos, true, random);
        List<Task> train = tasks(instructions.subList(heldOutInstructions, heldOutInstructions + trainInstructions),
                trainCombos, false, random);
        return new Split(train, heldOut);
    }

    private static List<Task> tasks(List<int[]> instructions, List<PreferenceSet> combos, boolean heldOut,
                                    SplitMix64 random) {
        List<Task> tasks = new ArrayList<>();
        for (int[] i : instructions) {
            Topic topic = Topic.ALL.get(i[1]);
            String instruction = ASKS.get(i[0]).replace("{goal}", topic.goal()).replace("{context}", CONTEXTS.get(i[2]));
            // one forbidden word per instruction, from the first two items, which every gold answer would otherwise use
            String word = topic.items().get((int) random.nextLong(2)).key();
            for (PreferenceSet combo : heldOut ? distinct(combos, random) : neighbours(combos, random)) {
                PreferenceSet prefs = new PreferenceSet(combo.format(), combo.length(), combo.tone(), combo.caution(),
                        combo.caution() == Preference.AVOID_WORD ? word : null);
                tasks.add(new Task(instruction, topic, prefs, system(prefs, heldOut, random)));
            }
        }
        return tasks;
    }

    /** {@value #SYSTEMS_PER_INSTRUCTION} distinct combinations of the pool, uniformly. */
    private static List<PreferenceSet> distinct(List<PreferenceSet> pool, SplitMix64 random) {
        List<PreferenceSet> shuffled = new ArrayList<>(pool);
        shuffle(shuffled, random);
        return shuffled.subList(0, SYSTEMS_PER_INSTRUCTION);
    }

    /**
     * A random combination of the pool and variants of it that each change one other dimension
     * (resampled until every one is in the pool): the system messages of one instruction differ
     * in one or two dimensions, so each pair built from them says which preference made the
     * difference.
     */
    private static List<PreferenceSet> neighbours(List<PreferenceSet> pool, SplitMix64 random) {
        while (true) {
            PreferenceSet base = pool.get((int) random.nextLong(pool.size()));
            List<Dimension> dims = new ArrayList<>(List.of(Dimension.values()));
            shuffle(dims, random);
            List<PreferenceSet> out = new ArrayList<>(List.of(base));
            for (Dimension d : dims.subList(0, SYSTEMS_PER_INSTRUCTION - 1)) {
                List<Preference> others = new ArrayList<>(Preference.of(d));
                others.remove(base.of(d));
                out.add(with(base, others.get((int) random.nextLong(others.size()))));
            }
            if (pool.containsAll(out)) {
                return out;
            }
        }
    }

    private static PreferenceSet with(PreferenceSet p, Preference q) {
        return new PreferenceSet(q.dimension() == Dimension.FORMAT ? q : p.format(),
                q.dimension() == Dimension.LENGTH ? q : p.length(), q.dimension() == Dimension.TONE ? q : p.tone(),
                q.dimension() == Dimension.CAUTION ? q : p.caution(),
                q.dimension() == Dimension.CAUTION ? (q == Preference.AVOID_WORD ? "" : null) : p.forbiddenWord());
    }

    /** One sentence per preference, each from a random paraphrase of the split, in a random order. */
    static String system(PreferenceSet prefs, boolean heldOut, SplitMix64 random) {
        List<String> sentences = new ArrayList<>();
        for (Preference p : prefs.preferences()) {
            List<String> wordings = heldOut ? p.heldOutParaphrases() : p.trainParaphrases();
            String s = wordings.get((int) random.nextLong(wordings.size()));
            sentences.add(p == Preference.AVOID_WORD ? s.replace(Preference.WORD_SLOT, prefs.forbiddenWord()) : s);
        }
        shuffle(sentences, random);
        return String.join(" ", sentences);
    }

    /** All 32 combinations (no forbidden word filled in), in {@link PreferenceSet#combination()} order. */
    static List<PreferenceSet> combinations() {
        List<PreferenceSet> all = new ArrayList<>();
        for (Preference f : Preference.of(Dimension.FORMAT)) {
            for (Preference l : Preference.of(Dimension.LENGTH)) {
                for (Preference t : Preference.of(Dimension.TONE)) {
                    for (Preference c : Preference.of(Dimension.CAUTION)) {
                        all.add(new PreferenceSet(f, l, t, c, c == Preference.AVOID_WORD ? "" : null));
                    }
                }
            }
        }
        return all;
    }

    /** Fisher–Yates with {@link SplitMix64}, so the order is the same on every JVM. */
    private static <T> void shuffle(List<T> list, SplitMix64 random) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, (int) random.nextLong(i + 1));
        }
    }
}
