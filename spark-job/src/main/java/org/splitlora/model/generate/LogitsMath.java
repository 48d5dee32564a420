package org.splitlora.model.generate;

import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.Random;

/** Next-token arithmetic on one row of logits, in double precision. */
final class LogitsMath {

    private LogitsMath() {}

    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double lse = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - lse;
        }
        return out;
    }

    /** First index of the maximum, as torch.argmax. */
    static int argmax(double[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    /** The n best (index, -) pairs by value, best first; ties go to the lower index. */
    static int[][] topIndices(double[] values, int n) {
        PriorityQueue<Integer> heap = new PriorityQueue<>((x, y) ->
                values[x] != values[y] ? Double.compare(values[x], values[y]) : Integer.compare(y, x));
        for (int i = 0; i < values.length; i++) {
            heap.add(i);
            if (heap.size() > n) {
                heap.poll();
            }
        }
        int[][] out = new int[heap.size()][];
        for (int i = out.length - 1; i >= 0; i--) {
            out[i] = new int[] {heap.poll()};
        }
        return out;
    }

    /** HF warper order: temperature, then top-k, then top-p; then a draw from the softmax. */
    static int sample(float[] logits, double temperature, int topK, double topP, Random rng) {
        double[] l = new double[logits.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = logits[i] / temperature;
        }
        if (topK > 0 && topK < l.length) {
            double[] sorted = l.clone();
            Arrays.sort(sorted);
            double kth = sorted[sorted.length - topK];
            for (int i = 0; i < l.length; i++) {
                if (l[i] < kth) {
                    l[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        double[] p = softmax(l);
        if (topP < 1) {
            Integer[] order = new Integer[l.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Double.compare(p[x], p[y]));
            double cum = 0;
            // drop the low-probability tail whose mass is ≤ 1 - topP; always keep the most likely token
            for (int j = 0; j < order.length - 1; j++) {
                cum += p[order[j]];
                if (cum <= 1 - topP) {
                    l[order[j]] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        double[] q = softmax(l);
        double u = rng.nextDouble();
        double acc = 0;
        int last = 0;
        for (int i = 0; i < q.length; i++) {
            if (q[i] > 0) {
                acc += q[i];
                last = i;
                if (u < acc) {
                    return i;
                }
            }
        }
        return last;
    }

    private static double[] softmax(double[] l) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : l) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] out = new double[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = Double.isInfinite(l[i]) ? 0 : Math.exp(l[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < l.length; i++) {
            out[i] /= sum;
        }
        return out;
    }
}
