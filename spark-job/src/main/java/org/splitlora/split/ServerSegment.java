package org.splitlora.split;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraAverage;
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
 * its AdamW. In {@link ServerVersion#V2} one shared LoRA serves everyone: micro-batches of several
 * clients that arrive for the same step are run as one batch (rows right-padded to the longest);
 * each client's loss keeps its own weight, so each gets exactly the activation gradient of its own
 * loss, and the step uses the mean of the clients' gradients. In {@link ServerVersion#V1} each client
 * has its own server LoRA copy and AdamW, trained on its activations alone; the copies start each
 * round from the shared (averaged) LoRA and are averaged at its end. Not thread-safe: one thread
 * drives it.
 */
public final class ServerSegment implements AutoCloseable {

    /** Extra padded tokens (fraction of the clients' own) a cross-client batch may add. */
    static final double MAX_PADDING_OVERHEAD = 0.10;

    private final DecoderModel model;
    private final ServerVersion version;
    private final LoraAdapters lora;
    private final AdamW optimizer;
    private final Map<Integer, Copy> copies = new TreeMap<>();
    private final OptimizerConfig optim;
    private final int totalSteps;
    private final double labelSmoothing;

    /** A client's own server LoRA and optimizer (v1). */
    private record Copy(LoraAdapters lora, AdamW optimizer) {}

    public ServerSegment(DecoderModel model, LoraAdapters lora, OptimizerConfig optim, int totalSteps, double labelSmoothing) {
        this(model, ServerVersion.V2, lora, optim, totalSteps, labelSmoothing);
    }

    public ServerSegment(DecoderModel model, ServerVersion version, LoraAdapters lora, OptimizerConfig optim, int totalSteps,
                         double labelSmoothing) {
        if (lora.fromLayer() != model.part().fromLayer() || lora.toLayer() != model.part().toLayer()) {
            throw new IllegalArgumentException("server LoRA layers do not match the server segment");
        }
        this.model = model;
        this.version = version;
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
        if (version == ServerVersion.V2 && worthBatching(group)) {
            return pass(group, lora);
        }
        // v1 (each client its own adapters), or rows too uneven to pad into one batch: one pass per
        // client; the gradients still accumulate on the same server adapters
        List<Outcome> outcomes = new ArrayList<>(group.size());
        double forward = 0;
        double backward = 0;
        for (StepRequest r : group) {
            GroupResult one = pass(List.of(r), version == ServerVersion.V2 ? lora : copy(r.clientId()).lora());
            outcomes.addAll(one.outcomes());
            forward += one.forwardSeconds();
            backward += one.backwardSeconds();
        }
        return new GroupResult(outcomes, forward, backward);
    }

    /**
     * One padded batch pays for the padding of every client's rows to the longest; it is worth it
     * while that adds at most {@link #MAX_PADDING_OVERHEAD} of the clients' own (padded) tokens.
     */
    private static boolean worthBatching(List<StepRequest> group) {
        if (group.size() == 1) {
            return true;
        }
        long own = 0;
        long rows = 0;
        int time = 0;
        for (StepRequest r : group) {
            own += (long) r.batch() * r.time();
            rows += r.batch();
            time = Math.max(time, r.time());
        }
        return rows * time <= (1 + MAX_PADDING_OVERHEAD) * own;
    }

    private GroupResult pass(List<StepRequest> group, LoraAdapters lora) {
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

    /**
     * AdamW step for global step {@code step}: v2 on the mean of the gradients of the clients
     * served in it, v1 on each client's copy.
     */
    public void step(int step, Collection<Integer> clients) {
        double lr = optim.lrAt(step, totalSteps);
        if (version == ServerVersion.V2) {
            optimizer.step(lr, 1.0 / clients.size());
        } else {
            for (int c : clients) {
                copy(c).optimizer().step(lr);
            }
        }
    }

    /** Start of a round: in v1 the clients' copies start from the shared adapters. */
    public void startRound(Collection<Integer> clients) {
        if (version == ServerVersion.V1) {
            Map<String, float[]> shared = lora.toFloats();
            for (int c : clients) {
                copy(c).lora().loadFloats(shared);
            }
        }
    }

    /** End of a round: in v1 the shared adapters become the weighted mean of the clients' copies. */
    public void endRound(Map<Integer, Double> weights) {
        if (version == ServerVersion.V1) {
            List<Map<String, float[]>> values = new ArrayList<>();
            List<Double> w = new ArrayList<>();
            weights.forEach((client, weight) -> {
                values.add(copy(client).lora().toFloats());
                w.add(weight);
            });
            lora.loadFloats(LoraAverage.weighted(values, w));
        }
    }

    private Copy copy(int client) {
        return copies.computeIfAbsent(client, c -> {
            LoraAdapters l = LoraAdapters.fromFloats(model.manager(), model.config(), lora.spec(), lora.fromLayer(),
                    lora.toLayer(), lora.toFloats());
            return new Copy(l, new AdamW(l.parameters(), optim, l.manager()));
        });
    }

    /**
     * The segment's trainable state, to roll back a failed round or checkpoint: the shared adapters,
     * and the shared optimizer (v2) or each client copy's optimizer (v1; copies restart from the
     * shared adapters every round).
     */
    public record Snapshot(Map<String, float[]> lora, AdamW.State optimizer, Map<Integer, AdamW.State> clientOptimizers)
            implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    public Snapshot snapshot() {
        Map<Integer, AdamW.State> clients = new TreeMap<>();
        copies.forEach((c, copy) -> clients.put(c, copy.optimizer().state()));
        return new Snapshot(lora.toFloats(), version == ServerVersion.V2 ? optimizer.state() : null, clients);
    }

    /** Restores a snapshot and drops gradients accumulated since (a step that never finished). */
    public void restore(Snapshot s) {
        lora.loadFloats(s.lora());
        if (s.optimizer() != null) {
            optimizer.restore(s.optimizer());
        }
        zeroGrads(lora);
        for (Map.Entry<Integer, AdamW.State> e : s.clientOptimizers().entrySet()) {
            Copy c = copy(e.getKey());
            c.lora().loadFloats(s.lora());
            c.optimizer().restore(e.getValue());
            zeroGrads(c.lora());
        }
    }

    private static void zeroGrads(LoraAdapters l) {
        for (NDArray p : l.parameters()) {
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
        for (Copy c : copies.values()) {
            c.optimizer().close();
            c.lora().close();
        }
        optimizer.close();
        lora.close();
        model.close();
    }
}
