package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tiny random models of every Llama-style family, each exercising one feature (RoPE scaling types,
 * biases, qk-norm, sliding windows over sequences longer than the window, fused projections,
 * partial rotary, Gemma's norms, scales, soft-caps and local RoPE, tied and untied heads),
 * against a plain-Java double-precision forward written in this test from HF's modelling code
 * (modeling_llama / mistral / qwen2 / qwen3 / phi3 / gemma2 / gemma3, modeling_rope_utils, masking_utils). Each case also
 * checks that its feature moves the reference logits by far more than the tolerance, so the
 * comparison could fail if the feature were ignored.
 */
class DecoderFamiliesReferenceTest {

    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    /** name, config.json, sequence length, the config without the case's feature (for the reference only), qk-norm off. */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("llama, untied, GQA, attention and MLP biases",
                        with(base("llama", false), c -> {
                            c.addProperty("attention_bias", true);
                            c.addProperty("mlp_bias", true);
                        }), 11, (UnaryOperator<JsonObject>) c -> with(c, x -> {
                            x.addProperty("attention_bias", false);
                            x.addProperty("mlp_bias", false);
                        }), false),
                Arguments.of("llama, rope linear",
                        with(base("llama", true), c -> c.add("rope_scaling", rope("linear", "factor", 4.0))), 13,
                        noRopeScaling(), false),
                Arguments.of("llama, rope dynamic beyond max_position_embeddings",
                        with(base("llama", false), c -> {
                            c.addProperty("max_position_embeddings", 8);
                            c.add("rope_scaling", rope("dynamic", "factor", 3.0));
                        }), 14, noRopeScaling(), false),
                Arguments.of("llama, rope dynamic within max_position_embeddings",
                        with(base("llama", false), c -> {
                            c.addProperty("max_position_embeddings", 8);
                            c.add("rope_scaling", rope("dynamic", "factor", 3.0));
                        }), 7, null, false),
                Arguments.of("llama, rope llama3 (high, medium and low frequencies)",
                        with(base("llama", true), c -> {
                            c.addProperty("rope_theta", 500.0);
                            JsonObject r = rope("llama3", "factor", 8.0);
                            r.addProperty("low_freq_factor", 1.0);
                            r.addProperty("high_freq_factor", 4.0);
                            r.addProperty("original_max_position_embeddings", 32);
                            c.add("rope_scaling", r);
                        }), 13, noRopeScaling(), false),
                Arguments.of("llama, rope_parameters (transformers 5) llama3",
                        with(base("llama", false), c -> {
                            c.remove("rope_theta");
                            JsonObject r = rope("llama3", "factor", 8.0);
                            r.addProperty("rope_theta", 500.0);
                            r.addProperty("low_freq_factor", 1.0);
                            r.addProperty("high_freq_factor", 4.0);
                            r.addProperty("original_max_position_embeddings", 32);
                            c.add("rope_parameters", r);
                        }), 13, (UnaryOperator<JsonObject>) c -> with(c, x -> {
                            x.remove("rope_parameters");
                            x.addProperty("rope_theta", 500.0);
                        }), false),
                Arguments.of("mistral, sliding window 4 over 11 tokens, untied",
                        with(base("mistral", false), c -> c.addProperty("sliding_window", 4)), 11,
                        (UnaryOperator<JsonObject>) c -> with(c, x -> x.add("sliding_window", null)), false),
                Arguments.of("qwen2, q/k/v bias, tied, sliding window 3 on layers >= max_window_layers 1",
                        with(base("qwen2", true), c -> {
                            c.addProperty("use_sliding_window", true);
                            c.addProperty("sliding_window", 3);
                            c.addProperty("max_window_layers", 1);
                        }), 12, (UnaryOperator<JsonObject>) c -> with(c, x -> x.addProperty("use_sliding_window", false)), false),
                Arguments.of("qwen2, q/k/v bias only",
                        base("qwen2", false), 9, (UnaryOperator<JsonObject>) c -> with(c, x -> x.addProperty("model_type", "llama")), false),
                Arguments.of("phi3, fused qkv_proj and gate_up_proj, partial rotary 0.5, untied",
                        with(base("phi3", false), c -> c.addProperty("partial_rotary_factor", 0.5)), 11,
                        (UnaryOperator<JsonObject>) c -> with(c, x -> x.remove("partial_rotary_factor")), false),
                Arguments.of("phi3, long RoPE beyond original_max_position_embeddings (long factors), sliding window 5, tied",
                        with(base("phi3", true), c -> {
                            c.addProperty("original_max_position_embeddings", 8);
                            c.addProperty("sliding_window", 5);
                            c.add("rope_scaling", longRope(4, 0.5));
                        }), 13, noRopeScaling(), false),
                Arguments.of("phi3, long RoPE within original_max_position_embeddings (short factors, scaled cos/sin), partial rotary 0.75",
                        with(base("phi3", false), c -> {
                            c.addProperty("original_max_position_embeddings", 16);
                            c.addProperty("head_dim", 16);
                            c.addProperty("partial_rotary_factor", 0.75);
                            c.add("rope_scaling", longRope(6, 0.25));
                        }), 12, noRopeScaling(), false),
                Arguments.of("gemma2, (1 + w) sandwich norms, √hidden embeddings, GeGLU, soft-caps 2 and 3, tied",
                        with(base("gemma2", true), c -> {
                            c.addProperty("head_dim", 8);
                            c.addProperty("query_pre_attn_scalar", 12);
                            c.addProperty("attn_logit_softcapping", 2.0);
                            c.addProperty("final_logit_softcapping", 3.0);
                            c.addProperty("sliding_window", 64);
                        }), 11, (UnaryOperator<JsonObject>) c -> with(c, x -> {
                            x.add("attn_logit_softcapping", null);
                            x.add("final_logit_softcapping", null);
                        }), false),
                Arguments.of("gemma2, sliding window 3 on even layers over 12 tokens, default soft-caps, untied",
                        with(base("gemma2", false), c -> {
                            c.addProperty("head_dim", 8);
                            c.addProperty("sliding_window", 3);
                        }), 12, (UnaryOperator<JsonObject>) c -> with(c, x -> x.addProperty("sliding_window", 64)), false),
                Arguments.of("gemma3_text, local RoPE base 50 on sliding layers, linear-scaled global RoPE, pattern 2, untied",
                        with(base("gemma3_text", false), c -> {
                            c.addProperty("head_dim", 8);
                            c.addProperty("sliding_window", 4);
                            c.addProperty("sliding_window_pattern", 2);
                            c.addProperty("rope_local_base_freq", 50.0);
                            c.add("rope_scaling", rope("linear", "factor", 4.0));
                        }), 11, (UnaryOperator<JsonObject>) c -> with(c, x -> {
                            x.remove("rope_local_base_freq");
                            x.add("rope_scaling", null);
                        }), false),
                Arguments.of("gemma3_text, (1 + w) q/k norm, head_dim 12, tied",
                        with(base("gemma3_text", true), c -> c.addProperty("head_dim", 12)), 9, null, true),
                Arguments.of("qwen3, q/k norm, head_dim 12 != hidden/heads, untied",
                        with(base("qwen3", false), c -> c.addProperty("head_dim", 12)), 10, null, true),
                Arguments.of("qwen3, attention bias, sliding window by layer_types, tied",
                        with(base("qwen3", true), c -> {
                            c.addProperty("head_dim", 8);
                            c.addProperty("attention_bias", true);
                            c.addProperty("use_sliding_window", true);
                            c.addProperty("sliding_window", 5);
                            JsonArray types = new JsonArray();
                            types.add("sliding_attention");
                            types.add("full_attention");
                            c.add("layer_types", types);
                        }), 12, (UnaryOperator<JsonObject>) c -> with(c, x -> x.addProperty("use_sliding_window", false)), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void logitsAndGreedyTokensEqualTheHfReference(String name, JsonObject config, int length,
                                                  UnaryOperator<JsonObject> withoutFeature, boolean qkNormMatters) throws Exception {
        Map<String, float[]> weights = TinyHfModels.write(tmp.resolve("model"), config, name.hashCode());
        int[] ids = new Random(length).ints(length, 0, config.get("vocab_size").getAsInt()).toArray();
        double[][] expected = new ReferenceDecoder(config, weights).logits(ids);
        float[][] actual = ModelTestSupport.logits(ModelSource.of(tmp.resolve("model").toString()), ids);
        double maxDiff = 0;
        for (int t = 0; t < ids.length; t++) {
            for (int v = 0; v < expected[t].length; v++) {
                maxDiff = Math.max(maxDiff, Math.abs(expected[t][v] - actual[t][v]));
            }
            assertArrayEquals(ModelTestSupport.topK(expected[t], 1), ModelTestSupport.topK(actual[t], 1), "greedy token at " + t);
        }
        assertTrue(maxDiff < TOLERANCE, name + ": max |logit - reference| = " + maxDiff);
        if (withoutFeature != null || qkNormMatters) {
            ReferenceDecoder plain = new ReferenceDecoder(withoutFeature == null ? config : withoutFeature.apply(config), weights);
            double effect = maxDiff(expected, (qkNormMatters ? plain.withoutQkNorm() : plain).logits(ids));
            assertTrue(effect > 100 * TOLERANCE, name + ": the feature must move the logits for the test to mean anything: " + effect);
        } else {
            // within max_position_embeddings dynamic RoPE is the default RoPE
            JsonObject plain = noRopeScaling().apply(config);
            assertTrue(maxDiff(expected, new ReferenceDecoder(plain, weights).logits(ids)) < 1e-12);
        }
    }

    static JsonObject base(String type, boolean tied) {
        return TinyHfModels.config(type, 61, 32, 2, 4, 2, 48, 64, tied);
    }

    static JsonObject with(JsonObject c, java.util.function.Consumer<JsonObject> edit) {
        JsonObject copy = c.deepCopy();
        edit.accept(copy);
        return copy;
    }

    static JsonObject rope(String type, String key, double value) {
        JsonObject r = new JsonObject();
        r.addProperty("rope_type", type);
        r.addProperty(key, value);
        return r;
    }

    /** Phi-3's long RoPE object with {@code pairs} short and long factors spread around 1 ± spread. */
    static JsonObject longRope(int pairs, double spread) {
        JsonObject r = new JsonObject();
        r.addProperty("type", "longrope");
        JsonArray shortFactor = new JsonArray();
        JsonArray longFactor = new JsonArray();
        for (int i = 0; i < pairs; i++) {
            shortFactor.add(1 + spread * i / pairs);
            longFactor.add(1 + 8 * spread * (i + 1) / pairs);
        }
        r.add("short_factor", shortFactor);
        r.add("long_factor", longFactor);
        return r;
    }

    static UnaryOperator<JsonObject> noRopeScaling() {
        return c -> with(c, x -> x.add("rope_scaling", null));
    }

    static double maxDiff(double[][] a, double[][] b) {
        double m = 0;
        for (int t = 0; t < a.length; t++) {
            for (int v = 0; v < a[t].length; v++) {
                m = Math.max(m, Math.abs(a[t][v] - b[t][v]));
            }
        }
        return m;
    }

    /**
     * HF's LlamaForCausalLM forward and the Mistral/Qwen2/Qwen3 variants, in double precision, one
     * sequence (position ids 0..n-1), straight from config.json and the HF-named weights.
     */
    static final class ReferenceDecoder {
        private final JsonObject c;
        private final Map<String, float[]> w;
        private final String type;
        private final int d;
        private final int heads;
        private final int kv;
        private final int hd;
        private final int ff;
        private final int vocab;
        private final double eps;
        private boolean qkNorm;
        /** Gemma 2/3: (1 + w) norms, sandwich norms, √hidden embeddings, GeGLU, soft-caps, local RoPE. */
        private final boolean gemma;

        ReferenceDecoder(JsonObject config, Map<String, float[]> weights) {
            this.c = config;
            this.w = weights;
            this.type = config.get("model_type").getAsString();
            this.d = config.get("hidden_size").getAsInt();
            this.heads = config.get("num_attention_heads").getAsInt();
            this.kv = config.get("num_key_value_heads").getAsInt();
            this.hd = TinyHfModels.headDim(config);
            this.ff = config.get("intermediate_size").getAsInt();
            this.vocab = config.get("vocab_size").getAsInt();
            this.eps = config.get("rms_norm_eps").getAsDouble();
            this.qkNorm = type.equals("qwen3") || type.equals("gemma3_text");
            this.gemma = type.startsWith("gemma");
        }

        ReferenceDecoder withoutQkNorm() {
            qkNorm = false;
            return this;
        }

        double[][] logits(int[] ids) {
            int n = ids.length;
            double[][] h = new double[n][d];
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < d; i++) {
                    h[t][i] = w.get("model.embed_tokens.weight")[ids[t] * d + i];
                }
            }
            if (gemma) {
                // Gemma2Model: hidden_states * hidden_size ** 0.5
                for (double[] row : h) {
                    for (int i = 0; i < d; i++) {
                        row[i] *= Math.sqrt(d);
                    }
                }
            }
            int layers = c.get("num_hidden_layers").getAsInt();
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".";
                double[] invFreq = gemma3Local(l, layers) ? unscaledFrequencies(localBase()) : inverseFrequencies(n);
                double[][] x = rmsNorm(h, w.get(p + "input_layernorm.weight"));
                double[][] q;
                double[][] k;
                double[][] v;
                if (type.equals("phi3")) {
                    // Phi3Attention: qkv[..., :q], qkv[..., q : q + kv], qkv[..., q + kv :]
                    double[][] qkv = linear(x, p + "self_attn.qkv_proj", (heads + 2 * kv) * hd, d, false);
                    q = columns(qkv, 0, heads * hd);
                    k = columns(qkv, heads * hd, kv * hd);
                    v = columns(qkv, (heads + kv) * hd, kv * hd);
                } else {
                    q = linear(x, p + "self_attn.q_proj", heads * hd, d, qkvBias());
                    k = linear(x, p + "self_attn.k_proj", kv * hd, d, qkvBias());
                    v = linear(x, p + "self_attn.v_proj", kv * hd, d, qkvBias());
                }
                if (qkNorm) {
                    q = perHeadRmsNorm(q, w.get(p + "self_attn.q_norm.weight"));
                    k = perHeadRmsNorm(k, w.get(p + "self_attn.k_norm.weight"));
                }
                rotate(q, invFreq, attentionScaling());
                rotate(k, invFreq, attentionScaling());
                double[][] att = attention(q, k, v, window(l, layers));
                double[][] attOut = linear(att, p + "self_attn.o_proj", d, heads * hd, outBias());
                if (gemma) {
                    attOut = rmsNorm(attOut, w.get(p + "post_attention_layernorm.weight"));
                }
                add(h, attOut);
                double[][] x2 = rmsNorm(h, w.get(p + (gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")));
                double[][] gate;
                double[][] up;
                if (type.equals("phi3")) {
                    // Phi3MLP: gate, up = gate_up_proj(x).chunk(2, dim=-1)
                    double[][] gateUp = linear(x2, p + "mlp.gate_up_proj", 2 * ff, d, false);
                    gate = columns(gateUp, 0, ff);
                    up = columns(gateUp, ff, ff);
                } else {
                    gate = linear(x2, p + "mlp.gate_proj", ff, d, mlpBias());
                    up = linear(x2, p + "mlp.up_proj", ff, d, mlpBias());
                }
                for (int t = 0; t < n; t++) {
                    for (int i = 0; i < ff; i++) {
                        double g = gate[t][i];
                        // SiLU, or Gemma's gelu_pytorch_tanh
                        double act = gemma ? 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)))
                                : g / (1 + Math.exp(-g));
                        gate[t][i] = act * up[t][i];
                    }
                }
                double[][] mlpOut = linear(gate, p + "mlp.down_proj", d, ff, mlpBias());
                if (gemma) {
                    mlpOut = rmsNorm(mlpOut, w.get(p + "post_feedforward_layernorm.weight"));
                }
                add(h, mlpOut);
            }
            double[][] f = rmsNorm(h, w.get("model.norm.weight"));
            float[] head = c.get("tie_word_embeddings").getAsBoolean() ? w.get("model.embed_tokens.weight") : w.get("lm_head.weight");
            double[][] out = new double[n][vocab];
            for (int t = 0; t < n; t++) {
                for (int tok = 0; tok < vocab; tok++) {
                    double s = 0;
                    for (int i = 0; i < d; i++) {
                        s += f[t][i] * head[tok * d + i];
                    }
                    double cap = gemma ? softcap("final_logit_softcapping", type.equals("gemma2") ? 30.0 : 0) : 0;
                    out[t][tok] = cap > 0 ? cap * Math.tanh(s / cap) : s;
                }
            }
            return out;
        }

        /** A Gemma soft-cap: the key's value, {@code ifAbsent} without the key, 0 (none) when null. */
        private double softcap(String key, double ifAbsent) {
            return !c.has(key) ? ifAbsent : c.get(key).isJsonNull() ? 0 : c.get(key).getAsDouble();
        }

        /** Gemma 3's sliding layers rotate with rope_local_base_freq (default 10000) and no scaling. */
        private boolean gemma3Local(int layer, int layers) {
            return type.equals("gemma3_text") && window(layer, layers) > 0;
        }

        private double localBase() {
            return c.has("rope_local_base_freq") ? c.get("rope_local_base_freq").getAsDouble() : 10000;
        }

        private double[] unscaledFrequencies(double base) {
            double[] inv = new double[hd / 2];
            for (int i = 0; i < inv.length; i++) {
                inv[i] = 1.0 / Math.pow(base, 2.0 * i / hd);
            }
            return inv;
        }

        private static double[][] columns(double[][] x, int from, int count) {
            double[][] out = new double[x.length][];
            for (int t = 0; t < x.length; t++) {
                out[t] = java.util.Arrays.copyOfRange(x[t], from, from + count);
            }
            return out;
        }

        private boolean qkvBias() {
            return type.equals("qwen2") || TinyHfModels.bool(c, "attention_bias");
        }

        private boolean outBias() {
            return !type.equals("qwen2") && TinyHfModels.bool(c, "attention_bias");
        }

        private boolean mlpBias() {
            return TinyHfModels.bool(c, "mlp_bias");
        }

        /**
         * The layer's sliding window (0 = none): Mistral's sliding_window (4096 when absent); Qwen's
         * only with use_sliding_window, on "sliding_attention" layer_types or layers >= max_window_layers.
         */
        private int window(int layer, int layers) {
            if (gemma) {
                // Gemma2Config: layer i slides when (i + 1) % 2; Gemma3TextConfig: when (i + 1) % sliding_window_pattern (6)
                boolean sliding = c.has("layer_types")
                        ? c.getAsJsonArray("layer_types").get(layer).getAsString().equals("sliding_attention")
                        : (layer + 1) % (type.equals("gemma2") ? 2 : c.has("sliding_window_pattern")
                                ? c.get("sliding_window_pattern").getAsInt() : 6) != 0;
                return sliding ? (c.has("sliding_window") ? c.get("sliding_window").getAsInt() : 4096) : 0;
            }
            if (type.equals("phi3")) {
                return c.has("sliding_window") && !c.get("sliding_window").isJsonNull() ? c.get("sliding_window").getAsInt() : 0;
            }
            if (type.equals("mistral")) {
                if (!c.has("sliding_window")) {
                    return 4096;
                }
                return c.get("sliding_window").isJsonNull() ? 0 : c.get("sliding_window").getAsInt();
            }
            if (type.startsWith("qwen") && TinyHfModels.bool(c, "use_sliding_window")) {
                int size = c.has("sliding_window") ? c.get("sliding_window").getAsInt() : 4096;
                boolean sliding = c.has("layer_types")
                        ? c.getAsJsonArray("layer_types").get(layer).getAsString().equals("sliding_attention")
                        : layer >= (c.has("max_window_layers") ? c.get("max_window_layers").getAsInt() : 28);
                return sliding ? size : 0;
            }
            return 0;
        }

        private JsonObject ropeObject() {
            return c.has("rope_parameters") && c.get("rope_parameters").isJsonObject() ? c.getAsJsonObject("rope_parameters")
                    : c.has("rope_scaling") && c.get("rope_scaling").isJsonObject() ? c.getAsJsonObject("rope_scaling") : null;
        }

        /** rope_type (or the legacy type key); Phi3Config renames su and yarn to longrope. */
        private static String ropeKind(JsonObject r) {
            String kind = r == null ? "default" : r.has("rope_type") ? r.get("rope_type").getAsString() : r.get("type").getAsString();
            return kind.equals("su") || kind.equals("yarn") ? "longrope" : kind;
        }

        /** The rotated width: int(head_dim · partial_rotary_factor) (Phi-3; 1 elsewhere). */
        private int rotaryDim() {
            JsonObject r = ropeObject();
            double partial = r != null && r.has("partial_rotary_factor") ? r.get("partial_rotary_factor").getAsDouble()
                    : c.has("partial_rotary_factor") ? c.get("partial_rotary_factor").getAsDouble() : 1.0;
            return (int) (hd * partial);
        }

        /** Phi-3's original_max_position_embeddings (Phi3Config default 4096). */
        private int originalMaxPositions() {
            return c.has("original_max_position_embeddings") ? c.get("original_max_position_embeddings").getAsInt() : 4096;
        }

        /** _compute_longrope_parameters' attention_factor (1 for the other types). */
        private double attentionScaling() {
            JsonObject r = ropeObject();
            if (!ropeKind(r).equals("longrope")) {
                return 1;
            }
            if (r.has("attention_factor")) {
                return r.get("attention_factor").getAsDouble();
            }
            double factor = c.get("max_position_embeddings").getAsDouble() / originalMaxPositions();
            return factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalMaxPositions()));
        }

        /**
         * modeling_rope_utils: default, linear, dynamic (seq_len = max(position_ids) + 1 = n), llama3,
         * longrope (long_factor when n > original_max_position_embeddings, else short_factor).
         */
        private double[] inverseFrequencies(int n) {
            JsonObject r = ropeObject();
            double base = r != null && r.has("rope_theta") ? r.get("rope_theta").getAsDouble() : c.get("rope_theta").getAsDouble();
            String kind = ropeKind(r);
            int maxPos = c.get("max_position_embeddings").getAsInt();
            int dim = rotaryDim();
            if (kind.equals("dynamic") && n > maxPos) {
                double factor = r.get("factor").getAsDouble();
                base = base * Math.pow(factor * n / maxPos - (factor - 1), (double) dim / (dim - 2));
            }
            double[] inv = new double[dim / 2];
            for (int i = 0; i < inv.length; i++) {
                inv[i] = 1.0 / Math.pow(base, 2.0 * i / dim);
            }
            if (kind.equals("longrope")) {
                JsonArray ext = r.getAsJsonArray(n > originalMaxPositions() ? "long_factor" : "short_factor");
                for (int i = 0; i < inv.length; i++) {
                    inv[i] /= ext.get(i).getAsDouble();
                }
            } else if (kind.equals("linear")) {
                for (int i = 0; i < inv.length; i++) {
                    inv[i] /= r.get("factor").getAsDouble();
                }
            } else if (kind.equals("llama3")) {
                double factor = r.get("factor").getAsDouble();
                double low = r.get("low_freq_factor").getAsDouble();
                double high = r.get("high_freq_factor").getAsDouble();
                double old = r.get("original_max_position_embeddings").getAsDouble();
                for (int i = 0; i < inv.length; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    double scaled = wavelen > old / low ? inv[i] / factor : inv[i];
                    double smooth = (old / wavelen - low) / (high - low);
                    boolean medium = !(wavelen < old / high) && !(wavelen > old / low);
                    inv[i] = medium ? (1 - smooth) * scaled / factor + smooth * scaled : scaled;
                }
            }
            return inv;
        }

        /**
         * x·cos + rotate_half(x)·sin on the first rotaryDim dimensions of each head (the rest pass
         * through), emb = cat(freqs, freqs), cos and sin scaled by {@code scale}.
         */
        private void rotate(double[][] x, double[] invFreq, double scale) {
            int rd = invFreq.length * 2;
            int half = invFreq.length;
            int nHeads = x[0].length / hd;
            for (int t = 0; t < x.length; t++) {
                for (int hh = 0; hh < nHeads; hh++) {
                    int o = hh * hd;
                    double[] y = new double[rd];
                    for (int i = 0; i < rd; i++) {
                        double angle = t * invFreq[i % half];
                        double rotated = i < half ? -x[t][o + i + half] : x[t][o + i - half];
                        y[i] = (x[t][o + i] * Math.cos(angle) + rotated * Math.sin(angle)) * scale;
                    }
                    System.arraycopy(y, 0, x[t], o, rd);
                }
            }
        }

        /** Causal softmax(q kᵀ / √hd) v; key s visible to query t when s ≤ t and (no window or s > t − window). */
        private double[][] attention(double[][] q, double[][] k, double[][] v, int window) {
            int n = q.length;
            int group = heads / kv;
            double[][] out = new double[n][heads * hd];
            for (int hh = 0; hh < heads; hh++) {
                int kvh = hh / group;
                for (int t = 0; t < n; t++) {
                    int first = window > 0 ? Math.max(0, t - window + 1) : 0;
                    double[] scores = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = first; s <= t; s++) {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) {
                            dot += q[t][hh * hd + i] * k[s][kvh * hd + i];
                        }
                        double score = dot * scoreScale();
                        double cap = gemma ? softcap("attn_logit_softcapping", type.equals("gemma2") ? 50.0 : 0) : 0;
                        scores[s] = cap > 0 ? cap * Math.tanh(score / cap) : score;
                        max = Math.max(max, scores[s]);
                    }
                    double z = 0;
                    for (int s = first; s <= t; s++) {
                        scores[s] = Math.exp(scores[s] - max);
                        z += scores[s];
                    }
                    for (int s = first; s <= t; s++) {
                        for (int i = 0; i < hd; i++) {
                            out[t][hh * hd + i] += scores[s] / z * v[s][kvh * hd + i];
                        }
                    }
                }
            }
            return out;
        }

        /** head_dim^-1/2, or Gemma's query_pre_attn_scalar^-1/2 (default 256). */
        private double scoreScale() {
            if (!gemma) {
                return 1 / Math.sqrt(hd);
            }
            return 1 / Math.sqrt(c.has("query_pre_attn_scalar") ? c.get("query_pre_attn_scalar").getAsDouble() : 256);
        }

        private double[][] rmsNorm(double[][] x, float[] g) {
            double[][] out = new double[x.length][];
            for (int t = 0; t < x.length; t++) {
                out[t] = rms(x[t], 0, x[t].length, g);
            }
            return out;
        }

        /** Qwen3's q_norm / k_norm: RMSNorm over head_dim of each head. */
        private double[][] perHeadRmsNorm(double[][] x, float[] g) {
            double[][] out = new double[x.length][x[0].length];
            for (int t = 0; t < x.length; t++) {
                for (int o = 0; o < x[t].length; o += hd) {
                    System.arraycopy(rms(x[t], o, hd, g), 0, out[t], o, hd);
                }
            }
            return out;
        }

        private double[] rms(double[] x, int from, int len, float[] g) {
            double ms = 0;
            for (int i = from; i < from + len; i++) {
                ms += x[i] * x[i];
            }
            ms /= len;
            double[] y = new double[len];
            for (int i = 0; i < len; i++) {
                // Gemma's RMSNorm multiplies by 1 + weight
                y[i] = (gemma ? 1 + g[i] : g[i]) * (x[from + i] / Math.sqrt(ms + eps));
            }
            return y;
        }

        private double[][] linear(double[][] x, String module, int out, int in, boolean bias) {
            float[] weight = w.get(module + ".weight");
            float[] b = bias ? w.get(module + ".bias") : null;
            double[][] y = new double[x.length][out];
            for (int t = 0; t < x.length; t++) {
                for (int o = 0; o < out; o++) {
                    double s = b == null ? 0 : b[o];
                    for (int i = 0; i < in; i++) {
                        s += x[t][i] * weight[o * in + i];
                    }
                    y[t][o] = s;
                }
            }
            return y;
        }

        private static void add(double[][] h, double[][] delta) {
            for (int t = 0; t < h.length; t++) {
                for (int i = 0; i < h[t].length; i++) {
                    h[t][i] += delta[t][i];
                }
            }
        }
    }
}
