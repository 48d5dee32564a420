package org.splitlora.eval.generate;

import ai.djl.ndarray.NDManager;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.lora.LoraAdapters;

/**
 * Base models and adapters for generation, loaded once per executor JVM and shared by every task
 * that runs there (read-only weights; each generation keeps its own decoding state).
 */
final class ExecutorModels {

    private static final NDManager ROOT = NDManager.newBaseManager();
    private static final Map<String, DecoderModel> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, LoraAdapters> ADAPTERS = new ConcurrentHashMap<>();

    private ExecutorModels() {
    }

    static DecoderModel model(String spec) {
        return MODELS.computeIfAbsent(spec, s -> ModelSource.of(s).loadWhole(ROOT));
    }

    /** The adapter, or null for the base model alone. */
    static LoraAdapters adapter(String modelSpec, AdapterWeights weights) {
        if (weights == null) {
            return null;
        }
        return ADAPTERS.computeIfAbsent(modelSpec + "#" + weights.sha256(), k -> weights.load(ModelSource.of(modelSpec).config(), ROOT));
    }
}
