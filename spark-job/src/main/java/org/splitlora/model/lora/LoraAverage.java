package org.splitlora.model.lora;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Weighted means of adapter tensors by name (accumulated in double), as FedAvg needs them. */
public final class LoraAverage {

    private LoraAverage() {}

    /** Σ w_i · values_i / Σ w_i for every tensor name; all sets must hold the same names and sizes. */
    public static Map<String, float[]> weighted(List<Map<String, float[]>> values, List<Double> weights) {
        if (values.isEmpty() || values.size() != weights.size()) {
            throw new IllegalArgumentException(values.size() + " adapter sets for " + weights.size() + " weights");
        }
        double total = weights.stream().mapToDouble(Double::doubleValue).sum();
        Map<String, double[]> sums = new TreeMap<>();
        for (int c = 0; c < values.size(); c++) {
            double w = weights.get(c) / total;
            for (Map.Entry<String, float[]> e : values.get(c).entrySet()) {
                double[] acc = sums.computeIfAbsent(e.getKey(), k -> new double[e.getValue().length]);
                float[] v = e.getValue();
                if (acc.length != v.length) {
                    throw new IllegalArgumentException("adapter set " + c + " has " + e.getKey() + " with " + v.length
                            + " values, others " + acc.length);
                }
                for (int i = 0; i < v.length; i++) {
                    acc[i] += w * v[i];
                }
            }
        }
        Map<String, float[]> out = new TreeMap<>();
        sums.forEach((k, acc) -> {
            float[] f = new float[acc.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) acc[i];
            }
            out.put(k, f);
        });
        return out;
    }
}
