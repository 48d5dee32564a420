package org.splitlora.model.arch;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.config.RopeScaling;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.DecoderBlock;
import org.splitlora.model.nn.Mlp;
import org.splitlora.model.nn.Norm;
import org.splitlora.model.nn.Rope;
import org.splitlora.model.nn.SandwichNormBlock;
import org.splitlora.model.nn.SelfAttention;

/**
 * Gemma 2 and Gemma 3 text models (HF modeling_gemma2 / modeling_gemma3): Llama's tensor names
 * and grouped-query attention, with every RMSNorm scaling by {@code 1 + weight}, a norm before and
 * after attention and MLP ({@link SandwichNormBlock}), token embeddings times √hidden, scores
 * scaled by {@code query_pre_attn_scalar^-1/2}, GeGLU ({@code hidden_activation}), sliding-window
 * and full-attention layers alternating, and the families' soft-caps and RoPE bases.
 */
abstract class GemmaArchitecture extends LlamaStyleArchitecture {

    /**
     * What only Gemma reads: the score scale's {@code query_pre_attn_scalar}, tanh soft-caps of the
     * attention scores and of the final logits (0 = none), and the RoPE of sliding-window layers
     * (null = the model's RoPE on every layer).
     */
    record Settings(double queryPreAttnScalar, double attentionSoftcap, double finalLogitSoftcap, ModelConfig.Rope localRope)
            implements ModelConfig.FamilySettings {
        Settings {
            if (queryPreAttnScalar <= 0 || attentionSoftcap < 0 || finalLogitSoftcap < 0) {
                throw new IllegalArgumentException("query_pre_attn_scalar must be > 0 and the soft-caps >= 0, got "
                        + queryPreAttnScalar + ", " + attentionSoftcap + ", " + finalLogitSoftcap);
            }
        }
    }

    /** Whether layer {@code layer} of {@code layers} is a sliding-window layer when config.json has no layer_types. */
    abstract boolean slidingByDefault(HfConfigJson j, int layer);

    /** The attention soft-cap when the key is absent (HF's default; null = none). */
    abstract Double defaultAttentionSoftcap();

    /** The final logit soft-cap when the key is absent (HF's default; null = none). */
    abstract Double defaultFinalLogitSoftcap();

    /** The RoPE of sliding-window layers, or null when they use the model's RoPE. */
    abstract ModelConfig.Rope localRope(HfConfigJson j);

    @Override
    int defaultHeadDim(int hidden, int heads) {
        return 256;
    }

    @Override
    boolean defaultTied() {
        return true;
    }

    @Override
    int defaultBosTokenId() {
        return 2;
    }

    @Override
    int defaultEosTokenId() {
        return 1;
    }

    /** HF's Gemma reads {@code hidden_activation} (GELU, tanh approximation, by default); {@code hidden_act} is a leftover. */
    @Override
    ModelConfig.Activation activation(HfConfigJson j) {
        j.known("hidden_act");
        return ModelConfig.Activation.fromHf(j.string("hidden_activation", "gelu_pytorch_tanh"));
    }

