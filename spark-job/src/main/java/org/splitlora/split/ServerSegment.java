package org.splitlora.split;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
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
 * cuts may differ (SplitFT): a client at cut k runs from block k. The adapters live in units, each
 * with its own AdamW and the clients whose rows it ran this round:
 * <ul>
 *   <li>{@link ServerVersion#V2}: one shared server. Unit {@code block.J} holds block J at
 *       {@code lora.rank} and serves every client below its cut (so a block trains on the rows of
 *       all clients that reach it, whatever their cuts); where {@code lora.cutRank} gives a cut
 *       block another rank, unit {@code cut.K} holds block K at that rank for the clients at cut K.
 *       A step's micro-batches run as one batch (rows right-padded to the longest): rows enter at
 *       their cut, so blocks every client runs see all rows at once. Each client's loss keeps its
 *       own weight, so each gets exactly the activation gradient of its own loss; a unit steps on
 *       the mean of its clients' gradients, all units together (one gradient-norm clip).</li>
 *   <li>{@link ServerVersion#V1}: unit {@code client.C} holds client C's own copy of blocks
 *       [cut, L), trained on its activations alone.</li>
 * </ul>
 * Every round the units in use start from the round's aggregate ({@link #startRound}); the driver
 * aggregates them afterwards with the clients' adapters. Not thread-safe: one thread drives it.
 */
public final class ServerSegment implements AutoCloseable {

    /** Extra padded tokens (fraction of the clients' own) a cross-client batch may add. */
    static final double MAX_PADDING_OVERHEAD = 0.10;

    private final DecoderModel model;
    private final ServerVersion version;
    private final LoraSpec base;
    private final IntFunction<LoraSpec> specAtCut;
    private final OptimizerConfig optim;
    private final int totalSteps;
    private final double labelSmoothing;
    /** The units by name ({@code block.J}, {@code cut.K}, {@code client.C}). */
    private final Map<String, Unit> units = new TreeMap<>();
    /** This round's clients and their cuts. */
    private Map<Integer, Integer> cuts = Map.of();

    /** The start values of adapters for layers [from, to) at the ranks of {@code spec}. */
    @FunctionalInterface
    public interface StartValues {
        Map<String, float[]> of(LoraSpec spec, int from, int to);
    }

    /** Adapters of a range of server blocks, their optimizer, and the clients whose rows they run this round. */
    private static final class Unit implements AutoCloseable {
        final LoraAdapters lora;
        final AdamW optimizer;
        final Set<Integer> clients = new TreeSet<>();

        Unit(LoraAdapters lora, OptimizerConfig optim) {
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
     * @param base the adapters' targets and rank
     * @param specAtCut the ranks of a client at a cut ({@code lora.cutRank} on both sides of it)
     */
    public ServerSegment(DecoderModel model, ServerVersion version, LoraSpec base, IntFunction<LoraSpec> specAtCut,
                         OptimizerConfig optim, int totalSteps, double labelSmoothing) {
        if (!model.part().head() || model.part().toLayer() != model.config().numLayers()) {
            throw new IllegalArgumentException("a server segment runs the last blocks and the LM head");
        }
        this.model = model;
        this.version = version;
        this.base = base;
        this.specAtCut = specAtCut;
        this.optim = optim;
        this.totalSteps = totalSteps;
        this.labelSmoothing = labelSmoothing;
    }

    /** The smallest cut this segment can serve: its first block. */
    public int minCut() {
        return model.part().fromLayer();
    }

    private int layers() {
        return model.config().numLayers();
    }

    /**
     * Opens a round: {@code cuts} gives each client's cut; every unit that serves a client this
     * round is (re)loaded from {@code start}. A unit is created on first use, and a v1 copy whose
     * client's cut moved is replaced, with a fresh optimizer (its parameters' shapes changed).
     */
    public void startRound(Map<Integer, Integer> cuts, StartValues start) {
        for (Map.Entry<Integer, Integer> e : cuts.entrySet()) {
            int cut = e.getValue();
            if (cut < minCut() || cut >= layers()) {
                throw new IllegalArgumentException("client " + e.getKey() + " at cut " + cut + ": the server serves cuts ["
                        + minCut() + ", " + (layers() - 1) + "]");
            }
        }
        this.cuts = new TreeMap<>(cuts);
        for (Unit u : units.values()) {
            u.clients.clear();
        }
        this.cuts.forEach((client, cut) -> {
            if (version == ServerVersion.V1) {
                use("client." + client, specAtCut.apply(cut), cut, layers(), start).clients.add(client);
                return;
            }
            for (int j = separateCutBlock(cut) ? cut + 1 : cut; j < layers(); j++) {
                use(blockUnit(j), base, j, j + 1, start).clients.add(client);
            }
            if (separateCutBlock(cut)) {
                use(cutUnit(cut), specAtCut.apply(cut), cut, cut + 1, start).clients.add(client);
            }
        });
    }

    /** The unit {@code name} for layers [from, to) at the ranks of {@code spec}, loaded from {@code start} once a round. */
    private Unit use(String name, LoraSpec spec, int from, int to, StartValues start) {
        Unit u = units.get(name);
        if (u != null && u.lora.fromLayer() != from) {
            u.close();
            units.remove(name);
            u = null;
        }
        if (u == null) {
            u = new Unit(LoraAdapters.fromFloats(model.manager(), model.config(), spec, from, to, start.of(spec, from, to)),
                    optim);
            units.put(name, u);
        } else if (u.clients.isEmpty()) {
            u.lora.loadFloats(start.of(spec, from, to));
        }
        return u;
    }

    /** v2: whether clients at {@code cut} run block cut at another rank than the shared block. */
    private boolean separateCutBlock(int cut) {
        return specAtCut.apply(cut).rank(cut) != base.rank(cut);
    }

    private static String blockUnit(int layer) {
        return "block." + layer;
    }

    private static String cutUnit(int cut) {
        return "cut." + cut;
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
     * on the units until {@link #step}.
     */
    public GroupResult forwardBackward(List<StepRequest> group) {
        List<List<Integer>> passes = new ArrayList<>();
        if (version == ServerVersion.V2 && worthBatching(group)) {
            passes.add(IntStream.range(0, group.size()).boxed().toList());
        } else {
            // v1: every client has its own adapters; v2 rows too uneven to pad into one batch: one
            // pass per client, the gradients still accumulate on the same units
            for (int i = 0; i < group.size(); i++) {
                passes.add(List.of(i));
            }
        }
        Outcome[] outcomes = new Outcome[group.size()];
        double forward = 0;
        double backward = 0;
        for (List<Integer> pass : passes) {
            GroupResult one = pass(pass.stream().map(group::get).toList());
            for (int j = 0; j < pass.size(); j++) {
                outcomes[pass.get(j)] = one.outcomes().get(j);
            }
            forward += one.forwardSeconds();
            backward += one.backwardSeconds();
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

    /**
     * The adapters block {@code layer} runs with for rows whose lowest cut is {@code cut} (v1: the
     * copy of {@code client}, a v1 pass's one client).
     */
    private LoraAdapters adapters(int client, int cut, int layer) {
        if (version == ServerVersion.V1) {
            return units.get("client." + client).lora;
        }
        return units.get(layer == cut && separateCutBlock(cut) ? cutUnit(cut) : blockUnit(layer)).lora;
    }

    /**
     * One batch of the group's rows, lowest cuts first: the rows of the clients at cut k join the
     * batch after running their block k (with the cut's adapters where those differ from the
     * shared block's), so every later block runs once over all rows that reach it.
     */
    private GroupResult pass(List<StepRequest> group) {
        long t0 = System.nanoTime();
        int time = group.stream().mapToInt(StepRequest::time).max().orElseThrow();
        int d = model.config().hiddenSize();
        TreeMap<Integer, List<Integer>> byCut = new TreeMap<>();
        for (int i = 0; i < group.size(); i++) {
            byCut.computeIfAbsent(group.get(i).cut(), k -> new ArrayList<>()).add(i);
        }
        int client = group.get(0).clientId(); // names the adapters of a v1 pass, which holds one client
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext ctx = new ForwardContext(model.manager(), null, true, groupSeed(group))) {
            NDManager m = ctx.manager();
            NDArray[] leaves = new NDArray[group.size()];
            int[] firstRow = new int[group.size()];
            NDArray hidden = null;
            Rows rows = new Rows(new int[0]);
            for (Map.Entry<Integer, List<Integer>> level : byCut.entrySet()) {
                int cut = level.getKey();
                NDList joining = new NDList();
                int[] joiningLengths = new int[0];
                for (int i : level.getValue()) {
                    StepRequest r = group.get(i);
                    NDArray h = m.create(r.dtype().decode(r.activations(), r.batch() * r.time() * d),
                            new Shape(r.batch(), r.time(), d));
                    h.setRequiresGradient(true);
                    leaves[i] = h;
                    firstRow[i] = rows.lengths.length + joiningLengths.length;
                    joining.add(r.time() < time ? h.concat(m.zeros(new Shape(r.batch(), time - r.time(), d)), 1) : h);
                    joiningLengths = concat(joiningLengths, r.lengths());
                }
                NDArray fresh = joining.size() == 1 ? joining.get(0) : NDArrays.concat(joining, 0);
                int from = cut;
                if (hidden != null && version == ServerVersion.V2 && separateCutBlock(cut)) {
                    // the joining rows run their cut block at the cut's rank, the others the shared block
                    fresh = runBlocks(ctx, cut, cut + 1, fresh, new Rows(joiningLengths), time, client, cut);
                    hidden = runBlocks(ctx, cut, cut + 1, hidden, rows, time, client, byCut.firstKey());
                    from = cut + 1;
                }
                hidden = hidden == null ? fresh : hidden.concat(fresh, 0);
                rows = new Rows(concat(rows.lengths, joiningLengths));
                Integer next = byCut.higherKey(cut);
                hidden = runBlocks(ctx, from, next == null ? layers() : next, hidden, rows, time, client, cut);
            }
            NDArray total = null;
            float[] losses = new float[group.size()];
            List<NDArray> parts = new ArrayList<>(group.size());
            for (int i = 0; i < group.size(); i++) {
                NDArray loss = CausalLmLoss.compute(model, hidden, new Targets(group.get(i), firstRow[i], time), labelSmoothing, ctx);
                parts.add(loss);
                total = total == null ? loss : total.add(loss);
            }
            for (int i = 0; i < group.size(); i++) {
                losses[i] = parts.get(i).getFloat();
            }
            long t1 = System.nanoTime();
            JniUtils.backward((PtNDArray) total, (PtNDArray) m.ones(total.getShape()), false, false);
            List<Outcome> outcomes = new ArrayList<>(group.size());
            for (int i = 0; i < group.size(); i++) {
                NDArray g = leaves[i].getGradient();
                g.attach(m);
                outcomes.add(new Outcome(losses[i], group.get(i).dtype().encode(g.toFloatArray())));
            }
            return new GroupResult(outcomes, (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
        }
    }

    /**
     * Blocks [from, to) over {@code rows}, whose lowest cut is {@code cut}: each run of consecutive
     * blocks with the same adapters is one call.
     */
    private NDArray runBlocks(ForwardContext ctx, int from, int to, NDArray hidden, Rows rows, int time, int client, int cut) {
        int start = from;
        while (start < to) {
            LoraAdapters lora = adapters(client, cut, start);
            int end = start + 1;
            while (end < to && adapters(client, cut, end) == lora) {
                end++;
            }
            hidden = model.blocks(start, end, hidden, rows.attend(ctx.part(lora), time));
            start = end;
        }
        return hidden;
    }

    /** The rows of a batch by their lengths, with their attention inputs, built once for every block that runs them. */
    private static final class Rows {
        final int[] lengths;
        private NDArray positions;
        private NDArray bias;

        Rows(int[] lengths) {
            this.lengths = lengths;
        }

        ForwardContext attend(ForwardContext part, int time) {
            if (positions == null) {
                AttentionInputs.rightPadded(part, lengths, time);
                positions = part.positions();
                bias = part.attentionBias();
                return part;
            }
            return part.withAttention(positions, bias);
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * AdamW step for global step {@code step} of every unit in use, on the mean of its clients'
     * gradients: v2's units as one model (one gradient-norm clip), each v1 copy on its own.
     */
    public void step(int step) {
        double lr = optim.lrAt(step, totalSteps);
        List<AdamW> stepping = new ArrayList<>();
        List<Double> scales = new ArrayList<>();
        for (Unit u : units.values()) {
            if (u.clients.isEmpty()) {
                continue;
            }
            if (version == ServerVersion.V1) {
                u.optimizer.step(lr, 1.0 / u.clients.size());
            } else {
                stepping.add(u.optimizer);
                scales.add(1.0 / u.clients.size());
            }
        }
        AdamW.stepTogether(stepping, lr, scales.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** One unit's trainable state: its layers, the clients it serves this round, adapters and optimizer. */
    public record UnitState(int fromLayer, int toLayer, Set<Integer> clients, Map<String, float[]> lora,
                            AdamW.State optimizer) implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** The segment's trainable state, to roll back a failed round or checkpoint: every unit by name. */
    public record Snapshot(Map<String, UnitState> units) implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    public Snapshot snapshot() {
        Map<String, UnitState> out = new TreeMap<>();
        units.forEach((name, u) -> out.put(name, new UnitState(u.lora.fromLayer(), u.lora.toLayer(), Set.copyOf(u.clients),
                u.lora.toFloats(), u.optimizer.state())));
        return new Snapshot(out);
    }

    /** Restores a snapshot; gradients accumulated since (a step that never finished) are dropped with the old units. */
    public void restore(Snapshot s) {
        for (Unit u : units.values()) {
            u.close();
        }
        units.clear();
        s.units().forEach((name, state) -> {
            LoraSpec spec = LoraAdapters.specOf(base, model.config(), state.lora());
            Unit u = new Unit(LoraAdapters.fromFloats(model.manager(), model.config(), spec, state.fromLayer(),
                    state.toLayer(), state.lora()), optim);
            u.optimizer.restore(state.optimizer());
            u.clients.addAll(state.clients());
            units.put(name, u);
        });
    }

    /** One client's dropout seed when it is alone, else a seed derived from all of the group's. */
    private static long groupSeed(List<StepRequest> group) {
        if (group.size() == 1) {
            return group.get(0).dropoutSeed();
        }
        long[] seeds = group.stream().mapToLong(StepRequest::dropoutSeed).toArray();
        return Seeds.derive(seeds[0], Arrays.copyOfRange(seeds, 1, seeds.length));
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
        for (Unit u : units.values()) {
            u.close();
        }
        model.close();
    }
}
