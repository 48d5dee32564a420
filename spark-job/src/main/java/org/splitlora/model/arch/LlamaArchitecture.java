package org.splitlora.model.arch;

import java.util.EnumSet;
import java.util.Set;
import org.splitlora.model.lora.LoraTarget;

/** Llama 1–3.x ({@code model_type} llama): {@code attention_bias} on q, k, v, o and {@code mlp_bias} on the MLP. */
final class LlamaArchitecture extends LlamaStyleArchitecture {

    @Override
    public String modelType() {
        return "llama";
    }

    @Override
    public String displayName() {
        return "Llama";
    }

    @Override
    int defaultMaxPositions() {
        return 2048;
    }

    @Override
    void readFamilyKeys(HfConfigJson j) {
        // pretraining_tp > 1 makes HF slice each matmul into that many parts: the same product
        j.known("pretraining_tp");
    }

    @Override
    Set<LoraTarget> biasedProjections(HfConfigJson j) {
        Set<LoraTarget> out = EnumSet.noneOf(LoraTarget.class);
        if (j.bool("attention_bias", false)) {
            out.addAll(EnumSet.of(LoraTarget.Q, LoraTarget.K, LoraTarget.V, LoraTarget.O));
        }
        if (j.bool("mlp_bias", false)) {
            out.addAll(EnumSet.of(LoraTarget.GATE, LoraTarget.UP, LoraTarget.DOWN));
        }
        return out;
    }
}
