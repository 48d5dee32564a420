package org.splitlora.model.config;

/** The decoder architectures this project implements. */
public enum ModelFamily {
    /** GPT-2: learned positions, LayerNorm, gelu_new MLP, fused c_attn, Conv1D weight layout. */
    GPT2,
    /** Llama and its close variants (Mistral, Qwen2): RMSNorm, RoPE, grouped-query attention, SwiGLU. */
    LLAMA
}
