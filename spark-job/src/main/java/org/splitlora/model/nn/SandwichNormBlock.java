package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;

/**
 * A block with a norm before and after each sub-layer (Gemma 2 and 3):
 * {@code h += postAttn(attn(inputNorm h)); h += postMlp(mlp(preMlp h))}.
 */
public final class SandwichNormBlock implements DecoderBlock {

    private final Norm inputNorm;
    private final SelfAttention attention;
    private final Norm postAttentionNorm;
    private final Norm preMlpNorm;
    private final Mlp mlp;
    private final Norm postMlpNorm;

    public SandwichNormBlock(Norm inputNorm, SelfAttention attention, Norm postAttentionNorm, Norm preMlpNorm, Mlp mlp,
                             Norm postMlpNorm) {
        this.inputNorm = inputNorm;
        this.attention = attention;
        this.postAttentionNorm = postAttentionNorm;
        this.preMlpNorm = preMlpNorm;
        this.mlp = mlp;
        this.postMlpNorm = postMlpNorm;
    }

    @Override
    public NDArray forward(NDArray h, ForwardContext ctx) {
        NDArray a = h.add(postAttentionNorm.forward(attention.forward(inputNorm.forward(h, ctx), ctx), ctx));
        return a.add(postMlpNorm.forward(mlp.forward(preMlpNorm.forward(a, ctx), ctx), ctx));
    }
}
