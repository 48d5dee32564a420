package org.splitlora.model.arch;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.splitlora.model.lora.LoraTarget;

/**
 * Qwen3 ({@code model_type} qwen3): the Llama decoder with RMSNorm of each query and key head
 * ({@code self_attn.q_norm} / {@code k_norm}, over head_dim, before RoPE), a head_dim of its own
 * (HF default 128, not hidden / heads), {@code attention_bias} on q, k, v, o, and Qwen2's sliding windows.
 */
final class Qwen3Architecture extends LlamaStyleArchitecture {

    @Override
    public String modelType() {
        return "qwen3";
    }

    @Override
    public String displayName() {
        return "Qwen3";
    }

    @Override
    int defaultMaxPositions() {
        return 32768;
    }

    @Override
    int defaultHeadDim(int hidden, int heads) {
        return 128;
    }

    @Override
    boolean qkNorm() {
        return true;
    }

    @Override
    List<Integer> slidingWindows(HfConfigJson j, int layers) {
        return qwenSlidingWindows(j, layers);
    }

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        return j.bool("attention_bias", false) ? EnumSet.of(LoraTarget.Q, LoraTarget.K, LoraTarget.V, LoraTarget.O)
                : Set.of();
    }
}
