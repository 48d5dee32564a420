package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;

/**
 * Causal multi-head self-attention with separate q/k/v/o projections, optional RoPE, grouped
 * query attention (query head h reads kv head h / groups, as HF's repeat_kv), optional per-head
 * RMSNorm of queries and keys before RoPE (Qwen3's q_norm / k_norm), an optional sliding window, and
 * optionally another score scale and tanh soft-capping of the scores (Gemma).
 */
public final class SelfAttention {

    private final int layer;
    private final Linear q;
    private final Linear k;
    private final Linear v;
    private final Linear o;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final Rope rope;
    private final Norm queryNorm;
    private final Norm keyNorm;
    private final int slidingWindow;
    private final float scale;

    private final float softcap;

    /** {@code rope}, {@code queryNorm}, {@code keyNorm} may be null; {@code slidingWindow} 0 = none. */
    public SelfAttention(int layer, Linear q, Linear k, Linear v, Linear o, int heads, int kvHeads, int headDim,
                         Rope rope, Norm queryNorm, Norm keyNorm, int slidingWindow) {
        this(layer, q, k, v, o, heads, kvHeads, headDim, rope, queryNorm, keyNorm, slidingWindow, 1.0 / Math.sqrt(headDim), 0);
    }

    /**
     * With the scores' scale given ({@code q·k · scale}; Gemma: query_pre_attn_scalar^-1/2) and,
     * when {@code softcap} > 0, soft-capped as {@code softcap · tanh(scores / softcap)} before the mask.
     */
    public SelfAttention(int layer, Linear q, Linear k, Linear v, Linear o, int heads, int kvHeads, int headDim,
                         Rope rope, Norm queryNorm, Norm keyNorm, int slidingWindow, double scale, double softcap) {
        this.layer = layer;
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.rope = rope;
        this.queryNorm = queryNorm;
        this.keyNorm = keyNorm;
        this.slidingWindow = slidingWindow;
        this.scale = (float) scale;
        this.softcap = (float) softcap;
    }

    public NDArray forward(NDArray x, ForwardContext ctx) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDArray qh = q.forward(x, ctx).reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
        NDArray kh = k.forward(x, ctx).reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3);
        NDArray vh = v.forward(x, ctx).reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3);
        if (queryNorm != null) {
            qh = queryNorm.forward(qh, ctx);
            kh = keyNorm.forward(kh, ctx);
        }
        if (rope != null) {
            qh = rope.apply(qh, ctx);
            kh = rope.apply(kh, ctx);
        }
        if (ctx.cache() != null) {
            NDArray[] kv = ctx.cache().append(layer, kh, vh);
            kh = kv[0];
            vh = kv[1];
        }
        if (kvHeads != heads) {
            kh = kh.repeat(1, heads / kvHeads);
            vh = vh.repeat(1, heads / kvHeads);
        }
        NDArray scores = qh.matMul(kh.transpose(0, 1, 3, 2)).mul(ctx.scalar(scale));
        if (softcap > 0) {
            scores = scores.div(ctx.scalar(softcap)).tanh().mul(ctx.scalar(softcap));
        }
        NDArray context = scores.add(bias(ctx)).softmax(-1).matMul(vh);
        return o.forward(context.transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim), ctx);
    }

    private NDArray bias(ForwardContext ctx) {
        return slidingWindow > 0 ? AttentionInputs.slidingWindow(ctx, slidingWindow) : ctx.attentionBias();
    }
}
