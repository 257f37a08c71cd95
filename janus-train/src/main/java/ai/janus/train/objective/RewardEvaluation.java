package ai.janus.train.objective;

import ai.janus.data.PairExample;
import ai.janus.data.batch.RewardBatch;
import ai.janus.model.RewardModel;
import ai.janus.model.RewardNormalization;
import java.util.List;

/**
 * A reward model on held-out pairs: its accuracy, and the mean and standard deviation of all its
 * rewards (chosen and rejected together, as OpenRLHF measures them), which are stored with the
 * model ({@code RewardModel.save}) to normalise rewards at best-of-N time.
 *
 * @param pairs         pairs scored
 * @param accuracy      fraction of pairs whose chosen reward is strictly above the rejected one
 * @param normalization mean and sample standard deviation of the 2·pairs rewards
 */
public record RewardEvaluation(long pairs, double accuracy, RewardNormalization normalization) {
    /** Scores {@code heldOut} in packed micro-batches of {@code pairsPerBatch} pairs. */
    public static RewardEvaluation of(RewardModel model, List<PairExample> heldOut, int pairsPerBatch) {
        if (pairsPerBatch < 1 || heldOut.isEmpty()) {
            throw new IllegalArgumentException("need pairs to evaluate (" + heldOut.size() + ") and pairsPerBatch >= 1 ("
                    + pairsPerBatch + ")");
        }
        int p = heldOut.size();
        double[] all = new double[2 * p];
        long wins = 0;
        for (int from = 0; from < p; from += pairsPerBatch) {
            int k = Math.min(pairsPerBatch, p - from);
            RewardBatch batch = RewardBatch.pairs(heldOut.subList(from, from + k), RewardBatch.Layout.PACKED, 0);
            double[] r = model.rewards(batch.tokens(), batch.lastTokens());
            for (int i = 0; i < k; i++) {
                all[from + i] = r[i];
                all[p + from + i] = r[k + i];
                wins += r[i] > r[k + i] ? 1 : 0;
            }
        }
        return new RewardEvaluation(p, (double) wins / p, RewardNormalization.of(all));
    }
}
