package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import org.splitlora.model.config.ModelConfig;

/**
 * Rotary position embedding with HF Llama semantics: dimension i of a head is paired with
 * i + headDim/2 ({@code rotate_half}), not interleaved pairs as in llama.c. The inverse
 * frequencies come from the config's {@link org.splitlora.model.config.RopeScaling}.
 */
public final class Rope {

    /** Longest cos/sin table kept with the model. */
    private static final int MAX_TABLE = 32768;

    private final int headDim;
    private final int half;
    private final ModelConfig.Rope rope;
    private final int maxPositions;
    private final NDArray cos;
    private final NDArray sin;

    /** Tables [min(maxPositions, 32768), headDim] of cos/sin, the angles in fp32 as HF computes them. */
    public Rope(NDManager manager, int headDim, int maxPositions, ModelConfig.Rope rope) {
        this.headDim = headDim;
        this.half = headDim / 2;
        this.rope = rope;
        this.maxPositions = maxPositions;
        double[] invFreq = rope.scaling().inverseFrequencies(rope.theta(), headDim, maxPositions, maxPositions);
        int length = Math.min(maxPositions, MAX_TABLE);
        float[][] tables = tables(invFreq, length);
        this.cos = manager.create(tables[0], new Shape(length, headDim));
        this.sin = manager.create(tables[1], new Shape(length, headDim));
    }

    /**
     * Tables for a variant whose frequencies follow the pass's length (HF's dynamic_rope_update:
     * {@code len = max(position_ids) + 1}), made in the pass's manager once len exceeds maxPositions.
     */
    private NDArray[] tablesFor(ForwardContext ctx) {
        int len = (int) ctx.positions().max().getLong() + 1;
        if (len <= maxPositions) {
            return new NDArray[] {cos, sin};
        }
        float[][] t = tables(rope.scaling().inverseFrequencies(rope.theta(), headDim, maxPositions, len), len);
        return new NDArray[] {ctx.manager().create(t[0], new Shape(len, headDim)), ctx.manager().create(t[1], new Shape(len, headDim))};
    }

    private float[][] tables(double[] invFreq, int length) {
        float[] c = new float[length * headDim];
        float[] s = new float[length * headDim];
        for (int i = 0; i < half; i++) {
            // HF keeps inv_freq in fp32 and computes the angle in fp32
            float f = (float) invFreq[i];
            for (int p = 0; p < length; p++) {
                float angle = (float) p * f;
                float cv = (float) Math.cos(angle);
                float sv = (float) Math.sin(angle);
                c[p * headDim + i] = cv;
                c[p * headDim + i + half] = cv;
                s[p * headDim + i] = sv;
                s[p * headDim + i + half] = sv;
            }
        }
        return new float[][] {c, s};
    }

    /** Rotates x [batch, heads, time, headDim] by the pass's positions [batch, time]. */
    public NDArray apply(NDArray x, ForwardContext ctx) {
        NDArray positions = ctx.positions();
        NDArray[] t = rope.scaling().dependsOnLength() ? ctx.derived(this, () -> tablesFor(ctx)) : new NDArray[] {cos, sin};
        NDArray c = JniUtils.embedding((PtNDArray) positions, (PtNDArray) t[0], false).expandDims(1);
        NDArray s = JniUtils.embedding((PtNDArray) positions, (PtNDArray) t[1], false).expandDims(1);
        NDArray x1 = x.get(new NDIndex("..., :" + half));
        NDArray x2 = x.get(new NDIndex("..., " + half + ":"));
        NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
        return x.mul(c).add(rotated.mul(s));
    }
}
