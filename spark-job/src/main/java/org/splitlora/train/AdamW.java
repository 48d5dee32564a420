package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.splitlora.model.nn.Torch;

/**
 * AdamW with torch.optim.AdamW's update (decoupled weight decay, bias correction), over state
 * arrays this class owns and frees (DJL's Adam leaks its state, DJL-NOTES trap 3). Gradients are
 * read from the parameters' .grad, clipped by global norm, and zeroed after each step.
 */
public final class AdamW implements LocalOptimizer {

    private final List<NDArray> params;
    private final OptimizerConfig config;
    private final NDManager state;
    private final List<NDArray> m = new ArrayList<>();
    private final List<NDArray> v = new ArrayList<>();
    private int step;

    public AdamW(List<NDArray> params, OptimizerConfig config, NDManager parent) {
        this.params = List.copyOf(params);
        this.config = config;
        this.state = parent.newSubManager();
        for (NDArray p : params) {
            m.add(state.zeros(p.getShape()));
            v.add(state.zeros(p.getShape()));
        }
    }

    /** One step at the schedule's learning rate for global step {@code step} of {@code totalSteps}. */
    @Override
    public void step(int step, int totalSteps) {
        step(config.lrAt(step, totalSteps));
    }

    /**
     * Clips the accumulated gradients, applies one AdamW step at learning rate {@code lr}, zeroes
     * the gradients, and returns the global gradient norm before clipping.
     */
    public double step(double lr) {
        return step(lr, 1);
    }

    /**
     * As {@link #step(double)} on the accumulated gradients times {@code gradScale} (the split
     * server averages the gradients of the clients it served in one step).
     */
    public double step(double lr, double gradScale) {
        return stepTogether(List.of(this), lr, new double[] {gradScale});
    }

    /**
     * One step of several optimizers over parts of one model (each part keeps its own moments and
     * step count, so parts may skip steps), clipped as one model: each part's gradients times its
     * {@code gradScales} entry, clipped by their joint global norm (the first optimizer's {@code
     * maxGradNorm}), which is returned.
     */
    public static double stepTogether(List<AdamW> parts, double lr, double[] gradScales) {
        if (parts.isEmpty()) {
            return 0;
        }
        try (NDManager tmp = parts.get(0).state.newSubManager(); Torch.GradScope ignored = Torch.gradMode(false)) {
            List<List<NDArray>> grads = new ArrayList<>(parts.size());
            double sq = 0;
            for (int k = 0; k < parts.size(); k++) {
                List<NDArray> g = new ArrayList<>();
                for (NDArray p : parts.get(k).params) {
                    NDArray one = p.getGradient();
                    one.attach(tmp);
                    if (gradScales[k] != 1) {
                        one.muli((float) gradScales[k]);
                    }
                    g.add(one);
                    sq += one.square().sum().getFloat();
                }
                grads.add(g);
            }
            double norm = Math.sqrt(sq);
            double maxNorm = parts.get(0).config.maxGradNorm();
            double clip = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
            for (int k = 0; k < parts.size(); k++) {
                parts.get(k).apply(grads.get(k), lr, clip, tmp);
            }
            return norm;
        }
    }

    private void apply(List<NDArray> grads, double lr, double clip, NDManager tmp) {
        step++;
        double b1 = config.beta1();
        double b2 = config.beta2();
        double bc1 = 1 - Math.pow(b1, step);
        double bc2 = 1 - Math.pow(b2, step);
        for (int i = 0; i < params.size(); i++) {
            NDArray p = params.get(i);
            NDArray g = grads.get(i);
            if (clip < 1) {
                g.muli((float) clip);
            }
            if (config.weightDecay() > 0) {
                p.muli((float) (1 - lr * config.weightDecay()));
            }
            m.get(i).muli((float) b1).addi(g.mul((float) (1 - b1)));
            v.get(i).muli((float) b2).addi(g.square().muli((float) (1 - b2)));
            // results of ops on state arrays belong to the state manager: move them to tmp
            NDArray denom = v.get(i).sqrt();
            denom.attach(tmp);
            denom.divi((float) Math.sqrt(bc2)).addi((float) config.eps());
            NDArray update = m.get(i).div(denom);
            update.attach(tmp);
            p.subi(update.muli((float) (lr / bc1)));
            JniUtils.zeroGrad((PtNDArray) p);
        }
    }

    /** Moments and step count, to checkpoint or to carry a client's optimizer across rounds. */
    @Override
    public State state() {
        List<float[]> ms = new ArrayList<>(m.size());
        List<float[]> vs = new ArrayList<>(v.size());
        for (int i = 0; i < m.size(); i++) {
            ms.add(m.get(i).toFloatArray());
            vs.add(v.get(i).toFloatArray());
        }
        return new State(step, ms, vs);
    }

    /** Restores a {@link #state()} taken from an optimizer over parameters of the same shapes. */
    @Override
    public void restore(State s) {
        if (s.m().size() != m.size()) {
            throw new IllegalArgumentException("optimizer state has " + s.m().size() + " tensors, expected " + m.size());
        }
        try (Torch.GradScope ignored = Torch.gradMode(false)) {
            for (int i = 0; i < m.size(); i++) {
                if (s.m().get(i).length != m.get(i).size() || s.v().get(i).length != v.get(i).size()) {
                    throw new IllegalArgumentException("optimizer state tensor " + i + " has the wrong size");
                }
                m.get(i).set(s.m().get(i));
                v.get(i).set(s.v().get(i));
            }
        }
        step = s.step();
    }

    /** A copy of the optimizer's state in Java arrays, in the parameters' order. */
    public record State(int step, List<float[]> m, List<float[]> v) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    @Override
    public void close() {
        state.close();
    }
}
