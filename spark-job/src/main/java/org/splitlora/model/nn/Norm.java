package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/** Layer normalisation over the last axis: LayerNorm (GPT-2) or RMSNorm (Llama). */
public interface Norm {

    NDArray forward(NDArray x, ForwardContext ctx);

    static Norm layerNorm(NDArray weight, NDArray bias, double eps) {
        Shape shape = new Shape(weight.getShape().get(0));
        return (x, ctx) -> JniUtils.layerNorm((PtNDArray) x, shape, (PtNDArray) weight, (PtNDArray) bias, eps);
    }

    /** HF LlamaRMSNorm: {@code w · x / sqrt(mean(x²) + eps)}. */
    static Norm rmsNorm(NDArray weight, double eps) {
        return (x, ctx) -> {
            NDArray rms = x.square().mean(new int[] {-1}, true).add(ctx.scalar((float) eps)).sqrt();
            return x.div(rms).mul(weight);
        };
    }
}
