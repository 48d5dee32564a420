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

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        return Set.of();
    }
}
