package org.splitlora.split;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.AttentionInputs;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.train.CausalLmLoss;
import org.splitlora.train.LossTargets;
import org.splitlora.util.Seeds;

/**
 * The tensor compute of the server segment: forward, loss and backward of the server blocks over a
 * group of micro-batches, each row run with the adapters its {@link AdapterLayout} names. Where
 * the layout lets clients share a pass, the group runs as one batch (rows right-padded to the
 * longest) in which rows enter at their cut, so blocks every client runs see all rows at once.
 * Each client's loss keeps its own weight, so each gets exactly the activation gradient of its own
 * loss; gradients accumulate on the adapters until the layout steps them.
 */
final class SegmentCompute {

    /** Extra padded tokens (fraction of the clients' own) a cross-client batch may add. */
    static final double MAX_PADDING_OVERHEAD = 0.10;

    private final DecoderModel model;
    private final double labelSmoothing;
    private final boolean checkpointing;

    SegmentCompute(DecoderModel model, double labelSmoothing, boolean checkpointing) {
        this.model = model;
        this.labelSmoothing = labelSmoothing;
        this.checkpointing = checkpointing;
    }

    private int layers() {
        return model.config().numLayers();
    }

    /** Forward, loss and backward of {@code group} (one micro-batch per client); outcomes in group order. */
    ServerSegment.GroupResult forwardBackward(List<SegmentInput> group, AdapterLayout layout) {
        List<List<Integer>> passes = new ArrayList<>();
        if (layout.sharesPasses() && worthBatching(group)) {
            passes.add(IntStream.range(0, group.size()).boxed().toList());
        } else {
            // every client has its own adapters, or rows too uneven to pad into one batch: one
            // pass per client, the gradients still accumulate on the same units
            for (int i = 0; i < group.size(); i++) {
                passes.add(List.of(i));
            }
        }
        ServerSegment.Outcome[] outcomes = new ServerSegment.Outcome[group.size()];
        double forward = 0;
        double backward = 0;
        for (List<Integer> pass : passes) {
            ServerSegment.GroupResult one = pass(pass.stream().map(group::get).toList(), layout);
            for (int j = 0; j < pass.size(); j++) {
                outcomes[pass.get(j)] = one.outcomes().get(j);
            }
            forward += one.forwardSeconds();
            backward += one.backwardSeconds();
        }
        return new ServerSegment.GroupResult(List.of(outcomes), forward, backward);
    }

    /**
     * One padded batch pays for the padding of every client's rows to the longest; it is worth it
     * while that adds at most {@link #MAX_PADDING_OVERHEAD} of the clients' own (padded) tokens.
     */
    private static boolean worthBatching(List<SegmentInput> group) {
        if (group.size() == 1) {
            return true;
        }
        long own = 0;
        long rows = 0;
        int time = 0;
        for (SegmentInput r : group) {
            own += (long) r.batch() * r.time();
            rows += r.batch();
            time = Math.max(time, r.time());
        }
        return rows * time <= (1 + MAX_PADDING_OVERHEAD) * own;
    }

    /**
     * One batch of the pass's rows, lowest cuts first: the rows of the clients at cut k join the
     * batch after running their block k (with their own adapters where the layout gives them other
     * ones than the rows already in the batch), so every later block runs once over all rows that
     * reach it.
     */
    private ServerSegment.GroupResult pass(List<SegmentInput> group, AdapterLayout layout) {
        long t0 = System.nanoTime();
        int time = group.stream().mapToInt(SegmentInput::time).max().orElseThrow();
        int d = model.config().hiddenSize();
        TreeMap<Integer, List<Integer>> byCut = new TreeMap<>();
        for (int i = 0; i < group.size(); i++) {
            byCut.computeIfAbsent(group.get(i).cut(), k -> new ArrayList<>()).add(i);
        }
        // names the adapters where they depend on the client: then the pass holds one client
        int client = group.get(0).clientId();
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext ctx = new ForwardContext(model.manager(), null, groupSeed(group), checkpointing)) {
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
                    SegmentInput r = group.get(i);
                    NDArray h = m.create(r.activations(), new Shape(r.batch(), r.time(), d));
                    h.setRequiresGradient(true);
                    leaves[i] = h;
                    firstRow[i] = rows.lengths.length + joiningLengths.length;
                    joining.add(r.time() < time ? h.concat(m.zeros(new Shape(r.batch(), time - r.time(), d)), 1) : h);
                    joiningLengths = concat(joiningLengths, r.lengths());
                }
                NDArray fresh = joining.size() == 1 ? joining.get(0) : NDArrays.concat(joining, 0);
                int from = cut;
                if (hidden != null && layout.adapters(client, cut, cut) != layout.adapters(client, byCut.firstKey(), cut)) {
                    // the joining rows run their cut block with their own adapters, the others with theirs
                    fresh = runBlocks(ctx, layout, cut, cut + 1, fresh, new Rows(joiningLengths), time, client, cut);
                    hidden = runBlocks(ctx, layout, cut, cut + 1, hidden, rows, time, client, byCut.firstKey());
                    from = cut + 1;
                }
                hidden = hidden == null ? fresh : hidden.concat(fresh, 0);
                rows = new Rows(concat(rows.lengths, joiningLengths));
                Integer next = byCut.higherKey(cut);
                hidden = runBlocks(ctx, layout, from, next == null ? layers() : next, hidden, rows, time, client, cut);
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
            ctx.backward(total, m.ones(total.getShape()));
            List<ServerSegment.Outcome> outcomes = new ArrayList<>(group.size());
            for (int i = 0; i < group.size(); i++) {
                NDArray g = leaves[i].getGradient();
                g.attach(m);
                outcomes.add(new ServerSegment.Outcome(losses[i], g.toFloatArray()));
            }
            return new ServerSegment.GroupResult(outcomes, (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
        }
    }

    /**
     * Blocks [from, to) over {@code rows}, whose lowest cut is {@code cut}: each run of consecutive
     * blocks with the same adapters is one call.
     */
    private NDArray runBlocks(ForwardContext ctx, AdapterLayout layout, int from, int to, NDArray hidden, Rows rows, int time,
                              int client, int cut) {
        int start = from;
        while (start < to) {
            LoraAdapters lora = layout.adapters(client, cut, start);
            int end = start + 1;
            while (end < to && layout.adapters(client, cut, end) == lora) {
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

    /** One client's dropout seed when it is alone, else a seed derived from all of the group's. */
    private static long groupSeed(List<SegmentInput> group) {
        if (group.size() == 1) {
            return group.get(0).dropoutSeed();
        }
        long[] seeds = group.stream().mapToLong(SegmentInput::dropoutSeed).toArray();
        return Seeds.derive(seeds[0], Arrays.copyOfRange(seeds, 1, seeds.length));
    }

    /** A micro-batch's targets, re-based onto its rows of the group batch of width {@code time}. */
    private record Targets(SegmentInput r, int firstRow, int time) implements LossTargets {
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
}
