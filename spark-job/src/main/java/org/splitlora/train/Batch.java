package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.nn.AttentionInputs;
import org.splitlora.model.nn.ForwardContext;

/**
 * A right-padded batch of examples with next-token labels. Position t predicts token t+1 and
 * counts in the loss when token t+1 is a target; its weight is {@code 1 / normaliser}, so that
 * micro-batches of one global batch sum to the global mean.
 */
public final class Batch {

    private final int[][] ids;
    private final int[] lengths;
    private final long[] labels;
    private final float[] weights;
    private final int targets;
    private final int time;

    private Batch(int[][] ids, int[] lengths, long[] labels, float[] weights, int targets, int time) {
        this.ids = ids;
        this.lengths = lengths;
        this.labels = labels;
        this.weights = weights;
        this.targets = targets;
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
        float w = 1f / Math.max(1, normaliser > 0 ? normaliser : targets);
        int[][] ids = new int[b][t];
        int[] lengths = new int[b];
        long[] labels = new long[b * t];
        float[] weights = new float[b * t];
        for (int r = 0; r < b; r++) {
            TokenizedExample e = examples.get(r);
            lengths[r] = e.length();
            java.util.Arrays.fill(ids[r], padId);
            System.arraycopy(e.inputIds(), 0, ids[r], 0, e.length());
            for (int i = 0; i + 1 < e.length(); i++) {
                if (e.lossMask()[i + 1] != 0) {
                    labels[r * t + i] = e.inputIds()[i + 1];
                    weights[r * t + i] = w;
                }
            }
        }
        return new Batch(ids, lengths, labels, weights, targets, t);
    }

    /** Sets positions and the causal/padding bias on ctx; returns the int64 ids [batch, time]. */
    public NDArray prepare(ForwardContext ctx) {
        AttentionInputs.rightPadded(ctx, lengths, time);
        return AttentionInputs.ids(ctx.manager(), ids);
    }

    public NDArray labels(NDManager m) {
        return m.create(labels, new Shape(ids.length, time));
    }

    public NDArray weights(NDManager m) {
        return m.create(weights, new Shape(ids.length, time));
    }

    public int size() {
        return ids.length;
    }

    public int time() {
        return time;
    }

    public int targetCount() {
        return targets;
    }

    /** Real (non-padding) tokens, for throughput figures. */
    public long tokenCount() {
        long n = 0;
        for (int l : lengths) {
            n += l;
        }
        return n;
    }

    public int[] lengths() {
        return lengths.clone();
    }
}
