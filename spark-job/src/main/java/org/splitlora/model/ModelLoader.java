package org.splitlora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
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
import org.splitlora.model.nn.TorchArrays;
import org.splitlora.model.weights.ModelLoadException;
import org.splitlora.model.weights.WeightSource;

/**
 * Builds a {@link DecoderModel} (or a part of one) from HF-named weights as the config's
 * {@link Architecture} wires them, checking every shape, into a {@link FrozenWeights} store: only
 * the components the store lacks are read, block by block. Loading the whole model also checks that
 * it uses every tensor: a checkpoint with more layers than config.json declares must not load as
 * a shallower model.
 */
public final class ModelLoader implements ModelWeights {

    private final WeightSource source;
    private final ModelConfig config;
    private final Architecture arch;
    private final FrozenWeights frozen;
    private final NDManager manager;
    private final Map<String, Linear> projections;
    private final Set<String> used;
    /** The fused module read last, so that each of its projections is cut from one read. */
    private String fusedName;
    private float[] fusedValues;

    private ModelLoader(WeightSource source, ModelConfig config, FrozenWeights frozen) {
        this.source = source;
        this.config = config;
        this.arch = config.architecture();
        this.frozen = frozen;
        this.manager = frozen.manager();
        this.projections = frozen.projections();
        this.used = frozen.used();
    }

    /**
     * A model of {@code part} whose frozen tensors are {@code frozen}'s, building those it lacks;
     * the model holds one of frozen's references (the caller's), released when it closes or here
     * when loading fails.
     */
    static DecoderModel load(WeightSource source, ModelConfig config, ModelPart part, FrozenWeights frozen, NDManager parent) {
        Torch.engine();
        try {
            synchronized (frozen) {
                return new ModelLoader(source, config, frozen).build(part, parent);
            }
        } catch (RuntimeException e) {
            frozen.release();
            throw e;
        }
    }

    private DecoderModel build(ModelPart part, NDManager parent) {
        int d = config.hiddenSize();
        boolean needTokenEmbedding = part.embeddings() || (part.head() && config.tieWordEmbeddings());
        NDArray tokenEmbedding = needTokenEmbedding
                ? frozen.component("token-embedding", () -> tensor(arch.tokenEmbeddingName(), config.vocabSize(), d)) : null;
        NDArray positionEmbedding = part.embeddings()
                ? frozen.component("position-embedding", () -> Optional.ofNullable(arch.positionEmbedding(this, config)))
                        .orElse(null) : null;
        List<DecoderBlock> blocks = new ArrayList<>();
        for (int l = part.fromLayer(); l < part.toLayer(); l++) {
            int layer = l;
            blocks.add(frozen.component("block-" + l, () -> arch.blocks(this, config, layer, layer + 1).get(0)));
        }
        fusedName = null;
        fusedValues = null;
        Norm finalNorm = null;
        NDArray lmHead = null;
        if (part.head()) {
            finalNorm = frozen.component("final-norm", () -> arch.finalNorm(this, config));
            lmHead = config.tieWordEmbeddings() ? tokenEmbedding
                    : frozen.component("lm-head", () -> tensor(arch.lmHeadName(), config.vocabSize(), d));
        }
        if (part.equals(ModelPart.whole(config))) {
            checkAllUsed();
        }
        Map<String, Linear> partProjections = new HashMap<>();
        for (Map.Entry<String, Linear> e : projections.entrySet()) {
            int layer = e.getValue().layer();
            if (layer >= part.fromLayer() && layer < part.toLayer()) {
                partProjections.put(e.getKey(), e.getValue());
            }
        }
        return new DecoderModel(config, part, frozen, parent.newSubManager(), part.embeddings() ? tokenEmbedding : null,
                positionEmbedding, blocks, finalNorm, lmHead, Map.copyOf(partProjections));
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
        return TorchArrays.owned(manager, raw(name, shape), new Shape(shape));
    }

    @Override
    public Linear projection(int layer, LoraTarget target) {
        Projection p = arch.projection(config, layer, target);
        float[] stored = p.fused() ? fused(p) : raw(p.weightName(), p.storedShape());
        float[] weight = p.layout() == Projection.Layout.CONV1D
                ? columns(stored, p.in(), p.fusedOut(), p.offset(), p.out())
                : rows(stored, p.in(), p.offset(), p.out());
        float[] bias = p.bias() ? rows(raw(p.biasName(), p.fusedOut()), 1, p.offset(), p.out()) : null;
        NDArray w = TorchArrays.owned(manager, weight, new Shape(p.out(), p.in()));
        NDArray b = bias == null ? null : TorchArrays.owned(manager, bias, new Shape(p.out()));
        Linear lin = new Linear(layer, target, w, b);
        projections.put(LoraAdapters.key(layer, target), lin);
        return lin;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public <T> T shared(String name, Supplier<T> make) {
        return frozen.component("arch-" + name, make);
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
