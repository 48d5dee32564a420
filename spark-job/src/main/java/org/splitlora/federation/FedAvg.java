package org.splitlora.federation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.splitlora.config.TrainConfig;
import org.splitlora.model.lora.LoraAverage;

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
        List<Map<String, float[]>> values = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        for (ClientUpdate u : updates) {
            values.add(u.lora());
            weights.add(weight(u, weighting));
        }
        return LoraAverage.weighted(values, weights);
    }

    static double weight(ClientUpdate u, TrainConfig.Weighting weighting) {
        return weighting == TrainConfig.Weighting.UNIFORM ? 1 : u.samples();
    }
}
