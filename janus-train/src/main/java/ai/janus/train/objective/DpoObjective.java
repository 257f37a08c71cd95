package ai.janus.train.objective;

import ai.janus.data.PairExample;
import ai.janus.data.batch.PairBatch;
import ai.janus.data.batch.TrainingBatch;
import ai.janus.loss.DpoLoss;
import ai.janus.loss.ModelLosses;
import ai.janus.model.Mistral;
import ai.janus.model.ParameterSet;
import java.util.List;
import java.util.Map;

/**
 * DPO (TRL sigmoid loss) against the frozen reference's log-probs, computed before training and
 * cached ({@link ReferenceLogProbs}), plus TRL's RPO term rpo_alpha · NLL of the chosen answers
 * (normalised by the step's chosen tokens) when rpo_alpha &gt; 0; metrics: chosen and rejected
 * rewards, margin, accuracy, and the chosen answers' NLL per token (measured at any rpo_alpha).
 */
public final class DpoObjective extends PairObjective {
    private final Mistral policy;
    private final ReferenceLogProbs reference;
    private final DpoLoss loss;

    public DpoObjective(Mistral policy, List<PairExample> pairs, ReferenceLogProbs reference, DpoLoss loss,
                        boolean checkpointing) {
        super("dpo", pairs, checkpointing);
        if (reference.pairs() != pairs.size()) {
            throw new IllegalArgumentException("reference log-probs of " + reference.pairs() + " pairs for "
                    + pairs.size() + " pairs");
        }
        this.policy = policy;
        this.reference = reference;
        this.loss = loss;
    }

    @Override
    public Result run(int[] samples, Weight step, ParameterSet grads) {
        double[] refChosen = new double[samples.length], refRejected = new double[samples.length];
        for (int i = 0; i < samples.length; i++) {
            refChosen[i] = reference.chosen(samples[i], samples[i] + 1)[0];
            refRejected[i] = reference.rejected(samples[i], samples[i] + 1)[0];
        }
        TrainingBatch batch = PairBatch.packed(pairsOf(samples));
        DpoLoss.Result r = ModelLosses.dpo(policy, batch.tokens(), batch.labels(), refChosen, refRejected, loss,
                step.pairs(), step.tokens(), grads, checkpointing);
        DpoLoss.Metrics m = r.metrics();
        return new Result(r.loss(), Map.of(
                "rewards_chosen", share(m.chosenReward(), m.pairs(), step.pairs()),
                "rewards_rejected", share(m.rejectedReward(), m.pairs(), step.pairs()),
                "rewards_margin", share(m.margin(), m.pairs(), step.pairs()),
                "rewards_accuracy", share(m.accuracy(), m.pairs(), step.pairs()),
                "nll", m.nll() * m.chosenTokens() / step.tokens()), batch.labels().length);
    }
}
