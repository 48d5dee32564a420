package org.splitlora.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.splitlora.model.weights.SafetensorsWriter;
import org.splitlora.model.weights.TensorDType;

/**
 * Random tiny models of the Llama-style families (llama, mistral, qwen2, qwen3, phi3, gemma2,
 * gemma3_text) written as HF
 * would save them: config.json and model.safetensors with HF's tensor names and shapes, which are
 * spelled out here from the HF modelling code (not taken from our architectures).
 */
public final class TinyHfModels {

    private TinyHfModels() {}

    /** A config.json for {@code modelType} with the shape keys set; callers add the feature keys. */
    public static JsonObject config(String modelType, int vocab, int hidden, int layers, int heads, int kvHeads, int ff,
                                    int maxPositions, boolean tied) {
        JsonObject c = new JsonObject();
        c.addProperty("model_type", modelType);
        c.addProperty("vocab_size", vocab);
        c.addProperty("hidden_size", hidden);
        c.addProperty("num_hidden_layers", layers);
        c.addProperty("num_attention_heads", heads);
        c.addProperty("num_key_value_heads", kvHeads);
        c.addProperty("intermediate_size", ff);
        c.addProperty("max_position_embeddings", maxPositions);
        c.addProperty("rms_norm_eps", 1e-6);
        c.addProperty("rope_theta", 10000.0);
        c.addProperty("hidden_act", "silu");
        c.addProperty("tie_word_embeddings", tied);
        c.addProperty("bos_token_id", 1);
        c.addProperty("eos_token_id", 2);
        c.addProperty("torch_dtype", "float32");
        return c;
    }

    /** Writes {@code config} and random weights into {@code dir}; returns the weights by HF name. */
    public static Map<String, float[]> write(Path dir, JsonObject config, long seed) throws IOException {
        String type = config.get("model_type").getAsString();
        int v = config.get("vocab_size").getAsInt();
        int d = config.get("hidden_size").getAsInt();
        int heads = config.get("num_attention_heads").getAsInt();
        int kv = config.get("num_key_value_heads").getAsInt();
        int hd = headDim(config);
        int ff = config.get("intermediate_size").getAsInt();
        boolean attnBias = type.equals("qwen2") || bool(config, "attention_bias");
        boolean outBias = !type.equals("qwen2") && bool(config, "attention_bias");
        boolean mlpBias = bool(config, "mlp_bias");
        boolean gemma = type.startsWith("gemma");
        // Gemma's RMSNorm scales by 1 + weight: its weights sit around 0, the others' around 1
        double normMean = gemma ? 0 : 1;
        Random rng = new Random(seed);
        Map<String, SafetensorsWriter.Tensor> t = new TreeMap<>();
        put(t, "model.embed_tokens.weight", rng, gemma ? 1 / Math.sqrt(d) : 1.0, 0, v, d);
        for (int l = 0; l < config.get("num_hidden_layers").getAsInt(); l++) {
            String p = "model.layers." + l + ".";
            put(t, p + "input_layernorm.weight", rng, 0.2, normMean, d);
            put(t, p + "post_attention_layernorm.weight", rng, 0.2, normMean, d);
            if (gemma) {
                put(t, p + "pre_feedforward_layernorm.weight", rng, 0.2, 0, d);
                put(t, p + "post_feedforward_layernorm.weight", rng, 0.2, 0, d);
            }
            if (type.equals("phi3")) {
                // Phi3Attention.qkv_proj: [q | k | v] rows; Phi3MLP.gate_up_proj: [gate | up]
                linear(t, p + "self_attn.qkv_proj", rng, heads * hd + 2 * kv * hd, d, false);
                linear(t, p + "self_attn.o_proj", rng, d, heads * hd, false);
                linear(t, p + "mlp.gate_up_proj", rng, 2 * ff, d, false);
                linear(t, p + "mlp.down_proj", rng, d, ff, false);
                continue;
            }
            linear(t, p + "self_attn.q_proj", rng, heads * hd, d, attnBias);
            linear(t, p + "self_attn.k_proj", rng, kv * hd, d, attnBias);
            linear(t, p + "self_attn.v_proj", rng, kv * hd, d, attnBias);
            linear(t, p + "self_attn.o_proj", rng, d, heads * hd, outBias);
            if (type.equals("qwen3") || type.equals("gemma3_text")) {
                put(t, p + "self_attn.q_norm.weight", rng, 0.3, normMean, hd);
                put(t, p + "self_attn.k_norm.weight", rng, 0.3, normMean, hd);
            }
            linear(t, p + "mlp.gate_proj", rng, ff, d, mlpBias);
            linear(t, p + "mlp.up_proj", rng, ff, d, mlpBias);
            linear(t, p + "mlp.down_proj", rng, d, ff, mlpBias);
        }
        put(t, "model.norm.weight", rng, 0.2, normMean, d);
        if (!config.get("tie_word_embeddings").getAsBoolean()) {
            put(t, "lm_head.weight", rng, 0.5, 0, v, d);
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), new GsonBuilder().setPrettyPrinting().create().toJson(config));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), t, TensorDType.F32, Map.of("format", "pt"));
        Map<String, float[]> out = new TreeMap<>();
        t.forEach((k, x) -> out.put(k, x.values()));
        return out;
    }

    /** HF's head_dim: the key, else Qwen3Config's default 128 (Gemma's 256), else hidden / heads. */
    public static int headDim(JsonObject c) {
        if (c.has("head_dim") && !c.get("head_dim").isJsonNull()) {
            return c.get("head_dim").getAsInt();
        }
        String type = c.get("model_type").getAsString();
        return type.equals("qwen3") ? 128 : type.startsWith("gemma") ? 256
                : c.get("hidden_size").getAsInt() / c.get("num_attention_heads").getAsInt();
    }

    static boolean bool(JsonObject c, String key) {
        return c.has(key) && !c.get(key).isJsonNull() && c.get(key).getAsBoolean();
    }

    /** A weight [out, in] with std 1/√in (so activations stay O(1)) and, if asked, a bias. */
    private static void linear(Map<String, SafetensorsWriter.Tensor> t, String module, Random rng, int out, int in, boolean bias) {
        put(t, module + ".weight", rng, 1 / Math.sqrt(in), 0, out, in);
        if (bias) {
            put(t, module + ".bias", rng, 0.3, 0, out);
        }
    }

    private static void put(Map<String, SafetensorsWriter.Tensor> t, String name, Random rng, double std, double mean, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] x = new float[(int) n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (mean + std * rng.nextGaussian());
        }
        t.put(name, new SafetensorsWriter.Tensor(shape, x));
    }
}
