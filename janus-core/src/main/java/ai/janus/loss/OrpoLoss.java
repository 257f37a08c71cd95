package ai.janus.loss;

/**
 * Odds-ratio preference optimisation, TRL's ORPO (docs/spec/objectives.md, "ORPO"), per pair i with mean
 * log-probs A = S/|M| of the chosen (c) and rejected (r) answers under the policy:
 *
 * <pre>
 * lo_i  = (A_c − A_r) − (log1mexp(A_c) − log1mexp(A_r))       log1mexp(a) = log(1 − e^a)
 * L_OR  = (1/P_step) Σ_i −log σ(lo_i)
 * NLL   = −(1/|M_c,step|) Σ_i S_c,i                           (the SFT loss of the chosen answers)
 * L     = NLL + λ·L_OR
 * dlo/dA_c = 1/(1 − e^{A_c}) = −1/expm1(A_c)        dlo/dA_r = −1/(1 − e^{A_r}) = 1/expm1(A_r)
 * dL/dS_c,i = −1/|M_c,step| + (λ/P_step)·(−σ(−lo_i))·dlo/dA_c / |M_c,i|
 * dL/dS_r,i = (λ/P_step)·(−σ(−lo_i))·dlo/dA_r / |M_r,i|
 * </pre>
 *
 * log1mexp is {@link StableMath#log1mexp}: the naive log(1 − e^a) is −∞ at a = −1e-7 (e^a rounds
 * to 1) and loses every digit near 0. The NLL is normalised like SFT, by the chosen tokens of the
 * whole optimizer step (TRL's token mean over a batch, made independent of how the step is split);
 * the odds-ratio term is a mean over the step's pairs. Computed in double.
 *
 * <p>A mean log-prob must be strictly negative: A = 0 (every token at probability 1 in fp32) has
 * infinite odds, and is refused naming the pair rather than turned into NaN.
 *
 * @param lambda λ ≥ 0, the weight of the odds-ratio term (Janus: 0.1)
 */
public record OrpoLoss(double lambda) {
    public OrpoLoss {
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("lambda must be >= 0 and finite, got " + lambda);
        }
    }

    /** Janus's ORPO: λ = 0.1. */
    public static OrpoLoss janus() {
        return new OrpoLoss(0.1);
    }

    /**
     * Means over one call's pairs (TRL's names in brackets).
     *
     * @param pairs        pairs measured
     * @param chosenTokens supervised tokens of their chosen answers
     * @param logOdds      mean lo_i [log_odds_chosen]
     * @param ratio        mean log σ(lo_i), the odds-ratio term before −λ [log_odds_ratio]
     * @param nll          chosen-answer NLL per token, −Σ S_c / Σ |M_c| [nll_loss]
     */
    public record Metrics(long pairs, long chosenTokens, double logOdds, double ratio, double nll) {
        /** The metrics of both calls together (pair means weighted by pairs, the NLL by tokens). */
        public Metrics plus(Metrics o) {
            long n = pairs + o.pairs, t = chosenTokens + o.chosenTokens;
            return new Metrics(n, t, DpoLoss.mix(logOdds, pairs, o.logOdds, o.pairs, n),
                    DpoLoss.mix(ratio, pairs, o.ratio, o.pairs, n), DpoLoss.mix(nll, chosenTokens, o.nll, o.chosenTokens, t));
        }
    }

    /**
     * One micro-batch's share of the step.
     *
     * @param loss      this call's share of NLL + λ·L_OR
     * @param dChosen   (P) dL/dS_c,i (with respect to the sums: the mean's gradient is already divided by |M|)
     * @param dRejected (P) dL/dS_r,i
     */
    public record Result(double loss, Metrics metrics, double[] dChosen, double[] dRejected) {}

    /**
     * The loss of P pairs as a share of a step of {@code stepPairs} pairs whose chosen answers have
     * {@code stepChosenTokens} supervised tokens in all.
     *
     * @param chosenSums     (P) S_c,i under the policy
     * @param chosenTokens   (P) |M_c,i|
     * @param rejectedSums   (P) S_r,i
     * @param rejectedTokens (P) |M_r,i|
     */
    public Result forward(double[] chosenSums, long[] chosenTokens, double[] rejectedSums, long[] rejectedTokens,
                          long stepPairs, long stepChosenTokens) {
        int p = Pairs.count(stepPairs, chosenSums, rejectedSums);
        Pairs.checkTokens("chosen", chosenTokens, p);
        Pairs.checkTokens("rejected", rejectedTokens, p);
        // NLL of the chosen answers: SFT's normalisation, by the step's chosen tokens
        SftLoss.Result nll = SftLoss.forward(chosenSums, chosenTokens, stepChosenTokens);
        double[] dChosen = nll.dSums(), dRejected = new double[p];
        double orLoss = 0, logOdds = 0, ratio = 0;
        for (int i = 0; i < p; i++) {
            double ac = mean("chosen", i, chosenSums[i], chosenTokens[i]);
            double ar = mean("rejected", i, rejectedSums[i], rejectedTokens[i]);
            // lo = (A_c − A_r) − (log1mexp(A_c) − log1mexp(A_r))
            double lo = (ac - ar) - (StableMath.log1mexp(ac) - StableMath.log1mexp(ar));
            double logSig = StableMath.logSigmoid(lo);
            orLoss -= logSig;
            logOdds += lo;
            ratio += logSig;
            // d(λ/P·(−log σ(lo)))/dlo = −(λ/P)·σ(−lo)
            double dLo = -lambda * StableMath.sigmoid(-lo) / stepPairs;
            dChosen[i] += dLo * (-1 / StrictMath.expm1(ac)) / chosenTokens[i];
            dRejected[i] = dLo * (1 / StrictMath.expm1(ar)) / rejectedTokens[i];
        }
        double loss = nll.loss() + lambda * orLoss / stepPairs;
        return new Result(loss, new Metrics(p, nll.tokens(), logOdds / p, ratio / p, nll.nll() / nll.tokens()),
                dChosen, dRejected);
    }

    private static double mean(String side, int pair, double sum, long tokens) {
        double a = sum / tokens;
        if (!(a < 0)) {
            throw new IllegalArgumentException("pair " + pair + ": the " + side + " answer's mean log-prob is " + a
                    + "; ORPO's odds need it below 0 (log(1 − e^a) is " + (a == 0 ? "−∞" : "undefined") + ")");
        }
        return a;
    }
}
