package org.splitlora.federation;

import org.splitlora.config.TrainConfig;

/** FedAvg weights: a client's sample count (McMahan et al.) or 1 for all (uniform). */
public final class FedAvg {

    private FedAvg() {}

    static double weight(ClientUpdate u, TrainConfig.Weighting weighting) {
        return weighting == TrainConfig.Weighting.UNIFORM ? 1 : u.samples();
    }
}
