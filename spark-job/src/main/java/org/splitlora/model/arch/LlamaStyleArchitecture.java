package org.splitlora.model.arch;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.config.RopeScaling;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.DecoderBlock;
import org.splitlora.model.nn.Linear;
import org.splitlora.model.nn.Mlp;
import org.splitlora.model.nn.Norm;
import org.splitlora.model.nn.PreNormBlock;
import org.splitlora.model.nn.Rope;
import org.splitlora.model.nn.SelfAttention;

/**
 * The decoder of HF's LlamaForCausalLM, which Mistral and Qwen derive from: RMSNorm before
 * attention and MLP, RoPE ({@code rotate_half}), grouped-query attention, a gated MLP
 * ({@code down(act(gate x) · up x)}), {@code model.layers.N.self_attn.q_proj}-style names.
 * Families differ in which projections have a bias and in the config keys they read.
 */
abstract class LlamaStyleArchitecture implements Architecture {

    private static final Pattern ROTARY_BUFFERS = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");

    /** The projections with a bias, from the family's config keys. */
    abstract Set<LoraTarget> biasedProjections(HfConfigJson j);

    /** head_dim when config.json has none. */
    int defaultHeadDim(int hidden, int heads) {
        return hidden / heads;
    }

    /** max_position_embeddings when config.json has none (the family's HF default). */
    abstract int defaultMaxPositions();

    /** Reads the family's own keys; each key read or declared known here is no longer refused. */
    void readFamilyKeys(HfConfigJson j) {}

    /** Each layer's sliding window (0 = full attention), from the family's keys; none by default. */
    List<Integer> slidingWindows(HfConfigJson j, int layers) {
        return ModelConfig.fullAttention(layers);
    }

    /** Whether queries and keys are RMS-normalised per head before RoPE (Qwen3's q_norm / k_norm). */
    boolean qkNorm() {
        return false;
    }

    @Override
    public ModelConfig parse(HfConfigJson j) {
        int d = j.integer("hidden_size");
        int heads = j.integer("num_attention_heads");
        int kv = j.integer("num_key_value_heads", heads);
        int headDim = j.integer("head_dim", defaultHeadDim(d, heads));
        int maxPositions = j.integer("max_position_embeddings", defaultMaxPositions());
        // dropout of the frozen model is not applied (LoRA dropout is)
        j.known("attention_dropout");
        int layers = j.integer("num_hidden_layers");
        readFamilyKeys(j);
        return new ModelConfig(this, j.integer("vocab_size"), d, layers, heads, kv, headDim,
                j.integer("intermediate_size"), maxPositions, j.number("rms_norm_eps", defaultNormEps()), rope(j, maxPositions, headDim),
                activation(j), biasedProjections(j), slidingWindows(j, layers), j.bool("tie_word_embeddings", defaultTied()),
                j.tokenId("bos_token_id", defaultBosTokenId()), j.tokenId("eos_token_id", defaultEosTokenId()),
                familySettings(j, headDim));
    }

    /** The MLP's activation: {@code hidden_act}, SiLU by default. */
    ModelConfig.Activation activation(HfConfigJson j) {
        return ModelConfig.Activation.fromHf(j.string("hidden_act", "silu"));
    }

    /** tie_word_embeddings when config.json has none (the family's HF default). */
    boolean defaultTied() {
        return false;
    }

    /** bos_token_id when config.json has none (the family's HF default). */
    int defaultBosTokenId() {
        return 1;
    }

    /** What only this family reads (its blocks, embeddings, head); none by default. */
    ModelConfig.FamilySettings familySettings(HfConfigJson j, int headDim) {
        return ModelConfig.FamilySettings.NONE;
    }

    /** rms_norm_eps when config.json has none (the family's HF default). */
    double defaultNormEps() {
        return 1e-6;
    }

    /** eos_token_id when config.json has none (the family's HF default). */
    int defaultEosTokenId() {
        return 2;
    }

