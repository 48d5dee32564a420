package org.splitlora.model.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.SplittableRandom;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.model.nn.TorchArrays;
import org.splitlora.util.Seeds;

/**
 * One LoRA adapter on one projection: {@code Δy = scaling · B(A(dropout(x)))}, with A [rank, in]
 * and B [out, rank] in PEFT's layout.
 */
public final class LoraLayer {

    private final int layer;
    private final LoraTarget target;
    private final NDArray a;
    private final NDArray b;
    private final double scaling;
    private final double dropout;

    LoraLayer(int layer, LoraTarget target, NDArray a, NDArray b, double scaling, double dropout) {
        this.layer = layer;
        this.target = target;
        this.a = a;
        this.b = b;
        this.scaling = scaling;
        this.dropout = dropout;
    }

    public NDArray delta(NDArray x, ForwardContext ctx) {
        NDArray in = x;
        if (ctx.training() && dropout > 0) {
            in = x.mul(dropoutMask(x.getShape(), ctx));
        }
        NDArray down = JniUtils.linear((PtNDArray) in, (PtNDArray) a, null);
        NDArray up = JniUtils.linear((PtNDArray) down, (PtNDArray) b, null);
        return up.mul(ctx.scalar((float) scaling));
    }

    /**
     * Inverted-dropout mask drawn in Java from (pass seed, layer, target), so the same pass gives
     * the same masks whether the model runs whole or split across client and server.
     */
    private NDArray dropoutMask(Shape shape, ForwardContext ctx) {
        SplittableRandom rng = new SplittableRandom(Seeds.derive(ctx.dropoutSeed(), layer, target.ordinal()));
        float keep = (float) (1 / (1 - dropout));
        float[] m = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < m.length; i++) {
            m[i] = rng.nextDouble() < dropout ? 0f : keep;
        }
        return TorchArrays.owned(ctx.manager(), m, shape);
    }

    public int layer() {
        return layer;
    }

    public LoraTarget target() {
        return target;
    }

    public NDArray a() {
        return a;
    }

    public NDArray b() {
        return b;
    }

    public int rank() {
        return (int) a.getShape().get(0);
    }

    public double scaling() {
        return scaling;
    }

    /** ΔW = scaling · B A in the base weight's [out, in] layout, owned by {@code into}. */
    public NDArray deltaWeight(NDManager into) {
        try (Torch.GradScope ignored = Torch.gradMode(false)) {
            NDArray d = b.matMul(a);
            d.muli((float) scaling); // no autograd here, so a Java-buffer scalar is safe
            d.attach(into);
            return d;
        }
    }
}
