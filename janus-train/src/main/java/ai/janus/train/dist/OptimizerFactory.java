package ai.janus.train.dist;

import ai.janus.model.ParameterSet;
import ai.janus.optim.Optimizer;
import ai.janus.optim.ParameterSlice;
import java.util.List;

/** Makes the run's optimizer over the parameters a strategy updates: the whole model, or one rank's shard of it. */
@FunctionalInterface
public interface OptimizerFactory {
    /**
     * @param parameters F32 or BF16 parameters (the shard's segments for ZeRO)
     * @param slices     where each of them lies in the whole model
     */
    Optimizer create(ParameterSet parameters, List<ParameterSlice> slices);
}
