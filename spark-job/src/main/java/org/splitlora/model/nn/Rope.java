package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Rotary position embedding with HF Llama semantics: dimension i of a head is paired with
 * i + headDim/2 ({@code rotate_half}), not interleaved pairs as in llama.c.
 */
public final class Rope {

    private final NDArray cos;
    private final NDArray sin;
    private final int half;

    /** Tables [maxPositions, headDim] of cos/sin, with the angles computed in fp32 as HF does. */
    public Rope(NDManager manager, int headDim, int maxPositions, double theta, double linearScale) {
        this.half = headDim / 2;
        float[] c = new float[maxPositions * headDim];
        float[] s = new float[maxPositions * headDim];
        for (int p = 0; p < maxPositions; p++) {
            double pos = p / linearScale;
            for (int i = 0; i < half; i++) {
                // HF computes inv_freq in fp32 and the angle in fp32
                float invFreq = (float) (1.0 / Math.pow(theta, (2.0 * i) / headDim));
                float angle = (float) pos * invFreq;
                float cv = (float) Math.cos(angle);
                float sv = (float) Math.sin(angle);
                c[p * headDim + i] = cv;
                c[p * headDim + i + half] = cv;
                s[p * headDim + i] = sv;
                s[p * headDim + i + half] = sv;
            }
        }
        this.cos = manager.create(c, new Shape(maxPositions, headDim));
        this.sin = manager.create(s, new Shape(maxPositions, headDim));
    }

    /** Rotates x [batch, heads, time, headDim] by the positions [batch, time]. */
    public NDArray apply(NDArray x, NDArray positions) {
        NDArray c = JniUtils.embedding((PtNDArray) positions, (PtNDArray) cos, false).expandDims(1);
        NDArray s = JniUtils.embedding((PtNDArray) positions, (PtNDArray) sin, false).expandDims(1);
        NDArray x1 = x.get(new NDIndex("..., :" + half));
        NDArray x2 = x.get(new NDIndex("..., " + half + ":"));
        NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
        return x.mul(c).add(rotated.mul(s));
    }
}
