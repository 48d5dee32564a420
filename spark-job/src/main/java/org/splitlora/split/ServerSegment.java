package org.splitlora.split;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntFunction;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.nn.AttentionInputs;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.train.AdamW;
import org.splitlora.train.CausalLmLoss;
import org.splitlora.train.LossTargets;
import org.splitlora.train.OptimizerConfig;
import org.splitlora.util.Seeds;

/**
 * The server side of the split: blocks minCut..L-1, final norm and LM head, serving clients whose
 * cuts may differ (SplitFT): a client at cut k runs from block k. The adapters live in copies,
 * each covering [cut, L) at the ranks of its cut ({@code lora.cutRank} at block cut), with its own
 * AdamW. In {@link ServerVersion#V2} the clients at one cut share one copy: their micro-batches
 * that arrive for the same step run as one batch (rows right-padded to the longest); each
 * client's loss keeps its own weight, so each gets exactly the activation gradient of its own
 * loss, and the copy steps on the mean of its clients' gradients. In {@link ServerVersion#V1}
 * each client has its own copy, trained on its activations alone. Every round, copies start from
 * the round's aggregate (given to {@link #startRound}); the driver aggregates them afterwards
 * with the clients' adapters. Not thread-safe: one thread drives it.
 */
public final class ServerSegment implements AutoCloseable {

    /** Extra padded tokens (fraction of the clients' own) a cross-client batch may add. */
    static final double MAX_PADDING_OVERHEAD = 0.10;

    private final DecoderModel model;
    private final ServerVersion version;
    private final IntFunction<LoraSpec> specAtCut;
    private final OptimizerConfig optim;
    private final int totalSteps;
    private final double labelSmoothing;
    /** v2: a copy per cut, keyed by the cut; v1: a copy per client, keyed by the client. */
    private final Map<Integer, Copy> copies = new TreeMap<>();
    /** This round's clients and their cuts. */
    private Map<Integer, Integer> cuts = Map.of();

    /** Server adapters for clients at {@code cut}, their optimizer, and the clients they serve this round. */
    private static final class Copy implements AutoCloseable {
        final int cut;
        final LoraAdapters lora;
        final AdamW optimizer;
        final Set<Integer> clients = new TreeSet<>();

        Copy(int cut, LoraAdapters lora, OptimizerConfig optim) {
            this.cut = cut;
            this.lora = lora;
            this.optimizer = new AdamW(lora.parameters(), optim, lora.manager());
        }

        @Override
        public void close() {
            optimizer.close();
            lora.close();
        }
    }

    /**
     * @param model the server part: blocks [smallest cut, L) and the head
     * @param specAtCut the adapters' ranks of a copy serving clients at a cut
     */
    public ServerSegment(DecoderModel model, ServerVersion version, IntFunction<LoraSpec> specAtCut, OptimizerConfig optim,
                         int totalSteps, double labelSmoothing) {
        if (!model.part().head() || model.part().toLayer() != model.config().numLayers()) {
            throw new IllegalArgumentException("a server segment runs the last blocks and the LM head");
        }
        this.model = model;
        this.version = version;
        this.specAtCut = specAtCut;
        this.optim = optim;
        this.totalSteps = totalSteps;
        this.labelSmoothing = labelSmoothing;
    }

    /** The smallest cut this segment can serve: its first block. */
    public int minCut() {
        return model.part().fromLayer();
    }

    /**
     * Opens a round: {@code cuts} gives each client's cut, {@code startByCut} the server adapters
     * (blocks [cut, L)) each copy starts from. A copy whose cut changed is replaced, with a fresh
     * optimizer (its parameters' shapes changed).
     */
    public void startRound(Map<Integer, Integer> cuts, Map<Integer, Map<String, float[]>> startByCut) {
        for (Map.Entry<Integer, Integer> e : cuts.entrySet()) {
            int cut = e.getValue();
            if (cut < minCut() || cut >= model.config().numLayers()) {
                throw new IllegalArgumentException("client " + e.getKey() + " at cut " + cut + ": the server serves cuts ["
                        + minCut() + ", " + (model.config().numLayers() - 1) + "]");
            }
            if (!startByCut.containsKey(cut)) {
                throw new IllegalArgumentException("no server adapters to start cut " + cut + " from");
            }
        }
        this.cuts = new TreeMap<>(cuts);
        for (Copy c : copies.values()) {
            c.clients.clear();
        }
        for (Map.Entry<Integer, Integer> e : this.cuts.entrySet()) {
            int key = keyOf(e.getKey(), e.getValue());
            Copy c = copies.get(key);
            if (c == null || c.cut != e.getValue()) {
                if (c != null) {
                    c.close();
                }
                c = newCopy(e.getValue(), startByCut.get(e.getValue()));
                copies.put(key, c);
            } else if (c.clients.isEmpty()) {
                c.lora.loadFloats(startByCut.get(c.cut)); // a kept copy, loaded once however many clients share it
            }
            c.clients.add(e.getKey());
        }
    }

