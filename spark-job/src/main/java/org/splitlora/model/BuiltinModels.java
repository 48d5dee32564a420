package org.splitlora.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.splitlora.datasets.tokenize.Gpt2BpeTokenizer;
import org.splitlora.model.arch.Architectures;
import org.splitlora.model.arch.HfConfigJson;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.weights.InMemoryWeights;
import org.splitlora.util.Seeds;

/**
 * Models made in memory, so the demo and tests need no download: {@code builtin:tiny-gpt2} is a
 * seeded random GPT-2 over the real GPT-2 BPE vocabulary (HF init: N(0, 0.02), LayerNorm 1/0).
 */
public final class BuiltinModels {

    public static final String TINY_GPT2 = "builtin:tiny-gpt2";
    private static final long SEED = 20251122L;

    private BuiltinModels() {}

    /** The built-in model's config.json, as HF's GPT2Config writes it. */
    public static String tinyGpt2ConfigJson() {
        JsonObject o = new JsonObject();
        JsonArray architectures = new JsonArray();
        architectures.add("GPT2LMHeadModel");
        o.add("architectures", architectures);
        o.addProperty("model_type", "gpt2");
        o.addProperty("vocab_size", Gpt2BpeTokenizer.VOCAB_SIZE);
        o.addProperty("n_embd", 64);
        o.addProperty("n_layer", 4);
        o.addProperty("n_head", 4);
        o.addProperty("n_inner", 256);
        o.addProperty("n_positions", 256);
        o.addProperty("layer_norm_epsilon", 1e-5);
        o.addProperty("activation_function", "gelu_new");
        o.addProperty("tie_word_embeddings", true);
        o.addProperty("bos_token_id", Gpt2BpeTokenizer.END_OF_TEXT);
        o.addProperty("eos_token_id", Gpt2BpeTokenizer.END_OF_TEXT);
        return new GsonBuilder().setPrettyPrinting().create().toJson(o);
    }

    public static ModelConfig tinyGpt2Config() {
        return Architectures.parse(new HfConfigJson(JsonParser.parseString(tinyGpt2ConfigJson()).getAsJsonObject()));
    }

    public static InMemoryWeights tinyGpt2Weights() {
        ModelConfig c = tinyGpt2Config();
        int d = c.hiddenSize();
        int ff = c.intermediateSize();
        InMemoryWeights w = new InMemoryWeights(TINY_GPT2);
        w.put("wte.weight", normal("wte.weight", c.vocabSize() * d), c.vocabSize(), d);
        w.put("wpe.weight", normal("wpe.weight", c.maxPositions() * d), c.maxPositions(), d);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "h." + l + ".";
            w.put(p + "ln_1.weight", fill(d, 1f), d);
            w.put(p + "ln_1.bias", new float[d], d);
            w.put(p + "attn.c_attn.weight", normal(p + "attn.c_attn.weight", d * 3 * d), d, 3 * d);
            w.put(p + "attn.c_attn.bias", new float[3 * d], 3 * d);
            w.put(p + "attn.c_proj.weight", normal(p + "attn.c_proj.weight", d * d), d, d);
            w.put(p + "attn.c_proj.bias", new float[d], d);
            w.put(p + "ln_2.weight", fill(d, 1f), d);
            w.put(p + "ln_2.bias", new float[d], d);
            w.put(p + "mlp.c_fc.weight", normal(p + "mlp.c_fc.weight", d * ff), d, ff);
            w.put(p + "mlp.c_fc.bias", new float[ff], ff);
            w.put(p + "mlp.c_proj.weight", normal(p + "mlp.c_proj.weight", ff * d), ff, d);
            w.put(p + "mlp.c_proj.bias", new float[d], d);
        }
        w.put("ln_f.weight", fill(d, 1f), d);
        w.put("ln_f.bias", new float[d], d);
        return w;
    }

    private static float[] normal(String name, int n) {
        long h = 0;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = h * 31 + b;
        }
        Random rng = new Random(Seeds.derive(SEED, h));
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (rng.nextGaussian() * 0.02);
        }
        return out;
    }

    private static float[] fill(int n, float v) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, v);
        return out;
    }
}