    @Override
    void readFamilyKeys(HfConfigJson j) {
        // the KV cache layout generate() uses in HF; ours is one cache for every layer type
        j.known("cache_implementation");
        if (j.bool("use_bidirectional_attention", false)) {
            throw new IllegalArgumentException("key 'use_bidirectional_attention' = true is not supported (causal attention only)");
        }
    }

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        return j.bool("attention_bias", false) ? EnumSet.of(LoraTarget.Q, LoraTarget.K, LoraTarget.V, LoraTarget.O) : Set.of();
    }

    /** {@code layer_types} when given, else the family's alternation; sliding layers see {@code sliding_window} keys (default 4096). */
    @Override
    List<Integer> slidingWindows(HfConfigJson j, int layers) {
        int window = j.integer("sliding_window", 4096);
        List<String> types = j.strings("layer_types");
        if (types != null && types.size() != layers) {
            throw new IllegalArgumentException("key 'layer_types' has " + types.size() + " entries for " + layers + " layers");
        }
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            boolean sliding;
            if (types == null) {
                sliding = slidingByDefault(j, l);
            } else if (types.get(l).equals("sliding_attention") || types.get(l).equals("full_attention")) {
                sliding = types.get(l).equals("sliding_attention");
            } else {
                throw new IllegalArgumentException("key 'layer_types': '" + types.get(l) + "' is not supported"
                        + " (full_attention, sliding_attention)");
            }
            out.add(sliding ? window : 0);
        }
        return out;
    }

    @Override
    ModelConfig.FamilySettings familySettings(HfConfigJson j, int headDim) {
        Double attention = j.numberOrNull("attn_logit_softcapping", defaultAttentionSoftcap());
        Double logits = j.numberOrNull("final_logit_softcapping", defaultFinalLogitSoftcap());
        return new Settings(j.number("query_pre_attn_scalar", 256), attention == null ? 0 : attention,
                logits == null ? 0 : logits, localRope(j));
    }

    private static Settings settings(ModelConfig c) {
        return (Settings) c.familySettings();
    }

    @Override
    public double embeddingMultiplier(ModelConfig c) {
        return Math.sqrt(c.hiddenSize());
    }

    @Override
    public double finalLogitSoftcap(ModelConfig c) {
        return settings(c).finalLogitSoftcap();
    }

    @Override
    public List<DecoderBlock> blocks(ModelWeights w, ModelConfig c, int from, int to) {
        Settings s = settings(c);
        List<DecoderBlock> out = new ArrayList<>();
        double scale = 1 / Math.sqrt(s.queryPreAttnScalar());
        for (int l = from; l < to; l++) {
            String p = "model.layers." + l + ".";
            int window = c.slidingWindows().get(l);
            Rope rope;
            if (window > 0 && s.localRope() != null) {
                rope = w.shared("rope-local", () -> new Rope(w.manager(), c.headDim(), c.maxPositions(), s.localRope()));
            } else {
                rope = w.shared("rope", () -> new Rope(w.manager(), c.headDim(), c.maxPositions(), c.rope()));
            }
            Norm qNorm = qkNorm() ? norm(w, p + "self_attn.q_norm", c.headDim(), c) : null;
            Norm kNorm = qkNorm() ? norm(w, p + "self_attn.k_norm", c.headDim(), c) : null;
            SelfAttention attn = new SelfAttention(l, w.projection(l, LoraTarget.Q), w.projection(l, LoraTarget.K),
                    w.projection(l, LoraTarget.V), w.projection(l, LoraTarget.O), c.numHeads(), c.numKvHeads(), c.headDim(),
                    rope, qNorm, kNorm, window, scale, s.attentionSoftcap());
            Mlp mlp = new Mlp(w.projection(l, LoraTarget.GATE), w.projection(l, LoraTarget.UP), w.projection(l, LoraTarget.DOWN),
                    c.activation());
            int d = c.hiddenSize();
            out.add(new SandwichNormBlock(norm(w, p + "input_layernorm", d, c), attn, norm(w, p + "post_attention_layernorm", d, c),
                    norm(w, p + "pre_feedforward_layernorm", d, c), mlp, norm(w, p + "post_feedforward_layernorm", d, c)));
        }
        return out;
    }

    @Override
    public Norm finalNorm(ModelWeights w, ModelConfig c) {
        return norm(w, "model.norm", c.hiddenSize(), c);
    }

    /** Gemma's RMSNorm: {@code x / sqrt(mean(x²) + eps) · (1 + w)}; the checkpoint stores w. */
    private static Norm norm(ModelWeights w, String module, int width, ModelConfig c) {
        return Norm.rmsNorm(w.tensor(module + ".weight", width).add(1), c.normEps());
    }

    /** Gemma 2 ({@code model_type} gemma2): even layers slide, soft-caps 50 (scores) and 30 (logits) by default. */
    static final class Gemma2 extends GemmaArchitecture {
        @Override
        public String modelType() {
            return "gemma2";
        }

        @Override
        public String displayName() {
            return "Gemma 2";
        }

        @Override
        int defaultMaxPositions() {
            return 8192;
        }

        /** Gemma2Config: layer i slides when (i + 1) % 2 != 0. */
        @Override
        boolean slidingByDefault(HfConfigJson j, int layer) {
            return (layer + 1) % 2 != 0;
        }

        @Override
        Double defaultAttentionSoftcap() {
            return 50.0;
        }

        @Override
        Double defaultFinalLogitSoftcap() {
            return 30.0;
        }

        @Override
        ModelConfig.Rope localRope(HfConfigJson j) {
            return null;
        }
    }

    /**
     * Gemma 3 text models ({@code model_type} gemma3_text, e.g. gemma-3-1b): q_norm / k_norm per
     * head, five sliding layers to one full ({@code sliding_window_pattern} 6), sliding layers on
     * RoPE base {@code rope_local_base_freq} (10000) without scaling, full layers on
     * {@code rope_theta} with {@code rope_scaling}; no soft-caps by default.
     */
    static final class Gemma3Text extends GemmaArchitecture {
        @Override
        public String modelType() {
            return "gemma3_text";
        }

        @Override
        public String displayName() {
            return "Gemma 3";
        }

        @Override
        int defaultMaxPositions() {
            return 131072;
        }

        @Override
        boolean qkNorm() {
            return true;
        }

        /** Gemma3TextConfig: layer i slides when (i + 1) % sliding_window_pattern != 0. */
        @Override
        boolean slidingByDefault(HfConfigJson j, int layer) {
            int pattern = j.integer("sliding_window_pattern", 6);
            if (pattern < 1) {
                throw new IllegalArgumentException("key 'sliding_window_pattern' must be >= 1, got " + pattern);
            }
            return (layer + 1) % pattern != 0;
        }

        @Override
        Double defaultAttentionSoftcap() {
            return null;
        }

        @Override
        Double defaultFinalLogitSoftcap() {
            return null;
        }

        @Override
        ModelConfig.Rope localRope(HfConfigJson j) {
            return new ModelConfig.Rope(j.number("rope_local_base_freq", 10000), new RopeScaling.None());
        }
    }
}