    private int keyOf(int client, int cut) {
        return version == ServerVersion.V1 ? client : cut;
    }

    private Copy newCopy(int cut, Map<String, float[]> values) {
        return new Copy(cut, LoraAdapters.fromFloats(model.manager(), model.config(), specAtCut.apply(cut), cut,
                model.config().numLayers(), values), optim);
    }

    /** Rejects a frame that does not fit this segment: cut, width, labels. */
    public void check(StepRequest r) {
        Integer cut = cuts.get(r.clientId());
        if (cut == null || r.cut() != cut) {
            throw new MalformedFrameException("client " + r.clientId() + " sent activations at cut " + r.cut()
                    + (cut == null ? " but has no cut this round" : " but its cut this round is " + cut));
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
     * on each client's copy until {@link #step}.
     */
    public GroupResult forwardBackward(List<StepRequest> group) {
        Map<Integer, List<Integer>> byCopy = new LinkedHashMap<>();
        for (int i = 0; i < group.size(); i++) {
            StepRequest r = group.get(i);
            byCopy.computeIfAbsent(keyOf(r.clientId(), r.cut()), k -> new ArrayList<>()).add(i);
        }
        Outcome[] outcomes = new Outcome[group.size()];
        double forward = 0;
        double backward = 0;
        for (Map.Entry<Integer, List<Integer>> e : byCopy.entrySet()) {
            Copy copy = copies.get(e.getKey());
            List<StepRequest> part = e.getValue().stream().map(group::get).toList();
            // rows too uneven to pad into one batch: one pass per client; the gradients still
            // accumulate on the same copy
            List<List<Integer>> passes = worthBatching(part) ? List.of(e.getValue())
                    : e.getValue().stream().map(List::of).toList();
            for (List<Integer> pass : passes) {
                GroupResult one = pass(pass.stream().map(group::get).toList(), copy);
                for (int j = 0; j < pass.size(); j++) {
                    outcomes[pass.get(j)] = one.outcomes().get(j);
                }
                forward += one.forwardSeconds();
                backward += one.backwardSeconds();
            }
        }
        return new GroupResult(List.of(outcomes), forward, backward);
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

    private GroupResult pass(List<StepRequest> group, Copy copy) {
        long t0 = System.nanoTime();
        int time = 0;
        int rows = 0;
        for (StepRequest r : group) {
            time = Math.max(time, r.time());
            rows += r.batch();
        }
        int d = model.config().hiddenSize();
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext ctx = new ForwardContext(model.manager(), copy.lora, true, groupSeed(group))) {
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
            NDArray out = model.blocks(copy.cut, model.config().numLayers(), hidden, ctx);
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

    /** AdamW step for global step {@code step} of every copy in use, on the mean of its clients' gradients. */
    public void step(int step) {
        double lr = optim.lrAt(step, totalSteps);
        for (Copy c : copies.values()) {
            if (!c.clients.isEmpty()) {
                c.optimizer.step(lr, 1.0 / c.clients.size());
            }
        }
    }

    /** One copy's trainable state: its cut, the clients it serves this round, adapters and optimizer. */
    public record CopyState(int cut, Set<Integer> clients, Map<String, float[]> lora, AdamW.State optimizer)
            implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * The segment's trainable state, to roll back a failed round or checkpoint: every copy, keyed
     * as the segment keys them (v2: by cut, v1: by client).
     */
    public record Snapshot(Map<Integer, CopyState> copies) implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    public Snapshot snapshot() {
        Map<Integer, CopyState> out = new TreeMap<>();
        copies.forEach((key, c) -> out.put(key, new CopyState(c.cut, Set.copyOf(c.clients), c.lora.toFloats(),
                c.optimizer.state())));
        return new Snapshot(out);
    }

    /** Restores a snapshot; gradients accumulated since (a step that never finished) are dropped with the old copies. */
    public void restore(Snapshot s) {
        for (Copy c : copies.values()) {
            c.close();
        }
        copies.clear();
        s.copies().forEach((key, state) -> {
            Copy c = newCopy(state.cut(), state.lora());
            c.optimizer.restore(state.optimizer());
            c.clients.addAll(state.clients());
            copies.put(key, c);
        });
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
            c.close();
        }
        model.close();
    }
}
