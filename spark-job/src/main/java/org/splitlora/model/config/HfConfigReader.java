package org.splitlora.model.config;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import org.splitlora.model.weights.ModelLoadException;

/** Reads a Hugging Face {@code config.json} into a {@link ModelConfig}. */
public final class HfConfigReader {

    private static final Set<String> GPT2_TYPES = Set.of("gpt2");
    private static final Set<String> LLAMA_TYPES = Set.of("llama", "mistral", "qwen2");

    private HfConfigReader() {}

    public static ModelConfig read(Path configJson) {
        String text;
        try {
            text = Files.readString(configJson, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(configJson + ": config.json not found");
        } catch (IOException e) {
            throw new ModelLoadException(configJson + ": cannot read: " + e.getMessage(), e);
        }
        JsonObject o;
        try {
            o = JsonParser.parseString(text).getAsJsonObject();
        } catch (JsonSyntaxException | IllegalStateException e) {
            throw new ModelLoadException(configJson + ": not a JSON object: " + e.getMessage(), e);
        }
        try {
            return parse(o);
        } catch (IllegalArgumentException | NullPointerException | ClassCastException | UnsupportedOperationException e) {
            throw new ModelLoadException(configJson + ": " + e.getMessage(), e);
        }
    }

    static ModelConfig parse(JsonObject o) {
        String type = o.has("model_type") ? o.get("model_type").getAsString() : null;
        if (type == null) {
            throw new IllegalArgumentException("no model_type");
        }
        if (GPT2_TYPES.contains(type)) {
            return gpt2(o);
        }
        if (LLAMA_TYPES.contains(type)) {
            return llama(o, type);
        }
        throw new IllegalArgumentException(
                "unsupported model_type '" + type + "' (supported: gpt2, llama, mistral, qwen2)");
    }

    private static ModelConfig gpt2(JsonObject o) {
        int d = req(o, "n_embd");
        int heads = req(o, "n_head");
        require(d % heads == 0, "n_embd (" + d + ") must be divisible by n_head (" + heads + ")");
        JsonElement inner = o.get("n_inner");
        int ff = inner == null || inner.isJsonNull() ? 4 * d : inner.getAsInt();
        require(!bool(o, "scale_attn_by_inverse_layer_idx", false) && !bool(o, "reorder_and_upcast_attn", false),
                "scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported");
        require(bool(o, "scale_attn_weights", true), "scale_attn_weights=false is not supported");
        return new ModelConfig(
                ModelFamily.GPT2,
                req(o, "vocab_size"),
                d,
                req(o, "n_layer"),
                heads,
                heads,
                d / heads,
                ff,
                o.has("n_positions") ? o.get("n_positions").getAsInt() : req(o, "n_ctx"),
                dbl(o, "layer_norm_epsilon", 1e-5),
                0,
                1,
                ModelConfig.Activation.fromHf(str(o, "activation_function", "gelu_new")),
                true,
                true,
                bool(o, "tie_word_embeddings", true),
                id(o, "bos_token_id", 50256),
                id(o, "eos_token_id", 50256));
    }

    private static ModelConfig llama(JsonObject o, String type) {
        int d = req(o, "hidden_size");
        int heads = req(o, "num_attention_heads");
        int kv = o.has("num_key_value_heads") && !o.get("num_key_value_heads").isJsonNull()
                ? o.get("num_key_value_heads").getAsInt() : heads;
        int headDim = o.has("head_dim") && !o.get("head_dim").isJsonNull() ? o.get("head_dim").getAsInt() : d / heads;
        double scale = 1;
        JsonElement rs = o.get("rope_scaling");
        if (rs != null && !rs.isJsonNull()) {
            JsonObject r = rs.getAsJsonObject();
            String kind = r.has("rope_type") ? r.get("rope_type").getAsString()
                    : r.has("type") ? r.get("type").getAsString() : "?";
            if (!kind.equals("linear") && !kind.equals("default")) {
                throw new IllegalArgumentException("rope_scaling type '" + kind + "' is not supported (linear only)");
            }
            if (kind.equals("linear")) {
                scale = r.get("factor").getAsDouble();
            }
        }
        boolean attnBias = bool(o, "attention_bias", type.equals("qwen2"));
        return new ModelConfig(
                ModelFamily.LLAMA,
                req(o, "vocab_size"),
                d,
                req(o, "num_hidden_layers"),
                heads,
                kv,
                headDim,
                req(o, "intermediate_size"),
                o.has("max_position_embeddings") ? o.get("max_position_embeddings").getAsInt() : 2048,
                dbl(o, "rms_norm_eps", 1e-6),
                dbl(o, "rope_theta", 10000),
                scale,
                ModelConfig.Activation.fromHf(str(o, "hidden_act", "silu")),
                attnBias,
                bool(o, "mlp_bias", false),
                bool(o, "tie_word_embeddings", false),
                id(o, "bos_token_id", 1),
                id(o, "eos_token_id", 2));
    }

    private static int req(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            throw new IllegalArgumentException("missing required key '" + key + "'");
        }
        return e.getAsInt();
    }

    private static double dbl(JsonObject o, String key, double def) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : e.getAsDouble();
    }

    private static boolean bool(JsonObject o, String key, boolean def) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : e.getAsBoolean();
    }

    private static String str(JsonObject o, String key, String def) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : e.getAsString();
    }

    /** Token ids may be a number or (eos in newer configs) a list; the first entry is used. */
    private static int id(JsonObject o, String key, int def) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return def;
        }
        if (e.isJsonArray()) {
            return e.getAsJsonArray().isEmpty() ? def : e.getAsJsonArray().get(0).getAsInt();
        }
        return e.getAsInt();
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
