package org.splitlora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.splitlora.model.arch.Architecture;
import org.splitlora.model.arch.ModelWeights;
import org.splitlora.model.arch.Projection;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.DecoderBlock;
import org.splitlora.model.nn.Linear;
import org.splitlora.model.nn.Norm;
import org.splitlora.model.nn.Torch;
import org.splitlora.model.weights.ModelLoadException;
import org.splitlora.model.weights.WeightSource;

/**
 * Builds a {@link DecoderModel} (or a part of one) from HF-named weights as the config's
 * {@link Architecture} wires them, checking every shape. Loading the whole model also checks that
 * it uses every tensor: a checkpoint with more layers than config.json declares must not load as
 * a shallower model.
 */
public final class ModelLoader implements ModelWeights {

    private final WeightSource source;
    private final ModelConfig config;
    private final Architecture arch;
    private final NDManager manager;
    private final Map<String, Linear> projections = new HashMap<>();
    private final Set<String> used = new HashSet<>();
    /** The fused module read last, so that each of its projections is cut from one read. */
    private String fusedName;
    private float[] fusedValues;

    private ModelLoader(WeightSource source, ModelConfig config, NDManager manager) {
        this.source = source;
        this.config = config;
        this.arch = config.architecture();
        this.manager = manager;
    }

    public static DecoderModel load(WeightSource source, ModelConfig config, ModelPart part, NDManager parent) {
        Torch.engine();
        NDManager m = parent.newSubManager();
        try {
            return new ModelLoader(source, config, m).build(part);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private DecoderModel build(ModelPart part) {
        int d = config.hiddenSize();
        boolean needTokenEmbedding = part.embeddings() || (part.head() && config.tieWordEmbeddings());
        NDArray tokenEmbedding = needTokenEmbedding ? tensor(arch.tokenEmbeddingName(), config.vocabSize(), d) : null;
        NDArray positionEmbedding = part.embeddings() ? arch.positionEmbedding(this, config) : null;
        List<DecoderBlock> blocks = arch.blocks(this, config, part.fromLayer(), part.toLayer());
        fusedName = null;
        fusedValues = null;
        Norm finalNorm = null;
        NDArray lmHead = null;
        if (part.head()) {
            finalNorm = arch.finalNorm(this, config);
            lmHead = config.tieWordEmbeddings() ? tokenEmbedding : tensor(arch.lmHeadName(), config.vocabSize(), d);
        }
        if (part.equals(ModelPart.whole(config))) {
            checkAllUsed();
        }
        return new DecoderModel(config, part, manager, part.embeddings() ? tokenEmbedding : null,
                positionEmbedding, blocks, finalNorm, lmHead, Map.copyOf(projections));
    }

    /** Tensors real checkpoints carry beside the weights: the architecture's buffers, and a tied LM head saved next to the embedding it equals. */
    private boolean ignorable(String name) {
        return arch.isBuffer(name) || config.tieWordEmbeddings() && name.equals(arch.storedName(arch.lmHeadName(), source));
    }

    private void checkAllUsed() {
        List<String> unused = new ArrayList<>(source.names());
        unused.removeIf(n -> used.contains(n) || ignorable(n));
        if (!unused.isEmpty()) {
            throw new ModelLoadException(source.origin(unused.get(0)) + ": " + unused.size() + " tensor(s) the model config.json"
                    + " describes (" + config.numLayers() + " layers) does not use: "
                    + String.join(", ", unused.subList(0, Math.min(5, unused.size()))) + (unused.size() > 5 ? ", ..." : ""));
        }
    }

    @Override
    public NDArray tensor(String name, long... shape) {
        return torchOwned(raw(name, shape), new Shape(shape));
    }

    @Override
    public Linear projection(int layer, LoraTarget target) {
        Projection p = arch.projection(config, layer, target);
        float[] stored = p.fused() ? fused(p) : raw(p.weightName(), p.storedShape());
        float[] weight = p.layout() == Projection.Layout.CONV1D
                ? columns(stored, p.in(), p.fusedOut(), p.offset(), p.out())
                : rows(stored, p.in(), p.offset(), p.out());
        float[] bias = p.bias() ? rows(raw(p.biasName(), p.fusedOut()), 1, p.offset(), p.out()) : null;
        NDArray w = torchOwned(weight, new Shape(p.out(), p.in()));
        NDArray b = bias == null ? null : torchOwned(bias, new Shape(p.out()));
        Linear lin = new Linear(layer, target, w, b);
        projections.put(LoraAdapters.key(layer, target), lin);
        return lin;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    private float[] fused(Projection p) {
        if (!p.weightName().equals(fusedName)) {
            fusedValues = raw(p.weightName(), p.storedShape());
            fusedName = p.weightName();
        }
        return fusedValues;
    }

    /** Columns [from, from+count) of a row-major [rows, cols] matrix (Conv1D [in, out]), transposed to [count, rows]. */
    private static float[] columns(float[] m, int rows, int cols, int from, int count) {
        float[] out = new float[count * rows];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < count; c++) {
                out[c * rows + r] = m[r * cols + from + c];
            }
        }
        return out;
    }

    /** Rows [from, from+count) of a row-major matrix with {@code cols} columns (the array itself when that is all of it). */
    private static float[] rows(float[] m, int cols, int from, int count) {
        return from == 0 && count * cols == m.length ? m : Arrays.copyOfRange(m, from * cols, (from + count) * cols);
    }

    /**
     * Copies Java values into memory PyTorch owns. {@code create} alone would keep the direct
     * staging buffer alive for the model's life, counted against the JVM's direct-memory limit.
     */
    private NDArray torchOwned(float[] values, Shape shape) {
        try (NDArray staged = manager.create(values, shape)) {
            return staged.duplicate();
        }
    }

    private float[] raw(String name, long... expected) {
        String stored = arch.storedName(name, source);
        if (!source.contains(stored)) {
            throw new ModelLoadException(source.origin() + ": tensor '" + stored + "' is missing");
        }
        used.add(stored);
        long[] actual = source.shape(stored);
        if (!Arrays.equals(actual, expected)) {
            throw new ModelLoadException(source.origin() + ": tensor '" + stored + "' has shape "
                    + Arrays.toString(actual) + ", expected " + Arrays.toString(expected) + " from config.json");
        }
        return source.floats(stored);
    }
}
