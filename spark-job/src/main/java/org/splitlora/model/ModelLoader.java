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
import java.util.regex.Pattern;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.config.ModelFamily;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.DecoderBlock;
import org.splitlora.model.nn.Linear;
import org.splitlora.model.nn.Mlp;
import org.splitlora.model.nn.Norm;
import org.splitlora.model.nn.Rope;
import org.splitlora.model.nn.SelfAttention;
import org.splitlora.model.nn.Torch;
import org.splitlora.model.weights.ModelLoadException;
import org.splitlora.model.weights.WeightSource;

/**
 * Builds a {@link DecoderModel} (or a part of one) from HF-named weights, checking every shape.
 * Loading the whole model also checks that it uses every tensor: a checkpoint with more layers
 * than config.json declares must not load as a shallower model.
 */
public final class ModelLoader {

    private static final Pattern GPT2_BUFFERS = Pattern.compile("(transformer\\.)?h\\.\\d+\\.attn\\.(bias|masked_bias)");
    private static final Pattern ROTARY_BUFFERS = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");

    private final WeightSource source;
    private final ModelConfig config;
    private final NDManager manager;
    private final String prefix;
    private final Map<String, Linear> projections = new HashMap<>();
    private final Set<String> used = new HashSet<>();

    private ModelLoader(WeightSource source, ModelConfig config, NDManager manager) {
        this.source = source;
        this.config = config;
        this.manager = manager;
        this.prefix = config.family() == ModelFamily.GPT2 && source.contains("transformer.wte.weight") ? "transformer." : "";
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
        boolean gpt2 = config.family() == ModelFamily.GPT2;
        int d = config.hiddenSize();
        String embName = gpt2 ? "wte.weight" : "model.embed_tokens.weight";
        boolean needTokenEmbedding = part.embeddings() || (part.head() && config.tieWordEmbeddings());
        NDArray tokenEmbedding = needTokenEmbedding ? tensor(embName, config.vocabSize(), d) : null;
        NDArray positionEmbedding = gpt2 && part.embeddings() ? tensor("wpe.weight", config.maxPositions(), d) : null;
        Rope rope = gpt2 || part.toLayer() == part.fromLayer() ? null
                : new Rope(manager, config.headDim(), Math.min(config.maxPositions(), 32768), config.ropeTheta(), config.ropeLinearScale());
        List<DecoderBlock> blocks = new ArrayList<>();
        for (int l = part.fromLayer(); l < part.toLayer(); l++) {
            blocks.add(gpt2 ? gpt2Block(l) : llamaBlock(l, rope));
        }
        Norm finalNorm = null;
        NDArray lmHead = null;
        if (part.head()) {
            finalNorm = gpt2
                    ? Norm.layerNorm(tensor("ln_f.weight", d), tensor("ln_f.bias", d), config.normEps())
                    : Norm.rmsNorm(tensor("model.norm.weight", d), config.normEps());
            lmHead = config.tieWordEmbeddings() ? tokenEmbedding : tensor("lm_head.weight", config.vocabSize(), d);
        }
        if (part.equals(ModelPart.whole(config))) {
            checkAllUsed();
        }
        return new DecoderModel(config, part, manager, part.embeddings() ? tokenEmbedding : null,
                positionEmbedding, blocks, finalNorm, lmHead, Map.copyOf(projections));
    }

