package org.splitlora.model.arch;

import java.util.EnumSet;
import java.util.List;
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

    @Override
    List<Integer> slidingWindows(HfConfigJson j, int layers) {
        return qwenSlidingWindows(j, layers);
    }

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        return EnumSet.of(LoraTarget.Q, LoraTarget.K, LoraTarget.V);
    }
}
