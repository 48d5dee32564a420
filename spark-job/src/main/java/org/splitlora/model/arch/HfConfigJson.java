package org.splitlora.model.arch;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A config.json (or one of its nested objects, such as {@code rope_scaling}) as an architecture
 * reads it. Every key must be read, declared {@link #known} (it changes nothing in this
 * implementation) or it is refused by {@link #finish}: a setting we do not implement is never
 * ignored silently. Type errors name the key.
 */
public final class HfConfigJson {

    /**
     * Keys of HF's PretrainedConfig that no decoder forward reads here: names and versions, the
     * remote-code class map ({@code auto_map}: the families here run natively, never a model's code), the
     * storage dtype (weights are read in whatever dtype the file holds), the cache flag, init
     * settings, label maps, output flags, and the generation defaults old configs carry (our
     * {@code generate} takes its settings from its own options and generation_config.json).
     */
    private static final Set<String> METADATA = Set.of(
            "architectures", "auto_map", "model_type", "torch_dtype", "dtype", "transformers_version", "_name_or_path",
            "use_cache", "initializer_range", "pad_token_id", "sep_token_id", "decoder_start_token_id",
            "tokenizer_class", "id2label", "label2id", "problem_type", "finetuning_task", "task_specific_params",
            "prefix", "output_attentions", "output_hidden_states", "return_dict", "torchscript", "use_bfloat16",
            "tf_legacy_loss", "chunk_size_feed_forward", "is_decoder", "_attn_implementation_autoset",
            "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
            "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
            "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids",
            "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
            "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
            "suppress_tokens", "begin_suppress_tokens");

    /** PretrainedConfig keys that are fine at their default and would change the model otherwise. */
    private static final Map<String, JsonElement> DEFAULT_ONLY = Map.of(
            "is_encoder_decoder", new JsonPrimitive(false),
            "add_cross_attention", new JsonPrimitive(false),
            "tie_encoder_decoder", new JsonPrimitive(false),
            "pruned_heads", JsonParser.parseString("{}"));

    private final JsonObject json;
    /** "" for config.json itself, "rope_scaling." for a nested object: how keys are named in errors. */
    private final String path;
    private final Set<String> consumed = new HashSet<>();

    public HfConfigJson(JsonObject json) {
        this(json, "");
    }

    private HfConfigJson(JsonObject json, String path) {
        this.json = json;
        this.path = path;
    }

    /** Whether {@code key} is present and not null (does not count as reading it). */
    public boolean has(String key) {
        JsonElement e = json.get(key);
        return e != null && !e.isJsonNull();
    }

    public int integer(String key) {
        JsonElement e = take(key);
        if (e == null) {
            throw new IllegalArgumentException("missing required key '" + path + key + "'");
        }
        return asInt(key, e);
    }

    public int integer(String key, int def) {
        JsonElement e = take(key);
        return e == null ? def : asInt(key, e);
    }

    /**
     * An integer that HF distinguishes absent from null for: {@code ifAbsent} when the key is not
     * there, null when it is null (e.g. Mistral's sliding_window: absent = 4096, null = none).
     */
    public Integer integerOrNull(String key, Integer ifAbsent) {
        boolean present = json.has(key);
        JsonElement e = take(key);
        return !present ? ifAbsent : e == null ? null : asInt(key, e);
    }

    /** A number HF distinguishes absent from null for: {@code ifAbsent} when not there, null when null (Gemma's soft-caps). */
    public Double numberOrNull(String key, Double ifAbsent) {
        boolean present = json.has(key);
        JsonElement e = take(key);
        return !present ? ifAbsent : e == null ? null : asNumber(key, e);
    }

    public double number(String key) {
        JsonElement e = take(key);
        if (e == null) {
            throw new IllegalArgumentException("missing required key '" + path + key + "'");
        }
        return asNumber(key, e);
    }

    public double number(String key, double def) {
        JsonElement e = take(key);
        return e == null ? def : asNumber(key, e);
    }

    public boolean bool(String key, boolean def) {
        JsonElement e = take(key);
        if (e == null) {
            return def;
        }
        if (!(e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean())) {
            throw new IllegalArgumentException("key '" + path + key + "' must be true or false, got " + e);
        }
        return e.getAsBoolean();
    }

    public String string(String key, String def) {
        JsonElement e = take(key);
        if (e == null) {
            return def;
        }
        if (!(e.isJsonPrimitive() && e.getAsJsonPrimitive().isString())) {
            throw new IllegalArgumentException("key '" + path + key + "' must be a string, got " + e);
        }
        return e.getAsString();
    }

    /** A list of strings, or null when the key is absent or null. */
    public List<String> strings(String key) {
        JsonElement e = take(key);
        if (e == null) {
            return null;
        }
        if (!e.isJsonArray()) {
            throw new IllegalArgumentException("key '" + path + key + "' must be a list of strings, got " + e);
        }
        List<String> out = new ArrayList<>();
        for (JsonElement x : e.getAsJsonArray()) {
            if (!(x.isJsonPrimitive() && x.getAsJsonPrimitive().isString())) {
                throw new IllegalArgumentException("key '" + path + key + "' must be a list of strings, got " + e);
            }
            out.add(x.getAsString());
        }
        return out;
    }

    /** A list of numbers, or null when the key is absent or null. */
    public List<Double> numbers(String key) {
        JsonElement e = take(key);
        if (e == null) {
            return null;
        }
        if (!e.isJsonArray()) {
            throw new IllegalArgumentException("key '" + path + key + "' must be a list of numbers, got " + e);
        }
        List<Double> out = new ArrayList<>();
        for (JsonElement x : e.getAsJsonArray()) {
            out.add(asNumber(key, x));
        }
        return out;
    }

    /** A nested object read under its own name (finish it too), or null when absent or null. */
    public HfConfigJson object(String key) {
        JsonElement e = take(key);
        if (e == null) {
            return null;
        }
        if (!e.isJsonObject()) {
            throw new IllegalArgumentException("key '" + path + key + "' must be an object, got " + e);
        }
        return new HfConfigJson(e.getAsJsonObject(), path + key + ".");
    }

    /** A token id: a number, or (eos in newer configs) a list whose first entry is used. */
    public int tokenId(String key, int def) {
        JsonElement e = take(key);
        if (e == null) {
            return def;
        }
        if (e.isJsonArray()) {
            JsonArray a = e.getAsJsonArray();
            return a.isEmpty() ? def : asInt(key, a.get(0));
        }
        return asInt(key, e);
    }

    /** Declares keys read that change nothing in this implementation (each caller says why). */
    public void known(String... keys) {
        for (String k : keys) {
            consumed.add(k);
        }
    }

    /**
     * Refuses every key that was neither read nor declared known, naming them; {@code context}
     * ends the message (e.g. "for model_type 'llama'").
     */
    public void finish(String context) {
        List<String> refused = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : json.entrySet()) {
            String k = e.getKey();
            if (consumed.contains(k) || path.isEmpty() && METADATA.contains(k)) {
                continue;
            }
            JsonElement def = path.isEmpty() ? DEFAULT_ONLY.get(k) : null;
            if (def != null && (e.getValue().isJsonNull() || def.equals(e.getValue()))) {
                continue;
            }
            refused.add("'" + path + k + "'" + (def != null ? " = " + e.getValue() : ""));
        }
        if (!refused.isEmpty()) {
            throw new IllegalArgumentException((refused.size() == 1 ? "key " : "keys ") + String.join(", ", refused)
                    + (refused.size() == 1 ? " is" : " are") + " not supported " + context);
        }
    }

    private JsonElement take(String key) {
        consumed.add(key);
        JsonElement e = json.get(key);
        return e == null || e.isJsonNull() ? null : e;
    }

    private int asInt(String key, JsonElement e) {
        double v = asNumber(key, e);
        if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("key '" + path + key + "' must be an integer, got " + e);
        }
        return (int) v;
    }

    private double asNumber(String key, JsonElement e) {
        if (!(e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber())) {
            throw new IllegalArgumentException("key '" + path + key + "' must be a number, got " + e);
        }
        return e.getAsDouble();
    }
}
