package org.splitlora.model.arch;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.splitlora.model.config.ModelConfig;

/** The architectures this project implements, by HF {@code model_type}. */
public final class Architectures {

    private static final Map<String, Architecture> BY_MODEL_TYPE = new LinkedHashMap<>();

    static {
        for (Architecture a : List.of(new Gpt2Architecture(), new LlamaArchitecture(), new MistralArchitecture(),
                new Qwen2Architecture(), new Qwen3Architecture(), new Phi3Architecture(),
                new GemmaArchitecture.Gemma2(), new GemmaArchitecture.Gemma3Text())) {
            BY_MODEL_TYPE.put(a.modelType(), a);
        }
    }

    private Architectures() {}

    /** The architecture of an HF {@code model_type}; an error listing the supported ones otherwise. */
    public static Architecture forModelType(String modelType) {
        Architecture a = BY_MODEL_TYPE.get(modelType);
        if (a == null) {
            throw new IllegalArgumentException("unsupported model_type '" + modelType + "' (supported: "
                    + String.join(", ", BY_MODEL_TYPE.keySet()) + ")");
        }
        return a;
    }

    /** Reads a config.json object by its model_type's architecture; a key no one read is refused by name. */
    public static ModelConfig parse(HfConfigJson config) {
        String type = config.string("model_type", null);
        if (type == null) {
            throw new IllegalArgumentException("no model_type");
        }
        ModelConfig c = forModelType(type).parse(config);
        config.finish("for model_type '" + type + "'");
        return c;
    }
}
