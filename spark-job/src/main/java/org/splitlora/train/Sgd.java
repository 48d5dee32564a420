package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.engine.PtNDArray;
import java.util.List;
import org.splitlora.model.nn.Torch;

/**
 * Plain SGD at a constant learning rate, no clipping, no weight decay: the client optimizer of
 * FedOpt (Reddi et al. 2021), where the server optimizer clips, decays and schedules. With one
 * local step at lr 1 a client's update is minus its gradient.
 */
public final class Sgd implements LocalOptimizer {

    private final List<NDArray> params;
    private final double lr;
    private final NDManager scratch;
    private int step;

    public Sgd(List<NDArray> params, double lr, NDManager parent) {
        this.params = List.copyOf(params);
        this.lr = lr;
        this.scratch = parent.newSubManager();
    }

    @Override
    public void step(int globalStep, int totalSteps) {
        step(1);
    }

    /** One step on the accumulated gradients times {@code gradScale} (the split server's mean over its clients). */
    public void step(double gradScale) {
        try (NDManager tmp = scratch.newSubManager(); Torch.GradScope ignored = Torch.gradMode(false)) {
            for (NDArray p : params) {
                NDArray g = p.getGradient();
                g.attach(tmp);
                p.subi(g.muli((float) (lr * gradScale)));
                JniUtils.zeroGrad((PtNDArray) p);
            }
        }
        step++;
    }

    /** No moments: only the step count. */
    @Override
    public AdamW.State state() {
        return new AdamW.State(step, List.of(), List.of());
    }

    @Override
    public void restore(AdamW.State s) {
        if (!s.m().isEmpty()) {
            throw new IllegalArgumentException("optimizer state holds AdamW moments, but the client optimizer is sgd");
        }
        step = s.step();
    }

    @Override
    public void close() {
        scratch.close();
    }
}