    /** The family's RoPE from config.json (heads of width headDim): Llama's variants unless the family reads its own. */
    ModelConfig.Rope rope(HfConfigJson j, int maxPositions, int headDim) {
        return llamaRope(j, maxPositions);
    }

    /**
     * RoPE from {@code rope_theta} and {@code rope_scaling} (transformers 4) or
     * {@code rope_parameters} (transformers 5, theta inside): types default, linear, dynamic,
     * llama3; any other type or key is refused.
     */
    static ModelConfig.Rope llamaRope(HfConfigJson j, int maxPositions) {
        RopeObject ro = RopeObject.of(j);
        double theta = j.number("rope_theta", 10000);
        if (ro == null) {
            return new ModelConfig.Rope(theta, new RopeScaling.None());
        }
        HfConfigJson r = ro.json();
        String name = ro.name();
        if (ro.transformers5()) {
            theta = r.number("rope_theta", theta);
        }
        String type = ro.type();
        RopeScaling scaling = switch (type) {
            case "default" -> new RopeScaling.None();
            case "linear" -> new RopeScaling.Linear(r.number("factor"));
            case "dynamic" -> {
                int original = r.integer("original_max_position_embeddings", maxPositions);
                if (original != maxPositions) {
                    // HF's dynamic RoPE scales from max_position_embeddings and leaves this key unused
                    throw new IllegalArgumentException("key '" + name + ".original_max_position_embeddings' (" + original
                            + ") must equal max_position_embeddings (" + maxPositions + ") for rope type 'dynamic'");
                }
                yield new RopeScaling.DynamicNtk(r.number("factor"));
            }
            case "llama3" -> new RopeScaling.Llama3(r.number("factor"), r.number("low_freq_factor"),
                    r.number("high_freq_factor"), r.integer("original_max_position_embeddings"));
            default -> throw new IllegalArgumentException("key '" + name + ".rope_type' = '" + type
                    + "' is not supported (supported: default, linear, dynamic, llama3)");
        };
        r.finish("for rope type '" + type + "'");
        return new ModelConfig.Rope(theta, scaling);
    }

    /**
     * The RoPE object of a config.json: {@code rope_scaling} (transformers 4) or
     * {@code rope_parameters} (transformers 5, which moves theta and other top-level keys inside).
     */
    record RopeObject(HfConfigJson json, String name, boolean transformers5) {

        /** The config's RoPE object, or null when it has none; both at once is an error. */
        static RopeObject of(HfConfigJson j) {
            HfConfigJson parameters = j.object("rope_parameters");
            HfConfigJson legacy = j.object("rope_scaling");
            if (parameters != null && legacy != null) {
                throw new IllegalArgumentException("keys 'rope_parameters' and 'rope_scaling' are both set; use one");
            }
            return parameters != null ? new RopeObject(parameters, "rope_parameters", true)
                    : legacy != null ? new RopeObject(legacy, "rope_scaling", false) : null;
        }

        /** {@code rope_type}, or the older {@code type}; "default" when neither is there. */
        String type() {
            String legacyType = json.string("type", null);
            return json.string("rope_type", legacyType == null ? "default" : legacyType);
        }
    }

    @Override
    public Set<LoraTarget> loraTargets() {
        return EnumSet.allOf(LoraTarget.class);
    }

    @Override
    public Projection projection(ModelConfig c, int layer, LoraTarget t) {
        int d = c.hiddenSize();
        int q = c.numHeads() * c.headDim();
        int kv = c.numKvHeads() * c.headDim();
        int ff = c.intermediateSize();
        String p = "model.layers." + layer + ".";
        boolean bias = c.biasedProjections().contains(t);
        return switch (t) {
            case Q -> Projection.linear(p + "self_attn.q_proj", "q_proj", q, d, bias);
            case K -> Projection.linear(p + "self_attn.k_proj", "k_proj", kv, d, bias);
            case V -> Projection.linear(p + "self_attn.v_proj", "v_proj", kv, d, bias);
            case O -> Projection.linear(p + "self_attn.o_proj", "o_proj", d, q, bias);
            case GATE -> Projection.linear(p + "mlp.gate_proj", "gate_proj", ff, d, bias);
            case UP -> Projection.linear(p + "mlp.up_proj", "up_proj", ff, d, bias);
            case DOWN -> Projection.linear(p + "mlp.down_proj", "down_proj", d, ff, bias);
        };
    }

