package ai.janus.train.objective;

import ai.janus.data.PairExample;
import ai.janus.data.batch.PairBatch;
import ai.janus.data.batch.TrainingBatch;
import ai.janus.loss.ModelLosses;
import ai.janus.loss.OrpoLoss;
import ai.janus.model.Mistral;
import ai.janus.model.ParameterSet;
import java.util.List;
import java.util.Map;

/**
 * ORPO (TRL): the chosen answers' NLL, normalised by the step's chosen tokens, plus λ times the
 * odds-ratio loss, a mean over the step's pairs; metrics: log-odds, ratio, NLL.
 */
public final class OrpoObjective extends PairObjective {
    private final Mistral policy;
    private final OrpoLoss loss;

    public OrpoObjective(Mistral policy, List<PairExample> pairs, OrpoLoss loss, boolean checkpointing) {
        super("orpo", pairs, checkpointing);
        this.policy = policy;
        this.loss = loss;
    }

    @Override
    public Result run(int[] samples, Weight step, ParameterSet grads) {
        TrainingBatch batch = PairBatch.packed(pairsOf(samples));
        OrpoLoss.Result r = ModelLosses.orpo(policy, batch.tokens(), batch.labels(), loss, step.pairs(), step.tokens(),
                grads, checkpointing);
        OrpoLoss.Metrics m = r.metrics();
        return new Result(r.loss(), Map.of(
                "log_odds", share(m.logOdds(), m.pairs(), step.pairs()),
                "log_odds_ratio", share(m.ratio(), m.pairs(), step.pairs()),
                "nll", m.nll() * m.chosenTokens() / step.tokens()), batch.labels().length);
    }
}
