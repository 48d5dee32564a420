package org.splitlora.federation;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelPart;
import org.splitlora.model.ModelSource;

/**
 * Frozen model segments, loaded once per executor JVM and device and shared by every client task
 * that runs there (the weights are read-only; each task brings its own adapters and pass state).
 */
final class SegmentCache {

    private static final Map<Device, NDManager> ROOTS = new ConcurrentHashMap<>();
    private static final Map<String, DecoderModel> SEGMENTS = new ConcurrentHashMap<>();

    private SegmentCache() {}

    static DecoderModel get(String model, int layers, Device device) {
        ModelSource source = ModelSource.of(model);
        ModelPart part = layers == source.config().numLayers() ? ModelPart.whole(source.config())
                : ModelPart.client(source.config(), layers);
        NDManager root = ROOTS.computeIfAbsent(device, NDManager::newBaseManager);
        return SEGMENTS.computeIfAbsent(model + "#" + part + "@" + device, k -> source.load(part, root));
    }
}
