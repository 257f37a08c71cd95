package ai.janus.train;

import ai.janus.io.AtomicFiles;
import ai.janus.io.Json;
import ai.janus.model.HfCheckpoint;
import ai.janus.model.MistralConfig;
import ai.janus.model.ParameterSet;
import ai.janus.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model directory HF transformers and vLLM load: config.json and safetensors
 * ({@link HfCheckpoint#save}), generation_config.json with the Janus sampling defaults, and the
 * tokenizer.model beside them.
 */
public final class ModelExport {
    private ModelExport() {}

    public static void export(Path directory, MistralConfig config, ParameterSet parameters, DType storeAs,
                              Path tokenizerModel) throws IOException {
        HfCheckpoint.save(directory, config, parameters, storeAs, HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        Map<String, Object> generation = new LinkedHashMap<>();
        generation.put("bos_token_id", config.bosTokenId());
        generation.put("eos_token_id", config.eosTokenId());
        generation.put("do_sample", true);
        generation.put("temperature", 1.0);
        generation.put("top_p", 0.9);
        generation.put("repetition_penalty", 1.03);
        generation.put("max_new_tokens", 1024);
        AtomicFiles.write(directory.resolve("generation_config.json"), Json.write(generation));
        if (tokenizerModel != null) {
            Path target = directory.resolve("tokenizer.model");
            if (!Files.exists(target) || !Files.isSameFile(tokenizerModel, target)) {
                Files.copy(tokenizerModel, target, StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
