package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import org.splitlora.model.nn.ForwardContext;

/**
 * Token-level cross entropy with label smoothing as torch's CrossEntropyLoss(label_smoothing=ε):
 * {@code (1-ε)·(-log p[y]) + ε·mean_v(-log p[v])}, weighted per position (0 off-target).
 */
public final class CausalLmLoss {

    private CausalLmLoss() {}

    /** Σ weight · token loss over the batch: a 0-d array that can be backpropagated. */
    public static NDArray compute(NDArray logits, Batch batch, double labelSmoothing, ForwardContext ctx) {
        NDArray logp = logits.logSoftmax(-1);
        NDArray labels = batch.labels(ctx.manager());
        NDArray weights = batch.weights(ctx.manager());
        NDArray nll = logp.gather(labels.expandDims(-1), -1).squeeze(-1).neg();
        NDArray token = nll;
        if (labelSmoothing > 0) {
            NDArray smooth = logp.mean(new int[] {-1}).neg();
            token = nll.mul(ctx.scalar((float) (1 - labelSmoothing))).add(smooth.mul(ctx.scalar((float) labelSmoothing)));
        }
        return token.mul(weights).sum();
    }
}
