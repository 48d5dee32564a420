package org.splitlora.model.peft;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.ModelSource;
import org.splitlora.model.arch.Projection;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.weights.SafetensorsWriter;
import org.splitlora.model.weights.TensorDType;
import org.splitlora.model.weights.WeightSource;

/**
 * Writes the base model with the adapters merged in (W + scaling·B·A) as an HF model directory:
 * {@code config.json}, the tokenizer files, and one fp32 {@code model.safetensors} with the base
 * model's tensor names. Each ΔW goes where the architecture's {@link Projection} says the weight
 * lives: transposed into Conv1D weights, into its block of a fused module (GPT-2's q/k/v in
 * {@code c_attn}).
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
            for (int layer = 0; layer < config.numLayers(); layer++) {
                for (LoraTarget t : spec.targets()) {
                    String k = LoraAdapters.key(layer, t);
                    float[] a = adapters.get(k + ".lora_A");
                    float[] b = adapters.get(k + ".lora_B");
                    if (a == null || b == null) {
                        throw new IllegalArgumentException("no adapter for layer " + layer + " target " + t.key());
                    }
                    addDelta(out, config, weights, layer, t, a, b, spec.rank(layer), spec.scaling(layer));
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
                Files.writeString(dir.resolve("config.json"), BuiltinModels.tinyGpt2ConfigJson(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the merged model to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void addDelta(Map<String, SafetensorsWriter.Tensor> out, ModelConfig config, WeightSource weights, int layer,
                                 LoraTarget t, float[] a, float[] b, int r, double scaling) {
        Projection p = config.architecture().projection(config, layer, t);
        int in = p.in();
        int outDim = p.out();
        double[] delta = new double[outDim * in]; // [out, in]
        for (int o = 0; o < outDim; o++) {
            for (int k = 0; k < r; k++) {
                double bv = scaling * b[o * r + k];
                for (int i = 0; i < in; i++) {
                    delta[o * in + i] += bv * a[k * in + i];
                }
            }
        }
        float[] w = out.get(config.architecture().storedName(p.weightName(), weights)).values();
        for (int o = 0; o < outDim; o++) {
            for (int i = 0; i < in; i++) {
                // Conv1D stores [in, out]; a fused module holds this projection in its rows [offset, offset + out)
                int at = p.layout() == Projection.Layout.CONV1D ? i * p.fusedOut() + p.offset() + o : (p.offset() + o) * in + i;
                w[at] += (float) delta[o * in + i];
            }
        }
    }
}
