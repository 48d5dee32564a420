package org.splitlora.model.arch;

import java.util.Set;
import org.splitlora.model.lora.LoraTarget;

/** Mistral ({@code model_type} mistral): the Llama decoder without biases. */
final class MistralArchitecture extends LlamaStyleArchitecture {

    @Override
    public String modelType() {
        return "mistral";
    }

    @Override
    public String displayName() {
        return "Mistral";
    }

    @Override
    int defaultMaxPositions() {
        return 4096 * 32;
    }

    /** Mistral's sliding window: 4096 when the key is absent (HF's default), none when null. */
    @Override
    void readFamilyKeys(HfConfigJson j) {
        Integer window = j.integerOrNull("sliding_window", 4096);
        if (window != null) {
            throw new IllegalArgumentException("key 'sliding_window' = " + window + ": sliding-window attention is not supported");
        }
    }

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        return Set.of();
    }
}
