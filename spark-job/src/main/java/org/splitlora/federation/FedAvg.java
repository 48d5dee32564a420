package org.splitlora.federation;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.splitlora.config.TrainConfig;

/**
 * FedAvg of adapter tensors: the weighted mean of every A and B over the clients, weighted by
 * sample count (McMahan et al.) or uniformly. Averaging A and B separately is what SplitLoRA and
 * FedLoRA do; it is not the mean of the updates B·A (see the fedavg-svd aggregator for that).
 */
public final class FedAvg {

    private FedAvg() {}

    public static Map<String, float[]> aggregate(List<ClientUpdate> updates, TrainConfig.Weighting weighting) {
        if (updates.isEmpty()) {
            throw new IllegalArgumentException("nothing to aggregate");
        }
        double total = 0;
        for (ClientUpdate u : updates) {
            total += weight(u, weighting);
        }
        Map<String, double[]> sums = new TreeMap<>();
        for (ClientUpdate u : updates) {
            double w = weight(u, weighting) / total;
            for (Map.Entry<String, float[]> e : u.lora().entrySet()) {
                double[] acc = sums.computeIfAbsent(e.getKey(), k -> new double[e.getValue().length]);
                if (acc.length != e.getValue().length) {
                    throw new IllegalArgumentException("client " + u.clientId() + " sent " + e.getKey() + " with "
                            + e.getValue().length + " values, others " + acc.length);
                }
                float[] v = e.getValue();
                for (int i = 0; i < v.length; i++) {
                    acc[i] += w * v[i];
                }
            }
        }
        Map<String, float[]> out = new TreeMap<>();
        for (Map.Entry<String, double[]> e : sums.entrySet()) {
            double[] acc = e.getValue();
            float[] f = new float[acc.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) acc[i];
            }
            out.put(e.getKey(), f);
        }
        return out;
    }

    static double weight(ClientUpdate u, TrainConfig.Weighting weighting) {
        return weighting == TrainConfig.Weighting.UNIFORM ? 1 : u.samples();
    }
}
