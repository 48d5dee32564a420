package org.splitlora.split;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.AttentionInputs;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.train.AdamW;
import org.splitlora.train.CausalLmLoss;
import org.splitlora.train.LossTargets;
import org.splitlora.train.OptimizerConfig;
import org.splitlora.util.Seeds;

/**
 * The server side of the split: blocks k..L-1, final norm and LM head with the server's LoRA and
 * its AdamW. Micro-batches of several clients that arrive for the same step are run as one batch
 * (rows right-padded to the longest); each client's loss keeps its own weight, so each gets
 * exactly the activation gradient of its own loss. Not thread-safe: one thread drives it.
 */
public final class ServerSegment implements AutoCloseable {

    private final DecoderModel model;
    private final LoraAdapters lora;
    private final AdamW optimizer;
    private final OptimizerConfig optim;
    private final int totalSteps;
    private final double labelSmoothing;

    public ServerSegment(DecoderModel model, LoraAdapters lora, OptimizerConfig optim, int totalSteps, double labelSmoothing) {
        if (lora.fromLayer() != model.part().fromLayer() || lora.toLayer() != model.part().toLayer()) {
            throw new IllegalArgumentException("server LoRA layers do not match the server segment");
        }
        this.model = model;
        this.lora = lora;
        this.optimizer = new AdamW(lora.parameters(), optim, lora.manager());
        this.optim = optim;
        this.totalSteps = totalSteps;
        this.labelSmoothing = labelSmoothing;
    }

    public int cut() {
        return model.part().fromLayer();
    }

    /** Rejects a frame that does not fit this segment: cut, width, labels. */
    public void check(StepRequest r) {
        if (r.cut() != cut()) {
            throw new MalformedFrameException("client cut " + r.cut() + " but the server segment starts at block " + cut());
        }
        if (r.hidden() != model.config().hiddenSize()) {
            throw new MalformedFrameException("activation width " + r.hidden() + ", the model's hidden size is "
                    + model.config().hiddenSize());
        }
        for (int label : r.labels()) {
            if (label < 0 || label >= model.config().vocabSize()) {
                throw new MalformedFrameException("label " + label + " outside the vocabulary of " + model.config().vocabSize());
            }
        }
    }

    /** One micro-batch's result: its weighted loss and the gradient of that loss w.r.t. its activations. */
    public record Outcome(float loss, byte[] gradient) {}

    /** A group's outcomes (in request order) and the group's forward and backward seconds. */
    public record GroupResult(List<Outcome> outcomes, double forwardSeconds, double backwardSeconds) {}

    /**
     * Forward, loss and backward of a group of micro-batches (one per client); gradients accumulate
     * on the server LoRA until {@link #step}.
     */
    public GroupResult forwardBackward(List<StepRequest> group) {
        long t0 = System.nanoTime();
        int time = 0;
        int rows = 0;
        for (StepRequest r : group) {
            time = Math.max(time, r.time());
            rows += r.batch();
        }
        int d = model.config().hiddenSize();
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext ctx = new ForwardContext(model.manager(), lora, true, groupSeed(group))) {
            NDManager m = ctx.manager();
            List<NDArray> leaves = new ArrayList<>(group.size());
            NDList padded = new NDList();
            int[] lengths = new int[rows];
            int row = 0;
            for (StepRequest r : group) {
                NDArray h = m.create(r.dtype().decode(r.activations(), r.batch() * r.time() * d), new Shape(r.batch(), r.time(), d));
                h.setRequiresGradient(true);
                leaves.add(h);
                padded.add(r.time() < time ? h.concat(m.zeros(new Shape(r.batch(), time - r.time(), d)), 1) : h);
                System.arraycopy(r.lengths(), 0, lengths, row, r.batch());
                row += r.batch();
            }
            NDArray hidden = padded.size() == 1 ? padded.get(0) : NDArrays.concat(padded, 0);
            AttentionInputs.rightPadded(ctx, lengths, time);
            NDArray out = model.runBlocks(hidden, ctx);
            NDArray total = null;
            float[] losses = new float[group.size()];
            List<NDArray> parts = new ArrayList<>(group.size());
            row = 0;
            for (StepRequest r : group) {
                NDArray loss = CausalLmLoss.compute(model, out, new Targets(r, row, time), labelSmoothing, ctx);
                parts.add(loss);
                total = total == null ? loss : total.add(loss);
                row += r.batch();
            }
            for (int i = 0; i < group.size(); i++) {
                losses[i] = parts.get(i).getFloat();
            }
            long t1 = System.nanoTime();
            JniUtils.backward((PtNDArray) total, (PtNDArray) m.ones(total.getShape()), false, false);
            List<Outcome> outcomes = new ArrayList<>(group.size());
            for (int i = 0; i < group.size(); i++) {
                NDArray g = leaves.get(i).getGradient();
                g.attach(m);
                outcomes.add(new Outcome(losses[i], group.get(i).dtype().encode(g.toFloatArray())));
            }
            return new GroupResult(outcomes, (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
        }
    }

    /** AdamW step for global step {@code step}, on the mean of the gradients of {@code clients} clients. */
    public double step(int step, int clients) {
        return optimizer.step(optim.lrAt(step, totalSteps), 1.0 / clients);
    }

    public Map<String, float[]> loraFloats() {
        return lora.toFloats();
    }

    /** The segment's trainable state (adapters and optimizer), to roll back a failed round or checkpoint. */
    public record Snapshot(Map<String, float[]> lora, AdamW.State optimizer) implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    public Snapshot snapshot() {
        return new Snapshot(lora.toFloats(), optimizer.state());
    }

    /** Restores a snapshot and drops gradients accumulated since (a step that never finished). */
    public void restore(Snapshot s) {
        lora.loadFloats(s.lora());
        optimizer.restore(s.optimizer());
        for (NDArray p : lora.parameters()) {
            JniUtils.zeroGrad((PtNDArray) p);
        }
    }

    /** One client's dropout seed when it is alone, else a seed derived from all of the group's. */
    private static long groupSeed(List<StepRequest> group) {
        if (group.size() == 1) {
            return group.get(0).dropoutSeed();
        }
        long[] seeds = group.stream().mapToLong(StepRequest::dropoutSeed).toArray();
        return Seeds.derive(seeds[0], java.util.Arrays.copyOfRange(seeds, 1, seeds.length));
    }

    /** A request's targets, re-based onto its rows of the group batch of width {@code time}. */
    private record Targets(StepRequest r, int firstRow, int time) implements LossTargets {
        @Override
        public NDArray targetPositions(NDManager m) {
            long[] p = r.targetPositions();
            long[] out = new long[p.length];
            for (int i = 0; i < p.length; i++) {
                long row = p[i] / r.time();
                out[i] = (firstRow + row) * time + p[i] % r.time();
            }
            return m.create(out, new Shape(out.length));
        }

        @Override
        public NDArray labels(NDManager m) {
            long[] out = new long[r.labels().length];
            for (int i = 0; i < out.length; i++) {
                out[i] = r.labels()[i];
            }
            return m.create(out, new Shape(out.length));
        }

        @Override
        public float targetWeight() {
            return r.lossWeight();
        }
    }

    @Override
    public void close() {
        optimizer.close();
        lora.close();
        model.close();
    }
}
