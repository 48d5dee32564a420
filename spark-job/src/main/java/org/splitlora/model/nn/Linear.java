package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import org.splitlora.model.lora.LoraLayer;
import org.splitlora.model.lora.LoraTarget;

/**
 * A frozen projection {@code y = x Wᵀ + b} (weight in torch.nn.Linear layout [out, in]) plus the
 * LoRA delta of the pass's adapters for this (layer, target), if any.
 */
public final class Linear {

    private final int layer;
    private final LoraTarget target;
    private final NDArray weight;
    private final NDArray bias;

    public Linear(int layer, LoraTarget target, NDArray weight, NDArray bias) {
        this.layer = layer;
        this.target = target;
        this.weight = weight;
        this.bias = bias;
    }

    public NDArray forward(NDArray x, ForwardContext ctx) {
        NDArray y = JniUtils.linear((PtNDArray) x, (PtNDArray) weight, (PtNDArray) bias);
        LoraLayer lora = ctx.lora() == null ? null : ctx.lora().get(layer, target);
        return lora == null ? y : y.add(lora.delta(x, ctx));
    }

    public NDArray weight() {
        return weight;
    }

    public int layer() {
        return layer;
    }

    public LoraTarget target() {
        return target;
    }
}
