package org.splitlora.federation;

import java.io.Serializable;
import java.util.Map;
import org.splitlora.train.AdamW;
import org.splitlora.train.StepTimings;

/**
 * What a client task returns to the driver: its trained adapters, optimizer state, sample count
 * (the FedAvg weight) and what the round cost it.
 */
public record ClientUpdate(
        int clientId,
        Map<String, float[]> lora,
        AdamW.State optimizer,
        long samples,
        int steps,
        double lossSum,
        long tokens,
        double seconds,
        StepTimings timings,
        long bytesUp,
        long bytesDown,
        int attempt) implements Serializable {

    private static final long serialVersionUID = 1L;

    public double meanLoss() {
        return lossSum / Math.max(1, steps);
    }
}
