package org.splitlora.split;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntFunction;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.train.AdamW;

/**
 * The server side of the split: blocks minCut..L-1, final norm and LM head, serving clients whose
 * cuts may differ (SplitFT): a client at cut k runs from block k. Three parts:
 * <ul>
 *   <li>the adapters live in {@link AdapterUnits}, each with its own optimizer (the server's AdamW,
 *       or the clients' optimizer under a server-optimizer aggregator: {@link UnitStepping}) and the
 *       clients whose rows it ran this round;</li>
 *   <li>an {@link AdapterLayout} of the server version decides which units serve whom
 *       ({@link SharedLayout}: v2, one shared unit per block and one per cut block at another rank;
 *       {@link PerClientLayout}: v1, a copy per client) and whether they step as one model;</li>
 *   <li>{@link SegmentCompute} runs forward, loss and backward over a group of decoded
 *       micro-batches with the adapters the layout names.</li>
 * </ul>
 * Frames are decoded and checked by the transport ({@link SplitServer}). Every round the units in
 * use start from the round's aggregate ({@link #startRound}); the driver aggregates them
 * afterwards with the clients' adapters. Not thread-safe: one thread drives it.
 */
public final class ServerSegment implements AutoCloseable {

    private final DecoderModel model;
    private final int totalSteps;
    private final AdapterUnits units;
    private final AdapterLayout layout;
    private final SegmentCompute compute;
    /** This round's clients and their cuts. */
    private Map<Integer, Integer> cuts = Map.of();

    /** The start values of adapters for layers [from, to) at the ranks of {@code spec}. */
    @FunctionalInterface
    public interface StartValues {
        Map<String, float[]> of(LoraSpec spec, int from, int to);
    }

    /**
     * @param model the server part: blocks [smallest cut, L) and the head
     * @param base the adapters' targets and rank
     * @param specAtCut the ranks of a client at a cut ({@code lora.cutRank} on both sides of it)
     * @param checkpointing recompute the server blocks in the backward (train.gradientCheckpointing)
     */
    public ServerSegment(DecoderModel model, ServerVersion version, LoraSpec base, IntFunction<LoraSpec> specAtCut,
                         UnitStepping stepping, int totalSteps, double labelSmoothing, boolean checkpointing) {
        if (!model.part().head() || model.part().toLayer() != model.config().numLayers()) {
            throw new IllegalArgumentException("a server segment runs the last blocks and the LM head");
        }
        this.model = model;
        this.totalSteps = totalSteps;
        this.units = new AdapterUnits(model, base, stepping);
        this.layout = AdapterLayout.of(version, units, base, specAtCut, model.config().numLayers());
        this.compute = new SegmentCompute(model, labelSmoothing, checkpointing);
    }

    /** The smallest cut this segment can serve: its first block. */
    public int minCut() {
        return model.part().fromLayer();
    }

    public ModelConfig config() {
        return model.config();
    }

    /**
     * Opens a round: {@code cuts} gives each client's cut; every unit that serves a client this
     * round is (re)loaded from {@code start}.
     */
    public void startRound(Map<Integer, Integer> cuts, StartValues start) {
        int layers = model.config().numLayers();
        for (Map.Entry<Integer, Integer> e : cuts.entrySet()) {
            int cut = e.getValue();
            if (cut < minCut() || cut >= layers) {
                throw new IllegalArgumentException("client " + e.getKey() + " at cut " + cut + ": the server serves cuts ["
                        + minCut() + ", " + (layers - 1) + "]");
            }
        }
        this.cuts = new TreeMap<>(cuts);
        units.releaseClients();
        layout.startRound(this.cuts, start);
    }

    /** The cut of {@code client} this round, if it is in the round. */
    public OptionalInt cutOf(int client) {
        Integer cut = cuts.get(client);
        return cut == null ? OptionalInt.empty() : OptionalInt.of(cut);
    }

    /** One micro-batch's result: its weighted loss and the gradient of that loss w.r.t. its activations. */
    public record Outcome(float loss, float[] gradient) {}

    /** A group's outcomes (in input order) and the group's forward and backward seconds. */
    public record GroupResult(List<Outcome> outcomes, double forwardSeconds, double backwardSeconds) {}

    /**
     * Forward, loss and backward of a group of micro-batches (one per client); gradients accumulate
     * on the units until {@link #step}.
     */
    public GroupResult forwardBackward(List<SegmentInput> group) {
        return compute.forwardBackward(group, layout);
    }

    /** The step for global step {@code step} of every unit in use, on the mean of its clients' gradients. */
    public void step(int step) {
        units.step(step, totalSteps, layout.stepsTogether());
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
        return units.snapshot();
    }

    /** Restores a snapshot; gradients accumulated since (a step that never finished) are dropped with the old units. */
    public void restore(Snapshot s) {
        units.restore(s);
    }

    @Override
    public void close() {
        units.close();
        model.close();
    }
}
