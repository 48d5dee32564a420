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
 * biases, qk-norm, sliding windows over sequences longer than the window, tied and untied heads),
 * against a plain-Java double-precision forward written in this test from HF's modelling code
 * (modeling_llama / mistral / qwen2 / qwen3, modeling_rope_utils, masking_utils). Each case also
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
            this.qkNorm = type.equals("qwen3");
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
            double[] invFreq = inverseFrequencies(n);
            int layers = c.get("num_hidden_layers").getAsInt();
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".";
                double[][] x = rmsNorm(h, w.get(p + "input_layernorm.weight"));
                double[][] q = linear(x, p + "self_attn.q_proj", heads * hd, d, qkvBias());
                double[][] k = linear(x, p + "self_attn.k_proj", kv * hd, d, qkvBias());
                double[][] v = linear(x, p + "self_attn.v_proj", kv * hd, d, qkvBias());
                if (qkNorm) {
                    q = perHeadRmsNorm(q, w.get(p + "self_attn.q_norm.weight"));
                    k = perHeadRmsNorm(k, w.get(p + "self_attn.k_norm.weight"));
                }
                rotate(q, invFreq);
                rotate(k, invFreq);
                double[][] att = attention(q, k, v, window(l, layers));
                add(h, linear(att, p + "self_attn.o_proj", d, heads * hd, outBias()));
                double[][] x2 = rmsNorm(h, w.get(p + "post_attention_layernorm.weight"));
                double[][] gate = linear(x2, p + "mlp.gate_proj", ff, d, mlpBias());
                double[][] up = linear(x2, p + "mlp.up_proj", ff, d, mlpBias());
                for (int t = 0; t < n; t++) {
                    for (int i = 0; i < ff; i++) {
                        double g = gate[t][i];
                        gate[t][i] = g / (1 + Math.exp(-g)) * up[t][i];
                    }
                }
                add(h, linear(gate, p + "mlp.down_proj", d, ff, mlpBias()));
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
                    out[t][tok] = s;
                }
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

        /** modeling_rope_utils: default, linear, dynamic (seq_len = max(position_ids) + 1 = n), llama3. */
        private double[] inverseFrequencies(int n) {
            JsonObject r = c.has("rope_parameters") && c.get("rope_parameters").isJsonObject() ? c.getAsJsonObject("rope_parameters")
                    : c.has("rope_scaling") && c.get("rope_scaling").isJsonObject() ? c.getAsJsonObject("rope_scaling") : null;
            double base = r != null && r.has("rope_theta") ? r.get("rope_theta").getAsDouble() : c.get("rope_theta").getAsDouble();
            String kind = r == null ? "default" : r.get("rope_type").getAsString();
            int maxPos = c.get("max_position_embeddings").getAsInt();
            if (kind.equals("dynamic") && n > maxPos) {
                double factor = r.get("factor").getAsDouble();
                base = base * Math.pow(factor * n / maxPos - (factor - 1), (double) hd / (hd - 2));
            }
            double[] inv = new double[hd / 2];
            for (int i = 0; i < inv.length; i++) {
                inv[i] = 1.0 / Math.pow(base, 2.0 * i / hd);
            }
            if (kind.equals("linear")) {
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

        /** x·cos + rotate_half(x)·sin per head, emb = cat(freqs, freqs). */
        private void rotate(double[][] x, double[] invFreq) {
            int half = hd / 2;
            int nHeads = x[0].length / hd;
            for (int t = 0; t < x.length; t++) {
                for (int hh = 0; hh < nHeads; hh++) {
                    int o = hh * hd;
                    double[] y = new double[hd];
                    for (int i = 0; i < hd; i++) {
                        double angle = t * invFreq[i % half];
                        double rotated = i < half ? -x[t][o + i + half] : x[t][o + i - half];
                        y[i] = x[t][o + i] * Math.cos(angle) + rotated * Math.sin(angle);
                    }
                    System.arraycopy(y, 0, x[t], o, hd);
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
                        scores[s] = dot / Math.sqrt(hd);
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
                y[i] = g[i] * (x[from + i] / Math.sqrt(ms + eps));
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
