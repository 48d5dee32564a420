package org.splitlora.model.arch;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.splitlora.datasets.tokenize.Gpt2BpeTokenizer;
import org.splitlora.datasets.tokenize.TokenizerSpec;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.DecoderBlock;
import org.splitlora.model.nn.Mlp;
import org.splitlora.model.nn.Norm;
import org.splitlora.model.nn.PreNormBlock;
import org.splitlora.model.nn.SelfAttention;
import org.splitlora.model.weights.WeightSource;

/**
 * GPT-2 ({@code model_type} gpt2): learned positions, LayerNorm, {@code gelu_new} MLP without a
 * gate, Conv1D weights stored [in, out], and q, k, v fused in {@code attn.c_attn} as its column
 * blocks [q | k | v].
 */
final class Gpt2Architecture implements Architecture {

    private static final String PREFIX = "transformer.";
    private static final Pattern BUFFERS = Pattern.compile("(transformer\\.)?h\\.\\d+\\.attn\\.(bias|masked_bias)");

    @Override
    public String modelType() {
        return "gpt2";
    }

    @Override
    public String displayName() {
        return "GPT-2";
    }

    @Override
    public ModelConfig parse(HfConfigJson j) {
        int d = j.integer("n_embd");
        int heads = j.integer("n_head");
        require(d % heads == 0, "n_embd (" + d + ") must be divisible by n_head (" + heads + ")");
        int ff = j.integer("n_inner", 4 * d);
        require(!j.bool("scale_attn_by_inverse_layer_idx", false) && !j.bool("reorder_and_upcast_attn", false),
                "scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported");
        require(j.bool("scale_attn_weights", true), "scale_attn_weights=false is not supported");
        int positions = j.has("n_positions") ? j.integer("n_positions") : j.integer("n_ctx");
        // n_ctx is n_positions' old name; the summary_* keys belong to GPT2DoubleHeadsModel's
        // classification head; dropout of the frozen model is not applied (LoRA dropout is)
        j.known("n_ctx", "attn_pdrop", "embd_pdrop", "resid_pdrop", "summary_type", "summary_use_proj",
                "summary_activation", "summary_proj_to_labels", "summary_first_dropout");
        return new ModelConfig(this, j.integer("vocab_size"), d, j.integer("n_layer"), heads, heads, d / heads, ff,
                positions, j.number("layer_norm_epsilon", 1e-5), null,
                ModelConfig.Activation.fromHf(j.string("activation_function", "gelu_new")),
                loraTargets(), ModelConfig.fullAttention(j.integer("n_layer")), j.bool("tie_word_embeddings", true),
                j.tokenId("bos_token_id", 50256), j.tokenId("eos_token_id", 50256), ModelConfig.FamilySettings.NONE);
    }

    @Override
    public Set<LoraTarget> loraTargets() {
        return EnumSet.complementOf(EnumSet.of(LoraTarget.GATE));
    }

    @Override
    public Projection projection(ModelConfig c, int layer, LoraTarget t) {
        int d = c.hiddenSize();
        int ff = c.intermediateSize();
        String p = PREFIX + "h." + layer + ".";
        boolean bias = c.biasedProjections().contains(t);
        Projection.Layout conv = Projection.Layout.CONV1D;
        return switch (t) {
            case Q, K, V -> new Projection(p + "attn.c_attn", "attn.c_attn", conv, 3 * d, t.ordinal() * d, d, d, bias);
            case O -> new Projection(p + "attn.c_proj", "attn.c_proj", conv, d, 0, d, d, bias);
            case UP -> new Projection(p + "mlp.c_fc", "mlp.c_fc", conv, ff, 0, ff, d, bias);
            case DOWN -> new Projection(p + "mlp.c_proj", "mlp.c_proj", conv, d, 0, d, ff, bias);
            case GATE -> throw new IllegalArgumentException(displayName() + " has no gate projection");
        };
    }

    @Override
    public String tokenEmbeddingName() {
        return PREFIX + "wte.weight";
    }

    /** Checkpoints saved from GPT2Model (the original gpt2 ones) name the weights without "transformer.". */
    @Override
    public String storedName(String name, WeightSource weights) {
        return name.startsWith(PREFIX) && !weights.contains(tokenEmbeddingName()) ? name.substring(PREFIX.length()) : name;
    }

    @Override
    public boolean isBuffer(String storedName) {
        return BUFFERS.matcher(storedName).matches();
    }

    @Override
    public NDArray positionEmbedding(ModelWeights w, ModelConfig c) {
        return w.tensor(PREFIX + "wpe.weight", c.maxPositions(), c.hiddenSize());
    }

    @Override
    public List<DecoderBlock> blocks(ModelWeights w, ModelConfig c, int from, int to) {
        List<DecoderBlock> out = new ArrayList<>();
        for (int l = from; l < to; l++) {
            String p = PREFIX + "h." + l + ".";
            SelfAttention attn = new SelfAttention(l, w.projection(l, LoraTarget.Q), w.projection(l, LoraTarget.K),
                    w.projection(l, LoraTarget.V), w.projection(l, LoraTarget.O), c.numHeads(), c.numKvHeads(), c.headDim(),
                    null, null, null, 0);
            out.add(new PreNormBlock(layerNorm(w, c, p + "ln_1"), attn, layerNorm(w, c, p + "ln_2"),
                    new Mlp(null, w.projection(l, LoraTarget.UP), w.projection(l, LoraTarget.DOWN), c.activation())));
        }
        return out;
    }

    @Override
    public Norm finalNorm(ModelWeights w, ModelConfig c) {
        return layerNorm(w, c, PREFIX + "ln_f");
    }

    private static Norm layerNorm(ModelWeights w, ModelConfig c, String module) {
        int d = c.hiddenSize();
        return Norm.layerNorm(w.tensor(module + ".weight", d), w.tensor(module + ".bias", d), c.normEps());
    }

    @Override
    public TokenizerSpec fallbackTokenizer(ModelConfig c) {
        return c.vocabSize() == Gpt2BpeTokenizer.VOCAB_SIZE ? TokenizerSpec.gpt2Bpe() : null;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
