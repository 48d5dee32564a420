package org.splitlora.model.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.nn.Torch;
import org.splitlora.util.Seeds;

/**
 * The trainable LoRA adapters of a range of layers, owned by one NDManager. Frozen base weights
 * are shared; each client (or the server) holds its own adapters and passes them to the forward.
 */
public final class LoraAdapters implements AutoCloseable {

    private final NDManager manager;
    private final LoraSpec spec;
    private final int fromLayer;
    private final int toLayer;
    private final Map<String, LoraLayer> layers;

    private LoraAdapters(NDManager manager, LoraSpec spec, int fromLayer, int toLayer, Map<String, LoraLayer> layers) {
        this.manager = manager;
        this.spec = spec;
        this.fromLayer = fromLayer;
        this.toLayer = toLayer;
        this.layers = layers;
    }

    /**
     * Fresh adapters for layers [from, to): A Kaiming-uniform (bound 1/√in, PEFT's default), B zero.
     * Each (layer, target) draws from its own seed, so any split of the layers gets the same values.
     */
    public static LoraAdapters init(NDManager parent, ModelConfig config, LoraSpec spec, int from, int to, long seed) {
        validateTargets(config, spec);
        NDManager m = parent.newSubManager();
        Map<String, LoraLayer> map = new LinkedHashMap<>();
        for (int l = from; l < to; l++) {
            for (LoraTarget t : spec.targets()) {
                int[] io = dims(config, t);
                int r = spec.rank(l);
                SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, l, t.ordinal()));
                double bound = 1 / Math.sqrt(io[0]);
                float[] a = new float[r * io[0]];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
                }
                NDArray aNd = m.create(a, new Shape(r, io[0]));
                NDArray bNd = m.zeros(new Shape(io[1], r));
                map.put(key(l, t), newLayer(l, t, aNd, bNd, spec));
            }
        }
        return new LoraAdapters(m, spec, from, to, map);
    }

    /** Adapters from given A/B values (a checkpoint, an aggregate); names as {@link #key}. */
    public static LoraAdapters fromFloats(NDManager parent, ModelConfig config, LoraSpec spec, int from, int to,
                                          Map<String, float[]> values) {
        validateTargets(config, spec);
        NDManager m = parent.newSubManager();
        Map<String, LoraLayer> map = new LinkedHashMap<>();
        try {
            for (int l = from; l < to; l++) {
                for (LoraTarget t : spec.targets()) {
                    int[] io = dims(config, t);
                    int r = spec.rank(l);
                    String k = key(l, t);
                    NDArray aNd = m.create(need(values, k + ".lora_A", (long) r * io[0]), new Shape(r, io[0]));
                    NDArray bNd = m.create(need(values, k + ".lora_B", (long) io[1] * r), new Shape(io[1], r));
                    map.put(k, newLayer(l, t, aNd, bNd, spec));
                }
            }
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return new LoraAdapters(m, spec, from, to, map);
    }

    private static float[] need(Map<String, float[]> values, String name, long size) {
        float[] v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("LoRA tensor '" + name + "' is missing");
        }
        if (v.length != size) {
            throw new IllegalArgumentException("LoRA tensor '" + name + "' has " + v.length + " values, expected " + size);
        }
        return v;
    }

    private static LoraLayer newLayer(int l, LoraTarget t, NDArray a, NDArray b, LoraSpec spec) {
        a.setRequiresGradient(true);
        b.setRequiresGradient(true);
        return new LoraLayer(l, t, a, b, spec.scaling(l), spec.dropout());
    }

    private static void validateTargets(ModelConfig config, LoraSpec spec) {
        Torch.engine();
        for (LoraTarget t : spec.targets()) {
            if (!config.architecture().loraTargets().contains(t)) {
                throw new IllegalArgumentException("lora.targets: " + config.architecture().displayName() + " has no "
                        + t.key() + " projection");
            }
        }
    }

    /** [in, out] of a target projection. */
    public static int[] dims(ModelConfig c, LoraTarget t) {
        int d = c.hiddenSize();
        int q = c.numHeads() * c.headDim();
        int kv = c.numKvHeads() * c.headDim();
        return switch (t) {
            case Q -> new int[] {d, q};
            case K, V -> new int[] {d, kv};
            case O -> new int[] {q, d};
            case GATE, UP -> new int[] {d, c.intermediateSize()};
            case DOWN -> new int[] {c.intermediateSize(), d};
        };
    }

    public static String key(int layer, LoraTarget target) {
        return "layers." + layer + "." + target.key();
    }

    /**
     * The spec of a set of adapter values: {@code like} with each layer's rank read from the shape
     * of its A matrices (aggregates of holders of different ranks may change a layer's rank).
     */
    public static LoraSpec specOf(LoraSpec like, ModelConfig config, Map<String, float[]> values) {
        Map<Integer, Integer> ranks = new TreeMap<>();
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            if (e.getKey().endsWith(".lora_A")) {
                int in = dims(config, targetOf(e.getKey()))[0];
                ranks.put(layerOf(e.getKey()), e.getValue().length / in);
            }
        }
        return like.withLayerRanks(ranks);
    }

    /** The layer of a {@link #key} or of a tensor name under it ({@code layers.L.target.lora_A}). */
    public static int layerOf(String name) {
        return Integer.parseInt(name.split("\\.")[1]);
    }

    /** The target of a {@link #key} or of a tensor name under it. */
    public static LoraTarget targetOf(String name) {
        return LoraTarget.parse(name.split("\\.")[2]);
    }

    public LoraLayer get(int layer, LoraTarget target) {
        return layers.get(key(layer, target));
    }

    public Collection<LoraLayer> layers() {
        return Collections.unmodifiableCollection(layers.values());
    }

    public LoraSpec spec() {
        return spec;
    }

    public int fromLayer() {
        return fromLayer;
    }

    public int toLayer() {
        return toLayer;
    }

    public NDManager manager() {
        return manager;
    }

    /** The trainable arrays in a fixed order: for each layer and target, A then B. */
    public List<NDArray> parameters() {
        List<NDArray> out = new ArrayList<>(layers.size() * 2);
        for (LoraLayer l : layers.values()) {
            out.add(l.a());
            out.add(l.b());
        }
        return out;
    }

    /** Copies every A and B to Java arrays, named {@code layers.L.target.lora_A|lora_B}. */
    public Map<String, float[]> toFloats() {
        Map<String, float[]> out = new TreeMap<>();
        for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
            out.put(e.getKey() + ".lora_A", e.getValue().a().toFloatArray());
            out.put(e.getKey() + ".lora_B", e.getValue().b().toFloatArray());
        }
        return out;
    }

    /** Overwrites the adapter values in place (keeps the arrays, so optimizer state stays attached). */
    public void loadFloats(Map<String, float[]> values) {
        try (Torch.GradScope ignored = Torch.gradMode(false)) {
            for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
                LoraLayer l = e.getValue();
                l.a().set(need(values, e.getKey() + ".lora_A", l.a().size()));
                l.b().set(need(values, e.getKey() + ".lora_B", l.b().size()));
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
