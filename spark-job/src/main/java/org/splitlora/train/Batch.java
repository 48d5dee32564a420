package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.nn.AttentionInputs;
import org.splitlora.model.nn.ForwardContext;

/**
 * A right-padded batch of examples with next-token labels. Position t predicts token t+1 and
 * counts in the loss when token t+1 is a target; each target weighs {@code 1 / normaliser}, so
 * that the micro-batches of one global batch sum to the global mean. Only target positions go
 * through the LM head (the vocabulary projection dominates the cost of small models).
 */
public final class Batch implements LossTargets {

    private final int[][] ids;
    private final int[] lengths;
    private final long[] targetPositions;
    private final long[] labels;
    private final float weight;
    private final int time;

    private Batch(int[][] ids, int[] lengths, long[] targetPositions, long[] labels, float weight, int time) {
        this.ids = ids;
        this.lengths = lengths;
        this.targetPositions = targetPositions;
        this.labels = labels;
        this.weight = weight;
        this.time = time;
    }

    /**
     * @param normaliser number of targets the loss is averaged over (the global batch's), or ≤ 0
     *     to use this batch's own count
     */
    public static Batch of(List<TokenizedExample> examples, int padId, int normaliser) {
        int b = examples.size();
        int t = 0;
        int targets = 0;
        for (TokenizedExample e : examples) {
            t = Math.max(t, e.length());
            targets += e.targetCount();
        }
        int[][] ids = new int[b][t];
        int[] lengths = new int[b];
        long[] positions = new long[targets];
        long[] labels = new long[targets];
        int n = 0;
        for (int r = 0; r < b; r++) {
            TokenizedExample e = examples.get(r);
            lengths[r] = e.length();
            Arrays.fill(ids[r], padId);
            System.arraycopy(e.inputIds(), 0, ids[r], 0, e.length());
            for (int i = 0; i + 1 < e.length(); i++) {
                if (e.lossMask()[i + 1] != 0) {
                    positions[n] = (long) r * t + i;
                    labels[n++] = e.inputIds()[i + 1];
                }
            }
        }
        float w = 1f / Math.max(1, normaliser > 0 ? normaliser : targets);
        return new Batch(ids, lengths, positions, labels, w, t);
    }

    /** Sets positions and the causal/padding bias on ctx; returns the int64 ids [batch, time]. */
    public NDArray prepare(ForwardContext ctx) {
        AttentionInputs.rightPadded(ctx, lengths, time);
        return AttentionInputs.ids(ctx.manager(), ids);
    }

    @Override
    public NDArray targetPositions(NDManager m) {
        return m.create(targetPositions, new Shape(targetPositions.length));
    }

    @Override
    public NDArray labels(NDManager m) {
        return m.create(labels, new Shape(labels.length));
    }

    @Override
    public float targetWeight() {
        return weight;
    }

    /** Padded length of every row. */
    public int time() {
        return time;
    }

    /** Real length of each row (a copy). */
    public int[] rowLengths() {
        return lengths.clone();
    }

    /** {@link #targetPositions} as Java values (a copy). */
    public long[] flatTargetPositions() {
        return targetPositions.clone();
    }

    /** {@link #labels} as Java values. */
    public int[] targetLabels() {
        int[] out = new int[labels.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) labels[i];
        }
        return out;
    }

    public int size() {
        return ids.length;
    }

    public int targetCount() {
        return labels.length;
    }

    /** Real (non-padding) tokens, for throughput figures. */
    public long tokenCount() {
        long n = 0;
        for (int l : lengths) {
            n += l;
        }
        return n;
    }
}
