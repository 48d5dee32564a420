package org.splitlora.model.weights;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** fp32 tensors held in Java arrays: built-in models and tests. */
public final class InMemoryWeights implements WeightSource {

    private final String origin;
    private final Map<String, float[]> values = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    public InMemoryWeights(String origin) {
        this.origin = origin;
    }

    public InMemoryWeights put(String name, float[] data, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        if (n != data.length) {
            throw new IllegalArgumentException(name + ": " + data.length + " values for shape of " + n);
        }
        values.put(name, data);
        shapes.put(name, shape.clone());
        return this;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(values.keySet());
    }

    @Override
    public boolean contains(String name) {
        return values.containsKey(name);
    }

    @Override
    public long[] shape(String name) {
        long[] s = shapes.get(name);
        if (s == null) {
            throw new ModelLoadException(origin + ": tensor '" + name + "' not found");
        }
        return s.clone();
    }

    @Override
    public float[] floats(String name) {
        float[] v = values.get(name);
        if (v == null) {
            throw new ModelLoadException(origin + ": tensor '" + name + "' not found");
        }
        return v.clone();
    }

    @Override
    public String origin() {
        return origin;
    }
}
