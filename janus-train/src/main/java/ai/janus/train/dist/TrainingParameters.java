package ai.janus.train.dist;

import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The parameters a step updates and the model reads: F32 ones, or BF16 ones the optimizer
 * owns plus their F32 copy; {@code layout} names and shapes them (a causal LM's, a reward
 * model's) and {@code configFields} go into the checkpoints' config.json (a reward model's
 * architectures).
 */
public record TrainingParameters(MistralConfig config, ParameterSet working, ParameterSet bf16,
                                 Function<MistralConfig, List<ParameterSet.Spec>> layout, Map<String, Object> configFields) {
    /** A causal LM's parameters. */
    public TrainingParameters(MistralConfig config, ParameterSet working, ParameterSet bf16) {
        this(config, working, bf16, MistralWeights::specs, Map.of());
    }

    /** The parameters in their stored dtype: the BF16 ones, else the F32 ones. */
    public ParameterSet stored() {
        return bf16 != null ? bf16 : working;
    }
}
