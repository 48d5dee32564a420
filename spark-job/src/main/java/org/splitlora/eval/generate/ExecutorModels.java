package org.splitlora.eval.generate;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.lora.LoraAdapters;

/**
 * Base models and adapters for generation, loaded once per executor JVM and device and shared by
 * every task that runs there (read-only weights; each generation keeps its own decoding state).
 */
final class ExecutorModels {

    private static final Map<Device, NDManager> ROOTS = new ConcurrentHashMap<>();
    private static final Map<String, DecoderModel> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, LoraAdapters> ADAPTERS = new ConcurrentHashMap<>();

    private ExecutorModels() {
    }

    private static NDManager root(Device device) {
        return ROOTS.computeIfAbsent(device, NDManager::newBaseManager);
    }

    static DecoderModel model(String spec, Device device) {
        return MODELS.computeIfAbsent(spec + "@" + device, s -> ModelSource.of(spec).loadWhole(root(device)));
    }

    /** The adapter, or null for the base model alone. */
    static LoraAdapters adapter(String modelSpec, AdapterWeights weights, Device device) {
        if (weights == null) {
            return null;
        }
        return ADAPTERS.computeIfAbsent(modelSpec + "#" + weights.sha256() + "@" + device,
                k -> weights.load(ModelSource.of(modelSpec).config(), root(device)));
    }
}
