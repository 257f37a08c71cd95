package ai.janus.bench;

import ai.janus.backend.AttentionSpec;
import ai.janus.backend.Backend;
import ai.janus.tensor.Tensor;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link Backend} that forwards every op to another and adds up its wall time per op name
 * (matmuls per weight shape), for the per-op breakdowns in BENCHMARKS.md.
 */
final class TimedBackend implements Backend {
    private final Backend inner;
    private final Map<String, long[]> totals = new TreeMap<>(); // name -> {nanos, calls}

    TimedBackend(Backend inner) {
        this.inner = inner;
    }

    private void time(String op, Runnable call) {
        long start = System.nanoTime();
        call.run();
        long[] t = totals.computeIfAbsent(op, k -> new long[2]);
        t[0] += System.nanoTime() - start;
        t[1]++;
    }

    /** Accumulated {nanos, calls} per op since the last {@link #reset()}. */
    Map<String, long[]> totals() {
        return totals;
    }

    void reset() {
        totals.clear();
    }

    @Override
    public String name() {
        return "timed " + inner.name();
    }

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w, boolean accumulate) {
        time("matmul " + w.dim(0) + "x" + w.dim(1), () -> inner.matmul(out, x, w, accumulate));
    }

    @Override
    public void embedding(Tensor out, Tensor table, Tensor ids) {
        time("embedding", () -> inner.embedding(out, table, ids));
    }

    @Override
    public void rmsNorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        time("rmsNorm", () -> inner.rmsNorm(out, rstd, x, weight, eps));
    }

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin) {
        time("rope", () -> inner.rope(x, cos, sin));
    }

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor cuSeqlensQ, Tensor cuSeqlensK,
                          AttentionSpec spec) {
        time("attention", () -> inner.attention(out, lse, q, k, v, cuSeqlensQ, cuSeqlensK, spec));
    }

    @Override
    public void swiglu(Tensor out, Tensor gate, Tensor up) {
        time("swiglu", () -> inner.swiglu(out, gate, up));
    }

    @Override
    public void add(Tensor acc, Tensor x) {
        time("add", () -> inner.add(acc, x));
    }

    @Override
    public void tokenLogProbs(Tensor logp, Tensor lse, Tensor hidden, Tensor lmHead, Tensor labels) {
        time("tokenLogProbs", () -> inner.tokenLogProbs(logp, lse, hidden, lmHead, labels));
    }

    @Override
    public void matmulInputGradient(Tensor dx, Tensor dOut, Tensor w, boolean accumulate) {
        time("matmul dx " + w.dim(0) + "x" + w.dim(1), () -> inner.matmulInputGradient(dx, dOut, w, accumulate));
    }

    @Override
    public void matmulWeightGradient(Tensor dw, Tensor dOut, Tensor x) {
        time("matmul dW " + dw.dim(0) + "x" + dw.dim(1), () -> inner.matmulWeightGradient(dw, dOut, x));
    }

    @Override
    public void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids) {
        time("embedding backward", () -> inner.embeddingBackward(dTable, dOut, ids));
    }

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        time("rmsNorm backward", () -> inner.rmsNormBackward(dx, dWeight, dOut, x, weight, rstd));
    }

    @Override
    public void ropeBackward(Tensor dx, Tensor cos, Tensor sin) {
        time("rope backward", () -> inner.ropeBackward(dx, cos, sin));
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
                                  Tensor out, Tensor lse, Tensor cuSeqlensQ, Tensor cuSeqlensK, AttentionSpec spec) {
        time("attention backward",
                () -> inner.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, cuSeqlensQ, cuSeqlensK, spec));
    }

    @Override
    public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up) {
        time("swiglu backward", () -> inner.swigluBackward(dGate, dUp, dOut, gate, up));
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        time("copy", () -> inner.copy(dst, src));
    }

    @Override
    public void zero(Tensor t) {
        time("zero", () -> inner.zero(t));
    }

    @Override
    public void tokenLogProbsBackward(Tensor dHidden, Tensor dLmHead, Tensor dLogp, Tensor hidden, Tensor lmHead,
                                      Tensor labels, Tensor lse) {
        time("tokenLogProbs backward",
                () -> inner.tokenLogProbsBackward(dHidden, dLmHead, dLogp, hidden, lmHead, labels, lse));
    }

    @Override
    public void close() {
        inner.close();
    }
}