    @Override
    public String tokenEmbeddingName() {
        return "model.embed_tokens.weight";
    }

    @Override
    public boolean isBuffer(String storedName) {
        return ROTARY_BUFFERS.matcher(storedName).matches();
    }

    @Override
    public NDArray positionEmbedding(ModelWeights w, ModelConfig c) {
        return null;
    }

    @Override
    public List<DecoderBlock> blocks(ModelWeights w, ModelConfig c, int from, int to) {
        List<DecoderBlock> out = new ArrayList<>();
        Rope rope = from == to ? null : w.shared("rope", () -> new Rope(w.manager(), c.headDim(), c.maxPositions(), c.rope()));
        for (int l = from; l < to; l++) {
            String p = "model.layers." + l + ".";
            Norm qNorm = qkNorm() ? headNorm(w, c, p + "self_attn.q_norm") : null;
            Norm kNorm = qkNorm() ? headNorm(w, c, p + "self_attn.k_norm") : null;
            SelfAttention attn = new SelfAttention(l, w.projection(l, LoraTarget.Q), w.projection(l, LoraTarget.K),
                    w.projection(l, LoraTarget.V), w.projection(l, LoraTarget.O), c.numHeads(), c.numKvHeads(), c.headDim(),
                    rope, qNorm, kNorm, c.slidingWindows().get(l));
            Linear gate = w.projection(l, LoraTarget.GATE);
            Mlp mlp = new Mlp(gate, w.projection(l, LoraTarget.UP), w.projection(l, LoraTarget.DOWN), c.activation());
            out.add(new PreNormBlock(rmsNorm(w, c, p + "input_layernorm"), attn, rmsNorm(w, c, p + "post_attention_layernorm"), mlp));
        }
        return out;
    }

    @Override
    public Norm finalNorm(ModelWeights w, ModelConfig c) {
        return rmsNorm(w, c, "model.norm");
    }

    static Norm rmsNorm(ModelWeights w, ModelConfig c, String module) {
        return Norm.rmsNorm(w.tensor(module + ".weight", c.hiddenSize()), c.normEps());
    }

    private static Norm headNorm(ModelWeights w, ModelConfig c, String module) {
        return Norm.rmsNorm(w.tensor(module + ".weight", c.headDim()), c.normEps());
    }

    /**
     * Qwen2's and Qwen3's windows, as their HF configs derive them: {@code sliding_window}
     * (default 4096) only when {@code use_sliding_window}, on the layers {@code layer_types} calls
     * "sliding_attention", or without layer_types on layers ≥ {@code max_window_layers} (default 28).
     */
    static List<Integer> qwenSlidingWindows(HfConfigJson j, int layers) {
        boolean use = j.bool("use_sliding_window", false);
        Integer size = j.integerOrNull("sliding_window", 4096);
        int fromLayer = j.integer("max_window_layers", 28);
        List<String> types = j.strings("layer_types");
        if (types != null) {
            if (types.size() != layers) {
                throw new IllegalArgumentException("key 'layer_types' has " + types.size() + " entries for " + layers + " layers");
            }
            for (String t : types) {
                if (!t.equals("full_attention") && !t.equals("sliding_attention")) {
                    throw new IllegalArgumentException("key 'layer_types': '" + t + "' is not supported"
                            + " (full_attention, sliding_attention)");
                }
            }
        }
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            boolean sliding = types != null ? types.get(l).equals("sliding_attention") : size != null && l >= fromLayer;
            out.add(use && size != null && sliding ? size : 0);
        }
        return out;
    }
}
