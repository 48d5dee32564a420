package org.splitlora.model.peft;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.config.ModelFamily;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.weights.SafetensorsWriter;
import org.splitlora.model.weights.TensorDType;
import org.splitlora.model.weights.WeightSource;

/**
 * Writes the base model with the adapters merged in (W + scaling·B·A) as an HF model directory:
 * {@code config.json}, the tokenizer files, and one fp32 {@code model.safetensors} with the base
 * model's tensor names. GPT-2's Conv1D weights are [in, out], so ΔW is added transposed, q/k/v
 * into their column blocks of {@code c_attn}.
 */
public final class MergedModel {

    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.json", "merges.txt", "generation_config.json");

    private MergedModel() {}

    public static void write(Path dir, ModelSource source, LoraSpec spec, Map<String, float[]> adapters) {
        ModelConfig config = source.config();
        try (WeightSource weights = source.openWeights()) {
            Map<String, SafetensorsWriter.Tensor> out = new TreeMap<>();
            for (String name : weights.names()) {
                out.put(name, new SafetensorsWriter.Tensor(weights.shape(name), weights.floats(name)));
            }
            String prefix = config.family() == ModelFamily.GPT2 && weights.contains("transformer.wte.weight") ? "transformer." : "";
            for (int layer = 0; layer < config.numLayers(); layer++) {
                for (LoraTarget t : spec.targets()) {
                    String k = LoraAdapters.key(layer, t);
                    float[] a = adapters.get(k + ".lora_A");
                    float[] b = adapters.get(k + ".lora_B");
                    if (a == null || b == null) {
                        throw new IllegalArgumentException("no adapter for layer " + layer + " target " + t.key());
                    }
                    addDelta(out, config, prefix, layer, t, a, b, spec.rank(layer), spec.scaling(layer));
                }
            }
            Files.createDirectories(dir);
            SafetensorsWriter.write(dir.resolve("model.safetensors"), out, TensorDType.F32, Map.of("format", "pt"));
            Path from = source.directory();
            if (from != null) {
                Files.copy(from.resolve("config.json"), dir.resolve("config.json"), StandardCopyOption.REPLACE_EXISTING);
                for (String f : TOKENIZER_FILES) {
                    if (Files.isRegularFile(from.resolve(f))) {
                        Files.copy(from.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            } else {
                Files.writeString(dir.resolve("config.json"), gpt2Config(config), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the merged model to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void addDelta(Map<String, SafetensorsWriter.Tensor> out, ModelConfig config, String prefix, int layer,
                                 LoraTarget t, float[] a, float[] b, int r, double scaling) {
        int[] io = LoraAdapters.dims(config, t);
        int in = io[0];
        int outDim = io[1];
        double[] delta = new double[outDim * in]; // [out, in]
        for (int o = 0; o < outDim; o++) {
            for (int k = 0; k < r; k++) {
                double bv = scaling * b[o * r + k];
                for (int i = 0; i < in; i++) {
                    delta[o * in + i] += bv * a[k * in + i];
                }
            }
        }
        String module = PeftAdapter.module(config, layer, t);
        if (config.family() == ModelFamily.GPT2) {
            // Conv1D [in, cols]; q/k/v are column blocks of c_attn
            String name = prefix + module.substring("transformer.".length()) + ".weight";
            float[] w = out.get(name).values();
            int cols = (int) out.get(name).shape()[1];
            int offset = t == LoraTarget.K ? config.hiddenSize() : t == LoraTarget.V ? 2 * config.hiddenSize() : 0;
            for (int o = 0; o < outDim; o++) {
                for (int i = 0; i < in; i++) {
                    w[i * cols + offset + o] += (float) delta[o * in + i];
                }
            }
        } else {
            float[] w = out.get(module + ".weight").values();
            for (int j = 0; j < w.length; j++) {
                w[j] += (float) delta[j];
            }
        }
    }

    /** HF GPT2Config for the built-in model, which has no directory to copy one from. */
    private static String gpt2Config(ModelConfig c) {
        JsonObject o = new JsonObject();
        o.add("architectures", new GsonBuilder().create().toJsonTree(List.of("GPT2LMHeadModel")));
        o.addProperty("model_type", "gpt2");
        o.addProperty("vocab_size", c.vocabSize());
        o.addProperty("n_embd", c.hiddenSize());
        o.addProperty("n_layer", c.numLayers());
        o.addProperty("n_head", c.numHeads());
        o.addProperty("n_inner", c.intermediateSize());
        o.addProperty("n_positions", c.maxPositions());
        o.addProperty("layer_norm_epsilon", c.normEps());
        o.addProperty("activation_function", "gelu_new");
        o.addProperty("tie_word_embeddings", c.tieWordEmbeddings());
        o.addProperty("bos_token_id", c.bosTokenId());
        o.addProperty("eos_token_id", c.eosTokenId());
        return new GsonBuilder().setPrettyPrinting().create().toJson(o);
    }
}
