package org.splitlora.model.arch;

import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraTarget;

/** Mistral ({@code model_type} mistral): the Llama decoder without biases, with sliding-window attention. */
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

    /** Mistral's sliding window on every layer: 4096 when the key is absent (HF's default), none when null. */
    @Override
    List<Integer> slidingWindows(HfConfigJson j, int layers) {
        Integer window = j.integerOrNull("sliding_window", 4096);
        return window == null ? ModelConfig.fullAttention(layers) : Collections.nCopies(layers, window);
    }

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        return Set.of();
    }
}
