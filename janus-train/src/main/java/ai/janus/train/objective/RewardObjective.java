package ai.janus.train.objective;

import ai.janus.data.PairExample;
import ai.janus.data.batch.RewardBatch;
import ai.janus.loss.BradleyTerryLoss;
import ai.janus.loss.ModelLosses;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The reward model's Bradley-Terry loss {@code mean(−log σ(r_c − r_r − margin))}, rewards read
 * at each sequence's EOS; metrics: accuracy, mean chosen and rejected rewards.
 */
public final class RewardObjective extends PairObjective {
    private final RewardModel model;
    private final double margin;

    public RewardObjective(RewardModel model, List<PairExample> pairs, double margin, boolean checkpointing) {
        super("rm", pairs, checkpointing);
        this.model = model;
        this.margin = margin;
    }

    @Override
    public Result run(int[] samples, Weight step, ParameterSet grads) {
        RewardBatch batch = RewardBatch.pairs(pairsOf(samples), RewardBatch.Layout.PACKED, 0);
        double[] margins = new double[samples.length];
        Arrays.fill(margins, margin);
        BradleyTerryLoss.Result r = ModelLosses.reward(model, batch.tokens(), batch.lastTokens(),
                margin == 0 ? null : margins, step.pairs(), grads, checkpointing);
        BradleyTerryLoss.Metrics m = r.metrics();
        return new Result(r.loss(), Map.of(
                "accuracy", share(m.accuracy(), m.pairs(), step.pairs()),
                "reward_chosen", share(m.chosenReward(), m.pairs(), step.pairs()),
                "reward_rejected", share(m.rejectedReward(), m.pairs(), step.pairs())), batch.tokens().size());
    }
}
