package org.splitlora.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.splitlora.model.nn.Linear;

/**
 * The frozen tensors of one model on one device in this JVM, built part by part on first use and
 * shared by every {@link DecoderModel} of that model: client segments at any cut, the server
 * segment and the whole model for evaluation and generation are views of one copy. Counted
 * references: the tensors are freed when the last model using them closes.
 */
final class FrozenWeights {

    /** The shared stores by model fingerprint and device; guards every reference count. */
    private static final Map<String, FrozenWeights> SHARED = new HashMap<>();

    private final String key;
    private final NDManager manager;
    private final Map<String, Object> components = new HashMap<>();
    private final Map<String, Linear> projections = new HashMap<>();
    private final Set<String> used = new HashSet<>();
    private int references;

    private FrozenWeights(String key, Device device) {
        this.key = key;
        this.manager = NDManager.newBaseManager(device);
    }

    /** The JVM's store of the model with {@code fingerprint} on {@code device}, one reference more. */
    static FrozenWeights acquire(String fingerprint, Device device) {
        synchronized (SHARED) {
            FrozenWeights w = SHARED.computeIfAbsent(fingerprint + "@" + device, k -> new FrozenWeights(k, device));
            w.references++;
            return w;
        }
    }

    /** A store of its own for one model that changes its weights (merging adapters into them). */
    static FrozenWeights privateCopy(Device device) {
        FrozenWeights w = new FrozenWeights(null, device);
        w.references = 1;
        return w;
    }

    /** Whether other models may share these tensors (then no model may change them). */
    boolean shared() {
        return key != null;
    }

    /** Drops one reference; the last one frees the tensors. */
    void release() {
        synchronized (SHARED) {
            if (--references > 0) {
                return;
            }
            if (key != null) {
                SHARED.remove(key);
            }
        }
        manager.close();
    }

    NDManager manager() {
        return manager;
    }

    /** The component {@code name} (an embedding, a block, the head...), made by {@code make} the first time. */
    @SuppressWarnings("unchecked")
    <T> T component(String name, Supplier<T> make) {
        synchronized (components) {
            Object c = components.get(name);
            if (c == null) {
                c = make.get();
                components.put(name, c);
            }
            return (T) c;
        }
    }

    /** The frozen projections built so far, by LoRA key. */
    Map<String, Linear> projections() {
        return projections;
    }

    /** The stored tensor names read so far (for the whole model's every-tensor-used check). */
    Set<String> used() {
        return used;
    }
}
