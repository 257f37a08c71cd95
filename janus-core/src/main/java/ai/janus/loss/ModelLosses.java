package ai.janus.loss;

import ai.janus.model.Mistral;
import ai.janus.model.ParameterSet;
import ai.janus.model.RewardModel;
import ai.janus.model.TokenBatch;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;

/**
 * The four objectives on one micro-batch: forward, loss, and the backward that chains the loss's
 * gradient through {@link SequenceLogProbs#backward} (or the reward model's value head) into the
 * model, accumulating every parameter's gradient into {@code grads}. Each returns the loss as
 * this micro-batch's share of the optimizer step (the shares add up to the step's loss), its
 * metrics, and the per-sequence gradients.
 *
 * <p>Pair layout: a batch of P pairs has 2P sequences; sequences [0, P) are the chosen answers
 * and [P, 2P) the rejected ones, pair i's in sequences i and P + i. For the causal LM a sequence
 * is a segment of the {@link TokenBatch} (packed, or right-padded with ignored labels); for the
 * reward model it is the index of its last token (EOS).
 *
 * <p>Normalisers are counted by the caller over the whole optimizer step (all micro-batches, all
 * ranks) before the first micro-batch runs: supervised tokens for SFT, pairs for DPO, ORPO and
 * the reward model, and the chosen answers' supervised tokens for ORPO's NLL and DPO's RPO term.
 */
public final class ModelLosses {
    private ModelLosses() {}

    /** SFT: {@link SftLoss#forward} over every segment of {@code batch}, backward into {@code grads}. */
    public static SftLoss.Result sft(Mistral model, TokenBatch batch, int[] labels, long stepTokens, ParameterSet grads,
                                     boolean checkpoint) {
        try (Mistral.ForwardState st = model.forward(batch, labels, checkpoint);
             Tensor dLogp = Tensor.allocate(DType.F32, batch.size())) {
            SequenceLogProbs seq = SequenceLogProbs.forward(st.logp(), labels, batch.cuSeqlens());
            SftLoss.Result r = SftLoss.forward(seq.sums(0, seq.sequences()), seq.tokens(0, seq.sequences()), stepTokens);
            seq.backward(dLogp, r.dSums(), null);
            model.backward(st, dLogp, grads);
            return r;
        }
    }

    /**
     * DPO on P pairs (see the pair layout) against the frozen reference's sums of the same pairs,
     * {@code refChosen} and {@code refRejected} (P each), backward into the policy's {@code grads}.
     * Plain DPO only (α = 0): with an RPO term, pass the step's chosen tokens to the other overload.
     */
    public static DpoLoss.Result dpo(Mistral policy, TokenBatch pairs, int[] labels, double[] refChosen,
                                     double[] refRejected, DpoLoss loss, long stepPairs, ParameterSet grads,
                                     boolean checkpoint) {
        if (loss.rpoAlpha() != 0) {
            throw new IllegalArgumentException("rpo_alpha " + loss.rpoAlpha() + " needs the step's chosen tokens");
        }
        return dpo(policy, pairs, labels, refChosen, refRejected, loss, stepPairs, 0, grads, checkpoint);
    }

    /**
     * DPO, with the RPO term α·NLL of the chosen answers when {@code loss} has α &gt; 0, normalised
     * by {@code stepChosenTokens}, the supervised tokens of the step's chosen answers (read only
     * when α &gt; 0). Also measures the chosen answers' NLL per token in the metrics.
     */
    public static DpoLoss.Result dpo(Mistral policy, TokenBatch pairs, int[] labels, double[] refChosen,
                                     double[] refRejected, DpoLoss loss, long stepPairs, long stepChosenTokens,
                                     ParameterSet grads, boolean checkpoint) {
        try (Mistral.ForwardState st = policy.forward(pairs, labels, checkpoint);
             Tensor dLogp = Tensor.allocate(DType.F32, pairs.size())) {
            SequenceLogProbs seq = SequenceLogProbs.forward(st.logp(), labels, pairs.cuSeqlens());
            int p = pairCount(seq.sequences());
            DpoLoss.Result r = loss.forward(seq.sums(0, p), seq.tokens(0, p), seq.sums(p, 2 * p), refChosen, refRejected,
                    stepPairs, stepChosenTokens);
            seq.backward(dLogp, concat(r.dChosen(), r.dRejected()), null);
            policy.backward(st, dLogp, grads);
            return r;
        }
    }

    /** ORPO on P pairs (see the pair layout), backward into {@code grads}. */
    public static OrpoLoss.Result orpo(Mistral policy, TokenBatch pairs, int[] labels, OrpoLoss loss, long stepPairs,
                                       long stepChosenTokens, ParameterSet grads, boolean checkpoint) {
        try (Mistral.ForwardState st = policy.forward(pairs, labels, checkpoint);
             Tensor dLogp = Tensor.allocate(DType.F32, pairs.size())) {
            SequenceLogProbs seq = SequenceLogProbs.forward(st.logp(), labels, pairs.cuSeqlens());
            int p = pairCount(seq.sequences());
            OrpoLoss.Result r = loss.forward(seq.sums(0, p), seq.tokens(0, p), seq.sums(p, 2 * p), seq.tokens(p, 2 * p),
                    stepPairs, stepChosenTokens);
            seq.backward(dLogp, concat(r.dChosen(), r.dRejected()), null);
            policy.backward(st, dLogp, grads);
            return r;
        }
    }

    /**
     * The reward model's Bradley-Terry loss on P pairs: {@code lastTokens} (2P) locates each
     * sequence's EOS (see the pair layout); {@code margins} (P) or null. Backward into {@code grads}.
     */
    public static BradleyTerryLoss.Result reward(RewardModel model, TokenBatch pairs, int[] lastTokens, double[] margins,
                                                 long stepPairs, ParameterSet grads, boolean checkpoint) {
        int p = pairCount(lastTokens.length);
        try (RewardModel.ForwardState st = model.forward(pairs, lastTokens, checkpoint)) {
            double[] r = st.rewards();
            BradleyTerryLoss.Result result = BradleyTerryLoss.forward(java.util.Arrays.copyOfRange(r, 0, p),
                    java.util.Arrays.copyOfRange(r, p, 2 * p), margins, stepPairs);
            model.backward(st, concat(result.dChosen(), result.dRejected()), grads);
            return result;
        }
    }

    /**
     * Sequence log-probs for scoring without training (the DPO reference): the inference path
     * {@link Mistral#tokenLogProbs}, which runs the same ops in the same order as the training
     * forward and gives the same bits (tested), holding no activations.
     */
    public static SequenceLogProbs score(Mistral model, TokenBatch batch, int[] labels) {
        try (Tensor logp = model.tokenLogProbs(batch, labels)) {
            return SequenceLogProbs.forward(logp, labels, batch.cuSeqlens());
        }
    }

    private static int pairCount(int sequences) {
        if (sequences % 2 != 0) {
            throw new IllegalArgumentException(sequences + " sequences cannot be pairs: chosen answers first, then as many"
                    + " rejected ones");
        }
        return sequences / 2;
    }

    private static double[] concat(double[] a, double[] b) {
        double[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
