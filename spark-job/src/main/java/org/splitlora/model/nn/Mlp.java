package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import org.splitlora.model.config.ModelConfig;

/** The feed-forward sublayer: {@code down(act(up x))}, or SwiGLU {@code down(act(gate x) · up x)} when gated. */
public final class Mlp {

    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

    private final Linear gate;
    private final Linear up;
    private final Linear down;
    private final ModelConfig.Activation activation;

    public Mlp(Linear gate, Linear up, Linear down, ModelConfig.Activation activation) {
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.activation = activation;
    }

    public NDArray forward(NDArray x, ForwardContext ctx) {
        NDArray hidden = gate == null
                ? act(up.forward(x, ctx), ctx)
                : act(gate.forward(x, ctx), ctx).mul(up.forward(x, ctx));
        return down.forward(hidden, ctx);
    }

    private NDArray act(NDArray x, ForwardContext ctx) {
        return switch (activation) {
            case GELU_TANH -> {
                // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
                NDArray inner = x.add(x.pow(ctx.scalar(3f)).mul(ctx.scalar(0.044715f))).mul(ctx.scalar(SQRT_2_OVER_PI));
                yield x.mul(ctx.scalar(0.5f)).mul(inner.tanh().add(ctx.scalar(1f)));
            }
            case GELU -> {
                NDArray cdf = x.mul(ctx.scalar((float) (1 / Math.sqrt(2)))).erf().add(ctx.scalar(1f)).mul(ctx.scalar(0.5f));
                yield x.mul(cdf);
            }
            case SILU -> x.mul(Activation.sigmoid(x));
            case RELU -> Activation.relu(x);
        };
    }
}
