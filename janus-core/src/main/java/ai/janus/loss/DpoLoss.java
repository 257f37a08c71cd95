package ai.janus.loss;

/**
 * Direct preference optimisation, TRL's sigmoid loss (objectives.md, "DPO"), per pair i with
 * policy and reference sequence log-probs S:
 *
 * <pre>
 * u_i = β·[(S_π(c_i) − S_ref(c_i)) − (S_π(r_i) − S_ref(r_i))]
 * L_i = −(1 − ε)·log σ(u_i) − ε·log σ(−u_i)
 * L   = (1/P_step) Σ_i L_i                    (mean over the pairs of the optimizer step)
 * dL/dS_π(c_i) = −dL/dS_π(r_i) = (β/P_step)·[−(1 − ε)·σ(−u_i) + ε·σ(u_i)]
 * </pre>
 *
 * The reference is frozen: no gradient flows to it. Computed in double; at u = 0 (policy equal to
 * reference, step 0) every pair's loss is exactly ln 2 when ε = 0.
 *
 * @param beta           β &gt; 0, the strength of the implicit KL penalty (Janus: 0.1)
 * @param labelSmoothing ε in [0, 0.5), the assumed probability that a pair's preference is flipped
 */
public record DpoLoss(double beta, double labelSmoothing) {
    public DpoLoss {
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw new IllegalArgumentException("beta must be positive and finite, got " + beta);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new IllegalArgumentException("labelSmoothing must lie in [0, 0.5), got " + labelSmoothing);
        }
    }

    /** Janus's DPO: β = 0.1, no label smoothing. */
    public static DpoLoss janus() {
        return new DpoLoss(0.1, 0.0);
    }

    /**
     * Means over the pairs of one call (TRL's names in brackets).
     *
     * @param pairs          pairs measured
     * @param chosenReward   β·(S_π(c) − S_ref(c)) [rewards/chosen]
     * @param rejectedReward β·(S_π(r) − S_ref(r)) [rewards/rejected]
     * @param margin         chosen reward − rejected reward [rewards/margins]
     * @param accuracy       fraction of pairs whose chosen reward is strictly above the rejected [rewards/accuracies]
     */
    public record Metrics(long pairs, double chosenReward, double rejectedReward, double margin, double accuracy) {
        /** The metrics of both calls' pairs together (means weighted by pair counts). */
        public Metrics plus(Metrics o) {
            long n = pairs + o.pairs;
            return new Metrics(n, mix(chosenReward, pairs, o.chosenReward, o.pairs, n),
                    mix(rejectedReward, pairs, o.rejectedReward, o.pairs, n), mix(margin, pairs, o.margin, o.pairs, n),
                    mix(accuracy, pairs, o.accuracy, o.pairs, n));
        }
    }

    /**
     * One micro-batch's share of the step.
     *
     * @param loss      (1/P_step) Σ_i L_i over this call's pairs
     * @param pairLoss  (P) L_i of each pair, unnormalised (ln 2 at step 0)
     * @param dChosen   (P) dL/dS_π(c_i)
     * @param dRejected (P) dL/dS_π(r_i)
     */
    public record Result(double loss, double[] pairLoss, Metrics metrics, double[] dChosen, double[] dRejected) {}

    /**
     * The loss of P pairs as a share of a step of {@code stepPairs} pairs, with its gradient with
     * respect to the policy's sequence log-probs.
     *
     * @param policyChosen    (P) S_π(c_i), summed log-probs of the chosen answers under the policy
     * @param policyRejected  (P) S_π(r_i)
     * @param refChosen       (P) S_ref(c_i), from the frozen reference
     * @param refRejected     (P) S_ref(r_i)
     * @param stepPairs       pairs of the whole optimizer step, this call's included
     */
    public Result forward(double[] policyChosen, double[] policyRejected, double[] refChosen, double[] refRejected,
                          long stepPairs) {
        int p = Pairs.count(stepPairs, policyChosen, policyRejected, refChosen, refRejected);
        double[] pairLoss = new double[p], dChosen = new double[p], dRejected = new double[p];
        double loss = 0, chosen = 0, rejected = 0, wins = 0;
        for (int i = 0; i < p; i++) {
            double rc = beta * (policyChosen[i] - refChosen[i]);
            double rr = beta * (policyRejected[i] - refRejected[i]);
            // u = β·[(S_π(c) − S_ref(c)) − (S_π(r) − S_ref(r))]; at step 0 both differences are exactly 0
            double u = rc - rr;
            // L = −(1 − ε)·log σ(u) − ε·log σ(−u); without smoothing the ε term is left out, not multiplied by 0
            double li = -(1 - labelSmoothing) * StableMath.logSigmoid(u);
            double dLdu = -(1 - labelSmoothing) * StableMath.sigmoid(-u);
            if (labelSmoothing != 0) {
                li -= labelSmoothing * StableMath.logSigmoid(-u);
                dLdu += labelSmoothing * StableMath.sigmoid(u);
            }
            pairLoss[i] = li;
            loss += li;
            dChosen[i] = beta * dLdu / stepPairs;
            dRejected[i] = -dChosen[i];
            chosen += rc;
            rejected += rr;
            wins += rc > rr ? 1 : 0;
        }
        return new Result(loss / stepPairs, pairLoss, new Metrics(p, chosen / p, rejected / p, (chosen - rejected) / p, wins / p),
                dChosen, dRejected);
    }

    static double mix(double a, long na, double b, long nb, long n) {
        return n == 0 ? 0 : (a * na + b * nb) / n;
    }
}
