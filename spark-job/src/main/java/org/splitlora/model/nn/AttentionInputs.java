package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Builds position ids and the additive causal + padding attention bias from Java-side masks. */
public final class AttentionInputs {

    /**
     * Bias for masked scores. Finite, so that a fully masked (padding) query row stays finite
     * instead of NaN, which would otherwise leak into valid rows through 0 · NaN.
     */
    public static final float MASKED = -1e9f;

    private AttentionInputs() {}

    /**
     * Sets positions and bias on {@code ctx} for {@code newLen} new tokens per row after
     * {@code pastLen} cached ones. {@code keyValid[b][j]} says whether key j (0 ≤ j < past + new)
     * of row b is a real token; {@code positions[b][i]} is the position id of new token i.
     */
    public static ForwardContext apply(ForwardContext ctx, boolean[][] keyValid, long[][] positions, int pastLen) {
        NDManager m = ctx.manager();
        int b = positions.length;
        int t = positions[0].length;
        int s = pastLen + t;
        float[] bias = new float[b * t * s];
        long[] pos = new long[b * t];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < t; i++) {
                pos[r * t + i] = positions[r][i];
                int q = pastLen + i;
                int base = (r * t + i) * s;
                for (int j = 0; j < s; j++) {
                    bias[base + j] = j <= q && keyValid[r][j] ? 0f : MASKED;
                }
            }
        }
        NDArray posNd = m.create(pos, new Shape(b, t));
        NDArray biasNd = m.create(bias, new Shape(b, 1, t, s));
        return ctx.withAttention(posNd, biasNd);
    }

    /** Right-padded rows of the given lengths: positions 0..T-1, keys valid below each length. */
    public static ForwardContext rightPadded(ForwardContext ctx, int[] lengths, int time) {
        boolean[][] valid = new boolean[lengths.length][time];
        long[][] positions = new long[lengths.length][time];
        for (int r = 0; r < lengths.length; r++) {
            for (int i = 0; i < time; i++) {
                valid[r][i] = i < lengths[r];
                positions[r][i] = i;
            }
        }
        return apply(ctx, valid, positions, 0);
    }

    /**
     * The pass's bias with, in addition, every key {@code window} or more positions before its
     * query masked (HF's sliding_window_overlay: key j is visible to query i when j > i − window).
     * Queries are the last {@code time} of the {@code keys} positions (after a KV cache's past).
     * Made once per pass and window.
     */
    public static NDArray slidingWindow(ForwardContext ctx, int window) {
        NDArray bias = ctx.attentionBias();
        int t = (int) bias.getShape().get(2);
        int s = (int) bias.getShape().get(3);
        if (s <= window) {
            return bias;
        }
        return ctx.derived(new SlidingWindow(window), () -> {
            int past = s - t;
            float[] band = new float[t * s];
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < s; j++) {
                    band[i * s + j] = past + i - j >= window ? MASKED : 0f;
                }
            }
            return bias.add(TorchArrays.owned(ctx.manager(), band, new Shape(1, 1, t, s)));
        });
    }

    /** Key of a sliding-window bias among a pass's derived values. */
    private record SlidingWindow(int size) {}

    /** Int64 ids [rows, time] for the embedding lookup. */
    public static NDArray ids(NDManager m, int[][] rows) {
        int t = rows[0].length;
        long[] flat = new long[rows.length * t];
        for (int r = 0; r < rows.length; r++) {
            for (int i = 0; i < t; i++) {
                flat[r * t + i] = rows[r][i];
            }
        }
        return m.create(flat, new Shape(rows.length, t)).toType(DataType.INT64, false);
    }
}
