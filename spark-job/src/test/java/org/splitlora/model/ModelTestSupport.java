package org.splitlora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.AttentionInputs;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;

/** Small helpers shared by the model tests. */
public final class ModelTestSupport {

    private ModelTestSupport() {}

    /** Logits [time][vocab] of one sequence through the whole model. */
    public static float[][] logits(ModelSource source, int[] ids) {
        try (NDManager root = NDManager.newBaseManager(); DecoderModel model = source.loadWhole(root)) {
            return logits(model, null, ids);
        }
    }

    public static float[][] logits(DecoderModel model, LoraAdapters lora, int[] ids) {
        try (Torch.GradScope ignored = Torch.gradMode(false);
             ForwardContext ctx = new ForwardContext(model.manager(), lora, false, 0)) {
            AttentionInputs.rightPadded(ctx, new int[] {ids.length}, ids.length);
            NDArray out = model.forward(AttentionInputs.ids(ctx.manager(), new int[][] {ids}), ctx);
            float[] flat = out.toFloatArray();
            int v = flat.length / ids.length;
            float[][] rows = new float[ids.length][];
            for (int t = 0; t < ids.length; t++) {
                rows[t] = Arrays.copyOfRange(flat, t * v, (t + 1) * v);
            }
            return rows;
        }
    }

    public static int[] topK(double[] v, int k) {
        return IntStream.range(0, v.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -v[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    public static int[] topK(float[] v, int k) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return topK(d, k);
    }
}
