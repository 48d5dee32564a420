package org.splitlora.model.lora;

import java.util.Locale;

/**
 * The projections of a block, named by role; LoRA may adapt those the model's architecture has.
 * Where each lives in a checkpoint (GPT-2: q/k/v are column blocks of the fused {@code c_attn},
 * {@code UP} is {@code c_fc}, {@code DOWN} is {@code mlp.c_proj}) is the architecture's
 * {@link org.splitlora.model.arch.Projection}.
 */
public enum LoraTarget {
    Q, K, V, O, GATE, UP, DOWN;

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static LoraTarget parse(String s) {
        for (LoraTarget t : values()) {
            if (t.key().equals(s.trim().toLowerCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown LoRA target '" + s + "' (use q, k, v, o, gate, up, down)");
    }
}
