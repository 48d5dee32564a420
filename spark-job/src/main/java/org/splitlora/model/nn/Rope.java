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
 * Rotary position embedding with HF Llama semantics: dimension i of the rotated part is paired
 * with i + rotaryDim/2 ({@code rotate_half}), not interleaved pairs as in llama.c. The rotated
 * part is the first {@code rotaryDim} dimensions of a head (all of them unless the config has a
 * {@code partial_rotary_factor}); the rest pass through. The inverse frequencies and the cos/sin
 * scale come from the config's {@link org.splitlora.model.config.RopeScaling}.
 */
public final class Rope {

    /** Longest cos/sin table kept with the model. */
    private static final int MAX_TABLE = 32768;

    private final int headDim;
    private final int rotaryDim;
    private final int half;
    private final ModelConfig.Rope rope;
    private final int maxPositions;
    private final int threshold;
    private final NDArray cos;
    private final NDArray sin;

    /**
     * Tables [min(maxPositions, 32768), rotaryDim] of cos/sin for passes up to the scaling's length
     * threshold, the angles in fp32 as HF computes them.
     */
    public Rope(NDManager manager, int headDim, int maxPositions, ModelConfig.Rope rope) {
        this.headDim = headDim;
        this.rotaryDim = rope.rotaryDim(headDim);
        this.half = rotaryDim / 2;
        this.rope = rope;
        this.maxPositions = maxPositions;
        this.threshold = rope.scaling().lengthThreshold(maxPositions);
        double[] invFreq = rope.scaling().inverseFrequencies(rope.theta(), rotaryDim, maxPositions, threshold);
        int length = Math.min(maxPositions, MAX_TABLE);
        float[][] tables = tables(invFreq, length);
        this.cos = manager.create(tables[0], new Shape(length, rotaryDim));
        this.sin = manager.create(tables[1], new Shape(length, rotaryDim));
    }

    /**
     * Tables for a variant whose frequencies follow the pass's length (HF's dynamic_rope_update:
     * {@code len = max(position_ids) + 1}), made in the pass's manager once len exceeds the threshold.
     */
    private NDArray[] tablesFor(ForwardContext ctx) {
        int len = (int) ctx.positions().max().getLong() + 1;
        if (len <= threshold) {
            return new NDArray[] {cos, sin};
        }
        float[][] t = tables(rope.scaling().inverseFrequencies(rope.theta(), rotaryDim, maxPositions, len), len);
        return new NDArray[] {TorchArrays.owned(ctx.manager(), t[0], new Shape(len, rotaryDim)),
                TorchArrays.owned(ctx.manager(), t[1], new Shape(len, rotaryDim))};
    }

    private float[][] tables(double[] invFreq, int length) {
        float[] c = new float[length * rotaryDim];
        float[] s = new float[length * rotaryDim];
        // HF: cos = emb.cos() * attention_scaling, in fp32
        float scale = (float) rope.scaling().attentionScaling();
        for (int i = 0; i < half; i++) {
            // HF keeps inv_freq in fp32 and computes the angle in fp32
            float f = (float) invFreq[i];
            for (int p = 0; p < length; p++) {
                float angle = (float) p * f;
                float cv = (float) Math.cos(angle) * scale;
                float sv = (float) Math.sin(angle) * scale;
                c[p * rotaryDim + i] = cv;
                c[p * rotaryDim + i + half] = cv;
                s[p * rotaryDim + i] = sv;
                s[p * rotaryDim + i + half] = sv;
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
        NDArray r = rotaryDim == headDim ? x : x.get(new NDIndex("..., :" + rotaryDim));
        NDArray x1 = r.get(new NDIndex("..., :" + half));
        NDArray x2 = r.get(new NDIndex("..., " + half + ":"));
        NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
        NDArray out = r.mul(c).add(rotated.mul(s));
        return rotaryDim == headDim ? out : NDArrays.concat(new NDList(out, x.get(new NDIndex("..., " + rotaryDim + ":"))), -1);
    }
}
