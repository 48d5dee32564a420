package org.splitlora.model.arch;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.config.RopeScaling;
import org.splitlora.model.lora.LoraTarget;

/**
 * Phi-3, Phi-3.5 and Phi-4-mini ({@code model_type} phi3): the Llama decoder without biases whose
 * q, k, v live in one fused {@code self_attn.qkv_proj} ([q | k | v] rows) and gate, up in one
 * {@code mlp.gate_up_proj} ([gate | up]); RoPE on the first {@code partial_rotary_factor} of each
 * head, default or long RoPE ({@code longrope}, legacy {@code su} / {@code yarn}); a sliding window
 * on every layer when {@code sliding_window} is set (HF's Phi3Config default: none).
 */
final class Phi3Architecture extends LlamaStyleArchitecture {

    @Override
    public String modelType() {
        return "phi3";
    }

    @Override
    public String displayName() {
        return "Phi-3";
    }

    @Override
    int defaultMaxPositions() {
        return 4096;
    }

    @Override
    double defaultNormEps() {
        return 1e-5;
    }

    @Override
    int defaultEosTokenId() {
        return 32000;
    }

    @Override
    void readFamilyKeys(HfConfigJson j) {
        // dropout of the frozen model is not applied (LoRA dropout is)
        j.known("resid_pdrop", "embd_pdrop");
        // keys Phi-4-mini's config.json carries for its own modelling code; HF's Phi3 model reads
        // none of them, and they describe HF's model only at these values
        requireIf(j, "attention_bias", false);
        requireIf(j, "mlp_bias", false);
        requireIf(j, "lm_head_bias", false);
        if (j.has("full_attn_mod") && j.integer("full_attn_mod") != 1) {
            throw new IllegalArgumentException("key 'full_attn_mod' must be 1 (HF's Phi-3 attends fully on every layer)");
        }
        if (j.has("interpolate_factor") && j.number("interpolate_factor") != 1) {
            throw new IllegalArgumentException("key 'interpolate_factor' must be 1 (HF's Phi-3 has no position interpolation of its own)");
        }
        j.known("full_attn_mod", "interpolate_factor");
    }

    private static void requireIf(HfConfigJson j, String key, boolean value) {
        if (j.bool(key, value) != value) {
            throw new IllegalArgumentException("key '" + key + "' must be " + value + " (HF's Phi-3 model has no such bias)");
        }
    }

    /** The same window on every layer when {@code sliding_window} is set; none when absent or null. */
    @Override
    List<Integer> slidingWindows(HfConfigJson j, int layers) {
        Integer window = j.integerOrNull("sliding_window", null);
        return window == null ? ModelConfig.fullAttention(layers) : Collections.nCopies(layers, window);
    }

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        return Set.of();
    }

    /**
     * {@code rope_theta}, {@code partial_rotary_factor} and {@code rope_scaling} (transformers 4) or
     * {@code rope_parameters} (transformers 5, theta and the factor inside): none/default, or long
     * RoPE with one short and one long factor per rotary pair, switching beyond
     * {@code original_max_position_embeddings} (default 4096).
     */
    @Override
    ModelConfig.Rope rope(HfConfigJson j, int maxPositions, int headDim) {
        RopeObject ro = RopeObject.of(j);
        double theta = j.number("rope_theta", 10000);
        double partial = j.number("partial_rotary_factor", 1.0);
        int original = j.integer("original_max_position_embeddings", 4096);
        if (ro == null) {
            return new ModelConfig.Rope(theta, new RopeScaling.None(), partial);
        }
        HfConfigJson r = ro.json();
        String name = ro.name();
        if (ro.transformers5()) {
            theta = r.number("rope_theta", theta);
            partial = r.number("partial_rotary_factor", partial);
            original = r.integer("original_max_position_embeddings", original);
        }
        String type = ro.type();
        RopeScaling scaling = switch (type) {
            case "default" -> new RopeScaling.None();
            // HF's Phi3Config renames the types of early Phi-3 configs to longrope
            case "longrope", "su", "yarn" -> longRope(r, name, maxPositions, original, headDim, partial);
            default -> throw new IllegalArgumentException("key '" + name + ".rope_type' = '" + type
                    + "' is not supported for Phi-3 (supported: default, longrope)");
        };
        r.finish("for rope type '" + type + "'");
        return new ModelConfig.Rope(theta, scaling, partial);
    }

    private static RopeScaling.LongRope longRope(HfConfigJson r, String name, int maxPositions, int original, int headDim,
                                                 double partial) {
        List<Double> shortFactor = numbers(r, name, "short_factor");
        List<Double> longFactor = numbers(r, name, "long_factor");
        int pairs = (int) (headDim * partial) / 2;
        for (List<Double> f : List.of(shortFactor, longFactor)) {
            if (f.size() != pairs) {
                throw new IllegalArgumentException("keys '" + name + ".short_factor' and 'long_factor' need " + pairs
                        + " entries (head_dim " + headDim + " × partial_rotary_factor " + partial + " / 2), got "
                        + shortFactor.size() + " and " + longFactor.size());
            }
        }
        // HF derives the stretch from max / original whenever the config has an original length,
        // as every Phi-3 config has; a different 'factor' in the object would be ignored by HF
        double factor = (double) maxPositions / original;
        if (r.has("factor") && Math.abs(r.number("factor") - factor) > 1e-9 * factor) {
            throw new IllegalArgumentException("key '" + name + ".factor' must equal max_position_embeddings / "
                    + "original_max_position_embeddings (" + factor + "), which HF's long RoPE uses");
        }
        r.known("factor");
        double attention = r.has("attention_factor") ? r.number("attention_factor")
                : factor <= 1 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
        return new RopeScaling.LongRope(shortFactor, longFactor, original, attention);
    }

    private static List<Double> numbers(HfConfigJson r, String name, String key) {
        List<Double> out = r.numbers(key);
        if (out == null) {
            throw new IllegalArgumentException("missing required key '" + name + "." + key + "' for long RoPE");
        }
        return new ArrayList<>(out);
    }

    /** q, k, v are row blocks of qkv_proj, gate and up the halves of gate_up_proj (HF's chunk(2)). */
    @Override
    public Projection projection(ModelConfig c, int layer, LoraTarget t) {
        int d = c.hiddenSize();
        int q = c.numHeads() * c.headDim();
        int kv = c.numKvHeads() * c.headDim();
        int ff = c.intermediateSize();
        String p = "model.layers." + layer + ".";
        String qkv = p + "self_attn.qkv_proj";
        String gateUp = p + "mlp.gate_up_proj";
        return switch (t) {
            case Q -> new Projection(qkv, "qkv_proj", Projection.Layout.LINEAR, q + 2 * kv, 0, q, d, false);
            case K -> new Projection(qkv, "qkv_proj", Projection.Layout.LINEAR, q + 2 * kv, q, kv, d, false);
            case V -> new Projection(qkv, "qkv_proj", Projection.Layout.LINEAR, q + 2 * kv, q + kv, kv, d, false);
            case GATE -> new Projection(gateUp, "gate_up_proj", Projection.Layout.LINEAR, 2 * ff, 0, ff, d, false);
            case UP -> new Projection(gateUp, "gate_up_proj", Projection.Layout.LINEAR, 2 * ff, ff, ff, d, false);
            case O, DOWN -> super.projection(c, layer, t);
        };
    }
}
