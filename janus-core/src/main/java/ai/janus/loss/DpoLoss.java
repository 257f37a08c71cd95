package ai.janus.loss;

/**
 * Direct preference optimisation, TRL's sigmoid loss (docs/spec/objectives.md, "DPO"), per pair i with
 * policy and reference sequence log-probs S, plus TRL's optional RPO term ({@code rpo_alpha},
 * Pang et al. 2024, "Iterative Reasoning Preference Optimization"): α times the NLL of the chosen
 * answers, normalised like SFT by the supervised tokens of the step's chosen answers |M_c,step|:
 *
 * <pre>
 * u_i = β·[(S_π(c_i) − S_ref(c_i)) − (S_π(r_i) − S_ref(r_i))]
 * L_i = −(1 − ε)·log σ(u_i) − ε·log σ(−u_i)
 * NLL = −(1/|M_c,step|) Σ_i S_π(c_i)          (the SFT loss of the chosen answers, {@link SftLoss})
 * L   = (1/P_step) Σ_i L_i + α·NLL             (mean over the pairs of the optimizer step)
 * dL/dS_π(c_i) = (β/P_step)·[−(1 − ε)·σ(−u_i) + ε·σ(u_i)] − α/|M_c,step|
 * dL/dS_π(r_i) = −(β/P_step)·[−(1 − ε)·σ(−u_i) + ε·σ(u_i)]
 * </pre>
 *
 * TRL adds {@code rpo_alpha · nll_loss} to every pair's loss before the mean over pairs, its
 * nll_loss being the token mean over the batch's chosen answers; the mean over pairs of a constant
 * is that constant, so this is TRL's loss with the token mean taken over the whole step (as SFT
 * and ORPO's NLL here). With α = 0 the NLL term is left out, not multiplied by 0: plain DPO's bits.
 *
 * <p>The reference is frozen: no gradient flows to it. Computed in double; at u = 0 (policy equal to
 * reference, step 0) every pair's DPO loss is exactly ln 2 when ε = 0.
 *
 * @param beta           β &gt; 0, the strength of the implicit KL penalty (Janus: 0.1)
 * @param labelSmoothing ε in [0, 0.5), the assumed probability that a pair's preference is flipped
 * @param rpoAlpha       α ≥ 0, the weight of the chosen answers' NLL (TRL's rpo_alpha; 0: plain DPO, Janus)
 */
