package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;

/** A pre-norm transformer block: {@code h += attn(norm1 h); h += mlp(norm2 h)} (GPT-2 and Llama alike). */
public final class PreNormBlock implements DecoderBlock {

    private final Norm attentionNorm;
    private final SelfAttention attention;
    private final Norm mlpNorm;
    private final Mlp mlp;

    public PreNormBlock(Norm attentionNorm, SelfAttention attention, Norm mlpNorm, Mlp mlp) {
        this.attentionNorm = attentionNorm;
        this.attention = attention;
        this.mlpNorm = mlpNorm;
        this.mlp = mlp;
    }

    @Override
    public NDArray forward(NDArray h, ForwardContext ctx) {
        NDArray a = h.add(attention.forward(attentionNorm.forward(h, ctx), ctx));
        return a.add(mlp.forward(mlpNorm.forward(a, ctx), ctx));
    }
}
