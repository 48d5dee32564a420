package org.splitlora.model.lora;

import java.util.Locale;

/**
 * The projections LoRA can adapt, named by role. GPT-2's fused {@code c_attn} is split into its
 * q/k/v column blocks, {@code UP} is {@code c_fc} and {@code DOWN} is {@code mlp.c_proj}.
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
