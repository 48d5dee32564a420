package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.engine.PtNDArray;
import java.util.List;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraLayer;
import org.splitlora.model.nn.Torch;

/**
 * Plain SGD at a constant learning rate, no clipping, no weight decay: the client optimizer of
 * FedOpt (Reddi et al. 2021), where the server optimizer clips, decays and schedules. With one
 * local step at lr 1 a client's update is minus its gradient — of the global adapters: a layer
 * held at a rank r below the adapters' full rank R (SplitFT's cut rank) carries B at the full
 * rank's scaling (times r/R, as the nested aggregation hands it out), so its B steps at lr·(r/R)²,
 * which is the full-rank model's gradient step on those components once carried back.
 */
public final class Sgd implements LocalOptimizer {

    private final List<NDArray> params;
    private final double[] lrs;
    private final NDManager scratch;
    private int step;

    public Sgd(LoraAdapters lora, double lr) {
        this.params = lora.parameters();
        this.lrs = new double[params.size()];
        int i = 0;
        for (LoraLayer l : lora.layers()) { // the order of parameters(): A then B of each layer
            double share = (double) l.rank() / lora.spec().rank();
            lrs[i++] = lr;
            lrs[i++] = lr * share * share;
        }
        this.scratch = lora.manager().newSubManager();
    }

    @Override
    public void step(int globalStep, int totalSteps) {
        step(1);
    }

    /** One step on the accumulated gradients times {@code gradScale} (the split server's mean over its clients). */
    public void step(double gradScale) {
        try (NDManager tmp = scratch.newSubManager(); Torch.GradScope ignored = Torch.gradMode(false)) {
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i);
                NDArray g = p.getGradient();
                g.attach(tmp);
                p.subi(g.muli((float) (lrs[i] * gradScale)));
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
