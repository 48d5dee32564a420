package org.splitlora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraLayer;
import org.splitlora.model.nn.DecoderBlock;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Linear;
import org.splitlora.model.nn.Norm;
import org.splitlora.model.nn.Torch;

/**
 * A decoder-only transformer, or a contiguous part of one (see {@link ModelPart}), with frozen
 * weights: a view of the JVM's one copy of the model's weights ({@link FrozenWeights}), which
 * every part of the same model shares. It holds no per-call state: one instance may serve several
 * threads, each passing its own {@link ForwardContext} (and LoRA adapters).
 */
public final class DecoderModel implements AutoCloseable {

    private final ModelConfig config;
    private final ModelPart part;
    private final FrozenWeights frozen;
    /** This view's own arrays (none of the frozen ones). */
    private final NDManager manager;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final NDArray tokenEmbedding;
    private final NDArray positionEmbedding;
    private final List<DecoderBlock> blocks;
    private final Norm finalNorm;
    private final NDArray lmHead;
    private final Map<String, Linear> projections;
    /** The architecture's embedding multiplier (1 = none) and final logit soft-cap (0 = none). */
    private final float embeddingMultiplier;
    private final float logitSoftcap;

    DecoderModel(ModelConfig config, ModelPart part, FrozenWeights frozen, NDManager manager, NDArray tokenEmbedding,
                 NDArray positionEmbedding, List<DecoderBlock> blocks, Norm finalNorm, NDArray lmHead,
                 Map<String, Linear> projections) {
        this.frozen = frozen;
        this.embeddingMultiplier = (float) config.architecture().embeddingMultiplier(config);
        this.logitSoftcap = (float) config.architecture().finalLogitSoftcap(config);
        this.config = config;
        this.part = part;
        this.manager = manager;
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.blocks = blocks;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.projections = projections;
    }

    /** The frozen weights this model is a view of. */
    FrozenWeights frozenWeights() {
        return frozen;
    }

    public ModelConfig config() {
        return config;
    }

    public ModelPart part() {
        return part;
    }

    public NDManager manager() {
        return manager;
    }

    /** Token (+ learned position) embeddings of ids [batch, time] (int64). */
    public NDArray embed(NDArray inputIds, ForwardContext ctx) {
        requirePart(part.embeddings(), "embeddings");
        NDArray h = JniUtils.embedding((PtNDArray) inputIds, (PtNDArray) tokenEmbedding, false);
        if (positionEmbedding != null) {
            h = h.add(JniUtils.embedding((PtNDArray) ctx.positions(), (PtNDArray) positionEmbedding, false));
        }
        return embeddingMultiplier == 1 ? h : h.mul(ctx.scalar(embeddingMultiplier));
    }

    /** Runs blocks [from, to) on hidden states [batch, time, hidden]. */
    public NDArray blocks(int from, int to, NDArray h, ForwardContext ctx) {
        if (from < part.fromLayer() || to > part.toLayer() || from > to) {
            throw new IllegalArgumentException("blocks [" + from + ", " + to + ") are not in this model part "
                    + "[" + part.fromLayer() + ", " + part.toLayer() + ")");
        }
        for (int l = from; l < to; l++) {
            h = ctx.runBlock(blocks.get(l - part.fromLayer()), h);
        }
        return h;
    }

    /** Final norm and LM head: logits [batch, time, vocab]. */
    public NDArray head(NDArray h, ForwardContext ctx) {
        requirePart(part.head(), "LM head");
        NDArray logits = JniUtils.linear((PtNDArray) finalNorm.forward(h, ctx), (PtNDArray) lmHead, null);
        return logitSoftcap == 0 ? logits : logits.div(ctx.scalar(logitSoftcap)).tanh().mul(ctx.scalar(logitSoftcap));
    }

    /** Every part this model holds, in order: ids → logits (or hidden states if it has no head). */
    public NDArray forward(NDArray inputIds, ForwardContext ctx) {
        NDArray h = runBlocks(embed(inputIds, ctx), ctx);
        return part.head() ? head(h, ctx) : h;
    }

    /**
     * All of this part's blocks on hidden states entering its first block. For a server segment
     * that input is the activations a client sent; the output goes to {@link #head} (or the loss).
     */
    public NDArray runBlocks(NDArray hidden, ForwardContext ctx) {
        return blocks(part.fromLayer(), part.toLayer(), hidden, ctx);
    }

    /**
     * Adds (sign +1) or removes (sign -1) the adapters' ΔW into the frozen weights. A merged model
     * must then run without those adapters. Only for a model with weights of its own
     * ({@link ModelSource#loadPrivate}); not thread-safe.
     */
    public void mergeLora(LoraAdapters adapters, int sign) {
        if (frozen.shared()) {
            throw new IllegalStateException("merging adapters changes the frozen weights, which other models of this JVM share:"
                    + " load the model with ModelSource.loadPrivate");
        }
        try (NDManager tmp = manager.newSubManager(); Torch.GradScope ignored = Torch.gradMode(false)) {
            for (LoraLayer l : adapters.layers()) {
                Linear target = projections.get(LoraAdapters.key(l.layer(), l.target()));
                if (target == null) {
                    throw new IllegalArgumentException("model part has no projection for " + LoraAdapters.key(l.layer(), l.target()));
                }
                NDArray delta = l.deltaWeight(tmp);
                if (sign >= 0) {
                    target.weight().addi(delta);
                } else {
                    target.weight().subi(delta);
                }
            }
        }
    }

    private void requirePart(boolean present, String what) {
        if (!present) {
            throw new IllegalStateException("this model part " + part + " has no " + what);
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            manager.close();
            frozen.release();
        }
    }
}
