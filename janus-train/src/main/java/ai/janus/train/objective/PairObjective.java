package ai.janus.train.objective;

import ai.janus.data.PairExample;
import java.util.ArrayList;
import java.util.List;

/** What the three pair objectives share: samples are pairs, the step normaliser counts pairs (and chosen tokens). */
abstract class PairObjective implements Objective {
    final List<PairExample> pairs;
    /** Whether the model's forward keeps only each layer's input and recomputes the rest in the backward. */
    final boolean checkpointing;
    private final String name;

    PairObjective(String name, List<PairExample> pairs, boolean checkpointing) {
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("no preference pairs to train on");
        }
        this.name = name;
        this.pairs = pairs;
        this.checkpointing = checkpointing;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return pairs.size();
    }

    @Override
    public Weight weight(int[] samples) {
        long chosenTokens = 0;
        for (int s : samples) {
            chosenTokens += pairs.get(s).chosen().supervisedTokens();
        }
        return new Weight(samples.length, chosenTokens);
    }

    /** The pairs of a micro-batch, in sample order. */
    protected List<PairExample> pairsOf(int[] samples) {
        List<PairExample> out = new ArrayList<>(samples.length);
        for (int s : samples) {
            out.add(pairs.get(s));
        }
        return out;
    }

    @Override
    public String describe(int[] samples) {
        return "pairs of data lines " + pairsOf(samples).stream().map(p -> Long.toString(p.line())).toList();
    }

    /** A mean over this call's pairs as a contribution to the step's mean. */
    protected static double share(double mean, long pairs, long stepPairs) {
        return mean * pairs / stepPairs;
    }
}
