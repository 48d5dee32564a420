package org.splitlora.model.arch;

import java.util.EnumSet;
import java.util.Set;
import org.splitlora.model.lora.LoraTarget;

/** Qwen2 and Qwen2.5 ({@code model_type} qwen2): the Llama decoder with a bias on q, k and v (always, as HF's Qwen2Attention). */
final class Qwen2Architecture extends LlamaStyleArchitecture {

    @Override
    public String modelType() {
        return "qwen2";
    }

    @Override
    public String displayName() {
        return "Qwen2";
    }

    @Override
    int defaultMaxPositions() {
        return 32768;
    }

    /** Qwen2 applies sliding_window only with use_sliding_window. */
    @Override
    void readFamilyKeys(HfConfigJson j) {
        if (j.bool("use_sliding_window", false)) {
            throw new IllegalArgumentException("key 'use_sliding_window' = true: sliding-window attention is not supported");
        }
        j.known("sliding_window", "max_window_layers", "layer_types");
    }

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        return EnumSet.of(LoraTarget.Q, LoraTarget.K, LoraTarget.V);
    }
}
