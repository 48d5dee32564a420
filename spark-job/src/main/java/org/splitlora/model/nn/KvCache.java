package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.HashMap;
import java.util.Map;

/**
 * Keys and values of past positions per layer, [batch, kvHeads, past, headDim], owned by one
 * manager so a generation never leaks into the step managers.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final Map<Integer, NDArray[]> layers = new HashMap<>();
    private int length;

    public KvCache(NDManager parent) {
        this.manager = parent.newSubManager();
    }

    /** Number of cached positions (the same for every layer). */
    public int length() {
        return length;
    }

    /** Appends this step's k, v for a layer and returns the full (past + new) keys and values. */
    public NDArray[] append(int layer, NDArray k, NDArray v) {
        NDArray[] past = layers.get(layer);
        NDArray[] full;
        if (past == null) {
            full = new NDArray[] {k.duplicate(), v.duplicate()};
        } else {
            full = new NDArray[] {past[0].concat(k, 2), past[1].concat(v, 2)};
            past[0].close();
            past[1].close();
        }
        full[0].attach(manager);
        full[1].attach(manager);
        layers.put(layer, full);
        return full;
    }

    /** Marks the positions appended by this step as part of the cache. */
    public void advance(int steps) {
        length += steps;
    }

    /** Keeps the batch rows {@code rows} (beam search reorders and duplicates beams). */
    public void selectRows(NDArray rows) {
        for (NDArray[] kv : layers.values()) {
            for (int i = 0; i < 2; i++) {
                NDArray picked = kv[i].get(rows);
                picked.attach(manager);
                kv[i].close();
                kv[i] = picked;
            }
        }
    }

    /** Drops every cached position (decoding then starts again from position 0). */
    public void clear() {
        for (NDArray[] kv : layers.values()) {
            kv[0].close();
            kv[1].close();
        }
        layers.clear();
        length = 0;
    }

    @Override
    public void close() {
        manager.close();
    }
}
