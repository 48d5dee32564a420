package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.nn.ForwardContext;

/**
 * Token-level cross entropy with label smoothing as torch's CrossEntropyLoss(label_smoothing=ε):
 * {@code (1-ε)·(-log p[y]) + ε·mean_v(-log p[v])}, over the batch's target positions only.
 */
public final class CausalLmLoss {

    private CausalLmLoss() {}

    /**
     * Σ weight · token loss: a 0-d array that can be backpropagated.
     *
     * @param model a model part with the LM head
     * @param hidden the last block's output [batch, time, hidden]
     */
    public static NDArray compute(DecoderModel model, NDArray hidden, LossTargets batch, double labelSmoothing, ForwardContext ctx) {
        long width = hidden.getShape().get(hidden.getShape().dimension() - 1);
        NDArray flat = hidden.reshape(-1, width);
        // row gather with autograd; the result belongs to the index array's (this pass's) manager
        NDArray selected = JniUtils.embedding((PtNDArray) batch.targetPositions(ctx.manager()), (PtNDArray) flat, false);
        NDArray logp = model.head(selected, ctx).logSoftmax(-1);
        NDArray nll = logp.gather(batch.labels(ctx.manager()).expandDims(-1), -1).squeeze(-1).neg();
        NDArray token = nll;
        if (labelSmoothing > 0) {
            NDArray smooth = logp.mean(new int[] {-1}).neg();
            token = nll.mul(ctx.scalar((float) (1 - labelSmoothing))).add(smooth.mul(ctx.scalar((float) labelSmoothing)));
        }
        return token.sum().mul(ctx.scalar(batch.targetWeight()));
    }
}