    /**
     * Tensors real checkpoints carry beside the weights: GPT-2's causal-mask buffers, rotary
     * inv_freq buffers (recomputed from rope_theta), and a tied LM head saved next to the
     * embedding it equals.
     */
    private boolean ignorable(String name) {
        Pattern buffers = config.family() == ModelFamily.GPT2 ? GPT2_BUFFERS : ROTARY_BUFFERS;
        return buffers.matcher(name).matches() || config.tieWordEmbeddings() && name.equals("lm_head.weight");
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

    private DecoderBlock gpt2Block(int l) {
        int d = config.hiddenSize();
        int ff = config.intermediateSize();
        String p = "h." + l + ".";
        // Conv1D stores [in, out]; c_attn's output columns are [q | k | v].
        float[] cAttn = raw(p + "attn.c_attn.weight", d, 3 * d);
        float[] cAttnBias = raw(p + "attn.c_attn.bias", 3 * d);
        Linear q = linear(l, LoraTarget.Q, columns(cAttn, d, 3 * d, 0, d), Arrays.copyOfRange(cAttnBias, 0, d), d, d);
        Linear k = linear(l, LoraTarget.K, columns(cAttn, d, 3 * d, d, d), Arrays.copyOfRange(cAttnBias, d, 2 * d), d, d);
        Linear v = linear(l, LoraTarget.V, columns(cAttn, d, 3 * d, 2 * d, d), Arrays.copyOfRange(cAttnBias, 2 * d, 3 * d), d, d);
        Linear o = linear(l, LoraTarget.O, columns(raw(p + "attn.c_proj.weight", d, d), d, d, 0, d), raw(p + "attn.c_proj.bias", d), d, d);
        Linear up = linear(l, LoraTarget.UP, columns(raw(p + "mlp.c_fc.weight", d, ff), d, ff, 0, ff), raw(p + "mlp.c_fc.bias", ff), ff, d);
        Linear down = linear(l, LoraTarget.DOWN, columns(raw(p + "mlp.c_proj.weight", ff, d), ff, d, 0, d), raw(p + "mlp.c_proj.bias", d), d, ff);
        SelfAttention attn = new SelfAttention(l, q, k, v, o, config.numHeads(), config.numKvHeads(), config.headDim(), null);
        return new DecoderBlock(
                Norm.layerNorm(tensor(p + "ln_1.weight", d), tensor(p + "ln_1.bias", d), config.normEps()),
                attn,
                Norm.layerNorm(tensor(p + "ln_2.weight", d), tensor(p + "ln_2.bias", d), config.normEps()),
                new Mlp(null, up, down, config.activation()));
    }

    private DecoderBlock llamaBlock(int l, Rope rope) {
        int d = config.hiddenSize();
        int ff = config.intermediateSize();
        int qOut = config.numHeads() * config.headDim();
        int kvOut = config.numKvHeads() * config.headDim();
        String p = "model.layers." + l + ".";
        boolean qb = config.qkvBias();
        boolean ob = config.outputBias();
        Linear q = linear(l, LoraTarget.Q, raw(p + "self_attn.q_proj.weight", qOut, d), qb ? raw(p + "self_attn.q_proj.bias", qOut) : null, qOut, d);
        Linear k = linear(l, LoraTarget.K, raw(p + "self_attn.k_proj.weight", kvOut, d), qb ? raw(p + "self_attn.k_proj.bias", kvOut) : null, kvOut, d);
        Linear v = linear(l, LoraTarget.V, raw(p + "self_attn.v_proj.weight", kvOut, d), qb ? raw(p + "self_attn.v_proj.bias", kvOut) : null, kvOut, d);
        Linear o = linear(l, LoraTarget.O, raw(p + "self_attn.o_proj.weight", d, qOut), ob ? raw(p + "self_attn.o_proj.bias", d) : null, d, qOut);
        Linear gate = linear(l, LoraTarget.GATE, raw(p + "mlp.gate_proj.weight", ff, d), ob ? raw(p + "mlp.gate_proj.bias", ff) : null, ff, d);
        Linear up = linear(l, LoraTarget.UP, raw(p + "mlp.up_proj.weight", ff, d), ob ? raw(p + "mlp.up_proj.bias", ff) : null, ff, d);
        Linear down = linear(l, LoraTarget.DOWN, raw(p + "mlp.down_proj.weight", d, ff), ob ? raw(p + "mlp.down_proj.bias", d) : null, d, ff);
        SelfAttention attn = new SelfAttention(l, q, k, v, o, config.numHeads(), config.numKvHeads(), config.headDim(), rope);
        return new DecoderBlock(
                Norm.rmsNorm(tensor(p + "input_layernorm.weight", d), config.normEps()),
                attn,
                Norm.rmsNorm(tensor(p + "post_attention_layernorm.weight", d), config.normEps()),
                new Mlp(gate, up, down, config.activation()));
    }

    private Linear linear(int layer, LoraTarget target, float[] weight, float[] bias, int out, int in) {
        NDArray w = torchOwned(weight, new Shape(out, in));
        NDArray b = bias == null ? null : torchOwned(bias, new Shape(out));
        Linear lin = new Linear(layer, target, w, b);
        projections.put(LoraAdapters.key(layer, target), lin);
        return lin;
    }

    /** Columns [from, from+count) of a row-major [rows, cols] matrix, transposed to [count, rows]. */
    private static float[] columns(float[] m, int rows, int cols, int from, int count) {
        float[] out = new float[count * rows];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < count; c++) {
                out[c * rows + r] = m[r * cols + from + c];
            }
        }
        return out;
    }

    private NDArray tensor(String name, long... shape) {
        return torchOwned(raw(name, shape), new Shape(shape));
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
        String full = prefix + name;
        if (!source.contains(full)) {
            throw new ModelLoadException(source.origin() + ": tensor '" + full + "' is missing");
        }
        used.add(full);
        long[] actual = source.shape(full);
        if (!Arrays.equals(actual, expected)) {
            throw new ModelLoadException(source.origin() + ": tensor '" + full + "' has shape "
                    + Arrays.toString(actual) + ", expected " + Arrays.toString(expected) + " from config.json");
        }
        return source.floats(full);
    }
}
