package ai.janus.optim;

import ai.janus.model.ParameterSet;
import java.util.ArrayList;
import java.util.List;

/**
 * Where one tensor of an optimizer's parameter set lies in the whole model, for an optimizer that
 * updates a shard (ZeRO): elements [{@code start}, start + length) of a model tensor of
 * {@code tensorNumel} elements, whose element {@code start} is element {@code flatStart} of the
 * model's parameters in spec order. The optimizer then makes every choice as over the whole
 * model: 8-bit state or fp32 by the model tensor's size, blocks of 2048 counted from the model
 * tensor's first element (so {@code start} must fall on a block), and stochastic-rounding bits by
 * the model-wide element index. A shard's update is then bit for bit the whole model's update of
 * those elements.
 */
public record ParameterSlice(long tensorNumel, long start, long flatStart) {
    public ParameterSlice {
        if (tensorNumel < 0 || start < 0 || start > tensorNumel || flatStart < 0) {
            throw new IllegalArgumentException("bad slice: " + start + " of " + tensorNumel + " at " + flatStart);
        }
    }

    /** The slices of a set that is a whole model: every tensor from its start, in spec order. */
    public static List<ParameterSlice> whole(List<ParameterSet.Spec> specs) {
        List<ParameterSlice> out = new ArrayList<>(specs.size());
        long flat = 0;
        for (ParameterSet.Spec s : specs) {
            out.add(new ParameterSlice(s.numel(), 0, flat));
            flat += s.numel();
        }
        return out;
    }

    /** Checks {@code slices} against the specs they describe: one each, every tensor inside its model tensor. */
    static void check(List<ParameterSet.Spec> specs, List<ParameterSlice> slices) {
        if (specs.size() != slices.size()) {
            throw new IllegalArgumentException(slices.size() + " slices for " + specs.size() + " parameters");
        }
        for (int i = 0; i < specs.size(); i++) {
            ParameterSlice s = slices.get(i);
            if (s.start + specs.get(i).numel() > s.tensorNumel) {
                throw new IllegalArgumentException(specs.get(i) + " at " + s.start + " overruns its model tensor of "
                        + s.tensorNumel + " elements");
            }
        }
    }

    /** True when {@code slices} are {@link #whole}(specs): nothing to record in a state file. */
    static boolean isWhole(List<ParameterSet.Spec> specs, List<ParameterSlice> slices) {
        return whole(specs).equals(slices);
    }
}
