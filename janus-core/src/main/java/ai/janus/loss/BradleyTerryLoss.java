package ai.janus.loss;

/**
 * The reward model's Bradley-Terry loss (docs/spec/objectives.md, "Reward model"; OpenRLHF's PairWiseLoss),
 * per pair i with rewards r_c, r_r and an optional margin m_i (0 unless given):
 *
 * <pre>
 * L = (1/P_step) Σ_i −log σ(r_c,i − r_r,i − m_i)
 * dL/dr_c,i = −dL/dr_r,i = −σ(−(r_c,i − r_r,i − m_i)) / P_step
 * accuracy  = mean(r_c &gt; r_r)
 * </pre>
 *
 * Computed in double.
 */
public final class BradleyTerryLoss {
    /**
     * Means over one call's pairs.
     *
     * @param accuracy fraction of pairs with r_c strictly above r_r (the margin plays no part)
     */
    public record Metrics(long pairs, double accuracy, double chosenReward, double rejectedReward) {
        /** The metrics of both calls' pairs together. */
        public Metrics plus(Metrics o) {
            long n = pairs + o.pairs;
            return new Metrics(n, DpoLoss.mix(accuracy, pairs, o.accuracy, o.pairs, n),
                    DpoLoss.mix(chosenReward, pairs, o.chosenReward, o.pairs, n),
                    DpoLoss.mix(rejectedReward, pairs, o.rejectedReward, o.pairs, n));
        }
    }

    /**
     * One micro-batch's share of the step.
     *
     * @param dChosen   (P) dL/dr_c,i
     * @param dRejected (P) dL/dr_r,i
     */
    public record Result(double loss, Metrics metrics, double[] dChosen, double[] dRejected) {}

    private BradleyTerryLoss() {}

    /**
     * @param chosen    (P) rewards of the chosen answers
     * @param rejected  (P) rewards of the rejected answers
     * @param margins   (P) margins, or null for none
     * @param stepPairs pairs of the whole optimizer step, this call's included
     */
    public static Result forward(double[] chosen, double[] rejected, double[] margins, long stepPairs) {
        int p = margins == null ? Pairs.count(stepPairs, chosen, rejected) : Pairs.count(stepPairs, chosen, rejected, margins);
        double[] dChosen = new double[p], dRejected = new double[p];
        double loss = 0, wins = 0, sumChosen = 0, sumRejected = 0;
        for (int i = 0; i < p; i++) {
            // L_i = −log σ(x), x = r_c − r_r − m
            double x = chosen[i] - rejected[i] - (margins == null ? 0 : margins[i]);
            loss -= StableMath.logSigmoid(x);
            dChosen[i] = -StableMath.sigmoid(-x) / stepPairs;
            dRejected[i] = -dChosen[i];
            wins += chosen[i] > rejected[i] ? 1 : 0;
            sumChosen += chosen[i];
            sumRejected += rejected[i];
        }
        return new Result(loss / stepPairs, new Metrics(p, wins / p, sumChosen / p, sumRejected / p), dChosen, dRejected);
    }
}
