package ai.janus.train.objective;

import ai.janus.data.SftExample;
import ai.janus.data.TemplatedSequence;
import ai.janus.data.batch.TrainingBatch;
import ai.janus.loss.ModelLosses;
import ai.janus.loss.SftLoss;
import ai.janus.model.Mistral;
import ai.janus.model.ParameterSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Supervised fine-tuning: L = −(1/|M|) Σ_{t∈M} log p_t, with M the supervised tokens (answer and
 * EOS) of the whole optimizer step. A sample is a group of examples (a packed row when packing,
 * else one example); a micro-batch of samples runs as one packed token stream, each example its
 * own segment, so no example attends to another and no padding is computed.
 */
public final class SftObjective implements Objective {
    private final Mistral model;
    private final List<SftExample> examples;
    private final List<int[]> samples;
    private final boolean checkpointing;

    /** @param samples each sample's example indices (one per sample without packing) */
    public SftObjective(Mistral model, List<SftExample> examples, List<int[]> samples, boolean checkpointing) {
        this.model = model;
        this.examples = examples;
        this.samples = samples;
        this.checkpointing = checkpointing;
    }

    @Override
    public String name() {
        return "sft";
    }

    @Override
    public int size() {
        return samples.size();
    }

    @Override
    public String describe(int[] batch) {
        List<Long> lines = new ArrayList<>();
        for (int s : batch) {
            for (int e : samples.get(s)) {
                lines.add(examples.get(e).line());
            }
        }
        return "examples of data lines " + lines;
    }

    @Override
    public Weight weight(int[] batch) {
        long tokens = 0;
        for (int s : batch) {
            for (int e : samples.get(s)) {
                tokens += examples.get(e).sequence().supervisedTokens();
            }
        }
        return new Weight(batch.length, tokens);
    }

    @Override
    public Result run(int[] batch, Weight step, ParameterSet grads) {
        List<TemplatedSequence> sequences = new ArrayList<>();
        List<Long> ids = new ArrayList<>();
        for (int s : batch) {
            for (int e : samples.get(s)) {
                sequences.add(examples.get(e).sequence());
                ids.add(examples.get(e).line());
            }
        }
        TrainingBatch tb = TrainingBatch.packed(sequences, ids.stream().mapToLong(Long::longValue).toArray());
        // L = −Σ log p / stepWeight (the step's supervised tokens): the one SFT loss, ai.janus.loss.SftLoss
        SftLoss.Result r = ModelLosses.sft(model, tb.tokens(), tb.labels(), step.tokens(), grads, checkpointing);
        return new Result(r.loss(), Map.of("supervised_tokens", (double) r.tokens()), tb.labels().length);
    }
}