public record DpoLoss(double beta, double labelSmoothing, double rpoAlpha) {
    public DpoLoss {
        if (!(rpoAlpha >= 0) || Double.isInfinite(rpoAlpha)) {
            throw new IllegalArgumentException("rpoAlpha must be >= 0 and finite, got " + rpoAlpha);
        }
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw new IllegalArgumentException("beta must be positive and finite, got " + beta);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new IllegalArgumentException("labelSmoothing must lie in [0, 0.5), got " + labelSmoothing);
        }
    }

    /** Plain DPO (no RPO term). */
    public DpoLoss(double beta, double labelSmoothing) {
        this(beta, labelSmoothing, 0);
    }

    /** Janus's DPO: β = 0.1, no label smoothing, no RPO term. */
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
     * @param chosenTokens   supervised tokens of the chosen answers (0 when the caller gave no token counts)
     * @param nll            the chosen answers' NLL per token under the policy, −Σ S_π(c) / Σ |M_c| [nll_loss];
     *                       measured whether or not α is 0 (0 without token counts)
     */
    public record Metrics(long pairs, double chosenReward, double rejectedReward, double margin, double accuracy,
                          long chosenTokens, double nll) {
        /** Metrics without the chosen answers' NLL (no token counts given). */
        public Metrics(long pairs, double chosenReward, double rejectedReward, double margin, double accuracy) {
            this(pairs, chosenReward, rejectedReward, margin, accuracy, 0, 0);
        }

        /** The metrics of both calls' pairs together (means weighted by pair counts, the NLL by tokens). */
        public Metrics plus(Metrics o) {
            long n = pairs + o.pairs, t = chosenTokens + o.chosenTokens;
            return new Metrics(n, mix(chosenReward, pairs, o.chosenReward, o.pairs, n),
                    mix(rejectedReward, pairs, o.rejectedReward, o.pairs, n), mix(margin, pairs, o.margin, o.pairs, n),
                    mix(accuracy, pairs, o.accuracy, o.pairs, n), t, mix(nll, chosenTokens, o.nll, o.chosenTokens, t));
        }
    }

    /**
     * One micro-batch's share of the step.
     *
     * @param loss      (1/P_step) Σ_i L_i over this call's pairs, plus this call's share of α·NLL
     * @param pairLoss  (P) L_i of each pair, unnormalised, without the RPO term (ln 2 at step 0)
     * @param dChosen   (P) dL/dS_π(c_i)
     * @param dRejected (P) dL/dS_π(r_i)
     */
    public record Result(double loss, double[] pairLoss, Metrics metrics, double[] dChosen, double[] dRejected) {}

    /**
     * The loss of P pairs as a share of a step of {@code stepPairs} pairs, with its gradient with
     * respect to the policy's sequence log-probs. Plain DPO only: the RPO term needs the chosen
     * answers' token counts, see the other overload.
     *
     * @param policyChosen    (P) S_π(c_i), summed log-probs of the chosen answers under the policy
     * @param policyRejected  (P) S_π(r_i)
     * @param refChosen       (P) S_ref(c_i), from the frozen reference
     * @param refRejected     (P) S_ref(r_i)
     * @param stepPairs       pairs of the whole optimizer step, this call's included
     */
    public Result forward(double[] policyChosen, double[] policyRejected, double[] refChosen, double[] refRejected,
                          long stepPairs) {
        if (rpoAlpha != 0) {
            throw new IllegalStateException("rpo_alpha " + rpoAlpha + " weighs the chosen answers' NLL per token: pass"
                    + " their token counts and the step's chosen tokens");
        }
        return forward(policyChosen, null, policyRejected, refChosen, refRejected, stepPairs, 0);
    }

    /**
     * As {@link #forward(double[], double[], double[], double[], long)}, with the chosen answers'
     * supervised token counts: adds α·NLL (see the class comment) and measures the NLL.
     *
     * @param chosenTokens     (P) |M_c,i|, supervised tokens of each chosen answer; null: none given (α must be 0)
     * @param stepChosenTokens |M_c,step|, the chosen answers' supervised tokens over the whole optimizer step
     *                         (only read when α &gt; 0)
     */
    public Result forward(double[] policyChosen, long[] chosenTokens, double[] policyRejected, double[] refChosen,
                          double[] refRejected, long stepPairs, long stepChosenTokens) {
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
        loss /= stepPairs;
        long tokens = 0;
        double nllPerToken = 0;
        if (chosenTokens == null) {
            if (rpoAlpha != 0) {
                throw new IllegalArgumentException("rpo_alpha " + rpoAlpha + " needs the chosen answers' token counts");
            }
        } else {
            Pairs.checkTokens("chosen", chosenTokens, p);
            // the chosen answers' NLL, SFT's code and normalisation (by the step's chosen tokens); with α = 0 it is
            // only measured (any step count will do: the per-token metric divides by this call's own tokens)
            SftLoss.Result nll = SftLoss.forward(policyChosen, chosenTokens, rpoAlpha != 0 ? stepChosenTokens : Long.MAX_VALUE);
            tokens = nll.tokens();
            nllPerToken = nll.nll() / tokens;
            if (rpoAlpha != 0) {
                // L += α·NLL, dL/dS_π(c_i) += α·(−1/|M_c,step|); the α = 0 path leaves the DPO bits untouched
                loss += rpoAlpha * nll.loss();
                double[] dNll = nll.dSums();
                for (int i = 0; i < p; i++) {
                    dChosen[i] += rpoAlpha * dNll[i];
                }
            }
        }
        return new Result(loss, pairLoss, new Metrics(p, chosen / p, rejected / p, (chosen - rejected) / p, wins / p,
                tokens, nllPerToken), dChosen, dRejected);
    }

    static double mix(double a, long na, double b, long nb, long n) {
        return n == 0 ? 0 : (a * na + b * nb) / n;
    }
}
